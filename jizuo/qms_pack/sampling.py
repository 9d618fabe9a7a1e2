"""Acceptance sampling by attributes: ISO 2859-1 / ANSI/ASQ Z1.4 single sampling plans.

* :func:`code_letter` and :func:`single_plan` look a plan up in the published tables of
  :mod:`jizuo.qms_pack.sampling_tables` (Table I, master tables 2-A / 2-B and Z1.4's II-C,
  which is not ISO 2859-1:1999 Table 2-C), following the arrows to the plan they point to;
* :class:`SwitchingState` applies the switching rules between normal, tightened and reduced
  inspection (ISO 2859-1:1999 clause 9, with the switching score of 9.3.3.2; the same rules
  are in ANSI/ASQ Z1.4-2003 section 8);
* :func:`oc_curve` gives the operating characteristic (probability of acceptance) of a plan.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy import stats

from .errors import SamplingPlanError, as_float_array
from .sampling_tables import (
    AQL_VALUES,
    LEVELS,
    LOT_SIZE_UPPER,
    MASTER_ROWS,
    REGIMES,
    SAMPLE_SIZES,
    TABLE_I,
    parse_row,
)

__all__ = [
    "SamplingPlan",
    "SwitchingState",
    "LotRecord",
    "OCCurve",
    "code_letter",
    "single_plan",
    "oc_curve",
]

# Parsed once: regime -> list of rows (in code-letter order) of 26 cells each.
_ROW_LETTERS = {regime: tuple(MASTER_ROWS[regime]) for regime in REGIMES}
_CELLS = {
    regime: [parse_row(MASTER_ROWS[regime][letter]) for letter in _ROW_LETTERS[regime]]
    for regime in REGIMES
}


def _check_lot_size(lot_size: Any) -> int:
    if isinstance(lot_size, bool) or not isinstance(lot_size, Real | np.number):
        raise SamplingPlanError(f"lot size must be a whole number, got {lot_size!r}")
    if not math.isfinite(float(lot_size)) or float(lot_size) != int(lot_size):
        raise SamplingPlanError(f"lot size must be a whole number, got {lot_size!r}")
    if int(lot_size) < 2:
        # ISO 2859-1 Table 1 starts at lots of 2 items.
        raise SamplingPlanError(f"lot size must be at least 2 (ISO 2859-1 Table 1), got {lot_size}")
    return int(lot_size)


def _normalise_level(level: Any) -> str:
    text = str(level).strip().upper().replace(" ", "")
    # Accept the usual spellings: "S1", "S-1", "G-II", "GII", "2".
    text = {"1": "I", "2": "II", "3": "III"}.get(text, text)
    if text.startswith("G-"):
        text = text[2:]
    elif text.startswith("G") and text[1:] in ("I", "II", "III"):
        text = text[1:]
    if text.startswith("S") and not text.startswith("S-"):
        text = "S-" + text[1:]
    if text not in LEVELS:
        raise SamplingPlanError(
            f"unknown inspection level {level!r}; expected one of {', '.join(LEVELS)}"
        )
    return text


def _normalise_regime(regime: Any) -> str:
    text = str(regime).strip().lower()
    if text not in REGIMES:
        raise SamplingPlanError(
            f"unknown inspection regime {regime!r}; expected one of {', '.join(REGIMES)}"
        )
    return text


def _aql_index(aql: Any) -> int:
    if isinstance(aql, bool) or not isinstance(aql, Real | np.number):
        raise SamplingPlanError(f"AQL must be a number, got {aql!r}")
    value = float(aql)
    for i, tabulated in enumerate(AQL_VALUES):
        # Relative tolerance: callers pass 0.65 or 0.6500000001 for the same column.
        if math.isclose(value, tabulated, rel_tol=1e-9):
            return i
    raise SamplingPlanError(
        f"AQL {aql!r} is not in the ISO 2859-1 series ({', '.join(f'{a:g}' for a in AQL_VALUES)})"
    )


def code_letter(lot_size: int, level: str = "II") -> str:
    """Sample size code letter for a lot size and inspection level (ISO 2859-1 Table 1)."""
    n_lot = _check_lot_size(lot_size)
    lvl = _normalise_level(level)
    idx = int(np.searchsorted(np.asarray(LOT_SIZE_UPPER), n_lot, side="left"))
    return TABLE_I[lvl][idx]


def _resolve(regime: str, letter: str, col: int) -> tuple[str, tuple[int, int], str | None]:
    """Follow arrows from (letter, AQL column) to a plan; return (letter used, (Ac, Re), arrow)."""
    letters = _ROW_LETTERS[regime]
    rows = _CELLS[regime]
    row = letters.index(letter)
    cell = rows[row][col]
    if isinstance(cell, tuple):
        return letter, cell, None
    if cell not in ("v", "^"):
        raise SamplingPlanError(f"no {regime} plan at code letter {letter}, column {col}")
    step = 1 if cell == "v" else -1
    arrow = "down" if cell == "v" else "up"
    r = row + step
    # "Use the first sampling plan below (above) the arrow": skip the rest of the arrow.
    while 0 <= r < len(rows):
        cell_r = rows[r][col]
        if isinstance(cell_r, tuple):
            return letters[r], cell_r, arrow
        r += step
    raise SamplingPlanError(  # pragma: no cover - the tables are checked by the tests
        f"arrow at {regime} code letter {letter}, AQL {AQL_VALUES[col]:g} leads off the table"
    )


@dataclass(frozen=True)
class SamplingPlan:
    """A single sampling plan with how it was found in the tables."""

    lot_size: int
    aql: float
    level: str
    regime: str
    code_letter: str  # from Table 1
    used_code_letter: str  # after following an arrow (else equal to code_letter)
    sample_size: int  # tabulated sample size of the plan used
    ac: int
    re: int
    arrow: str | None  # "down", "up" or None
    hundred_percent: bool  # the sample size reaches the lot size: inspect every item
    units_to_inspect: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def accepts(self, nonconforming: int) -> bool:
        """True if a sample with this many nonconforming items (or nonconformities) is accepted."""
        # On reduced inspection Ac < d < Re still accepts the lot (normal is then reinstated).
        return int(nonconforming) < self.re

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        out = asdict(self)
        out["notes"] = list(self.notes)
        return out


def single_plan(
    lot_size: int, aql: float, level: str = "II", regime: str = "normal"
) -> SamplingPlan:
    """Single sampling plan for a lot (ISO 2859-1 / ANSI/ASQ Z1.4 Table 1 and master tables)."""
    n_lot = _check_lot_size(lot_size)
    lvl = _normalise_level(level)
    reg = _normalise_regime(regime)
    col = _aql_index(aql)
    letter = code_letter(n_lot, lvl)
    used, (ac, re_), arrow = _resolve(reg, letter, col)
    n = SAMPLE_SIZES[reg][used]
    notes: list[str] = []
    if arrow is not None:
        notes.append(
            f"Arrow {arrow} at code letter {letter}: the plan of code letter {used} is used "
            f"(sample size {n})."
        )
    if re_ > ac + 1:
        notes.append(
            f"If {ac} < nonconforming < {re_}, accept the lot but reinstate normal inspection."
        )
    hundred = n >= n_lot
    if hundred:
        notes.append(
            f"Sample size {n} equals or exceeds the lot size {n_lot}: inspect every item "
            "(100 % inspection)."
        )
    return SamplingPlan(
        lot_size=n_lot,
        aql=AQL_VALUES[col],
        level=lvl,
        regime=reg,
        code_letter=letter,
        used_code_letter=used,
        sample_size=n,
        ac=ac,
        re=re_,
        arrow=arrow,
        hundred_percent=hundred,
        units_to_inspect=min(n, n_lot),
        notes=tuple(notes),
    )


# Acceptance numbers of the normal master table, in order: one AQL step tighter moves one
# place left in a row, which the switching score needs (ISO 2859-1:1999 9.3.3.2).
_NORMAL_AC_SERIES = (0, 1, 2, 3, 5, 7, 10, 14, 21, 30, 44)


def _ac_one_step_tighter(ac: int) -> int:
    if ac not in _NORMAL_AC_SERIES or ac < 2:
        raise SamplingPlanError(
            f"acceptance number {ac} is not a normal-inspection value >= 2 of ISO 2859-1 "
            f"({', '.join(map(str, _NORMAL_AC_SERIES[2:]))})"
        )
    return _NORMAL_AC_SERIES[_NORMAL_AC_SERIES.index(ac) - 1]


@dataclass(frozen=True)
class LotRecord:
    """One lot as recorded by :class:`SwitchingState`."""

    regime: str
    nonconforming: int
    ac: int
    re: int
    accepted: bool
    switching_score: int
    next_regime: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return asdict(self)


@dataclass
class SwitchingState:
    """Switching rules between normal, tightened and reduced inspection (ISO 2859-1:1999 9.3).

    Feed the lots in order with :meth:`record`. Rules applied (single sampling):

    * normal -> tightened: 2 lots not accepted among 5 or fewer consecutive lots;
    * tightened -> normal: 5 consecutive lots accepted;
    * normal -> reduced: switching score >= 30, production steady and reduced inspection
      approved by the responsible authority (the two flags below);
    * reduced -> normal: a lot not accepted, a lot accepted with Ac < d < Re (Z1.4 reduced
      plans), production irregular, or other conditions (:meth:`reinstate_normal`);
    * discontinue: 5 lots not accepted (cumulatively) while on tightened inspection;
      :meth:`resume` restarts on tightened inspection once the supplier has acted.

    Switching score (9.3.3.2), reset to 0 at each start of normal inspection: for Ac >= 2 add 3
    if the lot would have been accepted with the AQL one step tighter, else reset to 0; for
    Ac 0 or 1 add 2 if the lot is accepted, else reset to 0.

    The scheme is a hybrid, as the tables are: the switching score is ISO 2859-1:1999's
    (ANSI/ASQ Z1.4-2003 keeps the optional limit numbers of MIL-STD-105E instead), while the
    reduced plans and the "Ac < d < Re" rule are Z1.4's Table II-C (ISO 2859-1:1999 removed the
    gap from its reduced plans, so under ISO only a lot not accepted reinstates normal).
    """

    regime: str = "normal"
    production_steady: bool = True
    reduced_approved: bool = False
    switching_score: int = 0
    last_switch_reason: str = ""
    history: list[LotRecord] = field(default_factory=list)
    _recent_normal: list[bool] = field(default_factory=list, repr=False)
    _tightened_run: int = field(default=0, repr=False)
    _tightened_rejected: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.regime != "discontinued":
            self.regime = _normalise_regime(self.regime)

    @property
    def discontinued(self) -> bool:
        """True once inspection under the scheme has been discontinued."""
        return self.regime == "discontinued"

    def _enter(self, regime: str) -> None:
        self.regime = regime
        self._recent_normal = []
        self._tightened_run = 0
        if regime == "normal":
            self.switching_score = 0
        if regime == "tightened":
            self._tightened_rejected = 0

    def record(
        self,
        nonconforming: int,
        ac: int,
        re: int | None = None,
        *,
        production_steady: bool | None = None,
        reduced_approved: bool | None = None,
    ) -> str:
        """Record one lot inspected under the current regime; return the regime for the next lot."""
        if self.discontinued:
            raise SamplingPlanError(
                "inspection is discontinued (5 lots not accepted on tightened inspection); "
                "call resume() once the supplier has improved the process"
            )
        for label, value in (("nonconforming", nonconforming), ("ac", ac)):
            if isinstance(value, bool) or not isinstance(value, Integral | np.integer):
                raise SamplingPlanError(f"{label} must be a whole number, got {value!r}")
            if value < 0:
                raise SamplingPlanError(f"{label} must be >= 0, got {value}")
        re_ = ac + 1 if re is None else re
        if isinstance(re_, bool) or not isinstance(re_, Integral | np.integer) or re_ <= ac:
            raise SamplingPlanError(f"re must be a whole number > ac ({ac}), got {re!r}")
        if production_steady is not None:
            self.production_steady = bool(production_steady)
        if reduced_approved is not None:
            self.reduced_approved = bool(reduced_approved)

        d = int(nonconforming)
        accepted = d < re_
        regime = self.regime
        reason = ""
        next_regime = regime
        if regime == "normal":
            if ac >= 2:
                ok = d <= _ac_one_step_tighter(int(ac))
                self.switching_score = self.switching_score + 3 if ok else 0
            else:
                self.switching_score = self.switching_score + 2 if accepted else 0
            self._recent_normal = (self._recent_normal + [accepted])[-5:]
            if self._recent_normal.count(False) >= 2:
                next_regime, reason = "tightened", "2 of 5 or fewer consecutive lots not accepted"
            elif self.switching_score >= 30 and self.production_steady and self.reduced_approved:
                next_regime = "reduced"
                reason = "switching score >= 30, production steady, reduced inspection approved"
        elif regime == "tightened":
            if accepted:
                self._tightened_run += 1
            else:
                self._tightened_run = 0
                self._tightened_rejected += 1
            if self._tightened_rejected >= 5:
                next_regime = "discontinued"
                reason = "5 lots not accepted on tightened inspection: discontinue"
            elif self._tightened_run >= 5:
                next_regime, reason = "normal", "5 consecutive lots accepted on tightened"
        else:  # reduced
            if not accepted:
                next_regime, reason = "normal", "lot not accepted on reduced inspection"
            elif d > ac:
                next_regime, reason = "normal", "Ac exceeded without reaching Re on reduced"
            elif not self.production_steady:
                next_regime, reason = "normal", "production irregular or delayed"

        self.history.append(
            LotRecord(
                regime=regime,
                nonconforming=d,
                ac=int(ac),
                re=int(re_),
                accepted=accepted,
                switching_score=self.switching_score,
                next_regime=next_regime,
                reason=reason,
            )
        )
        if next_regime != regime:
            self.last_switch_reason = reason
            if next_regime == "discontinued":
                self.regime = "discontinued"
            else:
                self._enter(next_regime)
        return self.regime

    def reinstate_normal(self, reason: str = "other conditions warrant normal inspection") -> str:
        """Return from reduced to normal inspection for a reason outside the lot results."""
        if self.regime == "reduced":
            self._enter("normal")
            self.last_switch_reason = reason
        return self.regime

    def resume(self) -> str:
        """Restart on tightened inspection after a discontinuation (ISO 2859-1:1999 9.4)."""
        if not self.discontinued:
            raise SamplingPlanError("inspection is not discontinued; nothing to resume")
        self._enter("tightened")
        return self.regime

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return {
            "regime": self.regime,
            "production_steady": self.production_steady,
            "reduced_approved": self.reduced_approved,
            "switching_score": self.switching_score,
            "last_switch_reason": self.last_switch_reason,
            "history": [rec.to_dict() for rec in self.history],
        }


@dataclass(frozen=True)
class OCCurve:
    """Operating characteristic: probability of acceptance at each quality level p."""

    n: int
    ac: int
    distribution: str
    lot_size: int | None
    p: np.ndarray
    pa: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return {
            "n": self.n,
            "ac": self.ac,
            "distribution": self.distribution,
            "lot_size": self.lot_size,
            "p": self.p.tolist(),
            "pa": self.pa.tolist(),
        }


def oc_curve(
    n: int,
    ac: int,
    p: Any = None,
    *,
    distribution: str = "binomial",
    lot_size: int | None = None,
) -> OCCurve:
    """Probability of accepting a lot, P(d <= ac), at fractions nonconforming ``p``.

    ``distribution``: "binomial" (default; a series of lots from a process with fraction
    nonconforming p, the model behind the ISO 2859-1 OC tables for percent nonconforming),
    "poisson" (p = nonconformities per unit, d ~ Poisson(n p)), or "hypergeometric" (an
    isolated lot of ``lot_size`` items holding round(p * lot_size) nonconforming ones).
    ``p`` defaults to 101 points from 0 up to where Pa has fallen to 0.001. For a Z1.4
    reduced plan with a gap, pass ac = Re - 1 to count the lots accepted with reinstatement.
    """
    for label, value in (("n", n), ("ac", ac)):
        if isinstance(value, bool) or not isinstance(value, Integral | np.integer):
            raise SamplingPlanError(f"{label} must be a whole number, got {value!r}")
    if n < 1:
        raise SamplingPlanError(f"sample size n must be >= 1, got {n}")
    if ac < 0:
        raise SamplingPlanError(f"acceptance number must be >= 0, got {ac}")
    dist = str(distribution).strip().lower()
    if dist not in ("binomial", "poisson", "hypergeometric"):
        raise SamplingPlanError(
            f"unknown distribution {distribution!r}; expected binomial, poisson or hypergeometric"
        )
    n_lot: int | None = None
    if dist == "hypergeometric":
        if lot_size is None:
            raise SamplingPlanError("the hypergeometric OC curve needs lot_size")
        n_lot = _check_lot_size(lot_size)
        if n > n_lot:
            raise SamplingPlanError(f"sample size {n} exceeds the lot size {n_lot}")
    elif lot_size is not None:
        n_lot = _check_lot_size(lot_size)
    if ac >= n and dist != "poisson":
        raise SamplingPlanError(f"acceptance number {ac} must be below the sample size {n}")

    if p is None:
        # Beta quantile: the p at which P(Binomial(n, p) <= ac) = 0.001.
        p_max = float(stats.beta.ppf(0.999, ac + 1, max(n - ac, 1)))
        p_arr = np.linspace(0.0, min(1.0, p_max), 101)
    else:
        p_arr = np.atleast_1d(as_float_array(p, "p")).astype(float)
        if dist != "poisson" and ((p_arr < 0) | (p_arr > 1)).any():
            raise SamplingPlanError("fractions nonconforming p must lie in [0, 1]")
        if (p_arr < 0).any():
            raise SamplingPlanError("nonconformities per unit p must be >= 0")

    if dist == "binomial":
        pa = stats.binom.cdf(ac, n, p_arr)
    elif dist == "poisson":
        pa = stats.poisson.cdf(ac, n * p_arr)
    else:
        assert n_lot is not None
        defectives = np.rint(p_arr * n_lot).astype(int)
        pa = stats.hypergeom.cdf(ac, n_lot, defectives, n)
    return OCCurve(
        n=int(n), ac=int(ac), distribution=dist, lot_size=n_lot, p=p_arr, pa=np.asarray(pa)
    )
