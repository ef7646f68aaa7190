"""Small-sample statistics over seeds (pure Python; no scipy).

- ``t_quantile(p, df)``: the Student t quantile, e.g. ``t_quantile(0.975, n - 1)`` for a two-sided
  95% interval. df = 1 and 2 use their closed forms; 2 < df <= 1000 inverts the t distribution
  function (the regularized incomplete beta, by its continued fraction) with safeguarded Newton
  steps; df > 1000 uses the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5, error O(df^-5)).
  Accuracy: relative error below 1e-10 against ``scipy.stats.t.ppf`` for p in [1e-6, 1 - 1e-6]
  and any df >= 1 (checked in tests/test_statistics.py for df 1..50, some non-integer df and up to
  1e9; within ~1e-3 of p = 0.5 scipy itself is only good to ~1e-9 relative).
- ``mean_ci(values)``: mean, half-width of the two-sided t-interval
  t_{(1+level)/2, n-1} * s / sqrt(n) (s the sample std) and n; the half-width is NaN for n < 2.
- ``paired_difference(arm, base)``: the differences arm - base over the seeds present in both
  (mappings seed -> value), their mean and t-interval, the number of pairs and whether the
  difference is resolved (at least 2 pairs and an interval that excludes 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

LEVEL = 0.95  # the confidence level of every interval the comparison table shows
_EPS = 1e-15
_TINY = 1e-300


def _beta_cf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta (modified Lentz; Numerical Recipes 6.4)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta did not converge (a={a}, b={b}, x={x})")


def _betainc(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b) with y = 1 - x given separately (no cancellation near x = 1)."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = a * math.log(x) + b * math.log(y) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, y) / b


def t_tail(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    if t < 0:
        return 1.0 - t_tail(-t, df)
    t2 = t * t
    return 0.5 * _betainc(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))


def _t_pdf(t: float, df: float) -> float:
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))


def _cornish_fisher(z: float, df: float) -> float:
    """Abramowitz & Stegun 26.7.5: t ~ z + g1/df + g2/df^2 + g3/df^3 + g4/df^4."""
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` > 0 degrees of freedom (see the module docstring)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_quantile needs 0 < p < 1, got {p}")
    if not df > 0:
        raise ValueError(f"t_quantile needs df > 0, got {df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = NormalDist().inv_cdf(p)
    if df > 1000:
        return _cornish_fisher(z, df)
    tail = 1.0 - p
    # bracket [lo, hi] with t_tail(lo) >= tail >= t_tail(hi); Newton steps that leave it are bisected
    lo, hi = 0.0, max(1.0, 2 * abs(_cornish_fisher(z, df)))
    while t_tail(hi, df) > tail:
        lo, hi = hi, 2 * hi
    t = min(max(_cornish_fisher(z, df), lo), hi) if df >= 3 else (lo + hi) / 2
    for _ in range(200):
        err = t_tail(t, df) - tail  # > 0: t too small
        if err > 0:
            lo = t
        else:
            hi = t
        step = err / _t_pdf(t, df)  # d tail / dt = -pdf
        new = t + step
        if not lo < new < hi:
            new = (lo + hi) / 2
        if abs(new - t) <= 1e-14 * max(1.0, abs(t)) or hi - lo <= 1e-15 * hi:
            return new
        t = new
    return t


def mean_std(values) -> tuple[float, float, int]:
    """(mean, sample std (NaN for n < 2), n) of ``values``."""
    vals = [float(v) for v in values]
    n = len(vals)
    if n == 0:
        return math.nan, math.nan, 0
    mean = math.fsum(vals) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else math.nan
    return mean, std, n


def ci_half_width(std: float, n: int, level: float = LEVEL) -> float:
    """t_{(1+level)/2, n-1} * std / sqrt(n); NaN for n < 2."""
    if n < 2 or std != std:
        return math.nan
    return t_quantile((1 + level) / 2, n - 1) * std / math.sqrt(n)


def mean_ci(values, level: float = LEVEL) -> tuple[float, float, int]:
    """(mean, half-width of the two-sided t-interval (NaN for n < 2), n) of ``values``."""
    mean, std, n = mean_std(values)
    return mean, ci_half_width(std, n, level), n


@dataclass(frozen=True)
class PairedDifference:
    mean: float  # mean of arm - base over the pairs; NaN without pairs
    half_width: float  # of its two-sided t-interval; NaN with fewer than 2 pairs
    pairs: int
    resolved: bool  # >= 2 pairs and the interval excludes 0

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def paired_difference(arm: dict, base: dict, level: float = LEVEL) -> PairedDifference:
    """arm - base over the keys (seeds) present in both mappings, in ``arm``'s order."""
    diffs = [arm[k] - base[k] for k in arm if k in base]
    mean, half, n = mean_ci(diffs, level)
    return PairedDifference(mean, half, n, bool(n >= 2 and abs(mean) > half))
