"""Statistical process control charts: X-bar/R, X-bar/S, I-MR, p, np, c, u, EWMA and CUSUM.

All charts are computed with vectorised numpy (no Python loop per point) and return plain
dataclasses that serialise to JSON through ``to_dict()`` / ``to_json()``.

Phase I / phase II. Every chart takes ``limits_from`` (a slice, boolean mask or integer
positions of the points used to estimate the limits; default: all points) and explicit
process parameters (``center=``/``sigma=`` for variables charts, ``p=``, ``c=``, ``u=`` for
attribute charts). Estimated parameters are returned in ``result.limits`` as a dict that can
be passed back as keyword arguments to chart new data against stored limits::

    phase1 = xbar_r(df, subgroup="sample", value="diameter", limits_from=slice(0, 25))
    later = xbar_r(new_df, subgroup="sample", value="diameter", **phase1.limits)

Tests for special causes are run on every chart (see :mod:`jizuo.qms_pack.nelson`); each
chart function takes ``rules=`` (the tests to run, ``()`` for none) and ``params=`` (their K
values). Defaults follow the set Minitab makes available per chart: all eight tests on the
X-bar and individuals charts, tests 1-4 on R, S, MR and attribute charts, and only "beyond
the limits" on EWMA and CUSUM, whose plotted points are autocorrelated by construction.
(Minitab itself switches only test 1 on out of the box.) Test 1 uses the chart's own sigma
multiple ``nsigmas`` unless ``params`` sets it, so it always agrees with the drawn limits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import lfilter

from .constants import c4, d2, d3
from .errors import (
    DataShapeError,
    EmptyDataError,
    MissingValueError,
    ParameterError,
    SubgroupSizeError,
    as_count_array,
    as_float_array,
    check_defectives,
    check_fraction,
    check_positive,
)
from .nelson import (
    ALL_RULES,
    ATTRIBUTE_RULES,
    NelsonParams,
    Violation,
    _coerce_params,
    _coerce_rules,
    _violations_from_masks,
    nelson_masks,
    nelson_rules,
)

__all__ = [
    "Chart",
    "XbarRResult",
    "XbarSResult",
    "IMRResult",
    "AttributeResult",
    "EWMAResult",
    "CusumResult",
    "Violation",
    "NelsonParams",
    "nelson_rules",
    "xbar_r",
    "xbar_s",
    "imr",
    "p_chart",
    "np_chart",
    "c_chart",
    "u_chart",
    "ewma",
    "cusum",
]

Calibration = slice | Iterable[int] | Iterable[bool] | np.ndarray | None
Rules = Iterable[int] | None
Params = NelsonParams | Mapping[int | str, Any] | None
DISPERSION_RULES = ATTRIBUTE_RULES


# --------------------------------------------------------------------------- result types


def _jsonable(obj: Any) -> Any:
    """Convert dataclasses, numpy values and NaN into plain JSON types."""
    if isinstance(obj, Violation):
        return obj.to_dict()
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f" and not np.isfinite(obj).all():
            return [_jsonable(v) for v in obj.tolist()]
        return obj.tolist()
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


class _Serialisable:
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation (lists, floats, None for NaN) for JSON."""
        return _jsonable(self)

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


@dataclass
class Chart(_Serialisable):
    """One plotted chart: per-point statistic, center line, limits and sd of the statistic."""

    name: str
    index: np.ndarray
    points: np.ndarray
    center: np.ndarray
    ucl: np.ndarray
    lcl: np.ndarray
    sigma: np.ndarray
    rules: tuple[int, ...] = ()
    violations: list[Violation] = field(default_factory=list)

    @property
    def beyond_limits(self) -> np.ndarray:
        """Positions (``index`` values) of points strictly outside the control limits."""
        return self.index[(self.points > self.ucl) | (self.points < self.lcl)]

    @property
    def flagged(self) -> np.ndarray:
        """Sorted unique positions failing any requested test."""
        return np.unique(np.array([v.index for v in self.violations], dtype=np.int64))


