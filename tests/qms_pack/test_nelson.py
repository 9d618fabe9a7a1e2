"""Tests for special causes (Nelson rules), jizuo.qms_pack.nelson / spc.nelson_rules.

Published cases come from the qcc test suite (github.com/luca-scr/qcc,
tests/testthat/test-rules.R and test-qcc.R; qcc indices are 1-based, ours 0-based). Rule
definitions, default K values and the tests offered per chart are Minitab's "tests for special
causes" (Minitab Support: "Select tests for special causes", "Using tests for special causes"). Hand-made sequences check that each rule fires at exactly
the expected point and that no other rule fires.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jizuo.qms_pack.errors import (
    DataShapeError,
    EmptyDataError,
    MissingValueError,
    NonNumericDataError,
    ParameterError,
    StatisticsError,
)
from jizuo.qms_pack.nelson import NelsonParams, Violation
from jizuo.qms_pack.spc import (
    c_chart,
    cusum,
    ewma,
    imr,
    nelson_rules,
    np_chart,
    p_chart,
    u_chart,
    xbar_r,
    xbar_s,
)


def hits(values, rule, center=0.0, sigma=1.0, params=None) -> list[int]:
    """Indices where one rule fires."""
    return [v.index for v in nelson_rules(values, center, sigma, rules=(rule,), params=params)]


def fired(values, center=0.0, sigma=1.0, params=None) -> set[tuple[int, int]]:
    """(rule, index) pairs for all eight rules."""
    return {(v.rule, v.index) for v in nelson_rules(values, center, sigma, params=params)}


# --------------------------------------------------------------------------- qcc published cases


def test_qcc_nelson_rule_cases() -> None:
    """qcc test-rules.R 'NEL1-NEL8 return expected violating indices' (1-based -> 0-based)."""
    assert hits([0, 3.2, -3.4, 3], 1) == [1, 2]
    assert hits([0.5] * 10 + [-0.5] + [-0.5] * 9, 2) == [8, 9, 18, 19]
    assert hits(list(range(1, 8)) + [7] + list(range(6, 0, -1)), 3) == [5, 6, 12, 13]
    assert hits([1, 3, 2, 4, 3, 5, 4, 6, 5, 7, 6, 8, 7, 9, 8], 4) == [13, 14]
    assert hits([0, 2.3, 0.4, 2.2, -2.4, -0.2, -2.5], 5) == [3, 6]
    assert hits([1.2, 1.3, 0.2, 1.4, 1.5, -1.2, -1.3, -0.1, -1.4, -1.5], 6) == [4, 9]
    assert hits([0.3] * 16 + [1.2], 7) == [14, 15]
    mixture = [1.2, -1.3, 1.1, -1.4, 1.5, -1.2, 1.3, -1.1, 0.2]
    assert hits(mixture, 8) == [7]


def test_qcc_rule8_requires_both_sides() -> None:
    """qcc NEL8: eight points at +1.2 sd is not a mixture there (both sides required).

    Minitab's default ("either side") does fire; qcc's reading is ``test8_both_sides=True``.
    """
    both = {"test8_both_sides": True}
    assert hits([1.2] * 8, 8, params=both) == []
    assert hits([1.2, -1.3, 1.1, -1.4, 1.5, -1.2, 1.3, -1.1, 0.2], 8, params=both) == [7]
    assert hits([1.2] * 8, 8) == [7]


def test_qcc_western_electric_equivalents() -> None:
    """qcc test-rules.R WER1-WER4 cases; WE rules 2/3/4 are our tests 5/6 and test 2 with K=8."""
    assert hits([0, 3.2, -3.5, 2.9], 1) == [1, 2]
    assert hits([0, 2.5, 1.0, 2.6, 0], 5) == [3]
    assert hits([0, 1.2, 1.3, 0.2, 1.4, 1.5], 6) == [5]
    assert hits([-1] * 8 + [1], 2, params={2: 8}) == [7]
    # 'qccRules precedence' object: WER2 flags 3:8, WER3 5:8, WER4 8, WER1 8 (1-based); a
    # window must be complete before tests 5 and 6 can fire.
    obj = [2.5] * 7 + [3.2]
    assert hits(obj, 5) == [2, 3, 4, 5, 6, 7]
    assert hits(obj, 6) == [4, 5, 6, 7]
    assert hits(obj, 2, params={2: 8}) == [7]
    assert hits(obj, 1) == [7]


def test_qcc_rule7_via_chart_default() -> None:
    """qcc test-qcc.R 'qcc applies Nelson rules': rule 7 at points 15 and 16 only."""
    out = nelson_rules([0.3] * 16 + [1.2], 0, 1, rules=[7])
    assert [v.index for v in out] == [14, 15]
    assert all(v.rule == 7 for v in out)


# --------------------------------------------------------------------------- hand-made sequences

HAND_MADE = {
    # rule: (sequence, indices where ONLY that rule fires when all eight run)
    1: ([0.1, -0.2, 0.3, 3.5, 0.0], [3]),
    2: ([-0.3, 0.2, 0.5, 0.3, 0.6, 0.1, 0.4, 0.2, 0.5, 0.3], [9]),
    3: ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], [5]),
    4: ([0.5 * (-1) ** i for i in range(14)], [13]),
    5: ([0.0, 2.5, 0.5, 2.2], [3]),
    6: ([0.0, 1.5, 1.2, 0.3, 1.4, 1.1], [5]),
    7: (
        [0.5, -0.5, -0.3, 0.4, 0.2, -0.6, 0.7, -0.2, -0.4, 0.3, 0.6, -0.1, 0.2, -0.5, 0.1],
        [14],
    ),
    8: ([1.5, -1.5, 1.6, -1.4, 1.3, -1.7, 1.2, -1.2], [7]),
}


@pytest.mark.parametrize("rule", sorted(HAND_MADE))
def test_hand_made_sequence_fires_only_its_rule(rule: int) -> None:
    """Each sequence triggers exactly one rule, exactly at the completing point."""
    seq, expected = HAND_MADE[rule]
    assert fired(seq) == {(rule, i) for i in expected}


def test_lower_side_mirrors() -> None:
    """Negating a sequence fires the same rules at the same points (tests are symmetric)."""
    for rule, (seq, expected) in HAND_MADE.items():
        assert fired([-v for v in seq]) == {(rule, i) for i in expected}, rule


def test_no_rule_on_in_control_pattern() -> None:
    """A varied in-control pattern fires nothing."""
    seq = [0.5, -1.2, 0.3, 1.4, -0.4, 0.8, -1.6, 0.2, 1.1, -0.7, -0.2, 0.9, 1.3, -0.5, 0.0]
    assert nelson_rules(seq, 0, 1) == []


def test_runs_keep_firing_and_ties_break() -> None:
    """Every point extending a run is flagged; a point on the center line or a tie breaks runs."""
    assert hits([0.5] * 11, 2) == [8, 9, 10]
    assert hits([0.5] * 8 + [0.0] + [0.5] * 8, 2) == []
    assert hits([1, 2, 3, 3, 4, 5, 6], 3) == []
    assert hits([1, 2, 1, 2, 1, 2, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1], 4) == []
    # exactly on 3 sd and exactly on 1 sd are neither beyond nor within (strict comparisons)
    assert hits([3.0, -3.0], 1) == []
    assert hits([1.0] * 15, 7) == [] and hits([1.0] * 8, 8) == []


def test_rule3_counting_conventions() -> None:
    """Minitab counts 6 POINTS (5 increases); 'steps' counts 6 increases (7 points)."""
    six_points = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    seven_points = six_points + [0.6]
    steps = {"test3_counts": "steps"}
    assert hits(six_points, 3) == [5]
    assert hits(six_points, 3, params=steps) == []
    assert hits(seven_points, 3) == [5, 6]
    assert hits(seven_points, 3, params=steps) == [6]


def test_minitab_documented_defaults() -> None:
    """Minitab Support, "Using tests for special causes" and "Select tests for special causes".

    Default K: one point beyond 3 sigma, nine points on one side, six points increasing, fourteen
    alternating, two of three beyond 2 sigma, four of five beyond 1 sigma, fifteen within 1 sigma,
    eight beyond 1 sigma (either side). Offered per chart: tests 1-8 on variables charts, 1-4 on
    R, S, moving range and attribute charts, only test 1 on time-weighted charts.
    """
    p = NelsonParams()
    k = [p.test1_sigma, p.test2_run, p.test3_run, p.test4_run]
    k += [p.test5_count, p.test6_count, p.test7_run, p.test8_run]
    assert k == [3, 9, 6, 14, 2, 4, 15, 8]
    assert (p.test5_sigma, p.test6_sigma, p.test7_sigma, p.test8_sigma) == (2, 1, 1, 1)
    assert p.test3_counts == "points" and p.test8_both_sides is False
    # Test 8 "(either side)": eight points beyond 1 sd, all above, fire.
    assert hits([1.5] * 8, 8) == [7]

    rng = np.random.default_rng(7)
    groups = rng.normal(10.0, 1.0, size=(30, 5))
    ind = groups[:, 0]
    xr, xs, im = xbar_r(groups), xbar_s(groups), imr(ind)
    assert xr.xbar.rules == xs.xbar.rules == im.i.rules == (1, 2, 3, 4, 5, 6, 7, 8)
    assert xr.r.rules == xs.s.rules == im.mr.rules == (1, 2, 3, 4)
    counts = rng.poisson(5, size=30)
    for chart in (
        p_chart(counts, 50).chart,
        np_chart(counts, 50).chart,
        c_chart(counts).chart,
        u_chart(counts, 2.0).chart,
    ):
        assert chart.rules == (1, 2, 3, 4)
    assert ewma(ind).chart.rules == (1,)
    cs = cusum(ind)
    assert cs.upper.rules == cs.lower.rules == (1,)


def test_adjustable_k_values() -> None:
    """Integer keys set Minitab's K; named keys set the same fields."""
    assert hits([0.5] * 7, 2, params={2: 7}) == [6]
    assert hits([0.5] * 7, 2, params={"test2_run": 7}) == [6]
    assert hits([0.5 * (-1) ** i for i in range(14)], 4, params={4: 10}) == [9, 10, 11, 12, 13]
    assert hits([0.0, 2.5, 2.5, 2.5], 5, params={5: 3}) == [3]
    assert hits([2.5, 0, 0], 1, params={1: 2}) == [0]
    assert hits([0.5] * 20, 7, params={7: 20}) == [19]
    assert hits([1.5, -1.5] * 3, 8, params={8: 6}) == [5]
    p = NelsonParams(test6_count=3, test6_sigma=1.5)
    assert hits([0.0, 1.6, 1.7, 0.0, 1.8], 6, params=p) == [4]


