"""Control charts (jizuo.qms_pack.spc) against published values.

Sources, cited per test:
* qcc vignette (github.com/luca-scr/qcc, vignettes/qcc.Rmd, qcc 3.0): the numbers quoted in
  the headers of tests/data/qcc_*.csv (data sets from Montgomery, Intro to SQC).
* qcc test suite (tests/testthat/test-spc.xbar.R, test-ewma.R, test-cusum.R, test-qcc.R).
* Montgomery, Introduction to Statistical Quality Control, 6th ed., Example 9.1 / Table 9.2
  (tabular CUSUM).
* NIST/SEMATECH e-Handbook of Statistical Methods, section 6.3.2.4 (EWMA example).

Tolerances: qcc (and Minitab) use d2 rounded to 3 d.p. (2.326 for n=5, 1.128 for n=2) while
we integrate d2 exactly, so sigma estimated from ranges differs in relative terms by
(2.32593-2.326)/2.326 = 3e-5 for n=5 and (1.12838-1.128)/1.128 = 3.4e-4 for n=2. Such values
are compared with rtol 5e-5 and 4e-4 respectively (on sigma and on the limits' half-width);
all others to the precision printed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jizuo.qms_pack import errors
from jizuo.qms_pack.errors import (
    CountError,
    DataShapeError,
    DesignError,
    EmptyDataError,
    MissingValueError,
    NonNumericDataError,
    ParameterError,
    SamplingPlanError,
    SpecLimitError,
    StatisticsError,
    SubgroupSizeError,
)
from jizuo.qms_pack.spc import (
    c_chart,
    cusum,
    ewma,
    imr,
    np_chart,
    p_chart,
    u_chart,
    xbar_r,
    xbar_s,
)

DATA = Path(__file__).resolve().parents[1] / "data"
RTOL_D2_N5 = 5e-5  # d2(5) rounded to 2.326 by qcc
RTOL_D2_N2 = 4e-4  # d2(2) rounded to 1.128 by qcc


def read(name: str) -> pd.DataFrame:
    """Reference data with its commented source header skipped."""
    return pd.read_csv(DATA / name, comment="#")


@pytest.fixture(scope="module")
def piston() -> pd.DataFrame:
    return read("qcc_pistonrings.csv")


def assert_limits(chart, i, lcl, ucl, center, rtol_half_width, abs_tol=0.0):
    """Compare one point's limits via center and relative half-width (see module docstring)."""
    assert chart.center[i] == pytest.approx(center, abs=abs_tol or 1e-12)
    half = (ucl - lcl) / 2
    assert chart.ucl[i] - chart.center[i] == pytest.approx(half, rel=rtol_half_width)
    assert chart.center[i] - chart.lcl[i] == pytest.approx(half, rel=rtol_half_width)


# --------------------------------------------------------------------------- X-bar R / S


def test_pistonrings_xbar_r(piston: pd.DataFrame) -> None:
    """qcc vignette: qcc(diameter[1:25,], type='xbar'/'R', newdata=diameter[26:40,])."""
    res = xbar_r(piston, subgroup="sample", value="diameter", limits_from=slice(0, 25))
    assert res.center == pytest.approx(74.00118, abs=5e-6)
    assert res.sigma == pytest.approx(0.009785039, rel=RTOL_D2_N5)
    assert res.xbar.lcl[0] == pytest.approx(73.98805, abs=1e-5)
    assert res.xbar.ucl[0] == pytest.approx(74.0143, abs=1e-5)
    assert res.r.center[0] == pytest.approx(0.02276, abs=5e-9)
    assert res.r.ucl[0] == pytest.approx(0.04812533, rel=RTOL_D2_N5)
    assert res.r.lcl[0] == 0.0
    # Phase II: samples 37, 38, 39 above the UCL (header: Montgomery); R chart in control.
    assert res.xbar.beyond_limits.tolist() == [36, 37, 38]
    assert res.r.beyond_limits.tolist() == []
    assert res.labels == list(range(1, 41))
    assert res.n_calibration == 25


