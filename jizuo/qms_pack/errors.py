"""Errors raised by the QMS statistics modules, and the input validators that raise them.

Every error is a :class:`StatisticsError`, itself a :class:`ValueError`, so callers that
already catch ``ValueError`` keep working while the platform can tell bad data apart from
bugs. Messages name the argument, the problem and the position of the first bad value so a
user can fix the data without reading a traceback.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "StatisticsError",
    "EmptyDataError",
    "NonNumericDataError",
    "MissingValueError",
    "DataShapeError",
    "SubgroupSizeError",
    "CountError",
    "SpecLimitError",
    "DesignError",
    "SamplingPlanError",
    "ParameterError",
    "as_float_array",
    "as_count_array",
    "check_defectives",
    "check_spec_limits",
    "check_positive",
    "check_fraction",
    "check_min_size",
    "format_position",
]


class StatisticsError(ValueError):
    """Base class: the data or parameters cannot give a meaningful statistical result."""


class EmptyDataError(StatisticsError):
    """There are no (or too few) observations."""


class NonNumericDataError(StatisticsError):
    """A value is not a finite real number (text, boolean, complex, infinity)."""


class MissingValueError(StatisticsError):
    """A value is missing (NaN, None, pandas NA)."""


class DataShapeError(StatisticsError):
    """The data has the wrong shape (ragged rows, wrong number of dimensions, length mismatch)."""


class SubgroupSizeError(StatisticsError):
    """A subgroup is too small for the statistic (e.g. a range needs at least 2 values)."""


class CountError(StatisticsError):
    """A count is negative or fractional, or defectives exceed the sample size."""


class SpecLimitError(StatisticsError):
    """Specification limits are missing, non-finite or not ordered (LSL must be < USL)."""


class DesignError(StatisticsError):
    """A study design is unbalanced or too small (e.g. Gage R&R)."""


class SamplingPlanError(StatisticsError):
    """An AQL, lot size or inspection level lies outside the published sampling tables."""


class ParameterError(StatisticsError):
    """A tuning parameter (lambda, sigma multiple, rule length...) is out of range."""


def format_position(flat_index: int, shape: tuple[int, ...]) -> str:
    """Describe a flat index as a 0-based position (row/column for 2-D data)."""
    if len(shape) <= 1:
        return f"position {flat_index}"
    idx = np.unravel_index(flat_index, shape)
    if len(shape) == 2:
        return f"row {idx[0]}, column {idx[1]}"
    return f"index {tuple(int(i) for i in idx)}"


def _is_missing(item: Any) -> bool:
    # None, float NaN, numpy NaN and pandas NA/NaT all mean "no value recorded".
    if item is None or item is pd.NA or item is pd.NaT:
        return True
    try:
        return bool(isinstance(item, float | np.floating) and math.isnan(item))
    except TypeError:
        return False


def _convert_object_array(arr: np.ndarray, name: str) -> np.ndarray:
    """Convert an object array element by element, reporting the first bad element."""
    out = np.empty(arr.shape, dtype=float)
    flat = out.reshape(-1)
    for i, item in enumerate(arr.reshape(-1)):
        where = format_position(i, arr.shape)
        if _is_missing(item):
            raise MissingValueError(f"{name}: missing value (NaN/None) at {where}")
        # bool is an int subclass, but a True/False measurement is almost surely a mistake.
        if isinstance(item, bool | np.bool_) or not isinstance(item, Real | np.number):
            raise NonNumericDataError(f"{name}: non-numeric value {item!r} at {where}")
        flat[i] = float(item)
    return out


def _pandas_to_numpy(values: pd.Series | pd.DataFrame | pd.Index, name: str) -> np.ndarray:
    frame = values.to_frame() if not isinstance(values, pd.DataFrame) else values
    for col_pos, (col, dtype) in enumerate(frame.dtypes.items()):
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            # Object columns may still hold numbers mixed with None: check element-wise.
            if pd.api.types.is_object_dtype(dtype):
                continue
            label = f"column {col!r}" if isinstance(values, pd.DataFrame) else "the series"
            raise NonNumericDataError(f"{name}: {label} (column {col_pos}) has dtype {dtype}")
    if not any(pd.api.types.is_object_dtype(dtype) for dtype in frame.dtypes):
        # Nullable extension dtypes (Float64, Int64) turn pd.NA into NaN here.
        arr = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = _convert_object_array(values.to_numpy(dtype=object), name)
    return arr


def as_float_array(
    values: Any,
    name: str = "values",
    *,
    ndim: int | tuple[int, ...] | None = None,
    min_size: int = 1,
    allow_nan: bool = False,
) -> np.ndarray:
    """Return ``values`` as a float ndarray; raise a StatisticsError naming the first bad value."""
    if isinstance(values, pd.Series | pd.DataFrame | pd.Index):
        arr = _pandas_to_numpy(values, name)
    else:
        try:
            arr = np.asarray(values)
        except ValueError as exc:
            # numpy refuses ragged nested sequences ("inhomogeneous shape").
            raise DataShapeError(f"{name}: rows have different lengths ({exc})") from None
        kind = arr.dtype.kind
        if kind in "USV" and not isinstance(values, np.ndarray):
            # numpy turned a mixed list into text; re-read it as objects to find the bad item.
            arr = np.array(values, dtype=object)
            kind = "O"
        if kind == "O":
            arr = _convert_object_array(arr, name)
        elif kind == "b":
            raise NonNumericDataError(f"{name}: boolean values are not measurements")
        elif kind in "iuf":
            arr = arr.astype(float, copy=False)
        else:
            first = arr.reshape(-1)[0] if arr.size else None
            raise NonNumericDataError(
                f"{name}: non-numeric data of type {arr.dtype} (first value {first!r} at "
                f"{format_position(0, arr.shape)})"
            )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            raise DataShapeError(
                f"{name}: expected {' or '.join(map(str, allowed))}-D data, "
                f"got {arr.ndim}-D with shape {arr.shape}"
            )
    if arr.size < max(min_size, 1):
        if arr.size == 0:
            raise EmptyDataError(f"{name}: no data")
        raise EmptyDataError(f"{name}: need at least {min_size} values, got {arr.size}")
    bad = ~np.isfinite(arr)
    if allow_nan:
        bad &= ~np.isnan(arr)
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        value = arr.reshape(-1)[i]
        where = format_position(i, arr.shape)
        if np.isnan(value):
            raise MissingValueError(f"{name}: missing value (NaN) at {where}")
        raise NonNumericDataError(f"{name}: infinite value {value} at {where}")
    return arr


def as_count_array(
    values: Any, name: str = "counts", *, ndim: int | None = 1, min_size: int = 1
) -> np.ndarray:
    """Return non-negative whole-number counts as a float ndarray, else raise CountError."""
    arr = as_float_array(values, name, ndim=ndim, min_size=min_size)
    bad = arr < 0
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        raise CountError(
            f"{name}: negative count {arr.reshape(-1)[i]:g} at {format_position(i, arr.shape)}"
        )
    bad = arr != np.floor(arr)
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        raise CountError(
            f"{name}: count {arr.reshape(-1)[i]:g} is not a whole number at "
            f"{format_position(i, arr.shape)}"
        )
    return arr


def check_defectives(defectives: np.ndarray, sizes: np.ndarray, name: str = "defectives") -> None:
    """Raise CountError if any sample size is 0 or any defective count exceeds its sample size."""
    sizes_b = np.broadcast_to(sizes, defectives.shape)
    zero = sizes_b <= 0
    if zero.any():
        i = int(np.flatnonzero(zero)[0])
        raise CountError(f"sample size is {sizes_b[i]:g} (must be >= 1) at position {i}")
    over = defectives > sizes_b
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise CountError(
            f"{name}: {defectives[i]:g} defectives exceed the sample size {sizes_b[i]:g} "
            f"at position {i}"
        )


def check_spec_limits(lsl: float | None, usl: float | None) -> tuple[float | None, float | None]:
    """Validate specification limits (either may be None for one-sided specs); return floats."""
    if lsl is None and usl is None:
        raise SpecLimitError("at least one specification limit (LSL or USL) is required")
    out: list[float | None] = []
    for label, limit in (("LSL", lsl), ("USL", usl)):
        if limit is None:
            out.append(None)
            continue
        if isinstance(limit, bool) or not isinstance(limit, Real | np.number):
            raise SpecLimitError(f"{label} must be a number, got {limit!r}")
        if not math.isfinite(float(limit)):
            raise SpecLimitError(f"{label} must be finite, got {limit!r}")
        out.append(float(limit))
    if out[0] is not None and out[1] is not None and out[0] >= out[1]:
        raise SpecLimitError(f"LSL ({out[0]:g}) must be less than USL ({out[1]:g})")
    return out[0], out[1]


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is a finite number > 0 (or >= 0), else ParameterError."""
    if isinstance(value, bool) or not isinstance(value, Real | np.number):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ParameterError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def check_fraction(value: Any, name: str, *, closed_right: bool = True) -> float:
    """Return ``value`` as a float in (0, 1] (or (0, 1)), else raise ParameterError."""
    v = check_positive(value, name)
    if v > 1 or (v == 1 and not closed_right):
        raise ParameterError(f"{name} must lie in (0, 1{']' if closed_right else ')'}, got {v:g}")
    return v


def check_min_size(size: Any, minimum: int, what: str) -> int:
    """Return ``size`` as an int if it is a whole number >= minimum, else SubgroupSizeError."""
    if isinstance(size, bool) or not isinstance(size, Integral | np.integer):
        if isinstance(size, Real | np.floating) and float(size).is_integer():
            size = int(size)
        else:
            raise SubgroupSizeError(f"{what} must be a whole number, got {size!r}")
    if size < minimum:
        raise SubgroupSizeError(f"{what} must be at least {minimum}, got {size}")
    return int(size)
