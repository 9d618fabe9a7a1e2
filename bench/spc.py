"""Benchmark: jizuo.qms_pack.spc against a minimal numpy implementation written here.

Run with ``python bench/spc.py``. Not part of the test suite. The minimal version skips input
validation, result objects and violation lists (it returns boolean masks), so the ratio shows
what the public API costs on top of the bare arithmetic; the target is <= 2x.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from jizuo.qms_pack.spc import imr, xbar_r

# Tabulated constants are fine for a baseline (Montgomery Appendix VI).
D2 = {2: 1.128, 5: 2.326}
D3 = {2: 0.853, 5: 0.864}


def _runs(flag: np.ndarray) -> np.ndarray:
    i = np.arange(flag.size)
    return i - np.maximum.accumulate(np.where(flag, -1, i))


def _count(flag: np.ndarray, w: int) -> np.ndarray:
    c = np.concatenate(([0], np.cumsum(flag)))
    i = np.arange(1, flag.size + 1)
    return c[i] - c[np.maximum(i - w, 0)]


def minimal_rules(x: np.ndarray, c: float, s: float, rules: tuple[int, ...]) -> list[np.ndarray]:
    """Boolean masks of the Minitab tests with default K, as plainly as numpy allows."""
    z = (x - c) / s
    d = np.sign(np.diff(x))
    out = []
    for r in rules:
        if r == 1:
            m = np.abs(z) > 3
        elif r == 2:
            m = (_runs(z > 0) >= 9) | (_runs(z < 0) >= 9)
        elif r == 3:
            m = np.r_[False, (_runs(d > 0) >= 5) | (_runs(d < 0) >= 5)]
        elif r == 4:
            m = np.r_[False, False, _runs(d[1:] * d[:-1] < 0) >= 12]
        elif r in (5, 6):
            k, lim = (2, 2) if r == 5 else (4, 1)
            up, dn = z > lim, z < -lim
            m = (up & (_count(up, k + 1) >= k)) | (dn & (_count(dn, k + 1) >= k))
            m[:k] = False
        elif r == 7:
            m = _runs(np.abs(z) < 1) >= 15
        else:
            m = _runs(np.abs(z) > 1) >= 8
        out.append(m)
    return out


def minimal_xbar_r(data: np.ndarray) -> list[np.ndarray]:
    n = data.shape[1]
    xbar = data.mean(axis=1)
    r = data.max(axis=1) - data.min(axis=1)
    sigma = r.mean() / D2[n]
    masks = minimal_rules(xbar, xbar.mean(), sigma / np.sqrt(n), (1, 2, 3, 4, 5, 6, 7, 8))
    masks += minimal_rules(r, D2[n] * sigma, D3[n] * sigma, (1, 2, 3, 4))
    return [np.flatnonzero(m) for m in masks]


def minimal_imr(x: np.ndarray) -> list[np.ndarray]:
    mr = np.abs(np.diff(x))
    sigma = mr.mean() / D2[2]
    masks = minimal_rules(x, x.mean(), sigma, (1, 2, 3, 4, 5, 6, 7, 8))
    masks += minimal_rules(mr, D2[2] * sigma, D3[2] * sigma, (1, 2, 3, 4))
    return [np.flatnonzero(m) for m in masks]


def best_of(func: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(20240601)
    subgroups = rng.normal(74.0, 0.01, size=(100_000, 5))
    individuals = rng.normal(34.0, 0.5, size=1_000_000)
    # Warm the constant caches (d2/d3 are integrated once per n) outside the timings.
    xbar_r(subgroups[:3])
    imr(individuals[:3])

    cases = [
        (
            "X-bar/R + 8 rules, 100 000 x 5",
            lambda: xbar_r(subgroups),
            lambda: minimal_xbar_r(subgroups),
        ),
        ("I-MR + 8 rules, 1 000 000", lambda: imr(individuals), lambda: minimal_imr(individuals)),
    ]
    print(f"{'case':<34} {'jizuo (s)':>10} {'minimal (s)':>12} {'ratio':>7}")
    for name, ours, baseline in cases:
        t_ours, t_min = best_of(ours), best_of(baseline)
        print(f"{name:<34} {t_ours:>10.3f} {t_min:>12.3f} {t_ours / t_min:>6.2f}x")
    res = imr(individuals)
    n_viol = len(res.i.violations) + len(res.mr.violations)
    print(f"(I-MR run reports {n_viol} violations as Violation objects)")


if __name__ == "__main__":
    main()