def test_pistonrings_stored_limits_phase2(piston: pd.DataFrame) -> None:
    """Phase I limits stored and re-applied to samples 26-40 give qcc's published limits."""
    wide = piston.pivot(index="sample", columns="obs", values="diameter").to_numpy()
    phase1 = xbar_r(wide[:25])
    phase2 = xbar_r(wide[25:], **phase1.limits)
    assert phase2.xbar.lcl[0] == pytest.approx(73.98805, abs=1e-5)
    assert phase2.xbar.ucl[0] == pytest.approx(74.0143, abs=1e-5)
    assert phase2.r.ucl[0] == pytest.approx(0.04812533, rel=RTOL_D2_N5)
    assert phase2.xbar.beyond_limits.tolist() == [11, 12, 13]  # samples 37-39


def test_pistonrings_xbar_s(piston: pd.DataFrame) -> None:
    """qcc vignette: S chart phase I sbar=0.009240037, sd=0.009829977, UCL=0.01930242."""
    res = xbar_s(piston, subgroup="sample", value="diameter", limits_from=slice(0, 25))
    assert res.s.center[0] == pytest.approx(0.009240037, rel=1e-7)
    assert res.sigma == pytest.approx(0.009829977, rel=1e-7)
    assert res.s.ucl[0] == pytest.approx(0.01930242, rel=1e-6)
    assert res.s.lcl[0] == 0.0
    assert res.center == pytest.approx(74.00118, abs=5e-6)
    assert res.s.beyond_limits.tolist() == []


def test_variable_subgroup_estimators() -> None:
    """qcc test-spc.xbar.R sd.xbar(): rows (2,4,6,8), (1,5), (3,6,9)."""
    data = [[2, 4, 6, 8], [1, 5], [3, 6, 9]]
    assert xbar_r(data).center == pytest.approx(44 / 9)
    # qcc prints these to 7 significant digits and compares with tolerance 5e-4.
    assert xbar_r(data).sigma == pytest.approx(3.226929, rel=5e-4)  # MVLUE-R = Minitab Rbar
    assert xbar_r(data, sigma_method="uwave").sigma == pytest.approx(3.334735, rel=5e-4)
    assert xbar_s(data).sigma == pytest.approx(3.113833, rel=5e-4)  # MVLUE-SD = Minitab Sbar
    assert xbar_s(data, sigma_method="uwave").sigma == pytest.approx(3.244180, rel=5e-4)
    assert xbar_s(data, sigma_method="pooled").sigma == pytest.approx(2.886142, rel=5e-4)


def test_variable_subgroup_limits_long_form() -> None:
    """qcc test-spc.xbar.R limits.xbar(center=10, sd=2, sizes=c(2,4,8), nsigmas=3)."""
    df = pd.DataFrame(
        {"lot": ["a"] * 2 + ["b"] * 4 + ["c"] * 8, "v": [9.0, 11.0] + [10.0] * 4 + [10.0] * 8}
    )
    res = xbar_s(df, subgroup="lot", value="v", center=10, sigma=2)
    np.testing.assert_allclose(res.xbar.lcl, [5.757359, 7.0, 7.878680], atol=5e-6)
    np.testing.assert_allclose(res.xbar.ucl, [14.24264, 13.0, 12.12132], atol=5e-6)
    assert res.labels == ["a", "b", "c"]
    assert res.sizes.tolist() == [2, 4, 8]


# --------------------------------------------------------------------------- I-MR


def test_viscosity_imr() -> None:
    """qcc vignette: I chart (MR-bar/d2) center 34.088, sd 0.5076521, LCL 32.56504, UCL 35.61096."""
    v = read("qcc_viscosity.csv")
    trial = v["trial"].to_numpy()
    res = imr(v["viscosity"], limits_from=trial)
    assert res.center == pytest.approx(34.088, abs=5e-7)
    assert res.sigma == pytest.approx(0.5076521, rel=RTOL_D2_N2)
    assert_limits(res.i, 0, 32.56504, 35.61096, 34.088, RTOL_D2_N2, abs_tol=5e-7)
    # MR chart: UCL = D4(2) MR-bar = 3.267 MR-bar (Montgomery), MR-bar = d2(2) sigma.
    mr_bar = np.abs(np.diff(v["viscosity"][trial])).mean()
    assert res.mr.center[0] == pytest.approx(mr_bar, rel=1e-12)
    assert res.mr.ucl[0] == pytest.approx(3.267 * mr_bar, rel=2e-4)
    assert res.mr.index[0] == 1


