"""Tests for special causes (Nelson / Western Electric run rules) on a control chart.

Definitions and default parameters follow Minitab's "tests for special causes" (K values):

====  =================================================================  =========
Test  Pattern                                                             Default K
====  =================================================================  =========
1     1 point more than K standard deviations from the center line       3
2     K points in a row on the same side of the center line              9
3     K points in a row, all increasing or all decreasing                6
4     K points in a row, alternating up and down                         14
5     K out of K+1 points more than 2 sd from center (same side)         2
6     K out of K+1 points more than 1 sd from center (same side)         4
7     K points in a row within 1 sd of the center line (either side)     15
8     K points in a row more than 1 sd from center (either side)         8
====  =================================================================  =========

Conventions (all vectorised: running lengths come from ``maximum.accumulate`` of break
positions and window counts from cumulative sums, so there is no Python loop per point):

* A violation is reported at the point that completes the pattern (the last point of the
  run); every further point that extends the run is reported again. Minitab's documentation
  only says that a failing point is marked with the test number; reporting the last point of
  the pattern is also what qcc does (its rule tests, see ``tests/qms_pack/test_nelson.py``).
* Comparisons are strict: a point exactly on the center line is on neither side (it breaks a
  test-2 run); a point exactly 1 sd away is neither "within" (test 7) nor "beyond" (test 8);
  an unchanged value breaks a trend (test 3) and an alternation (test 4).
* Tests 5 and 6 fire when the window of K+1 points ending at the current point holds at least
  K points beyond the zone on one side *and the current point is one of them*. The window must
  be complete, so the first K points cannot fire. Minitab's documentation does not say what
  happens before K+1 points exist; this follows qcc's rule tests (seven points at 2.5 sd fire
  test 5 from the third point on, not the second).
* Test 3 counts POINTS by default: Minitab words it "K points in a row, all increasing or all
  decreasing" (K = 6: "six points in a row"), read here as 6 points = 5 consecutive increases.
  Minitab does not spell out the number of steps. Some tools read "six points steadily
  increasing" as 6 increases (7 points): ``test3_counts="steps"``.
* Test 8 does not require points on both sides: Minitab's wording is "(either side)". Nelson
  (1984) and the Western Electric handbook describe a mixture as points on *both* sides with
  none within 1 sd: ``test8_both_sides=True`` additionally requires the run to contain a point
  on each side (qcc's reading).

Checked against Minitab's published documentation (Minitab Support, Minitab 19-21 help):

* "Select tests for special causes" (I-MR-R/S chart options; P chart options): the eight
  tests in the K form of the table above, "By default, Minitab uses only Test 1", and "You can
  make each test more or less sensitive by changing the value of K";
* "Using tests for special causes" (control charts, supporting topics, basics): the default K
  values in words (one point more than 3 sigma; nine points; six points increasing or
  decreasing; fourteen points alternating; two out of three beyond 2 sigma; four out of five
  beyond 1 sigma; fifteen points within 1 sigma; eight points beyond 1 sigma, either side), all
  equal to :class:`NelsonParams`; and which tests each chart offers: "Tests 1-8 are available
  for most variables control charts. Note that only tests 1-4 are available for R, S, and
  moving range charts. Tests 1-4 are available for the attribute control charts. On
  time-weighted control charts, Minitab only performs a test for points that go beyond the
  control limits." These are :data:`ALL_RULES`, :data:`ATTRIBUTE_RULES` and ``(1,)``.

Default selection. The charts of :mod:`jizuo.qms_pack.spc` run by default every test Minitab
*offers* on that chart, whereas Minitab *runs* only test 1 until the user selects more; pass
``rules=(1,)`` for Minitab's out-of-the-box behaviour. :func:`nelson_rules` runs all eight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, NamedTuple

import numpy as np

from .errors import DataShapeError, ParameterError, as_float_array

__all__ = [
    "ALL_RULES",
    "ATTRIBUTE_RULES",
    "NelsonParams",
    "Violation",
    "nelson_masks",
    "nelson_rules",
]

ALL_RULES: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
# Minitab offers only tests 1-4 on attribute charts and on the R, S and moving range charts
# (Minitab Support, "Using tests for special causes").
ATTRIBUTE_RULES: tuple[int, ...] = (1, 2, 3, 4)


class Violation(NamedTuple):
    """One failed test: rule number, index of the point that completes the pattern, text."""

    rule: int
    index: int
    description: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable)."""
        return {"rule": self.rule, "index": self.index, "description": self.description}


