"""Machinery shared by the control charts: input parsing, calibration, limits and tests.

Internal to :mod:`jizuo.qms_pack.spc` and its chart modules (:mod:`.spc_attributes`,
:mod:`.spc_time_weighted`): reading subgroups from arrays or long DataFrames, the
``limits_from`` calibration mask, the sigma estimators, and :func:`_make_chart`, which draws
the limits of one chart and runs the tests for special causes on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from .constants import c4, d2, d3
from .errors import (
    DataShapeError,
    EmptyDataError,
    MissingValueError,
    ParameterError,
    SubgroupSizeError,
    as_float_array,
    check_positive,
)
from .nelson import (
    NelsonParams,
    _coerce_params,
    _coerce_rules,
    _violations_from_masks,
    nelson_masks,
)
from .spc_results import Chart

Calibration = slice | Iterable[int] | Iterable[bool] | np.ndarray | None
Rules = Iterable[int] | None
Params = NelsonParams | Mapping[int | str, Any] | None


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
