"""Gage R&R against published results.

Sources:

* CRAN SixSigma 0.11.1, tests/testthat/test-ss-rr.R: ss.rr(time1, prototype, operator,
  data = ss.data.rr, lsl = 0.7, usl = 0.8, alphaLim = 0.05, errorTerm = "interaction"),
  values copied in the header of tests/data/sixsigma_ss_data_rr.csv (Cano, Moguerza &
  Redchuk 2012, *Six Sigma with R*, ch. 5).
* AIAG, *Measurement Systems Analysis Reference Manual*, 4th ed. (2010), chapter III-B: the
  10 parts x 3 appraisers x 3 trials example (data sheet Figure III-B 15, average-and-range
  report Figure III-B 16, ANOVA Tables III-B 7 and III-B 8). The data are below; AIAG
  rounds intermediate values (R-bar-bar 0.3417, X-diff 0.4447, K1 0.5908, K2 0.5231, K3
  0.3146), hence the relative tolerance of 3e-4 on its printed results.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jizuo.qms_pack import errors
from jizuo.qms_pack.msa import gage_rr

DATA = Path(__file__).resolve().parents[1] / "data"

# AIAG MSA 4th ed. Figure III-B 15: appraiser -> trial -> parts 1..10.
AIAG = {
    "A": [
        [0.29, -0.56, 1.34, 0.47, -0.80, 0.02, 0.59, -0.31, 2.26, -1.36],
        [0.41, -0.68, 1.17, 0.50, -0.92, -0.11, 0.75, -0.20, 1.99, -1.25],
        [0.64, -0.58, 1.27, 0.64, -0.84, -0.21, 0.66, -0.17, 2.01, -1.31],
    ],
    "B": [
        [0.08, -0.47, 1.19, 0.01, -0.56, -0.20, 0.47, -0.63, 1.80, -1.68],
        [0.25, -1.22, 0.94, 1.03, -1.20, 0.22, 0.55, 0.08, 2.12, -1.62],
        [0.07, -0.68, 1.34, 0.20, -1.28, 0.06, 0.83, -0.34, 2.19, -1.50],
    ],
    "C": [
        [0.04, -1.38, 0.88, 0.14, -1.46, -0.29, 0.02, -0.46, 1.77, -1.49],
        [-0.11, -1.13, 1.09, 0.20, -1.07, -0.67, 0.01, -0.56, 1.45, -1.77],
        [-0.15, -0.96, 0.67, 0.11, -1.45, -0.49, 0.21, -0.49, 1.87, -2.16],
    ],
}


@pytest.fixture(scope="module")
def aiag() -> pd.DataFrame:
    rows = [
        (part + 1, op, trial + 1, v)
        for op, trials in AIAG.items()
        for trial, values in enumerate(trials)
        for part, v in enumerate(values)
    ]
    return pd.DataFrame(rows, columns=["part", "operator", "trial", "value"])


@pytest.fixture(scope="module")
def helicopter() -> pd.DataFrame:
    return pd.read_csv(DATA / "sixsigma_ss_data_rr.csv", comment="#")


def _ss_rr(df: pd.DataFrame, **kw: object):  # type: ignore[no-untyped-def]
    return gage_rr(df, "prototype", "operator", "time1", tolerance=(0.7, 0.8), **kw)


# ---------------------------------------------------------------------------------------------
# SixSigma ss.rr (ANOVA method)
# ---------------------------------------------------------------------------------------------


def test_sixsigma_full_anova(helicopter: pd.DataFrame) -> None:
    a = _ss_rr(helicopter).anova
    assert a is not None
    np.testing.assert_array_equal(a["DF"], [2, 2, 4, 18, 26])
    np.testing.assert_allclose(a["SS"], [1.2007, 0.0529, 0.0834, 0.3854, 1.7225], atol=5e-5)
    np.testing.assert_allclose(a["MS"][:4], [0.6004, 0.0265, 0.0208, 0.0214], atol=5e-5)
    np.testing.assert_allclose(a["F"][:3], [28.797, 1.270, 0.974], atol=5e-4)
    np.testing.assert_allclose(a["P"][:3], [0.00422, 0.37415, 0.44619], atol=5e-6)


def test_sixsigma_pooled_anova(helicopter: pd.DataFrame) -> None:
    r = _ss_rr(helicopter)
    assert r.interaction_pooled is True and r.alpha == 0.05
    red = r.anova_reduced
    assert red is not None
    np.testing.assert_array_equal(red["DF"], [2, 2, 22, 26])
    np.testing.assert_allclose(red["SS"][:3], [1.2007, 0.0529, 0.4688], atol=5e-5)
    np.testing.assert_allclose(red["MS"][:3], [0.6004, 0.0265, 0.0213], atol=5e-5)
    np.testing.assert_allclose(red["F"][:2], [28.17, 1.24], atol=5e-3)
    assert red.loc["Part", "P"] == pytest.approx(8.56e-07, abs=5e-10)
    assert red.loc["Operator", "P"] == pytest.approx(0.308, abs=5e-4)


def test_sixsigma_variance_components(helicopter: pd.DataFrame) -> None:
    r = _ss_rr(helicopter)
    c = r.components.loc[
        [
            "Total Gage R&R",
            "Repeatability",
            "Reproducibility",
            "Operator",
            "Part-to-Part",
            "Total Variation",
        ]
    ]
    np.testing.assert_allclose(
        c["VarComp"], [0.0219, 0.0213, 0.0006, 0.0006, 0.0643, 0.0862], atol=5e-5
    )
    np.testing.assert_allclose(
        c["PctContribution"], [25.38, 24.71, 0.67, 0.67, 74.62, 100.00], atol=5e-3
    )
    sd = [0.14792656, 0.14597518, 0.02394813, 0.02394813, 0.25365123, 0.29363449]
    np.testing.assert_allclose(c["StdDev"], sd, atol=5e-9)
    study = [0.8875594, 0.8758511, 0.1436888, 0.1436888, 1.5219074, 1.7618069]
    np.testing.assert_allclose(c["StudyVar"], study, atol=5e-8)
    np.testing.assert_allclose(
        c["PctStudyVar"], [50.38, 49.71, 8.16, 8.16, 86.38, 100.00], atol=5e-3
    )
    np.testing.assert_allclose(
        c["PctTolerance"], [887.56, 875.85, 143.69, 143.69, 1521.91, 1761.81], atol=5e-3
    )
    assert r.ndc == 2
    assert r.tolerance == pytest.approx(0.1)
    assert r.grr == pytest.approx(0.14792656, abs=5e-9)
    assert r.ev == pytest.approx(0.14597518, abs=5e-9)
    assert r.av == pytest.approx(0.02394813, abs=5e-9)
    assert r.pv == pytest.approx(0.25365123, abs=5e-9)
    assert r.tv == pytest.approx(0.29363449, abs=5e-9)
    assert r.interaction == 0.0


def test_sixsigma_tolerance_as_number(helicopter: pd.DataFrame) -> None:
    r = gage_rr(helicopter, "prototype", "operator", "time1", tolerance=0.1)
    assert r.components.loc["Total Gage R&R", "PctTolerance"] == pytest.approx(887.56, abs=5e-3)


def test_interaction_kept_when_significant(helicopter: pd.DataFrame) -> None:
    # With alpha above the interaction p-value (0.446) the full model is used.
    r = _ss_rr(helicopter, alpha=0.5)
    assert r.interaction_pooled is False and r.anova_reduced is None
    ms = r.anova["MS"]
    assert "Part*Operator" in r.components.index
    expected_part = (ms["Part"] - ms["Part*Operator"]) / (3 * 3)
    assert r.components.loc["Part-to-Part", "VarComp"] == pytest.approx(expected_part)
    # (MS_PO - MS_E)/r is negative here: reported as 0 with a warning.
    assert r.components.loc["Part*Operator", "VarComp"] == 0.0
    assert any("interaction" in w for w in r.warnings)


# ---------------------------------------------------------------------------------------------
# AIAG MSA 4th ed. example
# ---------------------------------------------------------------------------------------------


def test_aiag_average_and_range(aiag: pd.DataFrame) -> None:
    # AIAG MSA 4th ed. Figure III-B 16: EV 0.20188, AV 0.22963, GRR 0.30575, PV 1.10456,
    # TV 1.14610; %EV 17.6, %AV 20.0, %GRR 26.7, %PV 96.4; ndc 5.
    r = gage_rr(aiag, method="xbar_r")
    assert (r.n_parts, r.n_operators, r.n_replicates) == (10, 3, 3)
    assert r.ev == pytest.approx(0.20188, rel=3e-4)
    assert r.av == pytest.approx(0.22963, rel=3e-4)
    assert r.grr == pytest.approx(0.30575, rel=3e-4)
    assert r.pv == pytest.approx(1.10456, rel=3e-4)
    assert r.tv == pytest.approx(1.14610, rel=3e-4)
    pct = r.components["PctStudyVar"]
    assert pct["Repeatability"] == pytest.approx(17.6, abs=0.05)
    assert pct["Reproducibility"] == pytest.approx(20.0, abs=0.05)
    assert pct["Total Gage R&R"] == pytest.approx(26.7, abs=0.05)
    assert pct["Part-to-Part"] == pytest.approx(96.4, abs=0.05)
    assert r.ndc == 5
    assert r.anova is None and r.interaction_pooled is None


def test_aiag_anova(aiag: pd.DataFrame) -> None:
    # AIAG MSA 4th ed. Table III-B 7 (ANOVA) and III-B 8: SS 3.1673 (appraiser),
    # 88.3619 (parts), 0.3590 (interaction), 2.7589 (equipment), 94.6471 (total); MS 1.58363,
    # 9.81799, 0.01994, 0.04598; F 79.41, 492.29, 0.434; interaction pooled:
    # EV 0.199, AV 0.227, INT 0, GRR 0.302, PV 1.04, TV 1.085; %TV 18.4, 20.9, 27.9, 96.0;
    # %contribution 3.4, 4.4, 7.8, 92.2; ndc 4.
    r = gage_rr(aiag)
    a = r.anova
    ss = a["SS"]
    assert ss["Operator"] == pytest.approx(3.1673, abs=5e-5)
    assert ss["Part"] == pytest.approx(88.3619, abs=5e-5)
    assert ss["Part*Operator"] == pytest.approx(0.3590, abs=5e-5)
    assert ss["Repeatability"] == pytest.approx(2.7589, abs=5e-5)
    assert ss["Total"] == pytest.approx(94.6471, abs=5e-5)
    ms = a["MS"]
    assert ms["Operator"] == pytest.approx(1.58363, abs=5e-6)
    assert ms["Part"] == pytest.approx(9.81799, abs=5e-6)
    assert ms["Part*Operator"] == pytest.approx(0.01994, abs=5e-6)
    assert ms["Repeatability"] == pytest.approx(0.04598, abs=5e-6)
    assert a.loc["Operator", "F"] == pytest.approx(79.41, abs=5e-3)
    assert a.loc["Part", "F"] == pytest.approx(492.29, abs=5e-3)
    assert a.loc["Part*Operator", "F"] == pytest.approx(0.434, abs=5e-4)
    assert r.interaction_pooled is True
    var = r.components["VarComp"]
    assert var["Repeatability"] == pytest.approx(0.039973, abs=5e-7)
    assert var["Operator"] == pytest.approx(0.051455, abs=5e-7)
    assert var["Total Gage R&R"] == pytest.approx(0.09143, abs=5e-6)
    assert var["Part-to-Part"] == pytest.approx(1.086447, abs=5e-7)
    assert r.ev == pytest.approx(0.199933, abs=5e-7)
    assert r.av == pytest.approx(0.226838, abs=5e-7)
    assert r.interaction == 0.0
    assert r.grr == pytest.approx(0.302373, abs=3e-6)  # AIAG: root of the rounded 0.09143
    assert r.pv == pytest.approx(1.042327, abs=5e-7)
    assert r.tv == pytest.approx(1.085, abs=5e-4)
    pct = r.components["PctStudyVar"]
    np.testing.assert_allclose(
        pct[["Repeatability", "Reproducibility", "Total Gage R&R", "Part-to-Part"]],
        [18.4, 20.9, 27.9, 96.0],
        atol=0.05,
    )
    contrib = r.components["PctContribution"]
    np.testing.assert_allclose(
        contrib[["Repeatability", "Reproducibility", "Total Gage R&R", "Part-to-Part"]],
        [3.4, 4.4, 7.8, 92.2],
        atol=0.05,
    )
    assert r.ndc == 4


def test_study_var_multiplier_515(aiag: pd.DataFrame) -> None:
    r = gage_rr(aiag, tolerance=4.0, study_var_multiplier=5.15)
    c = r.components.loc["Total Gage R&R"]
    assert c["StudyVar"] == pytest.approx(5.15 * r.grr)
    assert c["PctTolerance"] == pytest.approx(100 * 5.15 * r.grr / 4.0)
    # Percent study variation and contribution do not depend on the multiplier.
    base = gage_rr(aiag).components.loc["Total Gage R&R"]
    assert c["PctStudyVar"] == pytest.approx(base["PctStudyVar"])


def test_to_dict_is_json(helicopter: pd.DataFrame) -> None:
    data = json.loads(json.dumps(_ss_rr(helicopter).to_dict()))
    assert data["ndc"] == 2 and data["interaction_pooled"] is True
    rows = {row["source"]: row for row in data["anova"]}
    assert rows["Total"]["F"] is None and rows["Part"]["DF"] == 2
    assert data["components"][0]["source"] == "Total Gage R&R"


def test_row_order_does_not_matter(helicopter: pd.DataFrame) -> None:
    shuffled = helicopter.sample(frac=1.0, random_state=3)
    a, b = _ss_rr(helicopter), _ss_rr(shuffled)
    np.testing.assert_allclose(a.components.to_numpy(), b.components.to_numpy())


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@st.composite
def _designs(draw: st.DrawFn) -> pd.DataFrame:
    p = draw(st.integers(2, 5))
    o = draw(st.integers(2, 3))
    r = draw(st.integers(2, 3))
    values = draw(
        st.lists(
            st.floats(-50, 50, allow_nan=False, allow_infinity=False),
            min_size=p * o * r,
            max_size=p * o * r,
        )
    )
    idx = np.indices((p, o, r)).reshape(3, -1)
    return pd.DataFrame({"part": idx[0], "operator": idx[1], "value": values})


_PCT = ["PctContribution", "PctStudyVar", "PctTolerance"]


@settings(max_examples=50, deadline=None)
@given(
    df=_designs(),
    scale=st.floats(1e-3, 1e3),
    shift=st.floats(-1e3, 1e3),
    method=st.sampled_from(["anova", "xbar_r"]),
)
def test_percentages_invariant_to_scaling(
    df: pd.DataFrame, scale: float, shift: float, method: str
) -> None:
    if np.ptp(df["value"]) < 1e-3:
        return
    base = gage_rr(df, tolerance=10.0, method=method)
    moved_df = df.assign(value=df["value"] * scale + shift)
    moved = gage_rr(moved_df, tolerance=10.0 * scale, method=method)
    np.testing.assert_allclose(
        moved.components[_PCT].to_numpy(),
        base.components[_PCT].to_numpy(),
        rtol=1e-6,
        atol=1e-5,
    )
    assert moved.interaction_pooled == base.interaction_pooled
    if base.ndc is not None and moved.ndc is not None:
        ratio = np.sqrt(2) * base.pv / base.grr
        # Away from an integer boundary the truncated ndc is the same.
        if abs(ratio - round(ratio)) > 1e-6:
            assert moved.ndc == base.ndc


# ---------------------------------------------------------------------------------------------
# Bad designs and inputs
# ---------------------------------------------------------------------------------------------


def test_unbalanced_design(aiag: pd.DataFrame) -> None:
    with pytest.raises(errors.DesignError, match="unbalanced"):
        gage_rr(aiag.drop(index=5))
    extra = pd.concat([aiag, aiag.iloc[[0]]])
    with pytest.raises(errors.DesignError, match="unbalanced"):
        gage_rr(extra, method="xbar_r")


def test_not_crossed(aiag: pd.DataFrame) -> None:
    missing_cell = aiag[~((aiag["part"] == 3) & (aiag["operator"] == "B"))]
    with pytest.raises(errors.DesignError, match="not crossed"):
        gage_rr(missing_cell)


def test_too_small_designs(aiag: pd.DataFrame) -> None:
    with pytest.raises(errors.DesignError, match="2 operators"):
        gage_rr(aiag[aiag["operator"] == "A"])
    with pytest.raises(errors.DesignError, match="2 parts"):
        gage_rr(aiag[aiag["part"] == 1])
    with pytest.raises(errors.DesignError, match="2 trials"):
        gage_rr(aiag[aiag["trial"] == 1])
    with pytest.raises(errors.DesignError, match="no measurements"):
        gage_rr(aiag.iloc[:0])


def test_bad_values(aiag: pd.DataFrame) -> None:
    nan = aiag.copy()
    nan.loc[4, "value"] = np.nan
    with pytest.raises(errors.MissingValueError, match="position 4"):
        gage_rr(nan)
    text = aiag.astype({"value": object})
    text.loc[2, "value"] = "n/a"
    with pytest.raises(errors.NonNumericDataError):
        gage_rr(text)
    label = aiag.astype({"operator": object})
    label.loc[0, "operator"] = None
    with pytest.raises(errors.MissingValueError, match="operator"):
        gage_rr(label)
    with pytest.raises(errors.StatisticsError, match="no variation"):
        gage_rr(aiag.assign(value=1.0))


def test_bad_arguments(aiag: pd.DataFrame) -> None:
    with pytest.raises(errors.DesignError, match="not found"):
        gage_rr(aiag, value="reading")
    with pytest.raises(errors.DesignError, match="DataFrame"):
        gage_rr(aiag.to_numpy())  # type: ignore[arg-type]
    with pytest.raises(errors.ParameterError, match="method"):
        gage_rr(aiag, method="emp")
    with pytest.raises(errors.ParameterError, match="tolerance"):
        gage_rr(aiag, tolerance=0)
    with pytest.raises(errors.ParameterError, match="tolerance"):
        gage_rr(aiag, tolerance=(1.0, 0.5))
    with pytest.raises(errors.ParameterError, match="study_var_multiplier"):
        gage_rr(aiag, study_var_multiplier=-6)
    with pytest.raises(errors.ParameterError, match="alpha"):
        gage_rr(aiag, alpha=1.5)
    assert issubclass(errors.DesignError, ValueError)
