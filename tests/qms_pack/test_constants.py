"""Control chart and Gage R&R constants against published tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jizuo.qms_pack.constants import (
    ChartConstants,
    aiag_k1,
    aiag_k2,
    aiag_k3,
    c4,
    constants_table,
    control_chart_constants,
    d2,
    d2_star,
    d3,
)
from jizuo.qms_pack.errors import StatisticsError, SubgroupSizeError

DATA = Path(__file__).resolve().parents[1] / "data"

# Montgomery, Introduction to Statistical Quality Control, Appendix VI (also ASTM MNL-7),
# printed to 3 decimals (c4 to 4). Columns: n, A2, A3, d2, d3, D3, D4, c4, B3, B4.
MONTGOMERY_APPENDIX_VI = [
    (2, 1.880, 2.659, 1.128, 0.853, 0.000, 3.267, 0.7979, 0.000, 3.267),
    (3, 1.023, 1.954, 1.693, 0.888, 0.000, 2.574, 0.8862, 0.000, 2.568),
    (4, 0.729, 1.628, 2.059, 0.880, 0.000, 2.282, 0.9213, 0.000, 2.266),
    (5, 0.577, 1.427, 2.326, 0.864, 0.000, 2.114, 0.9400, 0.000, 2.089),
    (6, 0.483, 1.287, 2.534, 0.848, 0.000, 2.004, 0.9515, 0.030, 1.970),
    (7, 0.419, 1.182, 2.704, 0.833, 0.076, 1.924, 0.9594, 0.118, 1.882),
    (8, 0.373, 1.099, 2.847, 0.820, 0.136, 1.864, 0.9650, 0.185, 1.815),
    (9, 0.337, 1.032, 2.970, 0.808, 0.184, 1.816, 0.9693, 0.239, 1.761),
    (10, 0.308, 0.975, 3.078, 0.797, 0.223, 1.777, 0.9727, 0.284, 1.716),
]
MONTGOMERY_COLS = ["n", "A2", "A3", "d2", "d3", "D3", "D4", "c4", "B3", "B4"]


def test_table_matches_published_four_decimals() -> None:
    """tests/data/control_chart_constants.csv: 4 d.p. as CRAN SixSigma 'Shewhart Constants'."""
    ref = pd.read_csv(DATA / "control_chart_constants.csv", comment="#")
    ours = constants_table(25)
    assert list(ours["n"]) == list(ref["n"])
    for col in ref.columns.drop("n"):
        # A value printed to 4 d.p. is within half a unit of the last place of the exact one.
        np.testing.assert_allclose(ours[col], ref[col], rtol=0, atol=0.5e-4 + 1e-9, err_msg=col)


@pytest.mark.parametrize("row", MONTGOMERY_APPENDIX_VI, ids=lambda r: f"n={r[0]}")
def test_montgomery_appendix_vi(row: tuple[float, ...]) -> None:
    """Montgomery Appendix VI, n=2..10, to the 3 (c4: 4) decimals it prints."""
    expected = dict(zip(MONTGOMERY_COLS, row, strict=True))
    cc = control_chart_constants(int(expected.pop("n")))
    for name, value in expected.items():
        places = 4 if name == "c4" else 3
        tol = 0.5 * 10**-places + 1e-9
        if name not in ("d2", "d3", "c4"):
            # The table derives these from d2, d3 already rounded to 3 d.p. (e.g. n=3:
            # D4 = 1 + 3(0.888)/1.693 = 2.5735 -> 2.574, exact 2.5746), so allow one more unit.
            tol += 10**-places
        assert getattr(cc, name) == pytest.approx(value, abs=tol), name


def test_montgomery_sigma_known_constants_n5() -> None:
    """Montgomery Appendix VI, n=5: A=1.342, D1=0, D2=4.918, B5=0, B6=1.964; E2 (n=2)=2.660."""
    cc = control_chart_constants(5)
    assert cc.A == pytest.approx(1.342, abs=5e-4)
    assert cc.D1 == 0.0
    assert cc.D2 == pytest.approx(4.918, abs=5e-4)
    assert cc.B5 == 0.0
    assert cc.B6 == pytest.approx(1.964, abs=5e-4)
    # E2 = 3/d2(2) printed as 2.660 from d2 rounded to 1.128 (exact 3/1.12838 = 2.6587).
    assert control_chart_constants(2).E2 == pytest.approx(2.660, abs=1.5e-3)


def test_d2_exact_small_n() -> None:
    """Closed forms: d2(2) = 2/sqrt(pi), d3(2)^2 = 2 - 4/pi, d2(3) = 3/sqrt(pi) (Tippett 1925)."""
    assert d2(2) == pytest.approx(2 / math.sqrt(math.pi), rel=1e-12)
    assert d3(2) == pytest.approx(math.sqrt(2 - 4 / math.pi), rel=1e-9)
    assert d2(3) == pytest.approx(3 / math.sqrt(math.pi), rel=1e-12)
    assert c4(2) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-14)


def test_vectorised_forms() -> None:
    """Arrays of n give the same values as scalars (c4 also for large n via gammaln)."""
    n = np.array([[2, 5], [5, 10]])
    np.testing.assert_allclose(c4(n), [[c4(2), c4(5)], [c4(5), c4(10)]], rtol=1e-14)
    np.testing.assert_allclose(d2(n)[1], [d2(5), d2(10)], rtol=1e-14)
    np.testing.assert_allclose(d3(np.array([2.0, 3.0])), [d3(2), d3(3)], rtol=1e-14)
    # c4 -> 1 - 1/(4n) asymptotically; gammaln keeps it finite for n far beyond Gamma overflow.
    assert c4(10_000) == pytest.approx(1 - 1 / 40_000, abs=1e-8)


def test_aiag_k_constants() -> None:
    """AIAG MSA 4th ed. (2010), average-and-range method: K1, K2, K3 tables."""
    assert aiag_k1(2) == pytest.approx(0.8862, abs=5e-5)
    assert aiag_k1(3) == pytest.approx(0.5908, abs=5e-5)
    assert aiag_k2(2) == pytest.approx(0.7071, abs=5e-5)
    assert aiag_k2(3) == pytest.approx(0.5231, abs=5e-5)
    k3 = [0.7071, 0.5231, 0.4467, 0.4030, 0.3742, 0.3534, 0.3375, 0.3249, 0.3146]
    for parts, expected in zip(range(2, 11), k3, strict=True):
        assert aiag_k3(parts) == pytest.approx(expected, abs=5e-5), parts


def test_d2_star_duncan_table() -> None:
    """AIAG MSA 4th ed. Appendix C (d2* after Duncan), rows g=1..3, m=2..5, and g -> inf = d2."""
    table = {
        1: [1.41421, 1.91155, 2.23887, 2.48124],
        2: [1.27931, 1.80538, 2.15069, 2.40484],
        3: [1.23105, 1.76858, 2.12049, 2.37883],
    }
    for g, row in table.items():
        for m, expected in zip(range(2, 6), row, strict=True):
            # The table's fifth decimal differs by 1 in places (Duncan's own integration).
            assert d2_star(m, g) == pytest.approx(expected, abs=2e-5), (m, g)
    assert d2_star(5) == pytest.approx(2.32593, abs=1e-5)
    assert d2_star(5, 10**9) == pytest.approx(d2(5), rel=1e-8)


def test_serialisable() -> None:
    """The dataclass serialises to plain JSON."""
    cc = control_chart_constants(5)
    assert isinstance(cc, ChartConstants)
    assert json.loads(json.dumps(cc.to_dict()))["n"] == 5


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, "5", None])
def test_bad_n(bad: object) -> None:
    """n below 2 or not a whole number is a SubgroupSizeError naming the problem."""
    with pytest.raises(SubgroupSizeError, match="subgroup size|whole number"):
        control_chart_constants(bad)  # type: ignore[arg-type]
    with pytest.raises(StatisticsError):
        d2(bad)  # type: ignore[arg-type]


def test_bad_n_arrays_and_g() -> None:
    """Array n with a 1, and g < 1 for d2*, are rejected."""
    with pytest.raises(SubgroupSizeError, match="position 1"):
        c4(np.array([5, 1]))
    with pytest.raises(SubgroupSizeError):
        d2_star(3, 0)
    with pytest.raises(SubgroupSizeError):
        aiag_k1(1)
