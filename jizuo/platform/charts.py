"""Charts: Vega-Lite specs built from a chart's config and a table, exported without a browser.

A chart config (the shape report definitions use)::

    {"type": "pareto", "x": "defect", "y": "count", "color": None, "bins": None,
     "rules": [{"value": 10.2, "label": {"en": "UCL", "zh": "上控制限"}}],
     "title": {"en": "Defects", "zh": "缺陷"}}

``chart_spec`` turns it and the rows into a Vega-Lite v5 spec with the data inline, titles
in the viewer's language; the browser draws it with the bundle ``chart_assets`` serves and
``export_chart`` renders it to SVG, PNG or PDF with vl-convert.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from jizuo.platform.columns import NUMERIC, TEMPORAL, Column, as_columns, text_in, translated
from jizuo.platform.errors import BadRequest, ValidationFailed, error
from jizuo.platform.i18n import N_

CHART_TYPES = (
    "bar", "line", "area", "scatter", "histogram", "pareto", "boxplot", "pie", "donut", "control",
)  # fmt: skip
EXPORT_FORMATS = ("svg", "png", "pdf")
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
WIDTH, HEIGHT = 560, 300
#: Colours of points beyond a control chart's outermost rules, and of the rules.
ALARM, RULE = "#c62828", "#6b7280"
#: Where Debian's fonts-noto-cjk (and similar packages) put their CJK fonts.
CJK_FONT_DIRS = (
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/opentype/noto-cjk",
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/truetype/wqy",
)
FONT = "Noto Sans CJK SC, Noto Sans SC, WenQuanYi Zen Hei, Helvetica, Arial, sans-serif"

COUNT = N_("Count")
CUMULATIVE = N_("Cumulative %")
SERIES = N_("Series")
VALUE = N_("Value")


# -- checking a chart config ----------------------------------------------------------------


def chart_errors(chart: Any, columns: Iterable[Any], path: str = "") -> list[dict[str, str]]:
    """Every problem of a chart config against the table's columns, with JSON-pointer paths."""
    if not isinstance(chart, Mapping):
        return [error(path or "/", "a chart is an object")]
    by_key = {c.key: c for c in as_columns(columns)}
    kind = chart.get("type")
    if kind not in CHART_TYPES:
        return [error(f"{path}/type", f"use one of: {', '.join(CHART_TYPES)}")]
    errors = []
    for name in ("x", "color"):
        value = chart.get(name)
        if value is not None and value not in by_key:
            errors.append(error(f"{path}/{name}", f"no column '{value}'"))
    if chart.get("x") is None and kind not in ("boxplot", "histogram"):
        errors.append(error(f"{path}/x", "name the column along the x axis"))
    ys = _ys(chart)
    if kind == "histogram":
        x = by_key.get(chart.get("x"))
        if x is not None and x.type not in NUMERIC:
            errors.append(error(f"{path}/x", "a histogram needs a number column"))
    elif not ys:
        errors.append(error(f"{path}/y", "name the column (or columns) of the values"))
    for i, key in enumerate(ys):
        where = f"{path}/y" if isinstance(chart.get("y"), str) else f"{path}/y/{i}"
        if key not in by_key:
            errors.append(error(where, f"no column '{key}'"))
        elif by_key[key].type not in NUMERIC:
            errors.append(error(where, f"'{key}' is not a number column"))
    if len(ys) > 1 and kind not in ("bar", "line", "area"):
        errors.append(error(f"{path}/y", f"a {kind} chart shows one value column"))
    bins = chart.get("bins")
    if bins is not None and (not isinstance(bins, int) or isinstance(bins, bool) or bins < 1):
        errors.append(error(f"{path}/bins", "a whole number of bins, at least 1"))
    for i, rule in enumerate(chart.get("rules") or []):
        value = rule.get("value") if isinstance(rule, Mapping) else None
        if not _is_number(value):
            errors.append(error(f"{path}/rules/{i}/value", "a rule needs a number"))
    return errors


