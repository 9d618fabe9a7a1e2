"""Benchmark: chart exports (SVG, PNG, PDF) per chart type against vl-convert rendering a
trivial one-point spec, measured in the same run.

Run with ``python bench/charts.py [--rows N] [--repeat K]``. Not part of the test suite. Each
chart type is built by ``chart_spec`` from a table of N rows and exported with
``export_chart``; the baseline is ``vl_convert`` converting a one-point bar chart directly, so
the ratio shows what the spec (its data, layers and rules) costs on top of vl-convert's own
start-up per call.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import vl_convert

from jizuo.platform.charts import chart_spec, export_chart, register_cjk_fonts, vega_lite_version

COLUMNS = [
    {"key": "defect", "title": {"en": "Defect", "zh": "缺陷"}, "type": "text"},
    {"key": "count", "title": {"en": "Count", "zh": "数量"}, "type": "integer"},
    {"key": "value", "title": {"en": "Value", "zh": "测量值"}, "type": "number"},
    {"key": "sample", "title": {"en": "Sample", "zh": "样本"}, "type": "integer"},
    {"key": "line", "title": {"en": "Line", "zh": "产线"}, "type": "text"},
]
CONFIGS = {
    "bar": {"type": "bar", "x": "defect", "y": "count"},
    "line": {"type": "line", "x": "sample", "y": "value"},
    "area": {"type": "area", "x": "sample", "y": "value"},
    "scatter": {"type": "scatter", "x": "sample", "y": "value", "color": "line"},
    "histogram": {"type": "histogram", "x": "value", "bins": 20},
    "pareto": {"type": "pareto", "x": "defect", "y": "count"},
    "boxplot": {"type": "boxplot", "x": "line", "y": "value"},
    "pie": {"type": "pie", "x": "defect", "y": "count"},
    "donut": {"type": "donut", "x": "defect", "y": "count"},
    "control": {"type": "control", "x": "sample", "y": "value",
                "rules": [{"value": 13, "label": "UCL"}, {"value": 10, "label": "CL"},
                          {"value": 7, "label": "LCL"}]},
}  # fmt: skip
TRIVIAL = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "data": {"values": [{"a": "x", "b": 1}]},
    "mark": "bar",
    "encoding": {
        "x": {"field": "a", "type": "nominal"},
        "y": {"field": "b", "type": "quantitative"},
    },
}


def table(rows: int) -> list[dict]:
    rng = np.random.default_rng(1)
    defects = [f"D{i:02d}" for i in range(12)]
    return [
        {
            "defect": defects[i % len(defects)],
            "count": int(rng.integers(1, 50)),
            "value": float(rng.normal(10, 1)),
            "sample": i + 1,
            "line": "AB"[i % 2],
        }
        for i in range(rows)
    ]


def timings(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    run()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def baseline(fmt: str) -> Callable[[], object]:
    version = vega_lite_version()
    convert = {
        "svg": vl_convert.vegalite_to_svg,
        "png": vl_convert.vegalite_to_png,
        "pdf": vl_convert.vegalite_to_pdf,
    }[fmt]
    return lambda: convert(TRIVIAL, version)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    register_cjk_fonts()
    rows = table(args.rows)
    print(f"chart exports, {args.rows} rows, {args.repeat} runs each; p50 / p95 in ms")
    print(f"{'chart':<12}{'SVG':>16}{'PNG':>16}{'PDF':>16}")
    base = {fmt: timings(baseline(fmt), args.repeat) for fmt in ("svg", "png", "pdf")}
    print(f"{'baseline':<12}" + "".join(f"{p50:>8.1f} / {p95:<5.1f}" for p50, p95 in base.values()))
    for kind, config in CONFIGS.items():
        spec = chart_spec({**config, "title": {"en": kind, "zh": kind}}, COLUMNS, rows, "zh")
        cells = []
        for fmt in ("svg", "png", "pdf"):
            p50, p95 = timings(lambda spec=spec, fmt=fmt: export_chart(spec, fmt), args.repeat)
            cells.append(f"{p50:>8.1f} / {p95:<5.1f}")
        print(f"{kind:<12}" + "".join(cells))
    print("(PNG at scale 2, as the PDF report embeds it; the baseline at scale 1)")


if __name__ == "__main__":
    main()