def test_viscosity_one_violation_western_electric() -> None:
    """qcc test-qcc.R: xbar.one on the 20 trial batches has exactly 1 violation (batch 4).

    qcc's default rule set is Western Electric 1-4 = our tests 1, 5, 6 and 2 with K=8.
    """
    v = read("qcc_viscosity.csv")
    x = v.loc[v["trial"], "viscosity"]
    res = imr(x, rules=(1, 2, 5, 6), params={2: 8})
    assert res.i.flagged.tolist() == [3]
    assert imr(x, rules=(1,)).i.beyond_limits.tolist() == [3]


def test_viscosity_after_removing_batch4() -> None:
    """qcc vignette: without batch 4, center 33.98947, sd 0.4117415, LCL 32.75425, UCL 35.2247."""
    v = read("qcc_viscosity.csv")
    cal = v["trial"].to_numpy().copy()
    cal[3] = False
    res = imr(v["viscosity"], limits_from=cal)
    assert res.center == pytest.approx(33.98947, abs=5e-6)
    assert res.sigma == pytest.approx(0.4117415, rel=RTOL_D2_N2)
    assert_limits(res.i, 0, 32.75425, 35.2247, res.center, RTOL_D2_N2)


# --------------------------------------------------------------------------- attribute charts


def test_orangejuice_p_and_np() -> None:
    """qcc vignette: p and np charts on the 30 trial samples of size 50."""
    oj = read("qcc_orangejuice.csv")
    trial = oj["trial"].to_numpy()
    p = p_chart(oj["D"], oj["size"], limits_from=trial)
    assert p.parameter == pytest.approx(0.2313333, abs=5e-8)
    assert p.chart.sigma[0] == pytest.approx(0.05963526, abs=5e-9)
    assert p.chart.lcl[0] == pytest.approx(0.05242755, abs=5e-9)
    assert p.chart.ucl[0] == pytest.approx(0.4102391, abs=5e-8)
    # samples 15 and 23 exceed the UCL in phase I (help(orangejuice)); 21 is just below
    assert [i for i in p.chart.beyond_limits if trial[i]] == [14, 22]
    npc = np_chart(oj["D"], 50, limits_from=trial)
    assert npc.chart.center[0] == pytest.approx(11.56667, abs=5e-6)
    assert npc.chart.sigma[0] == pytest.approx(2.981763, abs=5e-7)
    assert npc.chart.lcl[0] == pytest.approx(2.621377, abs=5e-7)
    assert npc.chart.ucl[0] == pytest.approx(20.51196, abs=5e-6)


def test_orangejuice_revised_p_chart() -> None:
    """qcc vignette: revised p chart without samples 15 and 23 (28 groups)."""
    oj = read("qcc_orangejuice.csv")
    cal = oj["trial"].to_numpy().copy()
    cal[[14, 22]] = False
    p = p_chart(oj["D"], oj["size"], limits_from=cal)
    assert p.parameter == pytest.approx(0.215, abs=1e-12)
    assert p.chart.sigma[0] == pytest.approx(0.05809905, abs=5e-9)
    assert p.chart.lcl[0] == pytest.approx(0.04070284, abs=5e-9)
    assert p.chart.ucl[0] == pytest.approx(0.3892972, abs=5e-8)
    assert p.n_calibration == 28
    again = p_chart(oj["D"][30:], oj["size"][30:], **p.limits)
    assert again.chart.ucl[0] == pytest.approx(0.3892972, abs=5e-8)


def test_circuit_c_chart() -> None:
    """qcc vignette: c chart on 26 trial samples; samples 6 and 20 out of control."""
    ci = read("qcc_circuit.csv")
    trial = ci["trial"].to_numpy()
    c = c_chart(ci["x"], limits_from=trial)
    assert c.parameter == pytest.approx(19.84615, abs=5e-6)
    assert c.chart.sigma[0] == pytest.approx(4.454902, abs=5e-7)
    assert c.chart.lcl[0] == pytest.approx(6.481447, abs=5e-7)
    assert c.chart.ucl[0] == pytest.approx(33.21086, abs=5e-6)
    assert [i for i in c.chart.beyond_limits if trial[i]] == [5, 19]
    # qcc data/circuit.txt: sample 6 has x = 5 (below the LCL), sample 20 has x = 39 (above).
    assert ci["x"].iloc[[5, 19]].tolist() == [5, 39]
    assert c.chart.points[5] < c.chart.lcl[5] and c.chart.points[19] > c.chart.ucl[19]