def test_variable_center_and_sigma() -> None:
    """Per-point center and sigma (variable limits, e.g. p chart with varying n)."""
    x = np.array([5.0, 5.0, 5.0, 14.0])
    sigma = np.array([1.0, 2.0, 0.5, 3.0])
    center = np.array([1.0, 1.0, 1.0, 4.0])
    assert hits(x, 1, center=center, sigma=sigma) == [0, 2, 3]
    # sigma 0 is allowed (p-bar = 0): any point off center is beyond the limits
    assert hits([0.0, 0.02], 1, center=0.0, sigma=0.0) == [1]


def test_violation_shape_and_json() -> None:
    """Violations are NamedTuples sorted by point then rule, with Minitab-style text."""
    out = nelson_rules([0.0, 2.5, 0.5, 3.5], 0, 1)
    assert out == sorted(out, key=lambda v: (v.index, v.rule))
    assert out[0] == Violation(
        1, 3, "Test 1: 1 point more than 3 standard deviations from center line"
    )
    assert json.loads(json.dumps([v.to_dict() for v in out]))[1]["rule"] == 5


def test_index_mapping() -> None:
    """index= relabels positions (the MR chart starts at observation 1)."""
    out = nelson_rules([0, 4], 0, 1, rules=[1], index=[10, 11])
    assert [v.index for v in out] == [11]


