"""Published tables for single sampling by attributes (ANSI/ASQ Z1.4 / ISO 2859-1).

Sources:

* ISO 2859-1:1999, Table 1 (sample size code letters) and Tables 2-A, 2-B (single sampling,
  normal and tightened inspection, master tables);
* ANSI/ASQ Z1.4-2003, Tables I, II-A, II-B and II-C (single sampling, reduced inspection);
* MIL-STD-105E (10 May 1989), Tables I, II-A, II-B, II-C (Z1.4-2003 keeps its numbers).

Table 1 and the normal and tightened master tables are the same in all three. The reduced
table is the ANSI/ASQ Z1.4 / MIL-STD-105E Table II-C, whose plans keep a gap between Ac and
Re (a lot with Ac < d < Re is accepted but normal inspection is reinstated). It is *not*
ISO 2859-1:1999 Table 2-C: the foreword of ISO 2859-1:1999 (reproduced in BS 6001-1:1999)
lists among the changes from the 1989 edition that "reduced plans have been changed to
eliminate the gap between the acceptance and rejection numbers". ISO's Table 2-C was not
available in the public material checked, so it is not offered; the ISO 1999 optional
fractional acceptance number plans (Tables 11-A to 11-C, in place of some arrows) are not
offered either.

Master tables are written row by row as they are printed, one row per code letter and one cell
per AQL column (0.010 ... 1000, 26 columns). Cells are separated by spaces:

* ``a/r``  an acceptance number a and rejection number r;
* ``v``    "use the first sampling plan below the arrow";
* ``^``    "use the first sampling plan above the arrow";
* ``-``    no entry (only in the extra tightened row S);
* ``Nv`` / ``N^`` / ``N-``  N consecutive cells of the same arrow (run-length shorthand).

Two arrows of the printed tables point off the table and are written here as the arrow that
leads to a plan, as the standard's software implementations do: normal A/10 (printed as an
up arrow, with no plan above row A) is followed downwards, to C's plan 1/2 (n = 5); normal
and tightened R/0.015 (printed as down arrows; row S has no plan at 0.015) are followed
upwards, to P's 0/1 (n = 800) and Q's 0/1 (n = 1250).

Verification (tests in ``tests/qms_pack/test_sampling.py`` cite each checked corner):

* every cell of the three tables, resolved through the arrows to (sample size, Ac, Re), for
  all 16 code letters and 26 AQLs (1248 plans), was compared with the tables of the R package
  AQLSchemes 1.7-2 (J. Lawson, CRAN, function ``AAZ14Single``, transcribed from MIL-STD-105E)
  and agrees everywhere, in particular in the corners that were uncertain: reduced rows A and
  B for AQL >= 25 (A: 1/2, 2/3, 3/4, 5/6, 7/8, 10/11, 14/15, 21/22, 30/31; B: 1/3, 2/4, 3/5,
  then the same as A from 5/6 on, all with n = 2), normal A/10 (n = 5, 1/2), normal
  R/0.015 (n = 800, 0/1), tightened R/0.015 (n = 1250, 0/1) and tightened A/10 (n = 8, 1/2);
* the printed arrow directions of Tables II-A and II-B (rows A to Q, AQL 0.65 to 15) were
  compared with the MIL-STD-105E transcription in the U.S. DoD facilities contract guide
  tables (nibs.org, FMOC/DPW_AC/AC-TABLE.ASC, Tables 1-A and 1-B): normal A/10 is printed as
  an up arrow and A/15 as a down arrow; tightened A/10 is the shaft of a down arrow whose
  head is in row C, just above D's 1/2;
* the ISO 2859-1:1999 Table 2-C difference comes from the 1999 foreword quoted above.
"""

from __future__ import annotations

import math

__all__ = [
    "AQL_VALUES",
    "CODE_LETTERS",
    "LEVELS",
    "LOT_SIZE_UPPER",
    "TABLE_I",
    "SAMPLE_SIZES",
    "MASTER_ROWS",
    "REGIMES",
    "parse_row",
]

# Preferred AQL series (percent nonconforming, or nonconformities per 100 units above 10).
AQL_VALUES: tuple[float, ...] = (
    0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0,
    6.5, 10, 15, 25, 40, 65, 100, 150, 250, 400, 650, 1000,
)  # fmt: skip

# I and O are not used as code letters (they look like 1 and 0).
CODE_LETTERS = "ABCDEFGHJKLMNPQR"
REGIMES = ("normal", "tightened", "reduced")
LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")

