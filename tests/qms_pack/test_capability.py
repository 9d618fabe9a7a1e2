"""Process capability against published results.

Sources:

* qcc 3.0 (Scrucca, CRAN; vignette rendered at docs/articles/qcc.html), processCapability() on
  the piston-ring data, first 25 subgroups of 5 (Montgomery, Intro to SQC, Table 6.3); the
  values are copied in the header of tests/data/qcc_pistonrings.csv. qcc computes sigma
  within as R-bar/d2 with d2 rounded to 2.326 (exact 2.32593), which moves the 4th
  significant digit of an index by at most 1e-4; the tolerances below allow for that.
* qcc 3.0 I chart of the viscosity data (tests/data/qcc_viscosity.csv): sigma = MR-bar/1.128
  and the sample-SD estimate sd/c4.
* Montgomery, *Introduction to Statistical Quality Control*, 6th ed. (2009), Table 8.5: three
  processes with Cpk = 1.0 (LSL 35, USL 65, T 50) have Cpm = 1.0, 0.63 and 0.44.
* NIST/SEMATECH e-Handbook of Statistical Methods, section 6.1.6 (process capability
  example: USL 20, LSL 8, mean 16, sigma 2 -> Cp 1.0, Cpl 1.3333, Cpu 0.6667, Cpk 0.6667).
* D'Agostino & Stephens (1986), *Goodness-of-Fit Techniques*, Table 4.7 (case 3, both
  parameters estimated): upper-tail points of the modified A*^2 statistic 0.631 (10 %),
  0.752 (5 %), 0.873 (2.5 %), 1.035 (1 %).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from jizuo.qms_pack import errors
from jizuo.qms_pack.capability import analyze, anderson_darling, anderson_darling_pvalue
from jizuo.qms_pack.constants import c4, d2

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def piston() -> np.ndarray:
    df = pd.read_csv(DATA / "qcc_pistonrings.csv", comment="#")
    trial = df[df["trial"]]
    return trial.pivot(index="sample", columns="obs", values="diameter").to_numpy()


@pytest.fixture(scope="module")
def viscosity() -> np.ndarray:
    df = pd.read_csv(DATA / "qcc_viscosity.csv", comment="#")
    return df.loc[df["trial"], "viscosity"].to_numpy()


# Printed to 3 decimals; + 1.5e-4 for qcc's rounded d2 (relative 3e-5, see the docstring).
TOL3 = 0.0005 + 1.5e-4


def test_qcc_pistonrings_spec_73_95_74_05(piston: np.ndarray) -> None:
    # qcc processCapability(q, spec.limits=c(73.95, 74.05)): target defaults to the middle.
    r = analyze(piston, 73.95, 74.05)
    assert r.within_method == "Rbar/d2" and r.n == 125 and r.n_subgroups == 25
    assert r.cp == pytest.approx(1.703, abs=TOL3)
    assert r.cpl == pytest.approx(1.743, abs=TOL3)
    assert r.cpu == pytest.approx(1.663, abs=TOL3)
    assert r.cpk == pytest.approx(1.663, abs=TOL3)
    assert r.target == 74.0
    assert r.cpm == pytest.approx(1.69, abs=0.005 + 1e-4)
    # qcc R chart: center R-bar = 0.02276 (printed), so sigma within = 0.02276 / d2(5).
    assert r.sigma_within * d2(5) == pytest.approx(0.02276, abs=5e-6)
    assert r.mean == pytest.approx(74.00118, abs=5e-6)


def test_qcc_pistonrings_cpm_off_target(piston: np.ndarray) -> None:
    # qcc: with target = 74.02, Cpm = 0.786.
    r = analyze(piston, 73.95, 74.05, target=74.02)
    assert r.cpm == pytest.approx(0.786, abs=TOL3)


def test_qcc_pistonrings_narrow_spec_percentages(piston: np.ndarray) -> None:
    # qcc spec (73.99, 74.01): Cp 0.341 Cp_l 0.381 Cp_u 0.301 Cpk 0.301 Cpm 0.338,
    # Exp<LSL 13 %, Obs<LSL 12 %, Exp>USL 18 %, Obs>USL 16 % (expected from sigma within).
    r = analyze(piston.reshape(-1), 73.99, 74.01, subgroup_size=5)
    assert r.cp == pytest.approx(0.341, abs=TOL3)
    assert r.cpl == pytest.approx(0.381, abs=TOL3)
    assert r.cpu == pytest.approx(0.301, abs=TOL3)
    assert r.cpk == pytest.approx(0.301, abs=TOL3)
    assert r.cpm == pytest.approx(0.338, abs=TOL3)
    assert round(r.ppm_expected_within.below_lsl / 1e4) == 13
    assert round(r.ppm_observed.below_lsl / 1e4) == 12
    assert round(r.ppm_expected_within.above_usl / 1e4) == 18
    assert round(r.ppm_observed.above_usl / 1e4) == 16
    assert r.ppm_observed.total == pytest.approx(280000)


def test_qcc_pistonrings_asymmetric_spec(piston: np.ndarray) -> None:
    # qcc spec (73.99, 74.1): Cp 1.874 Cp_l 0.381 Cp_u 3.367 Cpk 0.381 Cpm 0.408 (T 74.045).
    r = analyze(piston, 73.99, 74.1)
    assert r.cp == pytest.approx(1.874, abs=TOL3)
    assert r.cpl == pytest.approx(0.381, abs=TOL3)
    assert r.cpu == pytest.approx(3.367, abs=TOL3)
    assert r.cpk == pytest.approx(0.381, abs=TOL3)
    assert r.target == pytest.approx(74.045)
    assert r.cpm == pytest.approx(0.408, abs=TOL3)


def test_qcc_pistonrings_sbar_method(piston: np.ndarray) -> None:
    # qcc S chart: center S-bar = 0.009240037, std.dev = S-bar/c4 = 0.009829977.
    r = analyze(piston, 73.95, 74.05, within_method="stdev")
    assert r.within_method == "Sbar/c4"
    assert r.sigma_within == pytest.approx(0.009829977, rel=1e-6)
    assert r.sigma_within * c4(5) == pytest.approx(0.009240037, rel=1e-6)


def test_qcc_viscosity_individuals(viscosity: np.ndarray) -> None:
    # qcc I chart: std.dev = MR-bar/1.128 = 0.5076521; with std.dev="SD": sd/c4(20) = 0.5769854.
    r = analyze(viscosity, 30, 38)
    assert r.within_method == "MRbar/d2" and r.subgroup_size == 1
    assert r.sigma_within * d2(2) == pytest.approx(0.5076521 * 1.128, rel=1e-6)
    assert r.sigma_overall / c4(20) == pytest.approx(0.5769854, rel=1e-6)
    assert r.mean == pytest.approx(34.088, abs=5e-4)


def _alternating(mean: float, half_mr: float, n: int = 40) -> np.ndarray:
    # mean +/- a alternately: mean exact, every moving range equals 2a.
    return mean + half_mr * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)


@pytest.mark.parametrize(
    ("mean", "sigma", "cpk", "cpm"),
    [(50.0, 5.0, 1.0, 1.0), (57.5, 2.5, 1.0, 0.63), (61.25, 1.25, 1.0, 0.44)],
)
def test_montgomery_table_8_5_cpm(mean: float, sigma: float, cpk: float, cpm: float) -> None:
    # Individuals whose MR-bar/d2(2) equals sigma: within sigma is exactly sigma.
    x = _alternating(mean, sigma * d2(2) / 2)
    r = analyze(x, 35, 65, target=50)
    assert r.sigma_within == pytest.approx(sigma, rel=1e-12)
    assert r.cpk == pytest.approx(cpk, abs=5e-3)
    assert r.cpm == pytest.approx(cpm, abs=5e-3)


def test_nist_capability_example_overall() -> None:
    # Overall sigma (sample SD) made exactly 2 around a mean of 16.
    n = 40
    x = _alternating(16.0, 2.0 * math.sqrt((n - 1) / n), n)
    r = analyze(x, 8, 20)
    assert r.sigma_overall == pytest.approx(2.0, rel=1e-12)
    assert r.pp == pytest.approx(1.0, abs=5e-5)
    assert r.ppl == pytest.approx(1.3333, abs=5e-5)
    assert r.ppu == pytest.approx(0.6667, abs=5e-5)
    assert r.ppk == pytest.approx(0.6667, abs=5e-5)


def test_one_sided_specs(piston: np.ndarray) -> None:
    upper = analyze(piston, usl=74.05)
    assert upper.cp is None and upper.cpl is None and upper.pp is None and upper.ppl is None
    assert upper.cpm is None and upper.target is None
    assert upper.cpk == upper.cpu == pytest.approx(1.663, abs=TOL3)
    assert upper.ppm_observed.below_lsl is None
    assert upper.ppm_expected_within.total == upper.ppm_expected_within.above_usl
    lower = analyze(piston, lsl=73.95)
    assert lower.cpu is None and lower.cpk == lower.cpl == pytest.approx(1.743, abs=TOL3)
    assert lower.ppm_expected_overall.above_usl is None


def test_subgroup_rule_auto_uses_sbar_from_10() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(10, 1, size=(20, 10))
    assert analyze(x, 5, 15).within_method == "Sbar/c4"
    assert analyze(x[:, :9], 5, 15).within_method == "Rbar/d2"
    assert analyze(x, 5, 15, within_method="range").within_method == "Rbar/d2"


# ---------------------------------------------------------------------------------------------
# Anderson-Darling
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a2_star", "alpha"), [(0.631, 0.10), (0.752, 0.05), (0.873, 0.025), (1.035, 0.01)]
)
def test_ad_pvalue_at_published_critical_points(a2_star: float, alpha: float) -> None:
    # D'Agostino & Stephens (1986) Table 4.7 percentage points vs the Table 4.9 p-value curves.
    assert anderson_darling_pvalue(a2_star) == pytest.approx(alpha, rel=0.03)


def test_ad_pvalue_is_monotone_and_bounded() -> None:
    grid = np.linspace(0.0, 5.0, 501)
    p = np.array([anderson_darling_pvalue(a) for a in grid])
    assert np.all((p >= 0) & (p <= 1)) and np.all(np.diff(p) <= 1e-12)


def test_ad_statistic_matches_scipy(piston: np.ndarray) -> None:
    # Cross-check of the A^2 statistic with scipy's independent implementation.
    a2, a2_star = anderson_darling(piston.reshape(-1))
    assert a2 == pytest.approx(stats.anderson(piston.reshape(-1), method="interpolate").statistic)
    assert a2_star == pytest.approx(a2 * (1 + 0.75 / 125 + 2.25 / 125**2))


def test_normality_warning_for_skewed_data() -> None:
    x = stats.expon.ppf((np.arange(1, 101) - 0.5) / 100)  # exponential quantiles
    r = analyze(x, usl=10)
    assert r.normality.rejected and r.normality.p_value < 0.005
    assert any("Normality rejected" in w for w in r.warnings)


def test_normality_not_rejected_for_pistonrings(piston: np.ndarray) -> None:
    r = analyze(piston, 73.95, 74.05)
    assert r.normality.rejected is False and r.warnings == []


def test_too_few_values_for_ad() -> None:
    r = analyze([1.0, 2.0, 1.5, 1.7], 0, 3)
    assert r.normality.p_value is None and r.normality.rejected is None
    assert any("too few" in w for w in r.warnings)


def test_to_dict_is_json(piston: np.ndarray) -> None:
    data = json.loads(json.dumps(analyze(piston, 73.95, 74.05).to_dict()))
    assert data["cp"] == pytest.approx(1.703, abs=TOL3)
    assert set(data["ppm_observed"]) == {"below_lsl", "above_usl", "total"}
    assert data["normality"]["test"] == "Anderson-Darling"


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

_values = st.lists(
    st.floats(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False),
    min_size=10,
    max_size=40,
)


def _indices(r: object) -> np.ndarray:
    names = ("cp", "cpl", "cpu", "cpk", "pp", "ppl", "ppu", "ppk", "cpm")
    return np.array([getattr(r, k) for k in names], dtype=float)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=_values,
    shift=st.floats(min_value=-1e4, max_value=1e4),
    scale=st.floats(min_value=1e-3, max_value=1e3),
    size=st.sampled_from([1, 2, 5]),
)
def test_indices_invariant_to_shift_and_scale(
    x: list[float], shift: float, scale: float, size: int
) -> None:
    arr = np.asarray(x[: len(x) // size * size])
    assume(arr.size >= 2 * size and np.ptp(arr) > 1e-3)
    groups = arr.reshape(-1, size)
    if size == 1:
        assume(np.mean(np.abs(np.diff(arr))) > 1e-3)
    else:
        assume(np.mean(np.ptp(groups, axis=1)) > 1e-3)
    lsl, usl = float(arr.min()) - 1.0, float(arr.max()) + 2.0
    base = analyze(arr, lsl, usl, subgroup_size=size)
    moved = analyze(
        arr * scale + shift, lsl * scale + shift, usl * scale + shift, subgroup_size=size
    )
    np.testing.assert_allclose(_indices(moved), _indices(base), rtol=1e-6, atol=1e-9)
    assert moved.ppm_observed == base.ppm_observed


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_bad_inputs() -> None:
    good = [1.0, 2.0, 3.0, 2.5, 1.5, 2.2, 2.8, 1.9]
    with pytest.raises(errors.EmptyDataError):
        analyze([], 0, 1)
    with pytest.raises(errors.EmptyDataError):
        analyze([1.0], 0, 2)
    with pytest.raises(errors.MissingValueError, match="position 1"):
        analyze([1.0, float("nan"), 2.0], 0, 3)
    with pytest.raises(errors.NonNumericDataError):
        analyze([1.0, "a", 2.0], 0, 3)
    with pytest.raises(errors.NonNumericDataError):
        analyze([1.0, float("inf"), 2.0], 0, 3)
    with pytest.raises(errors.SpecLimitError, match="less than"):
        analyze(good, 3, 3)
    with pytest.raises(errors.SpecLimitError, match="less than"):
        analyze(good, 4, 1)
    with pytest.raises(errors.SpecLimitError, match="at least one"):
        analyze(good)
    with pytest.raises(errors.SpecLimitError, match="finite"):
        analyze(good, float("nan"), 4)
    with pytest.raises(errors.SpecLimitError, match="target"):
        analyze(good, 0, 4, target=5)
    with pytest.raises(errors.SpecLimitError, match="target"):
        analyze(good, 0, 4, target="x")  # type: ignore[arg-type]
    with pytest.raises(errors.SubgroupSizeError, match="left over"):
        analyze(good, 0, 4, subgroup_size=3)
    with pytest.raises(errors.SubgroupSizeError):
        analyze(good, 0, 4, subgroup_size=0)
    with pytest.raises(errors.SubgroupSizeError, match="columns"):
        analyze(np.reshape(good, (4, 2)), 0, 4, subgroup_size=4)
    with pytest.raises(errors.DataShapeError):
        analyze([[1.0, 2.0], [3.0]], 0, 4)
    with pytest.raises(errors.StatisticsError, match="no variation"):
        analyze([2.0] * 10, 0, 4)
    with pytest.raises(errors.ParameterError):
        analyze(good, 0, 4, within_method="pooled")
    with pytest.raises(errors.ParameterError):
        analyze(good, 0, 4, alpha=1.5)
    assert issubclass(errors.SpecLimitError, ValueError)