def test_100k_points_fast() -> None:
    """All eight tests on 100 000 points run well under a second (vectorised)."""
    x = np.random.default_rng(7).normal(size=100_000)
    start = time.perf_counter()
    nelson_rules(x, 0.0, 1.0)
    assert time.perf_counter() - start < 1.0


# --------------------------------------------------------------------------- definitional oracle


def _loop_reference(x: list[float], rule: int) -> list[int]:
    """Direct point-by-point reading of Minitab's definitions (default K), for cross-checking."""
    out = []
    for i in range(len(x)):
        if rule == 1 and abs(x[i]) > 3:
            out.append(i)
        if rule == 2 and i >= 8:
            w = x[i - 8 : i + 1]
            if all(v > 0 for v in w) or all(v < 0 for v in w):
                out.append(i)
        if rule == 3 and i >= 5:
            w = x[i - 5 : i + 1]
            d = [b - a for a, b in zip(w, w[1:], strict=False)]
            if all(v > 0 for v in d) or all(v < 0 for v in d):
                out.append(i)
        if rule == 4 and i >= 13:
            w = x[i - 13 : i + 1]
            d = [b - a for a, b in zip(w, w[1:], strict=False)]
            if all(a * b < 0 for a, b in zip(d, d[1:], strict=False)):
                out.append(i)
        if rule in (5, 6) and i >= (2 if rule == 5 else 4):
            k, z = (2, 2.0) if rule == 5 else (4, 1.0)
            w = x[i - k : i + 1]
            up = x[i] > z and sum(v > z for v in w) >= k
            down = x[i] < -z and sum(v < -z for v in w) >= k
            if up or down:
                out.append(i)
        if rule == 7 and i >= 14 and all(abs(v) < 1 for v in x[i - 14 : i + 1]):
            out.append(i)
        if rule == 8 and i >= 7 and all(abs(v) > 1 for v in x[i - 7 : i + 1]):
            out.append(i)
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([-3.5, -2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 3.5]), min_size=1, max_size=60
    ),
    st.integers(1, 8),
)
def test_vectorised_matches_direct_definition(seq: list[float], rule: int) -> None:
    """The vectorised tests agree with a literal reading of the definitions."""
    assert hits(seq, rule) == _loop_reference(seq, rule)


