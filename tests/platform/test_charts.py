"""Charts: Vega-Lite specs of every chart type from a table, checked configs, exports to SVG,
PNG and PDF without a browser (Chinese text included), and the Vega bundle for pages."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
import vl_convert

from jizuo.platform.charts import (
    CHART_TYPES,
    chart_errors,
    chart_spec,
    cjk_font_dirs,
    export_chart,
    pareto_values,
)
from jizuo.platform.errors import BadRequest, ValidationFailed
from jizuo.platform.web.chart_assets import vega_bundle_url

COLUMNS = [
    {"key": "defect", "title": {"en": "Defect", "zh": "缺陷"}, "type": "text"},
    {"key": "count", "title": {"en": "Count", "zh": "数量"}, "type": "integer"},
    {"key": "cost", "title": {"en": "Cost", "zh": "成本"}, "type": "number"},
    {"key": "day", "title": {"en": "Day", "zh": "日期"}, "type": "date"},
    {"key": "line", "title": {"en": "Line", "zh": "产线"}, "type": "text"},
]
DEFECTS = [("Scratch", 30), ("Dent", 12), ("Crack", 5), ("Burr", 20), ("Stain", 2), ("Dent", 9)]
ROWS = [
    {"defect": d, "count": c, "cost": c * 1.5, "day": f"2024-05-{i + 1:02d}", "line": "AB"[i % 2]}
    for i, (d, c) in enumerate(DEFECTS)
]
CONFIGS = {
    "bar": {"type": "bar", "x": "defect", "y": ["count", "cost"]},
    "line": {"type": "line", "x": "day", "y": "count", "color": "line"},
    "area": {"type": "area", "x": "day", "y": "cost"},
    "scatter": {"type": "scatter", "x": "count", "y": "cost", "color": "line"},
    "histogram": {"type": "histogram", "x": "cost", "bins": 4},
    "pareto": {"type": "pareto", "x": "defect", "y": "count"},
    "boxplot": {"type": "boxplot", "x": "line", "y": "cost"},
    "pie": {"type": "pie", "x": "defect", "y": "count"},
    "donut": {"type": "donut", "x": "defect", "y": "count"},
    "control": {"type": "control", "x": "day", "y": "count",
                "rules": [{"value": 25, "label": {"en": "UCL", "zh": "上控制限"}},
                          {"value": 13, "label": "CL"}, {"value": 3, "label": "LCL"}]},
}  # fmt: skip


#: A column title each chart shows on an axis or legend.
LABELS_ZH = {"bar": "成本", "line": "数量", "area": "成本", "scatter": "成本", "histogram": "成本",
             "pareto": "数量", "boxplot": "成本", "pie": "缺陷", "donut": "缺陷", "control": "数量"}  # fmt: skip


def _svg_texts(svg: str) -> str:
    return " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def _marks(svg: str, role: str) -> int:
    """How many marks of a kind (rect, symbol, rule…) Vega drew: a <path> or <line> each."""
    groups = re.findall(rf'<g class="mark-{role} role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S)
    return sum(group.count("<path") + group.count("<line") for group in groups)


def test_every_chart_type_has_a_config_here():
    assert sorted(CONFIGS) == sorted(CHART_TYPES)


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_every_chart_type_renders_with_titles_in_the_viewers_language(kind):
    config = {**CONFIGS[kind], "title": {"en": "Defects", "zh": "缺陷统计"}}
    spec = chart_spec(config, COLUMNS, ROWS, "zh")
    assert spec["$schema"].endswith("/vega-lite/v5.json") and spec["title"] == "缺陷统计"
    svg = export_chart(spec, "svg").decode()
    assert svg.startswith("<svg") and "缺陷统计" in _svg_texts(svg)
    assert LABELS_ZH[kind] in _svg_texts(svg)


def test_bar_chart_of_several_value_columns_draws_one_bar_per_row_and_column():
    spec = chart_spec(CONFIGS["bar"], COLUMNS, ROWS, "en")
    svg = export_chart(spec, "svg").decode()
    assert _marks(svg, "rect") == 2 * len(ROWS)
    assert "Count" in _svg_texts(svg) and "Cost" in _svg_texts(svg)  # the series legend


def test_pareto_sorts_categories_and_accumulates_their_share_as_pandas_does():
    frame = pd.DataFrame(ROWS).groupby("defect")["count"].sum().sort_values(ascending=False)
    expected_share = (frame.cumsum() / frame.sum()).round(12)
    values = pareto_values(ROWS, "defect", "count")
    assert [v["defect"] for v in values] == list(frame.index)
    assert [v["count"] for v in values] == list(frame.astype(float))
    assert [round(v["_cumulative"], 12) for v in values] == list(expected_share)
    spec = chart_spec(CONFIGS["pareto"], COLUMNS, ROWS, "en")
    svg = export_chart(spec, "svg").decode()
    assert _marks(svg, "rect") == len(frame)  # Dent's two rows are one bar
    assert "100%" in _svg_texts(svg) and "Cumulative %" in _svg_texts(svg)


def test_histogram_has_exactly_the_chosen_bins_with_numpys_counts():
    values = [float(v) for v in np.random.default_rng(7).normal(10, 2, 200)]
    rows = [{"cost": v} for v in values]
    spec = chart_spec({"type": "histogram", "x": "cost", "bins": 5}, COLUMNS, rows, "en")
    counts, _edges = np.histogram(values, bins=5)
    view = vl_convert.vegalite_to_scenegraph(spec, "v5.21")
    heights = sorted(round(item["height"], 6) for item in _scene_items(view, "rect"))
    assert len(heights) == 5
    # Bar heights are proportional to the counts of numpy's five equal-width bins.
    scale = max(heights) / max(counts)
    assert heights == sorted(round(c * scale, 6) for c in counts)


def _scene_items(node, marktype):  # noqa: ANN001, ANN202
    if isinstance(node, dict):
        if node.get("marktype") == marktype and node.get("role") == "mark":
            yield from node.get("items", [])
        for value in node.values():
            yield from _scene_items(value, marktype)
    elif isinstance(node, list):
        for value in node:
            yield from _scene_items(value, marktype)


def test_control_chart_draws_its_rules_and_marks_points_beyond_the_limits():
    spec = chart_spec(CONFIGS["control"], COLUMNS, ROWS, "zh")
    points = spec["layer"][0]["data"]["values"]
    assert [p["_alarm"] for p in points] == [c > 25 or c < 3 for _, c in DEFECTS]
    svg = export_chart(spec, "svg").decode()
    texts = _svg_texts(svg)
    assert "上控制限 25" in texts and "CL 13" in texts and "LCL 3" in texts
    assert _marks(svg, "rule") == 3
    assert svg.count('fill="#c62828"') == 2  # Scratch (30) and Stain (2)


def test_bad_configs_are_refused_with_the_paths_of_every_problem():
    bad = {"type": "histogram", "x": "defect", "bins": 0, "rules": [{"value": "x"}]}
    paths = {e["path"] for e in chart_errors(bad, COLUMNS)}
    assert paths == {"/x", "/bins", "/rules/0/value"}
    assert chart_errors({"type": "radar"}, COLUMNS)[0]["path"] == "/type"
    errors = chart_errors({"type": "line", "x": "nope", "y": ["count", "line"]}, COLUMNS, "/chart")
    assert {e["path"] for e in errors} == {"/chart/x", "/chart/y/1"}
    with pytest.raises(ValidationFailed) as raised:
        chart_spec({"type": "pie", "x": "defect"}, COLUMNS, ROWS, "en")
    assert raised.value.errors[0]["path"] == "/y"


def test_exports_are_svg_png_and_pdf_and_load_no_url():
    spec = chart_spec(CONFIGS["pie"], COLUMNS, ROWS, "en")
    assert export_chart(spec, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = export_chart(spec, "pdf")
    assert pdf.startswith(b"%PDF-")
    with pytest.raises(BadRequest):
        export_chart(spec, "gif")
    remote = {"data": {"url": "http://127.0.0.1:9/secret.csv"}, "mark": "bar",
              "encoding": {"x": {"field": "a", "type": "nominal"}}}  # fmt: skip
    with pytest.raises(ValueError, match="not allowed"):
        export_chart(remote, "svg")


def test_chinese_text_is_drawn_with_real_glyphs():
    def png(title: str) -> bytes:
        spec = chart_spec({"type": "bar", "x": "defect", "y": "count", "title": title},
                          COLUMNS, ROWS[:2], "zh")  # fmt: skip
        spec["title"] = {"text": title, "fontSize": 28}
        return export_chart(spec, "png", scale=1)

    svg = export_chart(chart_spec(CONFIGS["pie"], COLUMNS, ROWS, "zh"), "svg").decode()
    assert "缺陷" in _svg_texts(svg)
    if not cjk_font_dirs():
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    from PIL import Image, ImageChops

    # Characters without any glyph (unassigned code points) are drawn as the same empty
    # boxes; real Chinese glyphs differ from them, and from each other.
    missing = Image.open(io.BytesIO(png("\u0378\u0378\u0378\u0378")))
    chinese = Image.open(io.BytesIO(png("不合格品")))
    other = Image.open(io.BytesIO(png("供应商名")))
    assert ImageChops.difference(chinese.convert("RGB"), missing.convert("RGB")).getbbox()
    assert ImageChops.difference(chinese.convert("RGB"), other.convert("RGB")).getbbox()


def test_the_vega_bundle_is_served_with_long_caching_and_an_etag(client):
    url = vega_bundle_url()
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "text/javascript"
    assert (
        "immutable" in first.headers["Cache-Control"]
        and "max-age=31536000" in first.headers["Cache-Control"]
    )
    body = first.get_data(as_text=True)
    assert "window.vegaEmbed" in body and len(body) > 100_000
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    assert client.get("/assets/vega-0.0.0.js").status_code == 404
    with client.get("/static/charts.js") as script:
        assert script.status_code == 200 and b"data-vega-spec" in script.get_data()
