"""Charts drawn in Chromium with the bundle from our own origin, under our Content Security
Policy: no script errors, no policy violations, an SVG per chart with its labels."""

from __future__ import annotations

import pytest
from flask import render_template_string

from jizuo.platform.charts import chart_spec
from jizuo.platform.security import PUBLIC, access

pytestmark = pytest.mark.browser

COLUMNS = [
    {"key": "defect", "title": {"en": "Defect", "zh": "缺陷"}, "type": "text"},
    {"key": "count", "title": {"en": "Count", "zh": "数量"}, "type": "integer"},
    {"key": "day", "title": {"en": "Day", "zh": "日期"}, "type": "date"},
]
ROWS = [
    {"defect": "划痕", "count": 30, "day": "2024-05-01"},
    {"defect": "Dent", "count": 12, "day": "2024-05-02"},
    {"defect": "Crack", "count": 5, "day": "2024-05-03"},
]
PAGE = """{% extends "base.html" %}
{% block head %}{% include "charts/_scripts.html" %}{% endblock %}
{% block content %}
<div class="chart" id="pareto" data-vega-spec="{{ pareto|tojson|forceescape }}"></div>
<div class="chart" id="control" data-vega-spec><script type="application/json">{{ control|tojson }}</script></div>
{% endblock %}"""

CSP_WATCH = """window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));"""


@pytest.fixture
def chart_page(app):  # noqa: ANN001, ANN201
    @access(PUBLIC)
    def charts_preview() -> str:
        pareto = {"type": "pareto", "x": "defect", "y": "count", "title": {"en": "Defects"}}
        control = {
            "type": "control",
            "x": "day",
            "y": "count",
            "rules": [{"value": 25, "label": "UCL"}, {"value": 2, "label": "LCL"}],
        }
        return render_template_string(
            PAGE,
            pareto=chart_spec(pareto, COLUMNS, ROWS, "en"),
            control=chart_spec(control, COLUMNS, ROWS, "en"),
        )

    app.add_url_rule("/charts-preview", view_func=charts_preview)
    return "/charts-preview"


def test_charts_render_under_the_content_security_policy(page, chart_page, screenshot):
    page.add_init_script(CSP_WATCH)
    page.goto(chart_page)
    for chart in ("#pareto", "#control"):
        page.wait_for_selector(f"{chart}[data-vega-rendered=true] svg")
    pareto_text = page.locator("#pareto svg").text_content()
    assert "Defects" in pareto_text and "划痕" in pareto_text and "Cumulative %" in pareto_text
    assert "UCL 25" in page.locator("#control svg").text_content()
    # Three bars, and a point per day on the control chart (marks Vega draws as paths).
    assert page.locator("#pareto svg .mark-rect path").count() == 3
    assert page.locator("#control svg .mark-symbol path").count() == 3
    assert page.evaluate("window.__violations") == []
    screenshot("charts")