@dataclass
class XbarRResult(_Serialisable):
    """X-bar and R charts; ``sigma`` is the within-subgroup process sd."""

    xbar: Chart
    r: Chart
    center: float
    sigma: float
    sigma_method: str
    sizes: np.ndarray
    labels: list[Any] | None
    n_calibration: int

    @property
    def limits(self) -> dict[str, float]:
        """Process parameters to pass back (``center=``, ``sigma=``) for phase II."""
        return {"center": self.center, "sigma": self.sigma}


@dataclass
class XbarSResult(_Serialisable):
    """X-bar and S charts; ``sigma`` is the within-subgroup process sd."""

    xbar: Chart
    s: Chart
    center: float
    sigma: float
    sigma_method: str
    sizes: np.ndarray
    labels: list[Any] | None
    n_calibration: int

    @property
    def limits(self) -> dict[str, float]:
        """Process parameters to pass back (``center=``, ``sigma=``) for phase II."""
        return {"center": self.center, "sigma": self.sigma}


@dataclass
class IMRResult(_Serialisable):
    """Individuals and moving-range charts."""

    i: Chart
    mr: Chart
    center: float
    sigma: float
    sigma_method: str
    mr_span: int
    n_calibration: int

    @property
    def limits(self) -> dict[str, float]:
        """Process parameters to pass back (``center=``, ``sigma=``) for phase II."""
        return {"center": self.center, "sigma": self.sigma}


@dataclass
class AttributeResult(_Serialisable):
    """A p, np, c or u chart; ``parameter`` is p-bar, c-bar or u-bar."""

    kind: str
    chart: Chart
    parameter: float
    sizes: np.ndarray
    n_calibration: int

    @property
    def limits(self) -> dict[str, float]:
        """Parameter to pass back (``p=``, ``c=`` or ``u=``) for phase II."""
        key = {"p": "p", "np": "p", "c": "c", "u": "u"}[self.kind]
        return {key: self.parameter}


@dataclass
class EWMAResult(_Serialisable):
    """EWMA chart with exact time-varying limits."""

    chart: Chart
    statistic: np.ndarray
    center: float
    sigma: float
    lam: float
    L: float
    sizes: np.ndarray
    n_calibration: int

    @property
    def limits(self) -> dict[str, float]:
        """Process parameters to pass back (``center=``, ``sigma=``) for phase II."""
        return {"center": self.center, "sigma": self.sigma}


@dataclass
class CusumResult(_Serialisable):
    """Tabular CUSUM in sigma units: ``upper`` >= 0, ``lower`` <= 0 (plotted below zero)."""

    upper: Chart
    lower: Chart
    center: float
    sigma: float
    k: float
    h: float
    headstart: float
    sizes: np.ndarray
    n_calibration: int

    @property
    def violations(self) -> list[Violation]:
        """Points where either sum crosses the decision interval, sorted by position."""
        return sorted(self.upper.violations + self.lower.violations, key=lambda v: v.index)

    @property
    def limits(self) -> dict[str, float]:
        """Process parameters to pass back (``center=``, ``sigma=``) for phase II."""
        return {"center": self.center, "sigma": self.sigma}


# --------------------------------------------------------------------------- input parsing


@dataclass
class _Groups:
    values: np.ndarray  # all observations, subgroup after subgroup
    sizes: np.ndarray
    starts: np.ndarray
    labels: list[Any] | None
    matrix: np.ndarray | None  # the same data as a 2-D array when all sizes are equal


def _groups_from_flat(values: np.ndarray, sizes: np.ndarray, labels: list[Any] | None) -> _Groups:
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    matrix = None
    if sizes.size and (sizes == sizes[0]).all():
        matrix = values.reshape(sizes.size, int(sizes[0]))
    return _Groups(values, sizes, starts, labels, matrix)


