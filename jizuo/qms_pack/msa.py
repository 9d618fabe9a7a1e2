"""Measurement system analysis: crossed Gage R&R by ANOVA or by the AIAG average-and-range method.

ANOVA method (AIAG MSA 4th ed. chapter III-B; Montgomery, *Design and Analysis of
Experiments*, 13.2.2; the same as Minitab and CRAN SixSigma ``ss.rr``):

* two-way crossed ANOVA with interaction; F for part and for operator use the interaction mean
  square as error, F for the interaction uses the repeatability (within-cell) mean square;
* when the interaction p-value exceeds ``alpha`` (0.05) the interaction is pooled into the
  error term and the reduced model is used for the variance components;
* variance components from expected mean squares (negative estimates set to 0):
  repeatability = MS_E, interaction = (MS_PO - MS_E)/r, operator = (MS_O - MS_PO)/(p r),
  part = (MS_P - MS_PO)/(o r) (with MS_PO replaced by the pooled MS_E after pooling).

Average-and-range method (AIAG MSA 4th ed., chapter III-B, "Average and Range Method"):
EV = R-bar-bar K1, AV = sqrt((X-bar-diff K2)^2 - EV^2/(n r)), PV = R_p K3 with
K1 = 1/d2*(trials), K2 = 1/d2*(operators, g=1), K3 = 1/d2*(parts, g=1) from
:mod:`jizuo.qms_pack.constants`.

Names follow AIAG: EV (equipment variation, repeatability), AV (appraiser variation,
reproducibility), GRR, PV (part variation), TV (total variation); they are standard
deviations. Study variation = ``study_var_multiplier`` x SD (6, or 5.15 in older studies);
number of distinct categories ndc = floor(sqrt(2) PV / GRR), at least 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .constants import aiag_k1, aiag_k2, aiag_k3
from .errors import (
    DesignError,
    MissingValueError,
    ParameterError,
    StatisticsError,
    as_float_array,
)

__all__ = ["GageRRResult", "gage_rr"]

_ANOVA_COLUMNS = ["DF", "SS", "MS", "F", "P"]
_COMPONENT_COLUMNS = [
    "VarComp",
    "PctContribution",
    "StdDev",
    "StudyVar",
    "PctStudyVar",
    "PctTolerance",
]


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    # DataFrame -> list of plain dicts with the row label as "source"; NaN becomes None.
    if frame is None:
        return None
    out = []
    for label, row in frame.iterrows():
        item: dict[str, Any] = {"source": str(label)}
        for col, val in row.items():
            v = float(val)
            item[str(col)] = None if math.isnan(v) else v
        out.append(item)
    return out


@dataclass(frozen=True)
class GageRRResult:
    """Gage R&R study result; tables are DataFrames, :meth:`to_dict` gives plain types."""

    method: str
    n_parts: int
    n_operators: int
    n_replicates: int
    study_var_multiplier: float
    tolerance: float | None
    alpha: float | None
    interaction_pooled: bool | None
    anova: pd.DataFrame | None  # full model with interaction (method "anova")
    anova_reduced: pd.DataFrame | None  # interaction pooled into error (when pooled)
    components: pd.DataFrame
    ev: float
    av: float
    interaction: float
    grr: float
    pv: float
    tv: float
    ndc: int | None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return {
            "method": self.method,
            "n_parts": self.n_parts,
            "n_operators": self.n_operators,
            "n_replicates": self.n_replicates,
            "study_var_multiplier": self.study_var_multiplier,
            "tolerance": self.tolerance,
            "alpha": self.alpha,
            "interaction_pooled": self.interaction_pooled,
            "anova": _records(self.anova),
            "anova_reduced": _records(self.anova_reduced),
            "components": _records(self.components),
            "ev": self.ev,
            "av": self.av,
            "interaction": self.interaction,
            "grr": self.grr,
            "pv": self.pv,
            "tv": self.tv,
            "ndc": self.ndc,
            "warnings": list(self.warnings),
        }


def _check_positive_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | np.number):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ParameterError(f"{name} must be finite and > 0, got {value!r}")
    return v


def _tolerance(tolerance: Any) -> float | None:
    if tolerance is None:
        return None
    if isinstance(tolerance, tuple | list) and len(tolerance) == 2:
        # (LSL, USL): the tolerance is the width of the specification.
        lsl, usl = (_finite(t, "tolerance limit") for t in tolerance)
        if usl <= lsl:
            raise ParameterError(f"tolerance limits must satisfy LSL < USL, got {tolerance!r}")
        return usl - lsl
    return _check_positive_number(tolerance, "tolerance")


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | np.number):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ParameterError(f"{name} must be finite, got {value!r}")
    return v


def _design(df: Any, part: str, operator: str, value: str) -> tuple[np.ndarray, list, list]:
    """Validate a crossed, balanced design; return y[part, operator, replicate] and the labels."""
    if not isinstance(df, pd.DataFrame):
        raise DesignError(f"data must be a pandas DataFrame, got {type(df).__name__}")
    for role, col in (("part", part), ("operator", operator), ("value", value)):
        if col not in df.columns:
            raise DesignError(f"{role} column {col!r} not found (columns: {list(df.columns)})")
    if df.empty:
        raise DesignError("no measurements")
    y = as_float_array(df[value], f"column {value!r}")
    for role, col in (("part", part), ("operator", operator)):
        missing = df[col].isna().to_numpy()
        if missing.any():
            raise MissingValueError(
                f"{role} column {col!r}: missing label at row {int(np.flatnonzero(missing)[0])}"
            )
    part_codes, parts = pd.factorize(df[part], sort=True)
    op_codes, ops = pd.factorize(df[operator], sort=True)
    p, o = len(parts), len(ops)
    if p < 2:
        raise DesignError(f"need at least 2 parts, got {p}")
    if o < 2:
        raise DesignError(f"need at least 2 operators, got {o}")
    counts = np.zeros((p, o), dtype=int)
    np.add.at(counts, (part_codes, op_codes), 1)
    if counts.min() == 0:
        i, j = np.argwhere(counts == 0)[0]
        raise DesignError(
            f"design is not crossed: part {parts[i]!r} was not measured by operator {ops[j]!r}"
        )
    if counts.min() != counts.max():
        i, j = np.argwhere(counts != counts.flat[0])[0]
        raise DesignError(
            "unbalanced design: every part/operator cell needs the same number of trials; "
            f"part {parts[0]!r} x operator {ops[0]!r} has {counts.flat[0]}, part {parts[i]!r} "
            f"x operator {ops[j]!r} has {counts[i, j]}"
        )
    r = int(counts.flat[0])
    if r < 2:
        raise DesignError(f"need at least 2 trials per part and operator, got {r}")
    # Order by cell, keeping the data's order inside a cell as the replicate index.
    order = np.lexsort((np.arange(y.size), op_codes, part_codes))
    cube = y[order].reshape(p, o, r)
    return cube, list(parts), list(ops)


def _anova(cube: np.ndarray) -> pd.DataFrame:
    p, o, r = cube.shape
    grand = cube.mean()
    part_means = cube.mean(axis=(1, 2))
    op_means = cube.mean(axis=(0, 2))
    cell_means = cube.mean(axis=2)
    ss_total = float(((cube - grand) ** 2).sum())
    ss_part = float(o * r * ((part_means - grand) ** 2).sum())
    ss_op = float(p * r * ((op_means - grand) ** 2).sum())
    ss_cells = float(r * ((cell_means - grand) ** 2).sum())
    ss_int = max(ss_cells - ss_part - ss_op, 0.0)
    ss_err = float(((cube - cell_means[:, :, None]) ** 2).sum())
    df = np.array([p - 1, o - 1, (p - 1) * (o - 1), p * o * (r - 1), p * o * r - 1], float)
    ss = np.array([ss_part, ss_op, ss_int, ss_err, ss_total])
    ms = ss / df
    ms[-1] = np.nan
    # Part and operator are tested against the interaction, the interaction against error.
    denom = np.array([ms[2], ms[2], ms[3], np.nan, np.nan])
    df_den = np.array([df[2], df[2], df[3], np.nan, np.nan])
    labels = ["Part", "Operator", "Part*Operator", "Repeatability", "Total"]
    return _f_table(labels, df, ss, ms, denom, df_den)


def _f_table(
    labels: list[str],
    df: np.ndarray,
    ss: np.ndarray,
    ms: np.ndarray,
    denom: np.ndarray,
    df_den: np.ndarray,
) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        # A zero error mean square gives F = inf (p = 0); 0/0 stays NaN.
        f = np.where(np.isnan(denom), np.nan, ms / denom)
        pval = np.where(np.isnan(f), np.nan, stats.f.sf(f, df, df_den))
    return pd.DataFrame(
        {"DF": df, "SS": ss, "MS": ms, "F": f, "P": pval}, index=labels, columns=_ANOVA_COLUMNS
    )


def _reduced(full: pd.DataFrame) -> pd.DataFrame:
    df = full["DF"].to_numpy()
    ss = full["SS"].to_numpy()
    df_e = df[2] + df[3]
    ss_e = ss[2] + ss[3]
    df_r = np.array([df[0], df[1], df_e, df[4]])
    ss_r = np.array([ss[0], ss[1], ss_e, ss[4]])
    ms_r = ss_r / df_r
    ms_r[-1] = np.nan
    denom = np.array([ms_r[2], ms_r[2], np.nan, np.nan])
    df_den = np.array([df_e, df_e, np.nan, np.nan])
    return _f_table(["Part", "Operator", "Repeatability", "Total"], df_r, ss_r, ms_r, denom, df_den)


def _components(
    variances: dict[str, float], multiplier: float, tolerance: float | None
) -> pd.DataFrame:
    var = pd.Series(variances, dtype=float)
    total = var["Total Variation"]
    sd = np.sqrt(var)
    study = multiplier * sd
    return pd.DataFrame(
        {
            "VarComp": var,
            "PctContribution": 100.0 * var / total,
            "StdDev": sd,
            "StudyVar": study,
            "PctStudyVar": 100.0 * sd / sd["Total Variation"],
            "PctTolerance": 100.0 * study / tolerance if tolerance else np.nan,
        },
        columns=_COMPONENT_COLUMNS,
    )


def _ndc(pv: float, grr: float) -> int | None:
    if grr <= 0:
        return None
    # Truncated, as AIAG and Minitab do, and never below 1.
    return max(1, int(math.floor(math.sqrt(2.0) * pv / grr + 1e-9)))


def gage_rr(
    df: pd.DataFrame,
    part: str = "part",
    operator: str = "operator",
    value: str = "value",
    tolerance: float | tuple[float, float] | None = None,
    method: str = "anova",
    study_var_multiplier: float = 6,
    *,
    alpha: float = 0.05,
) -> GageRRResult:
    """Crossed Gage R&R study (ANOVA or AIAG average-and-range) from a long-format DataFrame."""
    meth = str(method).strip().lower().replace("-", "_")
    if meth not in ("anova", "xbar_r"):
        raise ParameterError(f"method must be 'anova' or 'xbar_r', got {method!r}")
    k = _check_positive_number(study_var_multiplier, "study_var_multiplier")
    tol = _tolerance(tolerance)
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 < float(alpha) < 1:
        raise ParameterError(f"alpha must lie in (0, 1), got {alpha!r}")
    cube, parts, ops = _design(df, part, operator, value)
    p, o, r = cube.shape
    if float(np.ptp(cube)) == 0.0:
        raise StatisticsError(f"column {value!r}: all measurements are equal, no variation")
    warnings: list[str] = []

    if meth == "anova":
        full = _anova(cube)
        ms = full["MS"]
        pooled = bool(full.loc["Part*Operator", "P"] > alpha) or bool(
            np.isnan(full.loc["Part*Operator", "P"])
        )
        if pooled:
            reduced = _reduced(full)
            ms_e = reduced.loc["Repeatability", "MS"]
            var_int = 0.0
            var_op = (ms["Operator"] - ms_e) / (p * r)
            var_part = (ms["Part"] - ms_e) / (o * r)
        else:
            reduced = None
            ms_e = ms["Repeatability"]
            var_int = (ms["Part*Operator"] - ms_e) / r
            var_op = (ms["Operator"] - ms["Part*Operator"]) / (p * r)
            var_part = (ms["Part"] - ms["Part*Operator"]) / (o * r)
        # Differences of mean squares carry a rounding error of a few eps x MS: anything
        # smaller is numerical noise of a zero component, not an estimate.
        noise = 16 * np.finfo(float).eps * float(np.nanmax(ms.to_numpy()))
        for label, v in (("operator", var_op), ("interaction", var_int), ("part", var_part)):
            if v < -noise:
                warnings.append(f"Negative {label} variance component estimate set to 0.")
        var_rep = float(ms_e)
        var_op, var_int, var_part = (
            float(v) if v > noise else 0.0 for v in (var_op, var_int, var_part)
        )
        var_repro = var_op + var_int
        var_grr = var_rep + var_repro
        variances = {"Total Gage R&R": var_grr, "Repeatability": var_rep}
        variances["Reproducibility"] = var_repro
        variances["Operator"] = var_op
        if not pooled:
            variances["Part*Operator"] = var_int
        variances["Part-to-Part"] = var_part
        variances["Total Variation"] = var_grr + var_part
        anova_full, alpha_used = full, float(alpha)
    else:
        # AIAG average-and-range: cell ranges over trials, operator and part averages.
        r_bar = float(np.ptp(cube, axis=2).mean())
        x_diff = float(np.ptp(cube.mean(axis=(0, 2))))
        r_p = float(np.ptp(cube.mean(axis=(1, 2))))
        ev = r_bar * aiag_k1(r)
        av_sq = (x_diff * aiag_k2(o)) ** 2 - ev**2 / (p * r)
        if av_sq < 0:
            warnings.append("Negative appraiser variation estimate set to 0 (AIAG).")
        av = math.sqrt(max(av_sq, 0.0))
        pv = r_p * aiag_k3(p)
        variances = {
            "Total Gage R&R": ev**2 + av**2,
            "Repeatability": ev**2,
            "Reproducibility": av**2,
            "Operator": av**2,
            "Part-to-Part": pv**2,
            "Total Variation": ev**2 + av**2 + pv**2,
        }
        pooled, reduced, anova_full, alpha_used = None, None, None, None

    comps = _components(variances, k, tol)
    sd = comps["StdDev"]
    grr, pv = float(sd["Total Gage R&R"]), float(sd["Part-to-Part"])
    ndc = _ndc(pv, grr)
    if ndc is None:
        warnings.append("No gage variation: the number of distinct categories is undefined.")
    return GageRRResult(
        method=meth,
        n_parts=p,
        n_operators=o,
        n_replicates=r,
        study_var_multiplier=k,
        tolerance=tol,
        alpha=alpha_used,
        interaction_pooled=pooled,
        anova=anova_full,
        anova_reduced=reduced,
        components=comps,
        ev=float(sd["Repeatability"]),
        av=float(sd["Reproducibility"]),
        interaction=float(sd["Part*Operator"]) if "Part*Operator" in sd.index else 0.0,
        grr=grr,
        pv=pv,
        tv=float(sd["Total Variation"]),
        ndc=ndc,
        warnings=warnings,
    )