# --------------------------------------------------------------------------- bad input


def test_bad_input() -> None:
    """Each bad input raises a StatisticsError subclass naming the problem."""
    with pytest.raises(EmptyDataError):
        nelson_rules([], 0, 1)
    with pytest.raises(MissingValueError, match="position 1"):
        nelson_rules([0.0, float("nan")], 0, 1)
    with pytest.raises(NonNumericDataError, match="'x'"):
        nelson_rules([0.0, "x"], 0, 1)
    with pytest.raises(DataShapeError, match="sigma has 2 values"):
        nelson_rules([0.0, 1.0, 2.0], 0, [1.0, 1.0])
    with pytest.raises(ParameterError, match="sigma must be >= 0"):
        nelson_rules([0.0], 0, -1)
    with pytest.raises(ParameterError, match="numbered 1 to 8"):
        nelson_rules([0.0], 0, 1, rules=[9])
    with pytest.raises(ParameterError, match="test2_run"):
        nelson_rules([0.0], 0, 1, params={2: 0})
    with pytest.raises(ParameterError, match="unknown Nelson parameter"):
        nelson_rules([0.0], 0, 1, params={"bogus": 1})
    with pytest.raises(ParameterError, match="test3_counts"):
        nelson_rules([0.0], 0, 1, params={"test3_counts": "both"})
    with pytest.raises(StatisticsError):
        nelson_rules([0.0], 0, 1, params={1: -3})
