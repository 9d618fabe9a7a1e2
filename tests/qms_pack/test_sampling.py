"""Acceptance sampling against the published ISO 2859-1 / ANSI/ASQ Z1.4 tables.

Sources of the expected values:

* ISO 2859-1:1999 Table 1 and Tables 2-A, 2-B; ANSI/ASQ Z1.4-2003 Tables I, II-A, II-B, II-C
  (identical to MIL-STD-105E, 1989, Tables I, II-A, II-B, II-C);
* Montgomery, D.C., *Introduction to Statistical Quality Control*, 6th ed., Wiley 2009:
  Table 15.1 (OC of the plan n=89, c=2) and the MIL STD 105E example of section 15.5
  (N = 2000, AQL 0.65 %, level II: normal n=125 Ac 2, tightened n=125 Ac 1, reduced n=50 Ac 1
  Re 3);
* ISO 2859-1:1999 clause 9.3 (switching rules) and 9.3.3.2 (switching score);
* R package AQLSchemes 1.7-2 (J. Lawson, CRAN, ``AAZ14Single``): sample size, Ac and Re after
  the arrows, for the table corners checked in ``test_master_table_corners_match_aqlschemes``;
* ISO 2859-1:1999 foreword (reduced plans without the Ac/Re gap, unlike Z1.4 Table II-C).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from jizuo.qms_pack import errors
from jizuo.qms_pack.sampling import (
    SamplingPlan,
    SwitchingState,
    code_letter,
    oc_curve,
    single_plan,
)
from jizuo.qms_pack.sampling_tables import (
    AQL_VALUES,
    CODE_LETTERS,
    MASTER_ROWS,
    SAMPLE_SIZES,
    TABLE_I,
    parse_row,
)

# ---------------------------------------------------------------------------------------------
# Table I (ISO 2859-1:1999 Table 1 / ANSI/ASQ Z1.4-2003 Table I)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lot_size", "level", "letter"),
    [
        (2, "S-1", "A"),
        (8, "III", "B"),
        (9, "II", "B"),
        (15, "III", "C"),
        (50, "S-2", "B"),
        (90, "S-4", "C"),
        (150, "I", "D"),
        (280, "II", "G"),
        (500, "S-3", "D"),
        (501, "II", "J"),  # brief / Table I: 501-1200 at level II -> J
        (1000, "I", "G"),
        (1200, "III", "K"),
        (3200, "S-4", "G"),
        (10000, "II", "L"),
        (35000, "S-3", "F"),
        (35001, "S-1", "D"),
        (150000, "S-4", "J"),
        (500000, "II", "P"),
        (500001, "III", "R"),
        (10**9, "S-4", "K"),
    ],
)
def test_code_letters_table_1(lot_size: int, level: str, letter: str) -> None:
    # ISO 2859-1:1999 Table 1 / ANSI/ASQ Z1.4-2003 Table I.
    assert code_letter(lot_size, level) == letter


def test_code_letter_full_level_ii_column() -> None:
    # ANSI/ASQ Z1.4-2003 Table I, general level II column, one lot size per range.
    lots = [5, 10, 20, 40, 60, 100, 200, 400, 1000, 2000, 5000, 20000, 100000, 300000, 600000]
    assert "".join(code_letter(n, "II") for n in lots) == "ABCDEFGHJKLMNPQ"


def test_level_spellings() -> None:
    assert code_letter(1000, "ii") == code_letter(1000, "G-II") == code_letter(1000, 2) == "J"
    assert code_letter(1000, "S1") == "C"


# ---------------------------------------------------------------------------------------------
# Master tables: single plans (Table 2-A normal, 2-B tightened, II-C reduced)
# ---------------------------------------------------------------------------------------------


def test_lot_1000_level_ii_aql_1_normal() -> None:
    # Table 1: 501-1200, level II -> J, n = 80; Table 2-A: J, AQL 1.0 -> Ac 2, Re 3.
    plan = single_plan(1000, 1.0)
    assert (plan.code_letter, plan.used_code_letter, plan.sample_size) == ("J", "J", 80)
    assert (plan.ac, plan.re, plan.arrow, plan.hundred_percent) == (2, 3, None, False)


def test_montgomery_mil_std_105e_example() -> None:
    # Montgomery (2009) section 15.5: N = 2000, AQL 0.65 %, level II -> code letter K.
    normal = single_plan(2000, 0.65, "II", "normal")
    tightened = single_plan(2000, 0.65, "II", "tightened")
    reduced = single_plan(2000, 0.65, "II", "reduced")
    assert normal.code_letter == "K"
    assert (normal.sample_size, normal.ac, normal.re) == (125, 2, 3)
    assert (tightened.sample_size, tightened.ac, tightened.re) == (125, 1, 2)
    assert (reduced.sample_size, reduced.ac, reduced.re) == (50, 1, 3)
    assert any("reinstate normal" in note for note in reduced.notes)


@pytest.mark.parametrize(
    ("regime", "letter", "aql", "used", "n", "ac", "re"),
    [
        # Table 2-A (normal), cells printed as plans.
        ("normal", "A", 6.5, "A", 2, 0, 1),
        ("normal", "A", 1000, "A", 2, 30, 31),
        ("normal", "B", 1000, "B", 3, 44, 45),
        ("normal", "E", 250, "E", 13, 44, 45),
        ("normal", "F", 0.65, "F", 20, 0, 1),
        ("normal", "H", 2.5, "H", 50, 3, 4),
        ("normal", "J", 2.5, "J", 80, 5, 6),
        ("normal", "J", 15, "J", 80, 21, 22),
        ("normal", "K", 10, "K", 125, 21, 22),
        ("normal", "L", 0.65, "L", 200, 3, 4),
        ("normal", "N", 0.65, "N", 500, 7, 8),
        ("normal", "Q", 0.010, "Q", 1250, 0, 1),
        ("normal", "R", 0.025, "R", 2000, 1, 2),
        ("normal", "R", 0.65, "R", 2000, 21, 22),
        # Table 2-A arrows (first plan below / above the arrow).
        ("normal", "F", 1.0, "E", 13, 0, 1),  # up arrow
        ("normal", "G", 1.0, "H", 50, 1, 2),  # down arrow
        ("normal", "K", 15, "J", 80, 21, 22),  # up arrow at the top-right staircase
        ("normal", "C", 1000, "B", 3, 44, 45),
        ("normal", "A", 0.010, "Q", 1250, 0, 1),  # long down arrow at the smallest AQL
        ("normal", "R", 0.010, "Q", 1250, 0, 1),
        ("normal", "R", 1000, "B", 3, 44, 45),
        # Table 2-B (tightened).
        ("tightened", "G", 0.65, "G", 32, 0, 1),
        ("tightened", "J", 1.0, "J", 80, 1, 2),
        ("tightened", "J", 15, "J", 80, 18, 19),
        ("tightened", "A", 1000, "A", 2, 27, 28),
        ("tightened", "B", 1000, "B", 3, 41, 42),
        ("tightened", "K", 15, "J", 80, 18, 19),  # up arrow
        ("tightened", "J", 0.65, "K", 125, 1, 2),  # two-cell down arrow
        ("tightened", "R", 0.010, "R", 2000, 0, 1),
        ("tightened", "R", 0.025, "S", 3150, 1, 2),  # the extra row S of Table 2-B
        # Table II-C (reduced).
        ("reduced", "K", 0.65, "K", 50, 1, 3),
        ("reduced", "J", 1.0, "J", 32, 1, 3),
        ("reduced", "L", 1.0, "L", 80, 2, 5),
        ("reduced", "C", 650, "C", 2, 21, 24),
        ("reduced", "Q", 0.010, "Q", 500, 0, 1),
    ],
)
def test_master_table_cells(
    regime: str, letter: str, aql: float, used: str, n: int, ac: int, re: int
) -> None:
    # ISO 2859-1:1999 Tables 2-A, 2-B / ANSI/ASQ Z1.4-2003 Tables II-A, II-B, II-C.
    level = "III" if letter == "R" else "II"
    plan = single_plan(_lot_for_letter(letter), aql, level, regime)
    assert plan.code_letter == letter
    assert (plan.used_code_letter, plan.sample_size, plan.ac, plan.re) == (used, n, ac, re)
    assert (plan.arrow is None) == (used == letter)


# Corners of the master tables the first transcription was unsure of, checked against the
# tables of the R package AQLSchemes 1.7-2 (J. Lawson, CRAN; function AAZ14Single, transcribed
# from MIL-STD-105E), which gives the sample size, Ac and Re reached after following the arrows.
# Arrow directions as printed: MIL-STD-105E Tables II-A / II-B as transcribed in the DoD
# facilities contract guide tables (nibs.org FMOC/DPW_AC/AC-TABLE.ASC, Tables 1-A and 1-B).
@pytest.mark.parametrize(
    ("regime", "letter", "aql", "used", "n", "ac", "re", "arrow"),
    [
        # Normal A/10 is printed as an up arrow with no plan above row A: followed downwards
        # (B/10 is a down arrow too) to C's 1/2, n = 5. AQLSchemes: n = 5, Ac 1, Re 2.
        ("normal", "A", 10, "C", 5, 1, 2, "down"),
        ("normal", "A", 15, "B", 3, 1, 2, "down"),  # printed down arrow; AQLSchemes n = 3
        # Normal R/0.015 is printed as a down arrow with no row below R: followed upwards
        # (Q/0.015 is an up arrow) to P's 0/1, n = 800. AQLSchemes: n = 800, Ac 0, Re 1.
        ("normal", "R", 0.015, "P", 800, 0, 1, "up"),
        # Tightened R/0.015: row S has no plan at 0.015, so upwards to Q's 0/1, n = 1250.
        ("tightened", "R", 0.015, "Q", 1250, 0, 1, "up"),
        # Tightened A/10: printed down arrow (head in row C) to D's 1/2, n = 8.
        ("tightened", "A", 10, "D", 8, 1, 2, "down"),
        ("tightened", "A", 40, "A", 2, 1, 2, None),  # first plan of tightened row A
        # Reduced (Z1.4 / MIL-STD-105E Table II-C), rows A and B at the large AQLs.
        ("reduced", "A", 10, "C", 2, 0, 2, "down"),
        ("reduced", "A", 15, "B", 2, 0, 2, "down"),
        ("reduced", "A", 25, "A", 2, 1, 2, None),
        ("reduced", "A", 40, "A", 2, 2, 3, None),
        ("reduced", "A", 65, "A", 2, 3, 4, None),
        ("reduced", "A", 100, "A", 2, 5, 6, None),
        ("reduced", "A", 150, "A", 2, 7, 8, None),
        ("reduced", "A", 250, "A", 2, 10, 11, None),
        ("reduced", "A", 400, "A", 2, 14, 15, None),
        ("reduced", "A", 650, "A", 2, 21, 22, None),
        ("reduced", "A", 1000, "A", 2, 30, 31, None),
        ("reduced", "B", 15, "B", 2, 0, 2, None),
        ("reduced", "B", 25, "B", 2, 1, 3, None),
        ("reduced", "B", 40, "B", 2, 2, 4, None),
        ("reduced", "B", 65, "B", 2, 3, 5, None),
        ("reduced", "B", 100, "B", 2, 5, 6, None),
        ("reduced", "B", 150, "B", 2, 7, 8, None),
        ("reduced", "B", 250, "B", 2, 10, 11, None),
        ("reduced", "B", 400, "B", 2, 14, 15, None),
        ("reduced", "B", 650, "B", 2, 21, 22, None),
        ("reduced", "B", 1000, "B", 2, 30, 31, None),
        ("reduced", "C", 1000, "B", 2, 30, 31, "up"),
        ("reduced", "D", 650, "C", 2, 21, 24, "up"),
        ("reduced", "C", 6.5, "D", 3, 0, 2, "down"),
    ],
)
def test_master_table_corners_match_aqlschemes(
    regime: str, letter: str, aql: float, used: str, n: int, ac: int, re: int, arrow: str | None
) -> None:
    level = "III" if letter == "R" else "II"
    plan = single_plan(_lot_for_letter(letter), aql, level, regime)
    assert plan.code_letter == letter
    got = (plan.used_code_letter, plan.sample_size, plan.ac, plan.re, plan.arrow)
    assert got == (used, n, ac, re, arrow)


def test_reduced_table_is_z14_not_iso_1999() -> None:
    # ISO 2859-1:1999 foreword (as in BS 6001-1:1999): "reduced plans have been changed to
    # eliminate the gap between the acceptance and rejection numbers". The reduced table here
    # is ANSI/ASQ Z1.4-2003 / MIL-STD-105E Table II-C, which keeps the gap (Montgomery's
    # example above: n = 50, Ac 1, Re 3) in every row but A (n = 2, whose plans are normal A's).
    gaps = [
        (letter, cell)
        for letter, row in MASTER_ROWS["reduced"].items()
        for cell in parse_row(row)
        if isinstance(cell, tuple) and cell[1] > cell[0] + 1
    ]
    assert gaps and {letter for letter, _ in gaps} == set("BCDEFGHJKLMNPQR")


def _lot_for_letter(letter: str) -> int:
    # A lot size giving this code letter at general level II (R: level III) in Table 1, large
    # enough that none of the plans above becomes 100 % inspection.
    lots = [8, 15, 25, 50, 90, 150, 280, 500, 1200, 3200, 10000, 35000, 150000, 500000, 10**7]
    return lots["ABCDEFGHJKLMNPQ".index(letter)] if letter != "R" else 10**7


def test_code_letter_r_needs_level_iii() -> None:
    plan = single_plan(10**7, 0.65, "III", "normal")
    assert (plan.code_letter, plan.sample_size, plan.ac, plan.re) == ("R", 2000, 21, 22)


def test_arrow_changes_code_letter_and_triggers_100_percent() -> None:
    # Table 2-A: J at AQL 0.010 is a down arrow to Q (n = 1250) >= lot of 1000 -> 100 %.
    plan = single_plan(1000, 0.010)
    assert (plan.code_letter, plan.used_code_letter, plan.sample_size) == ("J", "Q", 1250)
    assert (plan.ac, plan.re, plan.arrow) == (0, 1, "down")
    assert plan.hundred_percent and plan.units_to_inspect == 1000
    assert any("100 %" in note for note in plan.notes)


def test_small_lot_hundred_percent() -> None:
    # Lot of 5 at level III -> B (n=3); AQL 0.65 -> down arrow to n=20 > 5.
    plan = single_plan(5, 0.65, "III")
    assert plan.code_letter == "B" and plan.sample_size == 20 and plan.hundred_percent
    assert plan.units_to_inspect == 5


def test_plan_to_dict_is_json() -> None:
    plan = single_plan(1000, 1.0)
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["code_letter"] == "J" and data["ac"] == 2 and isinstance(data["notes"], list)
    assert isinstance(plan, SamplingPlan) and plan.accepts(2) and not plan.accepts(3)


# ---------------------------------------------------------------------------------------------
# Internal consistency of the transcribed master tables
# ---------------------------------------------------------------------------------------------

_SERIES = {
    "normal": [(0, 1), (1, 2), (2, 3), (3, 4), (5, 6), (7, 8), (10, 11), (14, 15), (21, 22)]
    + [(30, 31), (44, 45)],
    "tightened": [(0, 1), (1, 2), (2, 3), (3, 4), (5, 6), (8, 9), (12, 13), (18, 19)]
    + [(27, 28), (41, 42)],
}


@pytest.mark.parametrize("regime", ["normal", "tightened", "reduced"])
def test_rows_have_26_cells_and_increasing_plans(regime: str) -> None:
    for letter, row in MASTER_ROWS[regime].items():
        cells = parse_row(row)
        assert len(cells) == len(AQL_VALUES) == 26
        plans = [c for c in cells if isinstance(c, tuple)]
        # Plans in a row are contiguous and both Ac and Re grow with the AQL.
        first = next(i for i, c in enumerate(cells) if isinstance(c, tuple))
        acs = [ac for ac, _ in plans]
        res = [re for _, re in plans]
        assert acs == sorted(acs) and res == sorted(res), (regime, letter)
        assert all(re > ac for ac, re in plans)
        if regime in _SERIES:
            # Each row follows the standard's Ac/Re progression, without skipping a step
            # once the row has reached Ac = 1.
            series = _SERIES[regime]
            assert all(p in series for p in plans), (regime, letter)
            idx = [series.index(p) for p in plans if p != (0, 1)]
            assert idx == list(range(idx[0], idx[0] + len(idx))), (regime, letter)
        else:
            assert first >= 0


@pytest.mark.parametrize("regime", ["normal", "tightened", "reduced"])
def test_diagonals_same_plan_down_one_letter_left_one_aql(regime: str) -> None:
    # The master tables are built on diagonals: one code letter down and one AQL step left
    # keeps the same Ac/Re (rows C..Q, away from the table's corners).
    rows = {k: parse_row(v) for k, v in MASTER_ROWS[regime].items()}
    letters = CODE_LETTERS
    for i in range(2, len(letters) - 1):
        upper, lower = rows[letters[i]], rows[letters[i + 1]]
        for j in range(1, 26):
            if isinstance(upper[j], tuple) and isinstance(lower[j - 1], tuple):
                assert upper[j] == lower[j - 1], (regime, letters[i], AQL_VALUES[j])


def test_reduced_plans_have_gaps() -> None:
    # Z1.4 Table II-C: Re > Ac + 1 for the reduced plans from 0/2 on (rows C and below).
    cells = [c for c in parse_row(MASTER_ROWS["reduced"]["K"]) if isinstance(c, tuple)]
    assert cells == [(0, 1), (0, 2), (1, 3), (1, 4), (2, 5), (3, 6), (5, 8), (7, 10), (10, 13)]


def test_every_cell_resolves_to_a_plan() -> None:
    # Every (level, lot size range, AQL, regime) leads to a plan: no arrow points off a table.
    lots = [8, 15, 25, 50, 90, 150, 280, 500, 1200, 3200, 10000, 35000, 150000, 500000, 10**7]
    for regime in ("normal", "tightened", "reduced"):
        for level in TABLE_I:
            for lot in lots:
                for aql in AQL_VALUES:
                    plan = single_plan(lot, aql, level, regime)
                    assert SAMPLE_SIZES[regime][plan.used_code_letter] == plan.sample_size


# ---------------------------------------------------------------------------------------------
# Switching rules (ISO 2859-1:1999 clause 9.3; ANSI/ASQ Z1.4-2003 section 8)
# ---------------------------------------------------------------------------------------------


def _run(state: SwitchingState, results: str, ac: int = 2, re: int | None = None) -> list[str]:
    # "A" = lot accepted (0 nonconforming), "R" = not accepted (Re nonconforming).
    out = []
    for r in results:
        d = 0 if r == "A" else (re if re is not None else ac + 1)
        out.append(state.record(d, ac, re))
    return out


def test_normal_to_tightened_two_of_five() -> None:
    state = SwitchingState()
    assert _run(state, "ARAA") == ["normal"] * 4
    assert _run(state, "R") == ["tightened"]  # lots 2 and 5 not accepted: 2 of 5
    assert state.history[-1].reason.startswith("2 of 5")


def test_normal_two_rejections_six_lots_apart_stay_normal() -> None:
    state = SwitchingState()
    assert _run(state, "RAAAAR")[-1] == "normal"  # only 1 rejection in the last 5 lots
    assert _run(state, "R")[-1] == "tightened"  # now lots 6 and 7


def test_tightened_to_normal_after_five_consecutive_accepted() -> None:
    state = SwitchingState(regime="tightened")
    assert _run(state, "AAAARAAAA") == ["tightened"] * 9
    assert _run(state, "A") == ["normal"]
    assert state.switching_score == 0


def test_discontinuation_after_five_rejections_on_tightened() -> None:
    state = SwitchingState(regime="tightened")
    # Rejections need not be consecutive; accepted runs shorter than 5 do not reset the count.
    assert _run(state, "RARARAR") == ["tightened"] * 7
    assert _run(state, "R") == ["discontinued"]
    assert state.discontinued
    with pytest.raises(errors.SamplingPlanError, match="discontinued"):
        state.record(0, 2)
    assert state.resume() == "tightened"
    assert state.record(0, 2) == "tightened"


def test_switching_score_ac_2_or_more_adds_3() -> None:
    # 9.3.3.2 a) 1): Ac >= 2, lot accepted at the AQL one step tighter (Ac 2 -> 1) adds 3.
    state = SwitchingState(reduced_approved=True)
    for _ in range(9):
        assert state.record(1, 2) == "normal"
    assert state.switching_score == 27
    assert state.record(1, 2) == "reduced"  # score 30


def test_switching_score_resets_when_tighter_plan_would_reject() -> None:
    state = SwitchingState(reduced_approved=True)
    for _ in range(5):
        state.record(0, 5)
    assert state.switching_score == 15
    state.record(4, 5)  # accepted (4 <= 5) but not at one step tighter (Ac 3): reset
    assert state.switching_score == 0 and state.regime == "normal"


def test_switching_score_ac_0_or_1_adds_2() -> None:
    # 9.3.3.2 a) 2): Ac 0 or 1, accepted lot adds 2; 15 lots reach 30.
    state = SwitchingState(reduced_approved=True)
    regimes = [state.record(0, 1) for _ in range(15)]
    assert regimes[:14] == ["normal"] * 14 and regimes[14] == "reduced"


def test_reduced_needs_steady_production_and_approval() -> None:
    state = SwitchingState()  # not approved by the responsible authority
    for _ in range(20):
        state.record(0, 1)
    assert state.regime == "normal" and state.switching_score == 40
    assert state.record(0, 1, reduced_approved=True, production_steady=False) == "normal"
    assert state.record(0, 1, production_steady=True) == "reduced"


def test_reduced_back_to_normal() -> None:
    state = SwitchingState(regime="reduced")
    assert state.record(0, 1, 3) == "reduced"
    assert state.record(2, 1, 3) == "normal"  # Ac < d < Re: accepted, normal reinstated
    assert state.history[-1].accepted
    state = SwitchingState(regime="reduced")
    assert state.record(3, 1, 3) == "normal"  # not accepted
    state = SwitchingState(regime="reduced")
    assert state.record(0, 1, 3, production_steady=False) == "normal"  # irregular production
    state = SwitchingState(regime="reduced")
    assert state.reinstate_normal("supplier changed the process") == "normal"
    assert state.last_switch_reason == "supplier changed the process"


def test_switching_state_to_dict_json() -> None:
    state = SwitchingState()
    _run(state, "ARR")
    data = json.loads(json.dumps(state.to_dict()))
    assert data["regime"] == "tightened" and len(data["history"]) == 3


# ---------------------------------------------------------------------------------------------
# OC curves
# ---------------------------------------------------------------------------------------------


def test_oc_binomial_montgomery_table_15_1() -> None:
    # Montgomery (2009) Table 15.1: single-sampling plan n = 89, c = 2.
    p = [0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09]
    published = [0.9897, 0.9397, 0.7366, 0.4985, 0.3042, 0.1721, 0.0919, 0.0468, 0.0230, 0.0109]
    curve = oc_curve(89, 2, p)
    np.testing.assert_allclose(curve.pa, published, atol=5e-5)


def test_oc_poisson_closed_form() -> None:
    # Poisson with n p = 1 and Ac = 1: P(d <= 1) = 2/e.
    curve = oc_curve(50, 1, [0.02], distribution="poisson")
    assert curve.pa[0] == pytest.approx(2 / math.e, rel=1e-12)


def test_oc_hypergeometric_small_lot() -> None:
    # Lot of 10 with 2 nonconforming, sample 2, Ac 0: P = C(8,2)/C(10,2) = 28/45.
    curve = oc_curve(2, 0, [0.2], distribution="hypergeometric", lot_size=10)
    assert curve.pa[0] == pytest.approx(28 / 45, rel=1e-12)


def test_oc_default_grid_and_json() -> None:
    curve = oc_curve(80, 2)
    assert curve.p[0] == 0 and curve.pa[0] == 1 and curve.pa[-1] == pytest.approx(0.001)
    assert np.all(np.diff(curve.pa) <= 0)
    json.dumps(curve.to_dict())


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aql", [0.3, 0, -1, 2000, float("nan"), "1.0", None, True])
def test_bad_aql(aql: object) -> None:
    with pytest.raises(errors.SamplingPlanError, match="AQL"):
        single_plan(1000, aql)  # type: ignore[arg-type]


@pytest.mark.parametrize("lot", [1, 0, -5, 2.5, float("inf"), "100", None, True])
def test_bad_lot_size(lot: object) -> None:
    with pytest.raises(errors.SamplingPlanError, match="lot size"):
        single_plan(lot, 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("level", ["IV", "S-5", "", "normal"])
def test_bad_level(level: str) -> None:
    with pytest.raises(errors.SamplingPlanError, match="inspection level"):
        single_plan(1000, 1.0, level)


def test_bad_regime() -> None:
    with pytest.raises(errors.SamplingPlanError, match="regime"):
        single_plan(1000, 1.0, "II", "relaxed")
    with pytest.raises(errors.SamplingPlanError, match="regime"):
        SwitchingState(regime="relaxed")


def test_bad_switching_inputs() -> None:
    state = SwitchingState()
    with pytest.raises(errors.SamplingPlanError, match="nonconforming"):
        state.record(-1, 2)
    with pytest.raises(errors.SamplingPlanError, match="nonconforming"):
        state.record(1.5, 2)  # type: ignore[arg-type]
    with pytest.raises(errors.SamplingPlanError, match="re must be"):
        state.record(0, 2, 2)
    with pytest.raises(errors.SamplingPlanError, match="acceptance number 4"):
        state.record(0, 4)  # 4 is not an Ac of the normal table
    with pytest.raises(errors.SamplingPlanError, match="not discontinued"):
        state.resume()


def test_bad_oc_inputs() -> None:
    with pytest.raises(errors.SamplingPlanError, match="lot_size"):
        oc_curve(10, 1, [0.1], distribution="hypergeometric")
    with pytest.raises(errors.SamplingPlanError, match="distribution"):
        oc_curve(10, 1, [0.1], distribution="normal")
    with pytest.raises(errors.SamplingPlanError, match=r"\[0, 1\]"):
        oc_curve(10, 1, [1.5])
    with pytest.raises(errors.SamplingPlanError, match="below the sample size"):
        oc_curve(3, 3, [0.1])
    with pytest.raises(errors.MissingValueError):
        oc_curve(10, 1, [0.1, float("nan")])
    with pytest.raises(errors.SamplingPlanError, match="exceeds the lot size"):
        oc_curve(20, 1, [0.1], distribution="hypergeometric", lot_size=10)


def test_error_classes_are_value_errors() -> None:
    assert issubclass(errors.SamplingPlanError, ValueError)
    assert TABLE_I["II"][8] == "J"