def test_circuit_revised_c_and_u() -> None:
    """qcc vignette: c and u charts without samples 6 and 20 (24 groups, 100 boards each)."""
    ci = read("qcc_circuit.csv")
    cal = ci["trial"].to_numpy().copy()
    cal[[5, 19]] = False
    c = c_chart(ci["x"], limits_from=cal)
    assert c.parameter == pytest.approx(19.66667, abs=5e-6)
    assert c.chart.sigma[0] == pytest.approx(4.434712, abs=5e-7)
    assert c.chart.lcl[0] == pytest.approx(6.362532, abs=5e-7)
    assert c.chart.ucl[0] == pytest.approx(32.9708, abs=5e-5)
    u = u_chart(ci["x"], ci["size"], limits_from=cal)
    assert u.parameter == pytest.approx(0.1966667, abs=5e-8)
    assert u.chart.lcl[0] == pytest.approx(0.06362532, abs=5e-9)
    assert u.chart.ucl[0] == pytest.approx(0.329708, abs=5e-7)


def test_circuit_u_chart_one_violation() -> None:
    """qcc test-qcc.R: u chart (phase I = trial minus 6, 20; phase II = rest) has exactly one
    violating point under qcc's default Western Electric rules (our 1, 5, 6 and 2 with K=8)."""
    ci = read("qcc_circuit.csv").drop(index=[5, 19]).reset_index(drop=True)
    u = u_chart(
        ci["x"],
        ci["size"],
        limits_from=ci["trial"].to_numpy(),
        rules=(1, 2, 5, 6),
        params={2: 8},
    )
    assert len(u.chart.flagged) == 1


def test_attribute_variable_sizes() -> None:
    """Montgomery's p chart with variable n: sd_i = sqrt(p(1-p)/n_i), LCL floored at 0."""
    p = p_chart([1, 10, 2], [10, 100, 1000], p=0.1)
    np.testing.assert_allclose(p.chart.sigma, np.sqrt(0.09 / np.array([10, 100, 1000])))
    assert p.chart.lcl[0] == 0.0 and p.chart.lcl[2] > 0


# --------------------------------------------------------------------------- EWMA


def test_pistonrings_ewma(piston: pd.DataFrame) -> None:
    """qcc vignette: ewma(diameter[1:25,], lambda=0.2, nsigmas=3) limits for groups 1, 2, 25."""
    res = ewma(piston, 0.2, 3, subgroup="sample", value="diameter", limits_from=slice(0, 25))
    ch = res.chart
    for i, lcl, ucl in ((0, 73.99855, 74.00380), (1, 73.99781, 74.00454), (24, 73.99680, 74.00555)):
        assert ch.lcl[i] == pytest.approx(lcl, abs=1e-5)
        assert ch.ucl[i] == pytest.approx(ucl, abs=1e-5)


def test_viscosity_ewma_nsigmas_27() -> None:
    """qcc vignette: ewma(viscosity[trial], lambda=0.2, nsigmas=2.7, newdata=...) limits."""
    v = read("qcc_viscosity.csv")
    res = ewma(v["viscosity"], lam=0.2, L=2.7, limits_from=v["trial"].to_numpy())
    for i, lcl, ucl in ((0, 33.81387, 34.36213), (1, 33.73694, 34.43906), (34, 33.63111, 34.54489)):
        assert_limits(res.chart, i, lcl, ucl, 34.088, RTOL_D2_N2, abs_tol=5e-7)


def test_ewma_qcc_explicit_parameters() -> None:
    """qcc test-ewma.R: x=(11,13,12), center 10, sd 2, lambda 0.5, nsigmas 2."""
    res = ewma([11.0, 13.0, 12.0], lam=0.5, L=2, center=10, sigma=2)
    np.testing.assert_allclose(res.chart.points, [10.5, 11.75, 11.875], rtol=1e-12)
    np.testing.assert_allclose(res.chart.sigma, [1, math.sqrt(1.25), math.sqrt(1.3125)])
    np.testing.assert_allclose(res.chart.ucl, 10 + 2 * res.chart.sigma, rtol=1e-12)


def test_ewma_qcc_phase2_violation() -> None:
    """qcc test-ewma.R: lambda=1, nsigmas=2, data (0,0 | 0,5): only the last point violates."""
    res = ewma([0.0, 0.0, 0.0, 5.0], lam=1, L=2, center=0, sigma=1)
    assert [v.index for v in res.chart.violations] == [3]