def _ys(chart: Mapping[str, Any]) -> list[str]:
    y = chart.get("y")
    if y is None:
        return []
    return [y] if isinstance(y, str) else [v for v in y if isinstance(v, str)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


# -- building the spec ------------------------------------------------------------------------


def chart_spec(
    chart: Mapping[str, Any], columns: Iterable[Any], rows: Iterable[Mapping[str, Any]], locale: str
) -> dict[str, Any]:
    """The Vega-Lite v5 spec of ``chart`` over ``rows``; ValidationFailed on a bad config."""
    columns = as_columns(columns)
    errors = chart_errors(chart, columns)
    if errors:
        raise ValidationFailed("The chart is not valid.", errors=errors)
    by_key = {c.key: c for c in columns}
    kind = chart["type"]
    wanted = [k for k in (chart.get("x"), chart.get("color"), *_ys(chart)) if k]
    values = [{k: _plain(row.get(k)) for k in wanted} for row in rows]
    build = _BUILDERS[kind]
    spec = build(chart, by_key, values, locale)
    rules = chart.get("rules") or []
    if rules and kind not in ("pie", "donut", "pareto"):
        spec = _with_rules(spec, chart, rules, locale)
    spec = {"$schema": SCHEMA, **spec}
    spec.setdefault("width", WIDTH)
    spec.setdefault("height", HEIGHT)
    title = text_in(chart.get("title"), locale)
    if title:
        spec["title"] = title
    spec["config"] = {"font": FONT, "view": {"stroke": None}}
    return spec


def _plain(value: Any) -> Any:
    """A value as JSON: dates as ISO text, decimals as floats, non-finite numbers as null."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _vega_type(column: Column) -> str:
    if column.type in NUMERIC:
        return "quantitative"
    if column.type in TEMPORAL:
        return "temporal"
    return "nominal"


def _channel(column: Column, locale: str, **extra: Any) -> dict[str, Any]:
    channel = {"field": column.key, "type": _vega_type(column), "title": column.title_in(locale)}
    if column.type == "date":
        # Whole days: ticks at midnight, labelled as dates (not "12 PM").
        channel.update(
            timeUnit="yearmonthdate",
            axis={"format": "%Y-%m-%d", "tickCount": "day", "labelOverlap": True},
        )
    return {**channel, **extra}


def _series(
    chart: Mapping[str, Any], by_key: dict[str, Column], values: list, locale: str
) -> dict[str, Any]:
    """Data and encodings of the value column(s): several become series (long form, one row
    per x and column, coloured apart)."""
    ys = _ys(chart)
    x = by_key[chart["x"]]
    encoding: dict[str, Any] = {"x": _channel(x, locale)}
    if len(ys) == 1:
        encoding["y"] = _channel(by_key[ys[0]], locale)
        if chart.get("color"):
            encoding["color"] = _channel(by_key[chart["color"]], locale)
        return {"data": {"values": values}, "encoding": encoding}
    names = [by_key[k].title_in(locale) for k in ys]
    long_form = [
        {x.key: row.get(x.key), "_series": name, "_value": row.get(key)}
        for row in values
        for key, name in zip(ys, names, strict=True)
    ]
    encoding["y"] = {"field": "_value", "type": "quantitative", "title": translated(VALUE, locale)}
    encoding["color"] = {
        "field": "_series",
        "type": "nominal",
        "title": translated(SERIES, locale),
        "sort": names,
    }
    return {"data": {"values": long_form}, "encoding": encoding}


def _xy(mark: Any) -> Any:
    def build(chart: Mapping, by_key: dict, values: list, locale: str) -> dict[str, Any]:
        spec = _series(chart, by_key, values, locale)
        if mark == "bar" and by_key[chart["x"]].type not in NUMERIC + TEMPORAL:
            spec["encoding"]["x"]["sort"] = None  # keep the table's order
        return {**spec, "mark": mark}

    return build


def _scatter(chart: Mapping, by_key: dict, values: list, locale: str) -> dict[str, Any]:
    encoding = {
        "x": _channel(by_key[chart["x"]], locale, scale={"zero": False}),
        "y": _channel(by_key[_ys(chart)[0]], locale, scale={"zero": False}),
    }
    if chart.get("color"):
        encoding["color"] = _channel(by_key[chart["color"]], locale)
    return {
        "data": {"values": values},
        "mark": {"type": "point", "filled": True},
        "encoding": encoding,
    }


def _histogram(chart: Mapping, by_key: dict, values: list, locale: str) -> dict[str, Any]:
    x = by_key[chart["x"]]
    numbers = [v[x.key] for v in values if _is_number(v.get(x.key))]
    bins = chart.get("bins")
    count = {"aggregate": "count", "type": "quantitative", "title": translated(COUNT, locale)}
    encoding: dict[str, Any]
    if bins and numbers and max(numbers) > min(numbers):
        # Exactly ``bins`` equal bins over the data, the largest value in the last one (as
        # numpy.histogram does), binned here: Vega's own put the maximum in a bin of its own.
        low, high = float(min(numbers)), float(max(numbers))
        width = (high - low) / bins
        for row in values:
            if _is_number(row.get(x.key)):
                i = min(int((float(row[x.key]) - low) / width), bins - 1)
                row["_bin_start"], row["_bin_end"] = low + i * width, low + (i + 1) * width
        encoding = {
            "x": {
                **_channel(x, locale),
                "field": "_bin_start",
                "bin": {"binned": True, "step": width},
            },
            "x2": {"field": "_bin_end"},
            "y": count,
        }
    else:
        encoding = {"x": _channel(x, locale, bin={"maxbins": bins or 20}), "y": count}
    if chart.get("color"):
        encoding["color"] = _channel(by_key[chart["color"]], locale)
    return {"data": {"values": values}, "mark": "bar", "encoding": encoding}


def pareto_values(values: list[dict[str, Any]], x: str, y: str) -> list[dict[str, Any]]:
    """Categories with their totals, largest first, and the cumulative share (0–1) of each."""
    totals: OrderedDict[Any, float] = OrderedDict()
    for row in values:
        amount = row.get(y)
        if _is_number(amount):
            totals[row.get(x)] = totals.get(row.get(x), 0.0) + float(amount)
    ordered = sorted(totals.items(), key=lambda item: -item[1])
    grand = sum(amount for _, amount in ordered)
    out, running = [], 0.0
    for category, amount in ordered:
        running += amount
        share = running / grand if grand else 0.0
        out.append({x: category, y: amount, "_cumulative": share})
    return out


def _pareto(chart: Mapping, by_key: dict, values: list, locale: str) -> dict[str, Any]:
    x, y = by_key[chart["x"]], by_key[_ys(chart)[0]]
    ordered = pareto_values(values, x.key, y.key)
    x_channel = {**_channel(x, locale), "type": "nominal", "sort": [r[x.key] for r in ordered]}
    cumulative = {
        "field": "_cumulative",
        "type": "quantitative",
        "title": translated(CUMULATIVE, locale),
        "scale": {"domain": [0, 1]},
        "axis": {"format": ".0%", "orient": "right"},
    }
    return {
        "data": {"values": ordered},
        "encoding": {"x": x_channel},
        "layer": [
            {"mark": "bar", "encoding": {"y": _channel(y, locale)}},
            {
                "mark": {"type": "line", "point": {"color": ALARM}, "color": ALARM},
                "encoding": {"y": cumulative},
            },
        ],
        "resolve": {"scale": {"y": "independent"}},
    }


def _boxplot(chart: Mapping, by_key: dict, values: list, locale: str) -> dict[str, Any]:
    encoding: dict[str, Any] = {"y": _channel(by_key[_ys(chart)[0]], locale, scale={"zero": False})}
    if chart.get("x"):
        encoding["x"] = {**_channel(by_key[chart["x"]], locale), "type": "nominal"}
    if chart.get("color"):
        encoding["color"] = _channel(by_key[chart["color"]], locale)
    return {
        "data": {"values": values},
        "mark": {"type": "boxplot", "extent": 1.5},
        "encoding": encoding,
    }


def _arc(inner: int) -> Any:
    def build(chart: Mapping, by_key: dict, values: list, locale: str) -> dict[str, Any]:
        x, y = by_key[chart["x"]], by_key[_ys(chart)[0]]
        mark: dict[str, Any] = {"type": "arc"}
        if inner:
            mark["innerRadius"] = inner
        return {
            "data": {"values": values},
            "mark": mark,
            "encoding": {
                "theta": {**_channel(y, locale), "aggregate": "sum", "stack": True},
                "color": {**_channel(x, locale), "type": "nominal"},
            },
            "width": HEIGHT,
        }

    return build


def _control(chart: Mapping, by_key: dict, values: list, locale: str) -> dict[str, Any]:
    x, y = by_key[chart["x"]], by_key[_ys(chart)[0]]
    limits = [float(r["value"]) for r in chart.get("rules") or []]
    point: dict[str, Any] = {"filled": True, "size": 40}
    encoding: dict[str, Any] = {
        "x": _channel(x, locale),
        "y": _channel(y, locale, scale={"zero": False}),
    }
    layers: list[dict[str, Any]] = [{"mark": {"type": "line", "color": "#1f5f99"}}]
    if len(limits) >= 2:
        # Points beyond the outermost rules (the control limits) are marked as alarms; the
        # test is made here, so no expression is built from the table's names.
        low, high = min(limits), max(limits)
        for row in values:
            value = row.get(y.key)
            row["_alarm"] = _is_number(value) and not low <= value <= high
        color = {"condition": {"test": "datum._alarm", "value": ALARM}, "value": "#1f5f99"}
        layers.append({"mark": {"type": "point", **point}, "encoding": {"color": color}})
    else:
        layers.append({"mark": {"type": "point", "color": "#1f5f99", **point}})
    return {"data": {"values": values}, "encoding": encoding, "layer": layers}


_BUILDERS = {
    "bar": _xy("bar"),
    "line": _xy({"type": "line", "point": True}),
    "area": _xy({"type": "area", "opacity": 0.7}),
    "scatter": _scatter,
    "histogram": _histogram,
    "pareto": _pareto,
    "boxplot": _boxplot,
    "pie": _arc(0),
    "donut": _arc(60),
    "control": _control,
}


def _with_rules(spec: dict[str, Any], chart: Mapping, rules: list, locale: str) -> dict[str, Any]:
    """The chart layered with a dashed rule and its label per reference value: horizontal
    on the value axis (UCL, CL, LCL…), vertical on a histogram's x axis (LSL, USL…)."""
    vertical = chart["type"] == "histogram"
    axis = "x" if vertical else "y"
    rows = []
    for rule in rules:
        label = text_in(rule.get("label"), locale)
        rows.append({"_rule": float(rule["value"]), "_label": f"{label} {rule['value']}".strip()})
    position = {"field": "_rule", "type": "quantitative"}
    if vertical:
        text_mark = {"type": "text", "align": "left", "dx": 4, "y": 0, "baseline": "top"}
    else:
        text_mark = {"type": "text", "align": "right", "dy": -6, "x": "width"}
    rule_layer = {
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "rule", "color": RULE, "strokeDash": [6, 4]},
                "encoding": {axis: position},
            },
            {
                "mark": {**text_mark, "color": RULE},
                "encoding": {axis: position, "text": {"field": "_label", "type": "nominal"}},
            },
        ],
    }
    size = {k: spec.pop(k) for k in ("width", "height") if k in spec}
    return {**size, "layer": [spec, rule_layer]}