def _parse_subgroups(data: Any, subgroup: str, value: str) -> _Groups:
    """Accept a 2-D array-like, a list of (possibly ragged) rows, or a long/wide DataFrame."""
    if isinstance(data, pd.DataFrame) and subgroup in data.columns:
        if value not in data.columns:
            raise DataShapeError(f"value column {value!r} not found in {list(data.columns)}")
        if data.empty:
            raise EmptyDataError("no data")
        key = data[subgroup]
        if key.isna().any():
            pos = int(np.flatnonzero(key.isna().to_numpy())[0])
            raise MissingValueError(f"{subgroup}: missing subgroup label at row {pos}")
        codes, uniques = pd.factorize(key, sort=False)
        vals = as_float_array(data[value], value, ndim=1)
        order = np.argsort(codes, kind="stable")
        return _groups_from_flat(vals[order], np.bincount(codes), list(uniques))
    if isinstance(data, pd.DataFrame):
        arr = as_float_array(data, "subgroups", ndim=2)
        return _groups_from_flat(arr.reshape(-1), np.full(arr.shape[0], arr.shape[1]), None)
    try:
        arr = as_float_array(data, "subgroups")
    except DataShapeError:
        # Ragged rows: variable subgroup sizes given as a list of lists.
        rows = [as_float_array(row, f"subgroup {i}", ndim=1) for i, row in enumerate(data)]
        sizes = np.array([r.size for r in rows], dtype=np.int64)
        return _groups_from_flat(np.concatenate(rows), sizes, None)
    if arr.ndim != 2:
        raise DataShapeError(
            f"subgroups must be 2-D (one row per subgroup), got shape {arr.shape}; "
            "use imr() for individual values"
        )
    return _groups_from_flat(arr.reshape(-1), np.full(arr.shape[0], arr.shape[1]), None)


def _check_sizes(groups: _Groups, minimum: int, why: str) -> None:
    small = groups.sizes < minimum
    if small.any():
        i = int(np.flatnonzero(small)[0])
        label = f" ({groups.labels[i]!r})" if groups.labels is not None else ""
        raise SubgroupSizeError(
            f"subgroup {i}{label} has {groups.sizes[i]} value(s); {why} needs at least {minimum}"
        )