# ISO 2859-1:1999 Table 1 / ANSI/ASQ Z1.4-2003 Table I: upper ends of the lot size ranges
# 2-8, 9-15, 16-25, 26-50, 51-90, 91-150, 151-280, 281-500, 501-1200, 1201-3200,
# 3201-10000, 10001-35000, 35001-150000, 150001-500000, 500001 and over.
LOT_SIZE_UPPER: tuple[float, ...] = (
    8, 15, 25, 50, 90, 150, 280, 500, 1200, 3200, 10000, 35000, 150000, 500000, math.inf,
)  # fmt: skip

# Code letter per lot size range (one character per range above), by inspection level.
TABLE_I: dict[str, str] = {
    "S-1": "AAAABBBBCCCCDDD",
    "S-2": "AAABBBCCCDDDEEE",
    "S-3": "AABBCCDDEEFFGGH",
    "S-4": "AABCCDEEFGGHJJK",
    "I": "AABCCDEFGHJKLMN",
    "II": "ABCDEFGHJKLMNPQ",
    "III": "BCDEFGHJKLMNPQR",
}

# Sample size per code letter. Tightened inspection adds letter S (3150), reachable only by
# an arrow of Table 2-B; reduced sample sizes are two letters smaller (but never below 2).
_NORMAL_N = (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000)
_REDUCED_N = (2, 2, 2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800)
SAMPLE_SIZES: dict[str, dict[str, int]] = {
    "normal": dict(zip(CODE_LETTERS, _NORMAL_N, strict=True)),
    "tightened": dict(zip(CODE_LETTERS + "S", (*_NORMAL_N, 3150), strict=True)),
    "reduced": dict(zip(CODE_LETTERS, _REDUCED_N, strict=True)),
}

MASTER_ROWS: dict[str, dict[str, str]] = {
    # ISO 2859-1:1999 Table 2-A / ANSI/ASQ Z1.4-2003 Table II-A: normal inspection.
    "normal": {
        "A": "14v 0/1 2v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31",
        "B": "13v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45",
        "C": "12v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^",
        "D": "11v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 2^",
        "E": "10v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 3^",
        "F": "9v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 6^",
        "G": "8v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 7^",
        "H": "7v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 8^",
        "J": "6v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 9^",
        "K": "5v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 10^",
        "L": "4v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 11^",
        "M": "3v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 12^",
        "N": "2v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 13^",
        "P": "v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 14^",
        "Q": "0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 15^",
        "R": "2^ 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 16^",
    },
    # ISO 2859-1:1999 Table 2-B / ANSI/ASQ Z1.4-2003 Table II-B: tightened inspection.
    "tightened": {
        "A": "18v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28",
        "B": "14v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42",
        "C": "13v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^",
        "D": "12v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 2^",
        "E": "11v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 3^",
        "F": "10v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 6^",
        "G": "9v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 7^",
        "H": "8v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 8^",
        "J": "7v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 9^",
        "K": "6v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 10^",
        "L": "5v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 11^",
        "M": "4v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 12^",
        "N": "3v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 13^",
        "P": "2v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 14^",
        "Q": "v 0/1 2v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 15^",
        "R": "0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 16^",
        "S": "2- 1/2 23-",
    },
    # ANSI/ASQ Z1.4-2003 Table II-C / MIL-STD-105E Table II-C: reduced inspection.
    "reduced": {
        "A": "14v 0/1 2v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31",
        "B": "13v 0/1 ^ v 0/2 1/3 2/4 3/5 5/6 7/8 10/11 14/15 21/22 30/31",
        "C": "12v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 ^",
        "D": "11v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 2^",
        "E": "10v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 3^",
        "F": "9v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 6^",
        "G": "8v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 7^",
        "H": "7v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 8^",
        "J": "6v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 9^",
        "K": "5v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 10^",
        "L": "4v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 11^",
        "M": "3v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 12^",
        "N": "2v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 13^",
        "P": "v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14^",
        "Q": "0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 15^",
        "R": "2^ 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 16^",
    },
}


def parse_row(row: str) -> list[str | tuple[int, int]]:
    """Expand one master-table row into 26 cells: (Ac, Re) tuples or 'v' / '^' / '-'."""
    cells: list[str | tuple[int, int]] = []
    for token in row.split():
        if "/" in token:
            ac, re_ = token.split("/")
            cells.append((int(ac), int(re_)))
        else:
            count = int(token[:-1]) if len(token) > 1 else 1
            cells.extend([token[-1]] * count)
    if len(cells) != len(AQL_VALUES):
        raise ValueError(f"master-table row {row!r} has {len(cells)} cells, expected 26")
    return cells