# -- exporting without a browser ---------------------------------------------------------------

_fonts_lock = threading.Lock()
_fonts_registered = False


def cjk_font_dirs() -> list[str]:
    """The installed directories of CJK fonts among ``CJK_FONT_DIRS``."""
    return [d for d in CJK_FONT_DIRS if os.path.isdir(d)]


def register_cjk_fonts() -> list[str]:
    """Tell vl-convert about the installed CJK fonts, once per process; the directories."""
    global _fonts_registered
    import vl_convert

    with _fonts_lock:
        found = cjk_font_dirs()
        if not _fonts_registered:
            for directory in found:
                vl_convert.register_font_directory(directory)
            _fonts_registered = True
    return found


@cache
def vega_lite_version() -> str:
    """The newest Vega-Lite 5 that vl-convert has: the specs here are written for v5, and
    the browser's bundle and the exports use the same one."""
    import vl_convert

    return [v for v in vl_convert.get_vegalite_versions() if v.startswith("5.")][-1]


def export_chart(spec: Mapping[str, Any], fmt: str, *, scale: float = 2.0) -> bytes:
    """The chart as SVG, PNG (``scale`` × its size) or PDF, rendered without a browser.

    Specs carry their data inline; loading from any URL is refused."""
    import vl_convert

    if fmt not in EXPORT_FORMATS:
        raise BadRequest(f"Export a chart as one of: {', '.join(EXPORT_FORMATS)}.")
    register_cjk_fonts()
    spec, version = dict(spec), vega_lite_version()
    if fmt == "svg":
        return vl_convert.vegalite_to_svg(spec, version, allowed_base_urls=[]).encode()
    if fmt == "png":
        return vl_convert.vegalite_to_png(spec, version, scale=scale, allowed_base_urls=[])
    return vl_convert.vegalite_to_pdf(spec, version, allowed_base_urls=[])