@dataclass(frozen=True)
class NelsonParams:
    """Parameters of the eight tests; defaults are Minitab's."""

    test1_sigma: float = 3.0
    test2_run: int = 9
    test3_run: int = 6
    test3_counts: Literal["points", "steps"] = "points"
    test4_run: int = 14
    test5_count: int = 2
    test5_sigma: float = 2.0
    test6_count: int = 4
    test6_sigma: float = 1.0
    test7_run: int = 15
    test7_sigma: float = 1.0
    test8_run: int = 8
    test8_sigma: float = 1.0
    test8_both_sides: bool = False

    def description(self, rule: int) -> str:
        """Minitab-style wording of a test with these parameters."""
        texts = {
            1: f"1 point more than {self.test1_sigma:g} standard deviations from center line",
            2: f"{self.test2_run} points in a row on same side of center line",
            3: (
                f"{self.test3_run} points in a row, all increasing or all decreasing"
                if self.test3_counts == "points"
                else f"{self.test3_run} increases or decreases in a row"
            ),
            4: f"{self.test4_run} points in a row, alternating up and down",
            5: (
                f"{self.test5_count} out of {self.test5_count + 1} points more than "
                f"{self.test5_sigma:g} standard deviations from center line (same side)"
            ),
            6: (
                f"{self.test6_count} out of {self.test6_count + 1} points more than "
                f"{self.test6_sigma:g} standard deviations from center line (same side)"
            ),
            7: (
                f"{self.test7_run} points in a row within {self.test7_sigma:g} standard "
                "deviations of center line (either side)"
            ),
            8: (
                f"{self.test8_run} points in a row more than {self.test8_sigma:g} standard "
                "deviations from center line ("
                + ("both sides" if self.test8_both_sides else "either side")
                + ")"
            ),
        }
        return f"Test {rule}: {texts[rule]}"

    def validate(self) -> NelsonParams:
        """Raise ParameterError for impossible settings; return self."""
        minimum = {"test2_run": 1, "test3_run": 2, "test4_run": 3, "test5_count": 1}
        minimum |= {"test6_count": 1, "test7_run": 1, "test8_run": 1}
        for name, low in minimum.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ParameterError(f"{name} must be a whole number >= {low}, got {value!r}")
        for name in ("test1_sigma", "test5_sigma", "test6_sigma", "test7_sigma", "test8_sigma"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ParameterError(f"{name} must be a number, got {value!r}")
            if not np.isfinite(value) or value <= 0:
                raise ParameterError(f"{name} must be finite and > 0, got {value!r}")
        if self.test3_counts not in ("points", "steps"):
            raise ParameterError(
                f"test3_counts must be 'points' or 'steps', got {self.test3_counts!r}"
            )
        return self


# Integer keys in a params mapping set Minitab's K of that test.
_K_FIELD = {
    1: "test1_sigma",
    2: "test2_run",
    3: "test3_run",
    4: "test4_run",
    5: "test5_count",
    6: "test6_count",
    7: "test7_run",
    8: "test8_run",
}
_FIELD_NAMES = frozenset(f.name for f in fields(NelsonParams))


def _coerce_params(params: NelsonParams | Mapping[int | str, Any] | None) -> NelsonParams:
    if params is None:
        return NelsonParams()
    if isinstance(params, NelsonParams):
        return params.validate()
    if not isinstance(params, Mapping):
        raise ParameterError(f"params must be a NelsonParams or a mapping, got {params!r}")
    changes: dict[str, Any] = {}
    for key, value in params.items():
        name = _K_FIELD.get(key) if isinstance(key, int) else key
        if name not in _FIELD_NAMES:
            raise ParameterError(
                f"unknown Nelson parameter {key!r}; use a test number 1-8 or a NelsonParams field"
            )
        changes[name] = value
    return replace(NelsonParams(), **changes).validate()


def _coerce_rules(rules: Iterable[int] | None) -> tuple[int, ...]:
    if rules is None:
        return ALL_RULES
    out = []
    for rule in rules:
        if isinstance(rule, bool) or not isinstance(rule, int | np.integer) or not 1 <= rule <= 8:
            raise ParameterError(f"Nelson rules are numbered 1 to 8, got {rule!r}")
        out.append(int(rule))
    return tuple(sorted(set(out)))


def _run_length(flag: np.ndarray) -> np.ndarray:
    """Length of the run of True values ending at each position (0 where False)."""
    idx = np.arange(flag.size)
    # Position of the most recent False at or before i; the run is everything after it.
    last_break = np.maximum.accumulate(np.where(flag, -1, idx))
    return idx - last_break


def _window_count(flag: np.ndarray, width: int) -> np.ndarray:
    """Number of True values among the last ``width`` positions ending at each position."""
    csum = np.concatenate(([0], np.cumsum(flag, dtype=np.int64)))
    idx = np.arange(1, flag.size + 1)
    return csum[idx] - csum[np.maximum(idx - width, 0)]


def _broadcast(arg: Any, name: str, size: int, *, non_negative: bool = False) -> np.ndarray:
    arr = as_float_array(arg, name, ndim=(0, 1))
    if arr.ndim == 1 and arr.size != size:
        raise DataShapeError(f"{name} has {arr.size} values but there are {size} points")
    if non_negative and (arr < 0).any():
        raise ParameterError(f"{name} must be >= 0")
    return np.broadcast_to(arr, (size,))


def nelson_masks(
    values: Any,
    center: Any,
    sigma: Any,
    rules: Iterable[int] | None = ALL_RULES,
    params: NelsonParams | Mapping[int | str, Any] | None = None,
) -> dict[int, np.ndarray]:
    """Boolean array per requested test: True where that test fails at that point."""
    x = as_float_array(values, "values", ndim=1)
    n = x.size
    c = _broadcast(center, "center", n)
    s = _broadcast(sigma, "sigma", n, non_negative=True)
    p = _coerce_params(params)
    rules_t = _coerce_rules(rules)
    # Work with deviations and sigma multiples, never dividing by sigma, so a zero sigma (a
    # p chart with p-bar = 0) still gives well-defined answers.
    dev = x - c
    masks: dict[int, np.ndarray] = {}
    for rule in rules_t:
        if rule == 1:
            masks[1] = np.abs(dev) > p.test1_sigma * s
        elif rule == 2:
            masks[2] = (_run_length(dev > 0) >= p.test2_run) | (_run_length(dev < 0) >= p.test2_run)
        elif rule == 3:
            masks[3] = _trend_mask(x, p.test3_run - (p.test3_counts == "points"))
        elif rule == 4:
            masks[4] = _alternating_mask(x, p.test4_run)
        elif rule in (5, 6):
            k = p.test5_count if rule == 5 else p.test6_count
            zone = (p.test5_sigma if rule == 5 else p.test6_sigma) * s
            masks[rule] = _k_of_k_plus_1(dev > zone, k) | _k_of_k_plus_1(dev < -zone, k)
        elif rule == 7:
            masks[7] = _run_length(np.abs(dev) < p.test7_sigma * s) >= p.test7_run
        else:
            zone = p.test8_sigma * s
            above, below = dev > zone, dev < -zone
            mask = _run_length(above | below) >= p.test8_run
            if p.test8_both_sides:
                w = p.test8_run
                mask &= (_window_count(above, w) > 0) & (_window_count(below, w) > 0)
            masks[8] = mask
    return masks


def _trend_mask(x: np.ndarray, steps: int) -> np.ndarray:
    """True at points ending ``steps`` consecutive strict increases or strict decreases."""
    mask = np.zeros(x.size, dtype=bool)
    if x.size < 2:
        return mask
    d = np.diff(x)
    # d[j] is the step into point j+1, so a run ending at step j is flagged at point j+1.
    mask[1:] = (_run_length(d > 0) >= steps) | (_run_length(d < 0) >= steps)
    return mask


def _alternating_mask(x: np.ndarray, points: int) -> np.ndarray:
    """True at points ending ``points`` points in a row that alternate up and down."""
    mask = np.zeros(x.size, dtype=bool)
    if x.size < 3:
        return mask
    sign = np.sign(np.diff(x))
    # A sign change between step j-1 and step j (both non-zero) is a turn at point j; a run
    # of K alternating points contains K-2 consecutive turns, the last completed at point j+1.
    turn = sign[1:] * sign[:-1] < 0
    mask[2:] = _run_length(turn) >= points - 2
    return mask


def _k_of_k_plus_1(beyond: np.ndarray, k: int) -> np.ndarray:
    mask = beyond & (_window_count(beyond, k + 1) >= k)
    mask[:k] = False  # a window of K+1 points only exists from position K on
    return mask


def nelson_rules(
    values: Any,
    center: Any,
    sigma: Any,
    rules: Iterable[int] | None = ALL_RULES,
    params: NelsonParams | Mapping[int | str, Any] | None = None,
    *,
    index: Any = None,
) -> list[Violation]:
    """Run the tests for special causes; return violations sorted by point then rule.

    ``center`` and ``sigma`` (the standard deviation of the plotted statistic) are scalars or
    one value per point (variable limits). ``params`` is a :class:`NelsonParams`, or a mapping
    from test number to Minitab's K (e.g. ``{2: 7, 3: 7}``) and/or from NelsonParams field
    names (e.g. ``{"test3_counts": "steps", "test8_both_sides": True}``). ``index`` optionally
    maps positions to the labels reported (e.g. the moving-range chart starts at point 1).
    See the module docstring for the exact conventions.
    """
    p = _coerce_params(params)
    masks = nelson_masks(values, center, sigma, rules, p)
    return _violations_from_masks(masks, p, index)


def _violations_from_masks(
    masks: Mapping[int, np.ndarray], params: NelsonParams, index: Any = None
) -> list[Violation]:
    if not masks:
        return []
    rule_ids = []
    positions = []
    for rule, mask in masks.items():
        hit = np.flatnonzero(mask)
        positions.append(hit)
        rule_ids.append(np.full(hit.size, rule))
    pos = np.concatenate(positions)
    rid = np.concatenate(rule_ids)
    order = np.lexsort((rid, pos))
    pos, rid = pos[order], rid[order]
    labels = pos if index is None else np.asarray(index)[pos]
    texts = {rule: params.description(rule) for rule in masks}
    # One Python object per violation (not per point) is the unavoidable cost of a list API.
    return [
        Violation(int(r), int(i), texts[int(r)])
        for r, i in zip(rid.tolist(), labels.tolist(), strict=True)
    ]