def test_ewma_nist_example() -> None:
    """NIST/SEMATECH e-Handbook 6.3.2.4: lambda=0.3, target 50, s=2.0539, limits 47.4115/52.5884."""
    data = [52.0, 47.0, 53.0, 49.3, 50.1, 47.0, 51.0, 50.1, 51.2, 50.5]
    data += [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]
    published = [50.60, 49.52, 50.56, 50.18, 50.16, 49.21, 49.75, 49.85, 50.26, 50.33]
    published += [50.11, 49.36, 49.52, 50.05, 49.38, 49.92, 50.73, 51.23, 51.94, 51.99]
    res = ewma(data, lam=0.3, L=3, center=50, sigma=2.0539)
    np.testing.assert_allclose(res.chart.points, published, atol=0.005 + 1e-9)
    # The handbook prints the asymptotic limits; by point 20 the exact ones equal them.
    assert res.chart.lcl[-1] == pytest.approx(47.4115, abs=1e-4)
    assert res.chart.ucl[-1] == pytest.approx(52.5884, abs=1e-4)
    assert res.chart.violations == []


# --------------------------------------------------------------------------- CUSUM


def test_cusum_montgomery_example_9_1() -> None:
    """Montgomery, Intro to SQC 6th ed., Example 9.1 / Table 9.2: mu0=10, sigma=1, K=0.5, H=5.

    C+ first exceeds H at observation 29 (C+ = 5.28), then 5.30 at observation 30.
    """
    x = [9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34]
    x += [9.03, 11.47, 10.51, 9.40, 10.08, 9.37, 10.62, 10.31, 8.52, 10.84]
    x += [10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62, 11.31, 10.52]
    res = cusum(x, k=0.5, h=5, center=10, sigma=1)
    assert res.upper.points[28] == pytest.approx(5.28, abs=0.005)
    assert res.upper.points[29] == pytest.approx(5.30, abs=0.005)
    assert res.upper.points[3] == pytest.approx(1.16, abs=0.005)
    assert res.upper.points[4] == pytest.approx(2.82, abs=0.005)
    assert [v.index for v in res.violations] == [28, 29]


