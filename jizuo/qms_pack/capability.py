"""Process capability (Cp, Cpk, Pp, Ppk, Cpm), PPM out of specification, normality check.

Two standard deviations are used, as in Minitab, qcc and AIAG SPC 2nd ed.:

* *within* (short-term) sigma for Cp/Cpk/Cpm and the "expected within" PPM:
  - individuals (``subgroup_size=1``): MR-bar / d2(2), moving ranges of span 2;
  - subgroups of size 2..9: R-bar / d2(n) (the classical X-bar/R estimate; qcc's default);
  - subgroups of size 10 or more: S-bar / c4(n), because the range wastes information in
    larger subgroups (Montgomery, *Introduction to SQC*, 6th ed., section 6.3);
  ``within_method`` ("range" or "stdev") overrides the automatic choice;
* *overall* (long-term) sigma for Pp/Ppk and the "expected overall" PPM: the sample standard
  deviation (n - 1 denominator) of all values.

Cpm (Taguchi index, Chan-Cheng-Spiring) uses the within sigma, as qcc does:
(USL - LSL) / (6 sqrt(sigma_within^2 + (mean - target)^2)); the target defaults to the middle
of the specification. Normality: Anderson-Darling test with mean and standard deviation
estimated, p-value from the modified statistic A*^2 = A^2 (1 + 0.75/n + 2.25/n^2) with the
formulas of D'Agostino & Stephens (1986), *Goodness-of-Fit Techniques*, Table 4.9 (the ones
Minitab and R's nortest::ad.test use).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .constants import c4, d2
from .errors import (
    EmptyDataError,
    ParameterError,
    SpecLimitError,
    StatisticsError,
    SubgroupSizeError,
    as_float_array,
    check_min_size,
    check_spec_limits,
)

__all__ = [
    "CapabilityResult",
    "NormalityTest",
    "PPM",
    "analyze",
    "anderson_darling",
    "anderson_darling_pvalue",
]

# Subgroups this size or larger use S-bar/c4 for the within sigma ("auto").
_SBAR_FROM = 10
# Below 8 values the D'Agostino-Stephens p-value formulas are not tabulated.
_AD_MIN_N = 8


def _plain(value: Any) -> Any:
    # numpy scalars -> Python scalars so that to_dict() output is JSON-serialisable.
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class PPM:
    """Parts per million below LSL, above USL and in total (None for a missing limit)."""

    below_lsl: float | None
    above_usl: float | None
    total: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return _plain(asdict(self))


@dataclass(frozen=True)
class NormalityTest:
    """Anderson-Darling normality test (mean and sigma estimated from the data)."""

    test: str
    n: int
    a2: float | None
    a2_star: float | None
    p_value: float | None
    rejected: bool | None  # p < alpha; None when too few values to test
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return _plain(asdict(self))


@dataclass(frozen=True)
class CapabilityResult:
    """Capability indices and everything needed to report them."""

    n: int
    subgroup_size: int
    n_subgroups: int
    mean: float
    lsl: float | None
    usl: float | None
    target: float | None
    sigma_within: float
    sigma_overall: float
    within_method: str
    cp: float | None
    cpl: float | None
    cpu: float | None
    cpk: float
    pp: float | None
    ppl: float | None
    ppu: float | None
    ppk: float
    cpm: float | None
    ppm_observed: PPM
    ppm_expected_within: PPM
    ppm_expected_overall: PPM
    normality: NormalityTest
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return _plain(asdict(self))


def anderson_darling(x: np.ndarray) -> tuple[float, float]:
    """Anderson-Darling A^2 and modified A*^2 for normality with estimated mean and sigma."""
    xs = np.sort(np.asarray(x, dtype=float))
    n = xs.size
    z = (xs - xs.mean()) / xs.std(ddof=1)
    i = np.arange(1, n + 1)
    # logcdf/logsf keep precision in the tails where 1 - Phi(z) rounds to 0.
    s = np.sum((2 * i - 1) * (stats.norm.logcdf(z) + stats.norm.logsf(z[::-1])))
    a2 = float(-n - s / n)
    return a2, a2 * (1.0 + 0.75 / n + 2.25 / n**2)


def anderson_darling_pvalue(a2_star: float) -> float:
    """p-value of the modified A*^2 (D'Agostino & Stephens 1986, Table 4.9)."""
    a = float(a2_star)
    if a >= 0.6:
        p = math.exp(1.2937 - 5.709 * a + 0.0186 * a * a)
    elif a >= 0.34:
        p = math.exp(0.9177 - 4.279 * a - 1.38 * a * a)
    elif a >= 0.2:
        p = 1.0 - math.exp(-8.318 + 42.796 * a - 59.938 * a * a)
    else:
        p = 1.0 - math.exp(-13.436 + 101.14 * a - 223.73 * a * a)
    # The fitted curves stray a hair outside [0, 1] at the extremes.
    return min(1.0, max(0.0, p))


def _subgroups(values: Any, subgroup_size: Any) -> np.ndarray:
    arr = as_float_array(values, "values", ndim=(1, 2))
    if arr.ndim == 2:
        size = arr.shape[1]
        given = check_min_size(1 if subgroup_size is None else subgroup_size, 1, "subgroup_size")
        # subgroup_size keeps its default of 1 for 2-D input; any other value must agree.
        if given not in (1, size):
            raise SubgroupSizeError(f"subgroup_size={given} but the 2-D values have {size} columns")
        return arr
    size = check_min_size(1 if subgroup_size is None else subgroup_size, 1, "subgroup_size")
    if arr.size % size:
        raise SubgroupSizeError(
            f"{arr.size} values cannot be split into subgroups of {size} "
            f"({arr.size % size} left over)"
        )
    return arr.reshape(-1, size)


def _within_sigma(groups: np.ndarray, method: str) -> tuple[float, str]:
    m, size = groups.shape
    if size == 1:
        x = groups[:, 0]
        if x.size < 2:
            raise EmptyDataError("values: need at least 2 individual values for a moving range")
        mr_bar = float(np.mean(np.abs(np.diff(x))))
        return mr_bar / d2(2), "MRbar/d2"
    if method == "auto":
        method = "stdev" if size >= _SBAR_FROM else "range"
    if method == "range":
        r_bar = float(np.mean(np.ptp(groups, axis=1)))
        return r_bar / d2(size), "Rbar/d2"
    s_bar = float(np.mean(np.std(groups, axis=1, ddof=1)))
    return s_bar / c4(size), "Sbar/c4"


def _ppm(lsl: float | None, usl: float | None, below: float | None, above: float | None) -> PPM:
    parts = [v for v in (below, above) if v is not None]
    return PPM(
        below_lsl=None if lsl is None else 1e6 * float(below),
        above_usl=None if usl is None else 1e6 * float(above),
        total=1e6 * float(sum(parts)),
    )


def _indices(
    mean: float, sigma: float, lsl: float | None, usl: float | None
) -> tuple[float | None, float | None, float | None, float]:
    lower = None if lsl is None else (mean - lsl) / (3.0 * sigma)
    upper = None if usl is None else (usl - mean) / (3.0 * sigma)
    both = None if lsl is None or usl is None else (usl - lsl) / (6.0 * sigma)
    k = min(v for v in (lower, upper) if v is not None)
    return both, lower, upper, k


def analyze(
    values: Any,
    lsl: float | None = None,
    usl: float | None = None,
    target: float | None = None,
    subgroup_size: int = 1,
    *,
    within_method: str = "auto",
    alpha: float = 0.05,
) -> CapabilityResult:
    """Capability analysis of 1-D values (with subgroup_size) or 2-D subgroups (one per row)."""
    lsl_f, usl_f = check_spec_limits(lsl, usl)
    if within_method not in ("auto", "range", "stdev"):
        raise ParameterError(
            f"within_method must be 'auto', 'range' or 'stdev', got {within_method!r}"
        )
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ParameterError(f"alpha must lie in (0, 1), got {alpha!r}")
    groups = _subgroups(values, subgroup_size)
    x = groups.reshape(-1)
    n = x.size
    if n < 2:
        raise EmptyDataError(f"values: need at least 2 values, got {n}")
    mean = float(x.mean())
    sigma_o = float(x.std(ddof=1))
    sigma_w, method_used = _within_sigma(groups, within_method)
    if not (sigma_w > 0 and sigma_o > 0):
        raise StatisticsError(
            "values: no variation (standard deviation is 0), capability indices are undefined"
        )

    if target is not None:
        if isinstance(target, bool) or not isinstance(target, int | float | np.number):
            raise SpecLimitError(f"target must be a number, got {target!r}")
        target_f = float(target)
        if not math.isfinite(target_f):
            raise SpecLimitError(f"target must be finite, got {target!r}")
        # Cpm measures closeness to a target inside the specification.
        if (lsl_f is not None and target_f < lsl_f) or (usl_f is not None and target_f > usl_f):
            raise SpecLimitError(f"target {target_f:g} lies outside the specification limits")
    elif lsl_f is not None and usl_f is not None:
        target_f = (lsl_f + usl_f) / 2.0
    else:
        target_f = None

    cp, cpl, cpu, cpk = _indices(mean, sigma_w, lsl_f, usl_f)
    pp, ppl, ppu, ppk = _indices(mean, sigma_o, lsl_f, usl_f)
    cpm = None
    if lsl_f is not None and usl_f is not None and target_f is not None:
        cpm = (usl_f - lsl_f) / (6.0 * math.hypot(sigma_w, mean - target_f))

    observed = _ppm(
        lsl_f,
        usl_f,
        None if lsl_f is None else float(np.mean(x < lsl_f)),
        None if usl_f is None else float(np.mean(x > usl_f)),
    )
    expected = []
    for sigma in (sigma_w, sigma_o):
        below = None if lsl_f is None else float(stats.norm.cdf((lsl_f - mean) / sigma))
        above = None if usl_f is None else float(stats.norm.sf((usl_f - mean) / sigma))
        expected.append(_ppm(lsl_f, usl_f, below, above))

    warnings: list[str] = []
    if n >= _AD_MIN_N:
        a2, a2_star = anderson_darling(x)
        p_value = anderson_darling_pvalue(a2_star)
        rejected = p_value < alpha
        if rejected:
            warnings.append(
                f"Normality rejected (Anderson-Darling p = {p_value:.4f} < {alpha:g}): the "
                "normal-model PPM and indices may be misleading."
            )
    else:
        a2 = a2_star = p_value = None
        rejected = None
        warnings.append(f"Only {n} values: too few for the Anderson-Darling normality test.")
    normality = NormalityTest(
        test="Anderson-Darling",
        n=n,
        a2=a2,
        a2_star=a2_star,
        p_value=p_value,
        rejected=rejected,
        alpha=float(alpha),
    )

    return CapabilityResult(
        n=n,
        subgroup_size=groups.shape[1],
        n_subgroups=groups.shape[0],
        mean=mean,
        lsl=lsl_f,
        usl=usl_f,
        target=target_f,
        sigma_within=sigma_w,
        sigma_overall=sigma_o,
        within_method=method_used,
        cp=cp,
        cpl=cpl,
        cpu=cpu,
        cpk=cpk,
        pp=pp,
        ppl=ppl,
        ppu=ppu,
        ppk=ppk,
        cpm=cpm,
        ppm_observed=observed,
        ppm_expected_within=expected[0],
        ppm_expected_overall=expected[1],
        normality=normality,
        warnings=warnings,
    )