def _group_stats(groups: _Groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, range and sample sd of each subgroup."""
    if groups.matrix is not None:
        m = groups.matrix
        mean = m.mean(axis=1)
        rng = m.max(axis=1) - m.min(axis=1)
        sd = m.std(axis=1, ddof=1) if m.shape[1] > 1 else np.full(m.shape[0], np.nan)
        return mean, rng, sd
    v, starts, n = groups.values, groups.starts, groups.sizes
    mean = np.add.reduceat(v, starts) / n
    rng = np.maximum.reduceat(v, starts) - np.minimum.reduceat(v, starts)
    ss = np.add.reduceat((v - np.repeat(mean, n)) ** 2, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(ss / (n - 1))
    return mean, rng, sd


def _calibration_mask(limits_from: Calibration, size: int) -> np.ndarray:
    """Boolean mask of the points used to estimate the limits."""
    mask = np.zeros(size, dtype=bool)
    if limits_from is None:
        mask[:] = True
    elif isinstance(limits_from, slice):
        mask[limits_from] = True
    else:
        sel = np.asarray(limits_from)
        if sel.dtype == bool:
            if sel.shape != (size,):
                raise DataShapeError(f"limits_from mask has {sel.size} entries, need {size}")
            mask = sel.copy()
        elif sel.dtype.kind in "iu" and sel.ndim == 1:
            if sel.size and (sel.max() >= size or sel.min() < -size):
                raise DataShapeError(f"limits_from position out of range for {size} points")
            mask[sel] = True
        else:
            raise ParameterError("limits_from must be a slice, a boolean mask or integer positions")
    if not mask.any():
        raise EmptyDataError("limits_from selects no points to compute the limits from")
    return mask


def _chart_params(params: Params, nsigmas: float) -> NelsonParams:
    p = _coerce_params(params)
    explicit = isinstance(params, Mapping) and (1 in params or "test1_sigma" in params)
    if not explicit and p.test1_sigma == NelsonParams.test1_sigma:
        p = replace(p, test1_sigma=nsigmas)
    return p


def _make_chart(
    name: str,
    points: np.ndarray,
    center: np.ndarray,
    sd: np.ndarray,
    nsigmas: float,
    rules: Rules,
    default_rules: tuple[int, ...],
    params: Params,
    *,
    floor: float | None = None,
    index: np.ndarray | None = None,
) -> Chart:
    size = points.size
    center = np.broadcast_to(np.asarray(center, dtype=float), (size,)).copy()
    sd = np.broadcast_to(np.asarray(sd, dtype=float), (size,)).copy()
    ucl = center + nsigmas * sd
    lcl = center - nsigmas * sd
    if floor is not None:
        # Counts, proportions, ranges and sds cannot be negative; a negative LCL is no limit.
        lcl = np.maximum(lcl, floor)
    idx = np.arange(size) if index is None else index
    rule_set = default_rules if rules is None else _coerce_rules(rules)
    p = _chart_params(params, nsigmas)
    masks = nelson_masks(points, center, sd, rule_set, p) if rule_set else {}
    violations = _violations_from_masks(masks, p, idx)
    return Chart(name, idx, points, center, ucl, lcl, sd, rule_set, violations)


def _nsigmas(value: Any) -> float:
    return check_positive(value, "nsigmas")


def _given_sigma(sigma: Any) -> float:
    return check_positive(sigma, "sigma", allow_zero=True)


def _given_center(center: Any) -> float:
    if isinstance(center, bool) or not isinstance(center, int | float | np.number):
        raise ParameterError(f"center must be a number, got {center!r}")
    if not math.isfinite(float(center)):
        raise ParameterError(f"center must be finite, got {center!r}")
    return float(center)


# --------------------------------------------------------------------------- sigma estimators


def _sigma_rbar(ranges: np.ndarray, sizes: np.ndarray, method: str = "rbar") -> float:
    """R-bar/d2; unequal sizes: "rbar" weights R/d2 by f=d2^2/d3^2, "uwave" averages R/d2."""
    if (sizes == sizes[0]).all():
        return float(ranges.mean() / d2(int(sizes[0])))
    dd2 = d2(sizes)
    if method == "uwave":
        return float(np.mean(ranges / dd2))
    f = dd2**2 / d3(sizes) ** 2
    return float(np.sum(f * ranges / dd2) / np.sum(f))


def _sigma_sbar(sds: np.ndarray, sizes: np.ndarray, method: str = "sbar") -> float:
    """S-bar/c4; unequal sizes: "sbar" weights s/c4 by h=c4^2/(1-c4^2), "uwave" averages s/c4."""
    cc4 = c4(sizes)
    if method == "uwave":
        return float(np.mean(sds / cc4))
    h = cc4**2 / (1.0 - cc4**2)
    return float(np.sum(h * sds / cc4) / np.sum(h))


def _sigma_pooled(sds: np.ndarray, sizes: np.ndarray) -> float:
    """Pooled sd divided by c4(sum(n_i - 1) + 1), Minitab's 'Pooled standard deviation'."""
    dof = np.sum(sizes - 1)
    sp = math.sqrt(float(np.sum((sizes - 1) * sds**2) / dof))
    return sp / c4(int(dof) + 1)


def _moving_range(x: np.ndarray, span: int) -> np.ndarray:
    if span == 2:
        return np.abs(np.diff(x))
    win = sliding_window_view(x, span)
    return win.max(axis=1) - win.min(axis=1)


# --------------------------------------------------------------------------- variables charts


def _xbar_common(
    subgroups: Any, subgroup: str, value: str, limits_from: Calibration, need: str
) -> tuple[_Groups, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    groups = _parse_subgroups(subgroups, subgroup, value)
    _check_sizes(groups, 2, need)
    mean, rng, sd = _group_stats(groups)
    mask = _calibration_mask(limits_from, groups.sizes.size)
    return groups, mean, rng, sd, mask


def _grand_mean(mean: np.ndarray, sizes: np.ndarray, mask: np.ndarray) -> float:
    return float(np.sum(mean[mask] * sizes[mask]) / np.sum(sizes[mask]))


def xbar_r(
    subgroups: Any,
    *,
    subgroup: str = "subgroup",
    value: str = "value",
    limits_from: Calibration = None,
    center: float | None = None,
    sigma: float | None = None,
    sigma_method: str = "rbar",
    nsigmas: float = 3.0,
    rules: Rules = None,
    r_rules: Rules = None,
    params: Params = None,
) -> XbarRResult:
    """X-bar and R charts; sigma = R-bar/d2 over the calibration subgroups.

    ``subgroups``: a 2-D array-like (one row per subgroup), a list of rows of different
    lengths, or a DataFrame in long form with columns ``subgroup`` and ``value`` (wide
    DataFrames are read row by row). With unequal sizes, ``sigma_method="rbar"`` (default)
    is Minitab's "Rbar" estimator sum(f_i R_i/d2(n_i))/sum(f_i), f_i = d2^2/d3^2 (qcc calls
    it "MVLUE-R"); ``"uwave"`` is the plain mean of R_i/d2(n_i) (qcc's default "UWAVE-R").
    The R chart has center d2*sigma and limits d2*sigma +/- nsigmas*d3*sigma (lower floored
    at 0), i.e. D3*R-bar and D4*R-bar for equal n.
    """
    L = _nsigmas(nsigmas)
    if sigma_method not in ("rbar", "uwave"):
        raise ParameterError(f"sigma_method must be 'rbar' or 'uwave', got {sigma_method!r}")
    groups, mean, rng, _, mask = _xbar_common(subgroups, subgroup, value, limits_from, "a range")
    n = groups.sizes
    mu = _grand_mean(mean, n, mask) if center is None else _given_center(center)
    if sigma is None:
        sig, method = _sigma_rbar(rng[mask], n[mask], sigma_method), sigma_method
    else:
        sig, method = _given_sigma(sigma), "given"
    xbar = _make_chart("xbar", mean, mu, sig / np.sqrt(n), L, rules, ALL_RULES, params)
    r = _make_chart(
        "r", rng, d2(n) * sig, d3(n) * sig, L, r_rules, DISPERSION_RULES, params, floor=0.0
    )
    return XbarRResult(xbar, r, mu, sig, method, n, groups.labels, int(mask.sum()))


def xbar_s(
    subgroups: Any,
    *,
    subgroup: str = "subgroup",
    value: str = "value",
    limits_from: Calibration = None,
    center: float | None = None,
    sigma: float | None = None,
    sigma_method: str = "sbar",
    nsigmas: float = 3.0,
    rules: Rules = None,
    s_rules: Rules = None,
    params: Params = None,
) -> XbarSResult:
    """X-bar and S charts; limits vary with subgroup size.

    All estimators equal S-bar/c4 when sizes are equal. With unequal sizes:
    ``sigma_method="sbar"`` (default) is Minitab's "Sbar" estimator, the c4-weighted
    sum(h_i s_i/c4(n_i))/sum(h_i) with h_i = c4^2/(1-c4^2) (qcc: "MVLUE-SD"); ``"uwave"`` is
    the plain mean of s_i/c4(n_i) (qcc: "UWAVE-SD"); ``"pooled"`` is
    sqrt(sum((n_i-1)s_i^2)/sum(n_i-1)) / c4(sum(n_i-1)+1), Minitab's "Pooled standard
    deviation" (qcc: "RMSDF"). The S chart has center c4*sigma and limits
    c4*sigma +/- nsigmas*sigma*sqrt(1-c4^2), lower floored at 0.
    """
    L = _nsigmas(nsigmas)
    if sigma_method not in ("sbar", "uwave", "pooled"):
        raise ParameterError(
            f"sigma_method must be 'sbar', 'uwave' or 'pooled', got {sigma_method!r}"
        )
    groups, mean, _, sd, mask = _xbar_common(subgroups, subgroup, value, limits_from, "an sd")
    n = groups.sizes
    mu = _grand_mean(mean, n, mask) if center is None else _given_center(center)
    if sigma is not None:
        sig, method = _given_sigma(sigma), "given"
    elif sigma_method != "pooled":
        sig, method = _sigma_sbar(sd[mask], n[mask], sigma_method), sigma_method
    else:
        sig, method = _sigma_pooled(sd[mask], n[mask]), "pooled"
    cc4 = c4(n)
    xbar = _make_chart("xbar", mean, mu, sig / np.sqrt(n), L, rules, ALL_RULES, params)
    s = _make_chart(
        "s",
        sd,
        cc4 * sig,
        sig * np.sqrt(1.0 - cc4**2),
        L,
        s_rules,
        DISPERSION_RULES,
        params,
        floor=0.0,
    )
    return XbarSResult(xbar, s, mu, sig, method, n, groups.labels, int(mask.sum()))


def imr(
    values: Any,
    *,
    limits_from: Calibration = None,
    center: float | None = None,
    sigma: float | None = None,
    mr_span: int = 2,
    nsigmas: float = 3.0,
    rules: Rules = None,
    mr_rules: Rules = None,
    params: Params = None,
) -> IMRResult:
    """Individuals and moving-range charts; sigma = MR-bar/d2(mr_span) over the calibration.

    Moving ranges for the estimate are taken between consecutive *calibration* points, so
    excluding a point (boolean ``limits_from``) joins its neighbours, as qcc does. The MR chart
    plots ranges of ``mr_span`` consecutive points, indexed from position ``mr_span - 1``.
    """
    L = _nsigmas(nsigmas)
    if isinstance(mr_span, bool) or not isinstance(mr_span, int) or mr_span < 2:
        raise SubgroupSizeError(f"mr_span must be a whole number >= 2, got {mr_span!r}")
    x = as_float_array(values, "values", ndim=1)
    if x.size < mr_span:
        raise EmptyDataError(f"need at least {mr_span} values for a moving range, got {x.size}")
    mask = _calibration_mask(limits_from, x.size)
    xc = x[mask]
    mu = float(xc.mean()) if center is None else _given_center(center)
    if sigma is None:
        if xc.size < mr_span:
            raise EmptyDataError(
                f"limits_from selects {xc.size} value(s); a moving range needs {mr_span}"
            )
        sig, method = float(_moving_range(xc, mr_span).mean() / d2(mr_span)), "mrbar"
    else:
        sig, method = _given_sigma(sigma), "given"
    i_chart = _make_chart("i", x, mu, sig, L, rules, ALL_RULES, params)
    mr = _moving_range(x, mr_span)
    mr_chart = _make_chart(
        "mr",
        mr,
        d2(mr_span) * sig,
        d3(mr_span) * sig,
        L,
        mr_rules,
        DISPERSION_RULES,
        params,
        floor=0.0,
        index=np.arange(mr_span - 1, x.size),
    )
    return IMRResult(i_chart, mr_chart, mu, sig, method, mr_span, int(mask.sum()))


# --------------------------------------------------------------------------- attribute charts


def _sizes(sizes: Any, count: int, name: str) -> np.ndarray:
    arr = as_count_array(sizes, name, ndim=None)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size != count):
        raise DataShapeError(f"{name}: give one size or {count} sizes, got shape {arr.shape}")
    return np.broadcast_to(arr, (count,)).astype(float)


def _proportion_inputs(
    defectives: Any, sizes: Any, limits_from: Calibration, p: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    d = as_count_array(defectives, "defectives")
    n = _sizes(sizes, d.size, "sizes")
    check_defectives(d, n)
    mask = _calibration_mask(limits_from, d.size)
    if p is None:
        pbar = float(d[mask].sum() / n[mask].sum())
    else:
        pbar = check_fraction(p, "p") if p != 0 else 0.0
    return d, n, mask, pbar


def p_chart(
    defectives: Any,
    sizes: Any,
    *,
    limits_from: Calibration = None,
    p: float | None = None,
    nsigmas: float = 3.0,
    rules: Rules = None,
    params: Params = None,
) -> AttributeResult:
    """Fraction nonconforming chart: p-bar = sum(D)/sum(n); limits vary with n, LCL >= 0."""
    L = _nsigmas(nsigmas)
    d, n, mask, pbar = _proportion_inputs(defectives, sizes, limits_from, p)
    sd = np.sqrt(pbar * (1.0 - pbar) / n)
    chart = _make_chart("p", d / n, pbar, sd, L, rules, ATTRIBUTE_RULES, params, floor=0.0)
    return AttributeResult("p", chart, pbar, n, int(mask.sum()))


def np_chart(
    defectives: Any,
    size: Any,
    *,
    limits_from: Calibration = None,
    p: float | None = None,
    nsigmas: float = 3.0,
    rules: Rules = None,
    params: Params = None,
) -> AttributeResult:
    """Number nonconforming chart: center n p-bar, sd sqrt(n p-bar (1 - p-bar)), LCL >= 0."""
    L = _nsigmas(nsigmas)
    d, n, mask, pbar = _proportion_inputs(defectives, size, limits_from, p)
    sd = np.sqrt(n * pbar * (1.0 - pbar))
    chart = _make_chart("np", d, n * pbar, sd, L, rules, ATTRIBUTE_RULES, params, floor=0.0)
    return AttributeResult("np", chart, pbar, n, int(mask.sum()))


def c_chart(
    counts: Any,
    *,
    limits_from: Calibration = None,
    c: float | None = None,
    nsigmas: float = 3.0,
    rules: Rules = None,
    params: Params = None,
) -> AttributeResult:
    """Nonconformities chart (constant inspection unit): center c-bar, sd sqrt(c-bar)."""
    L = _nsigmas(nsigmas)
    x = as_count_array(counts, "counts")
    mask = _calibration_mask(limits_from, x.size)
    cbar = float(x[mask].mean()) if c is None else check_positive(c, "c", allow_zero=True)
    chart = _make_chart("c", x, cbar, math.sqrt(cbar), L, rules, ATTRIBUTE_RULES, params, floor=0)
    return AttributeResult("c", chart, cbar, np.ones(x.size), int(mask.sum()))


def u_chart(
    counts: Any,
    units: Any,
    *,
    limits_from: Calibration = None,
    u: float | None = None,
    nsigmas: float = 3.0,
    rules: Rules = None,
    params: Params = None,
) -> AttributeResult:
    """Nonconformities per unit: u-bar = sum(c)/sum(units), sd sqrt(u-bar/units), LCL >= 0."""
    L = _nsigmas(nsigmas)
    x = as_count_array(counts, "counts")
    n = as_float_array(units, "units", ndim=(0, 1))
    if n.ndim == 1 and n.size != x.size:
        raise DataShapeError(f"units: give one value or {x.size} values, got {n.size}")
    if (n <= 0).any():
        i = int(np.flatnonzero(np.atleast_1d(n) <= 0)[0])
        raise ParameterError(f"units must be > 0 (inspection units), got {np.atleast_1d(n)[i]:g}")
    n = np.broadcast_to(n, x.shape).astype(float)
    mask = _calibration_mask(limits_from, x.size)
    ubar = (
        float(x[mask].sum() / n[mask].sum())
        if u is None
        else check_positive(u, "u", allow_zero=True)
    )
    chart = _make_chart(
        "u", x / n, ubar, np.sqrt(ubar / n), L, rules, ATTRIBUTE_RULES, params, floor=0.0
    )
    return AttributeResult("u", chart, ubar, n, int(mask.sum()))


# --------------------------------------------------------------------------- time-weighted charts


def _location_series(
    data: Any, subgroup: str, value: str, limits_from: Calibration, sigma: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """Points (subgroup means or individuals), sizes, calibration mask and estimated sigma."""
    if isinstance(data, pd.Series | pd.DataFrame):
        is_1d = isinstance(data, pd.Series)
    else:
        try:
            is_1d = np.ndim(data) == 1
        except ValueError:  # ragged rows: subgroups of different sizes
            is_1d = False
    if is_1d:
        x = as_float_array(data, "values", ndim=1)
        n = np.ones(x.size)
        mask = _calibration_mask(limits_from, x.size)
        if sigma is None:
            xc = x[mask]
            if xc.size < 2:
                raise EmptyDataError("need at least 2 calibration values to estimate sigma")
            sigma = float(np.abs(np.diff(xc)).mean() / d2(2))
        return x, n, mask, sigma
    groups, mean, rng, _, mask = _xbar_common(data, subgroup, value, limits_from, "a range")
    if sigma is None:
        sigma = _sigma_rbar(rng[mask], groups.sizes[mask])
    return mean, groups.sizes.astype(float), mask, sigma


def ewma(
    data: Any,
    lam: float = 0.2,
    L: float = 3.0,
    *,
    subgroup: str = "subgroup",
    value: str = "value",
    limits_from: Calibration = None,
    center: float | None = None,
    sigma: float | None = None,
    start: float | None = None,
    rules: Rules = (1,),
    params: Params = None,
) -> EWMAResult:
    """EWMA chart z_i = lam x_i + (1-lam) z_(i-1), z_0 = start (default: center).

    ``data`` is 1-D (individuals; sigma = MR-bar/d2(2)) or subgroups as in :func:`xbar_r`
    (points are subgroup means; sigma = R-bar/d2). Limits are exact for every point:
    Var(z_i) = lam^2 sum_j (1-lam)^(2(i-j)) sigma^2/n_j, which for constant n is the textbook
    sigma^2/n lam/(2-lam) (1-(1-lam)^(2i)).
    """
    lam_f = check_fraction(lam, "lam")
    L_f = check_positive(L, "L")
    x, n, mask, sig = _location_series(data, subgroup, value, limits_from, sigma)
    if sigma is not None:
        sig = _given_sigma(sigma)
    assert sig is not None
    mu = float(np.sum(x[mask] * n[mask]) / np.sum(n[mask])) if center is None else center
    mu = _given_center(mu)
    z0 = mu if start is None else _given_center(start)
    a = 1.0 - lam_f
    # Both recursions are first-order linear filters, evaluated in C by lfilter.
    z = lfilter([lam_f], [1.0, -a], x, zi=[a * z0])[0]
    var = lfilter([lam_f**2], [1.0, -(a**2)], sig**2 / n, zi=[0.0])[0]
    chart = _make_chart("ewma", z, mu, np.sqrt(var), L_f, rules, (1,), params)
    return EWMAResult(chart, x, mu, sig, lam_f, L_f, n, int(mask.sum()))


def _lindley(y: np.ndarray, start: float) -> np.ndarray:
    """C_i = max(0, C_(i-1) + y_i), C_0 = start, in closed form S_i - min(-start, min S_j)."""
    s = np.cumsum(y)
    return s - np.minimum(np.minimum.accumulate(s), -start)


def cusum(
    data: Any,
    k: float = 0.5,
    h: float = 4.0,
    *,
    subgroup: str = "subgroup",
    value: str = "value",
    limits_from: Calibration = None,
    center: float | None = None,
    sigma: float | None = None,
    headstart: float = 0.0,
) -> CusumResult:
    """Tabular CUSUM of standardised points z_i = (x_i - center)/(sigma/sqrt(n_i)).

    Sums are in sigma units, as qcc reports them: C+_i = max(0, C+_(i-1) + z_i - k) and
    C-_i = max(0, C-_(i-1) - z_i - k), returned as ``upper`` = C+ and ``lower`` = -C- (below
    zero). ``k`` (reference value, half the shift to detect) and ``h`` (decision interval) are
    in sigma units; multiply the sums by sigma/sqrt(n) for original units. ``headstart`` is
    the fast-initial-response start value C_0 (also in sigma units). A violation (rule 1) is
    reported where C+ > h or C- > h. ``data`` is read as in :func:`ewma`.
    """
    k_f = check_positive(k, "k", allow_zero=True)
    h_f = check_positive(h, "h")
    h0 = check_positive(headstart, "headstart", allow_zero=True)
    x, n, mask, sig = _location_series(data, subgroup, value, limits_from, sigma)
    if sigma is not None:
        sig = _given_sigma(sigma)
    assert sig is not None
    if sig == 0:
        raise ParameterError("sigma is 0: the CUSUM cannot standardise the data")
    mu = float(np.sum(x[mask] * n[mask]) / np.sum(n[mask])) if center is None else center
    mu = _given_center(mu)
    z = (x - mu) / (sig / np.sqrt(n))
    upper = _lindley(z - k_f, h0)
    lower = 0.0 - _lindley(-z - k_f, h0)  # 0.0 - x avoids printing -0.0
    idx = np.arange(x.size)
    charts = []
    for name, pts, hit in (
        ("cusum_upper", upper, upper > h_f),
        ("cusum_lower", lower, lower < -h_f),
    ):
        text = f"CUSUM {name.split('_')[1]} sum beyond decision interval h={h_f:g}"
        viol = [Violation(1, int(i), text) for i in np.flatnonzero(hit).tolist()]
        ones = np.ones(x.size)
        charts.append(Chart(name, idx, pts, 0 * ones, h_f * ones, -h_f * ones, ones, (1,), viol))
    return CusumResult(charts[0], charts[1], mu, sig, k_f, h_f, h0, n, int(mask.sum()))