def test_cusum_qcc_recursion() -> None:
    """qcc test-cusum.R: strict boundaries, h=1, se.shift=1 (k=0.5), center 0, sd 1."""
    res = cusum([1.5, 0.5, 0.6, -1.5, -0.5, -0.8], k=0.5, h=1, center=0, sigma=1)
    np.testing.assert_allclose(res.upper.points, [1.0, 1.0, 1.1, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(res.lower.points, [0, 0, 0, -1.0, -1.0, -1.3], atol=1e-12)
    assert [v.index for v in res.upper.violations] == [2]
    assert [v.index for v in res.lower.violations] == [5]


def test_cusum_qcc_variable_sizes() -> None:
    """qcc test-cusum.R: subgroups of 3, 3, 2, 3; center 10, sd 2 -> pos 0, 0, 2.3284, 7.0246."""
    data = [[10, 10, 10], [10, 10, 10], [14, 14], [16, 16, 16]]
    res = cusum(data, k=0.5, h=10, center=10, sigma=2)
    np.testing.assert_allclose(
        res.upper.points, [0, 0, 2.32842712474619, 7.02457954745282], atol=1e-12
    )


def test_cusum_pistonrings_parameters(piston: pd.DataFrame) -> None:
    """qcc vignette: cusum(diameter[1:25,]) center 74.00118, sd 0.009785039."""
    res = cusum(piston, subgroup="sample", value="diameter", limits_from=slice(0, 25))
    assert res.center == pytest.approx(74.00118, abs=5e-6)
    assert res.sigma == pytest.approx(0.009785039, rel=RTOL_D2_N5)


# --------------------------------------------------------------------------- JSON, rules


def test_results_serialise_to_json(piston: pd.DataFrame) -> None:
    """Every result converts to plain JSON (lists, no numpy, no NaN)."""
    wide = piston.pivot(index="sample", columns="obs", values="diameter").to_numpy()
    results = [
        xbar_r(wide),
        xbar_s(wide),
        imr(wide[:, 0]),
        p_chart([1, 2], 10),
        c_chart([1, 3]),
        u_chart([1, 3], [1.5, 2]),
        ewma(wide),
        cusum(wide[:, 0]),
    ]
    for res in results:
        doc = json.loads(res.to_json())
        assert isinstance(doc, dict)
    doc = xbar_r(wide).to_dict()
    assert isinstance(doc["xbar"]["ucl"], list) and isinstance(doc["sigma"], float)
    assert set(doc["xbar"]["violations"][0]) == {"rule", "index", "description"}


def test_rule_defaults_and_overrides() -> None:
    """Variables charts run all eight tests, dispersion and attribute charts tests 1-4."""
    res = xbar_r([[1, 2], [2, 3], [3, 5]])
    assert res.xbar.rules == (1, 2, 3, 4, 5, 6, 7, 8)
    assert res.r.rules == (1, 2, 3, 4)
    assert c_chart([1, 2, 3]).chart.rules == (1, 2, 3, 4)
    assert imr([1.0, 2.0, 4.0], rules=()).i.violations == []
    assert imr([1.0, 2.0, 4.0], rules=[1, 3]).i.rules == (1, 3)


# --------------------------------------------------------------------------- properties

_subgroups = arrays(
    np.float64,
    st.tuples(st.integers(2, 12), st.integers(2, 6)),
    elements=st.floats(-1000, 1000, allow_nan=False).map(lambda v: round(v, 3)),
)


def _xbar_limits(res) -> np.ndarray:
    return np.concatenate([res.xbar.center, res.xbar.lcl, res.xbar.ucl])


@settings(max_examples=50, deadline=None)
@given(_subgroups, st.floats(-1e4, 1e4).map(lambda v: round(v, 2)))
def test_shift_moves_center_and_limits(data: np.ndarray, shift: float) -> None:
    """Adding a constant moves center and limits by it; dispersion charts do not change."""
    base, moved = xbar_r(data), xbar_r(data + shift)
    np.testing.assert_allclose(_xbar_limits(moved), _xbar_limits(base) + shift, atol=1e-6)
    np.testing.assert_allclose(moved.r.ucl, base.r.ucl, atol=1e-6)
    base_s, moved_s = xbar_s(data), xbar_s(data + shift)
    np.testing.assert_allclose(moved_s.xbar.ucl, base_s.xbar.ucl + shift, atol=1e-6)
    i0, i1 = imr(data[:, 0]), imr(data[:, 0] + shift)
    np.testing.assert_allclose(i1.i.ucl, i0.i.ucl + shift, atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(_subgroups, st.floats(0.01, 100))
def test_scale_scales_center_and_limits(data: np.ndarray, scale: float) -> None:
    """Multiplying by a positive constant scales center, limits and sigma."""
    base, scaled = xbar_r(data), xbar_r(data * scale)
    np.testing.assert_allclose(_xbar_limits(scaled), _xbar_limits(base) * scale, atol=1e-6)
    assert scaled.sigma == pytest.approx(base.sigma * scale, abs=1e-9)
    base_s, scaled_s = xbar_s(data), xbar_s(data * scale)
    np.testing.assert_allclose(scaled_s.s.ucl, base_s.s.ucl * scale, atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(_subgroups, st.randoms(use_true_random=False))
def test_permuting_within_subgroups_changes_nothing(data: np.ndarray, rnd) -> None:
    """Order within a subgroup does not matter."""
    shuffled = data.copy()
    for row in shuffled:
        rnd.shuffle(row)
    a, b = xbar_s(data), xbar_s(shuffled)
    np.testing.assert_allclose(_xbar_limits(a), _xbar_limits(b), atol=1e-9)
    np.testing.assert_allclose(a.s.points, b.s.points, atol=1e-9)
    assert xbar_r(data).to_dict()["r"] == xbar_r(shuffled).to_dict()["r"]


# --------------------------------------------------------------------------- bad input


def test_empty_data() -> None:
    """No data at all is EmptyDataError for every chart."""
    for call in (
        lambda: xbar_r([]),
        lambda: imr([]),
        lambda: p_chart([], []),
        lambda: c_chart([]),
        lambda: ewma([]),
        lambda: xbar_r(pd.DataFrame({"subgroup": [], "value": []})),
    ):
        with pytest.raises(EmptyDataError):
            call()
    with pytest.raises(EmptyDataError, match="selects no points"):
        imr([1.0, 2.0, 3.0], limits_from=slice(5, 9))


def test_subgroup_too_small() -> None:
    """A range or sd needs two values: subgroup size 1 is SubgroupSizeError naming it."""
    with pytest.raises(SubgroupSizeError, match="subgroup 1"):
        xbar_r([[1.0, 2.0], [3.0]])
    with pytest.raises(SubgroupSizeError, match="'b'"):
        xbar_s(pd.DataFrame({"subgroup": ["a", "a", "b"], "value": [1.0, 2.0, 3.0]}))
    with pytest.raises(SubgroupSizeError):
        xbar_r([[1.0], [2.0]])
    with pytest.raises(SubgroupSizeError):
        imr([1.0, 2.0], mr_span=1)
    with pytest.raises(EmptyDataError):
        imr([1.0])


def test_missing_and_non_numeric() -> None:
    """NaN/None and text raise MissingValueError / NonNumericDataError with the position."""
    with pytest.raises(MissingValueError, match="row 1, column 0"):
        xbar_r([[1.0, 2.0], [float("nan"), 2.0]])
    with pytest.raises(MissingValueError, match="position 2"):
        imr(pd.Series([1.0, 2.0, None]))
    with pytest.raises(MissingValueError):
        xbar_r(pd.DataFrame({"subgroup": [1, 1, None], "value": [1.0, 2.0, 3.0]}))
    with pytest.raises(NonNumericDataError, match="'abc'"):
        imr([1.0, "abc", 3.0])
    with pytest.raises(NonNumericDataError):
        xbar_r(pd.DataFrame({"subgroup": [1, 1], "value": ["a", "b"]}))
    with pytest.raises(NonNumericDataError, match="infinite"):
        c_chart([1, np.inf])


def test_count_errors() -> None:
    """Negative or fractional counts and defectives above the sample size are CountError."""
    with pytest.raises(CountError, match="negative count -1 at position 1"):
        c_chart([3, -1])
    with pytest.raises(CountError, match="not a whole number"):
        p_chart([1.5, 2], 10)
    with pytest.raises(CountError, match="12 defectives exceed the sample size 10"):
        p_chart([1, 12], 10)
    with pytest.raises(CountError, match="exceed"):
        np_chart([1, 6], [5, 5])
    with pytest.raises(CountError, match="sample size is 0"):
        p_chart([0, 1], [0, 10])
    with pytest.raises(CountError):
        u_chart([-2, 1], 1)


def test_shape_and_parameter_errors() -> None:
    """Wrong shapes and impossible parameters are DataShapeError / ParameterError."""
    with pytest.raises(DataShapeError, match="use imr"):
        xbar_r([1.0, 2.0, 3.0])
    with pytest.raises(DataShapeError):
        p_chart([1, 2, 3], [10, 10])
    with pytest.raises(DataShapeError, match="not found"):
        xbar_r(pd.DataFrame({"subgroup": [1, 1]}), value="diameter")
    with pytest.raises(ParameterError, match="lam"):
        ewma([1.0, 2.0, 3.0], lam=0)
    with pytest.raises(ParameterError, match="nsigmas"):
        imr([1.0, 2.0, 3.0], nsigmas=-1)
    with pytest.raises(ParameterError, match="sigma_method"):
        xbar_s([[1, 2], [3, 4]], sigma_method="median")
    with pytest.raises(ParameterError, match="units"):
        u_chart([1, 2], [1, 0])
    with pytest.raises(ParameterError):
        p_chart([1, 2], 10, p=1.5)
    with pytest.raises(ParameterError):
        cusum([1.0, 1.0, 1.0])  # zero sigma cannot be standardised


def test_error_hierarchy_and_shared_validators() -> None:
    """All errors are StatisticsError (a ValueError); validators used by the other modules."""
    for cls in (
        errors.EmptyDataError,
        NonNumericDataError,
        MissingValueError,
        SubgroupSizeError,
        CountError,
        SpecLimitError,
        DesignError,
        SamplingPlanError,
        DataShapeError,
        ParameterError,
    ):
        assert issubclass(cls, StatisticsError) and issubclass(cls, ValueError)
    with pytest.raises(SpecLimitError, match="LSL .* must be less than USL"):
        errors.check_spec_limits(74.05, 73.95)
    with pytest.raises(SpecLimitError, match="at least one"):
        errors.check_spec_limits(None, None)
    assert errors.check_spec_limits(None, 5) == (None, 5.0)
    with pytest.raises(CountError, match="position 0"):
        errors.as_count_array([-1])
    with pytest.raises(DataShapeError, match="different lengths"):
        errors.as_float_array([[1, 2], [3]])
    with pytest.raises(NonNumericDataError, match="boolean"):
        errors.as_float_array([True, False])
    assert errors.as_float_array(pd.Series([1, 2], dtype="Int64")).dtype == np.float64
