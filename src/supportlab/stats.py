"""Significance tests used to judge experiment arms (pure: numpy and scipy only, no I/O).

Choices, briefly:

* Unit of analysis. The unit is the *replication*: one metric value per arm per replication (or, for one long
  run per arm, one value per time batch). Tickets inside a run are autocorrelated through the shared queue, so
  per-ticket tests would overstate the evidence by orders of magnitude. The only per-ticket test here is
  :func:`two_proportions`, meant for randomised splits of real traffic where tickets really are independent.
* Paired vs Welch. With common random numbers (crn = true) replication r of every arm sees the same workload,
  so arms are paired by replication: :func:`paired` runs a paired t test on d = variant - control and
  :func:`wilcoxon` is the distribution-free check. Without CRN the arms are independent samples with
  possibly unequal variances: :func:`welch` (never Student's pooled-variance t).
* BCa intervals. The headline effect is relative, ``(mean(v) - mean(c)) / |mean(c)|``, a ratio whose
  sampling distribution is skewed for few replications, so its interval is a bias-corrected and accelerated
  bootstrap (scipy.stats.bootstrap, 2000 resamples, seeded; pairs are resampled together when paired).
  If BCa degenerates (NaN/inf, e.g. too few distinct values for the jackknife) we fall back to the
  percentile bootstrap and then to a delta-method (first-order Taylor) normal interval. Like every bootstrap
  interval it is too narrow for very few replications (below ~10); the p-value (t test) is exact there.
* Batch means. One long run per arm gives a time-ordered, autocorrelated series. :func:`batch_means` cuts it
  into contiguous batches (dropping the oldest ``len % batches`` points so batches are equal), and treats the
  batch means as approximately independent normal values, compared with Welch's t (the two runs are
  separate). Caveat: this is only valid when batches are much longer than the correlation time;
  check :func:`lag1_autocorrelation` of the batch means (|r1| well below ~0.2) or use fewer, longer batches.
* Guardrails. :func:`non_inferiority` is a one-sided test of H0 "variant is worse by at least the margin".
  A relative margin is tested exactly as the linear hypothesis ``v - (1 +/- m) c``, so the uncertainty of the
  control mean is accounted for (Fieller-style) rather than treating ``m * mean(c)`` as a known constant.
  Several guardrails are corrected together with :func:`holm` (Holm-Bonferroni step-down: controls the
  family-wise error rate under any dependence, uniformly more powerful than Bonferroni).
* Zero variance. Identical arms under CRN give d == 0 for every replication: that is a valid answer
  (test "identical", diff 0, p = 1, CI (0, 0)), never NaN. A constant non-zero d is a deterministic shift:
  p = 0 (the t statistic is infinite; every replication moved by exactly the same amount). "Constant" is
  judged with a relative tolerance of 1e-12 of the data's magnitude, so float noise from summing in a
  different order still counts as identical. Degenerate cases are handled before calling scipy, so scipy's
  RuntimeWarnings are never triggered rather than being silenced globally.
* Sample-ratio mismatch: :func:`srm` is a chi-square goodness-of-fit p-value of observed counts against the
  configured shares (callers flag at alpha 0.001).
* Power: :func:`replications_needed` inverts the exact power of the t test (noncentral t).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np


class _LazyScipyStats:
    """``scipy.stats``, imported on first use: it takes half a second, and every command loads this module."""

    def __getattr__(self, name: str) -> Any:
        from scipy import stats

        return getattr(stats, name)


_st = _LazyScipyStats()

__all__ = [
    "Effect",
    "paired",
    "wilcoxon",
    "welch",
    "batch_means",
    "two_proportions",
    "non_inferiority",
    "holm",
    "srm",
    "replications_needed",
    "lag1_autocorrelation",
]

N_RESAMPLES = 2000
REPLICATIONS_CAP = 100_000
_REL_TOL = 1e-12


@dataclass(frozen=True)
class Effect:
    test: str  # "paired-t" | "welch-t" | "wilcoxon" | "batch-means" | "two-proportion" | "fisher" | "identical"
    control: float  # mean of control values
    variant: float  # mean of variant values
    diff: float  # variant - control
    rel_diff: float | None  # diff / |control|; None when control == 0
    ci: tuple[float, float] | None  # CI of rel_diff (of diff when rel_diff is None), level 1 - alpha
    p_value: float  # two-sided, in [0, 1], never NaN
    n: int  # number of units (pairs, or min group size)


# --------------------------------------------------------------------------------------------- helpers


def _array(values: Sequence[float], name: str, min_n: int = 2) -> np.ndarray:
    a = np.asarray(values, dtype=float).ravel()
    if a.size < min_n:
        raise ValueError(f"{name}: need at least {min_n} values, got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: values must be finite (no NaN or inf)")
    return a


def _tol(*arrays: np.ndarray) -> float:
    scale = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    return _REL_TOL * scale


def _is_constant(a: np.ndarray, tol: float) -> bool:
    return float(np.ptp(a)) <= tol


def _clean_p(p: float) -> float:
    p = float(p)
    if math.isnan(p):  # defensive: degenerate inputs are handled before scipy, so this should not happen
        return 1.0
    return min(1.0, max(0.0, p))


def _rel(diff: float, control_mean: float) -> float | None:
    return None if control_mean == 0 else diff / abs(control_mean)


@contextmanager
def _quiet_precision() -> Iterator[None]:
    """Hide only scipy's near-constant-data precision warning (degenerate data is handled beforehand)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Pp]recision loss.*", category=RuntimeWarning)
        yield


def _rel_stat(c: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
    cm = np.mean(c, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.mean(v, axis=axis) - cm) / np.abs(cm)


def _diff_stat(c: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(v, axis=axis) - np.mean(c, axis=axis)


def _bootstrap_ci(
    c: np.ndarray, v: np.ndarray, *, relative: bool, is_paired: bool, alpha: float, seed: int
) -> tuple[float, float] | None:
    """BCa, then percentile; None if both are non-finite (caller then uses the delta method)."""
    stat = _rel_stat if relative else _diff_stat
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # DegenerateDataWarning / RuntimeWarning signal a NaN interval, which we detect and replace.
            warnings.simplefilter("ignore")
            try:
                res = _st.bootstrap(
                    (c, v),
                    stat,
                    paired=is_paired,
                    vectorized=True,
                    n_resamples=N_RESAMPLES,
                    confidence_level=1 - alpha,
                    method=method,
                    rng=np.random.default_rng(seed),
                )
            except (ValueError, FloatingPointError, ZeroDivisionError):
                continue
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(lo) and math.isfinite(hi):
            return (min(lo, hi), max(lo, hi))
    return None


def _delta_ci(c: np.ndarray, v: np.ndarray, *, relative: bool, is_paired: bool, alpha: float) -> tuple[float, float]:
    """Normal interval from a first-order Taylor expansion of g(C, V) = (V - C) / |C| (or V - C)."""
    cm, vm = float(np.mean(c)), float(np.mean(v))
    if relative:
        gc = (-abs(cm) - (vm - cm) * math.copysign(1.0, cm)) / cm**2
        gv = 1.0 / abs(cm)
        est = (vm - cm) / abs(cm)
    else:
        gc, gv, est = -1.0, 1.0, vm - cm
    if is_paired:
        cov = np.cov(np.vstack([c, v]), ddof=1) / c.size
        var = gc * gc * cov[0, 0] + gv * gv * cov[1, 1] + 2 * gc * gv * cov[0, 1]
    else:
        var = gc * gc * np.var(c, ddof=1) / c.size + gv * gv * np.var(v, ddof=1) / v.size
    half = float(_st.norm.ppf(1 - alpha / 2)) * math.sqrt(max(float(var), 0.0))
    return (est - half, est + half)


def _ci(c: np.ndarray, v: np.ndarray, *, is_paired: bool, alpha: float, seed: int) -> tuple[float, float]:
    relative = float(np.mean(c)) != 0
    ci = _bootstrap_ci(c, v, relative=relative, is_paired=is_paired, alpha=alpha, seed=seed)
    if ci is None:
        ci = _delta_ci(c, v, relative=relative, is_paired=is_paired, alpha=alpha)
    return ci


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


# --------------------------------------------------------------------------------------------- tests


def _pairs(
    control: Sequence[float], variant: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray, float]:
    """(control, variant, their means, the differences, the tolerance under which a difference is noise)."""
    c, v = _array(control, "control"), _array(variant, "variant")
    if c.size != v.size:
        raise ValueError(f"paired samples need equal lengths, got {c.size} and {v.size}")
    return c, v, float(np.mean(c)), float(np.mean(v)), v - c, _tol(c, v)


def paired(control: Sequence[float], variant: Sequence[float], *, alpha: float = 0.05, seed: int = 0) -> Effect:
    """Paired t test on d = variant - control (CRN replications), with a BCa CI of the relative difference.

    ``p_value`` equals ``scipy.stats.ttest_rel(variant, control).pvalue``. The CI resamples pairs.
    All d == 0 → test "identical", p = 1, CI (0, 0). All d equal to a non-zero constant → a deterministic
    shift: p = 0 and a zero-width CI at the observed effect.
    """
    _check_alpha(alpha)
    c, v, cm, vm, d, tol = _pairs(control, variant)
    if float(np.max(np.abs(d))) <= tol:
        return Effect("identical", cm, vm, 0.0, None if cm == 0 else 0.0, (0.0, 0.0), 1.0, int(c.size))
    diff = vm - cm
    rel = _rel(diff, cm)
    if _is_constant(d, tol):
        point = rel if rel is not None else diff
        return Effect("paired-t", cm, vm, diff, rel, (point, point), 0.0, int(c.size))
    with _quiet_precision():
        p = _st.ttest_rel(v, c).pvalue
    ci = _ci(c, v, is_paired=True, alpha=alpha, seed=seed)
    return Effect("paired-t", cm, vm, diff, rel, ci, _clean_p(p), int(c.size))


def wilcoxon(control: Sequence[float], variant: Sequence[float]) -> Effect:
    """Wilcoxon signed-rank test on d = variant - control (robust check for :func:`paired`).

    scipy defaults: zero differences are dropped ("wilcox"), exact p for small samples without ties, normal
    approximation otherwise. All d == 0 → test "identical", p = 1. ``ci`` is None (no interval is computed).
    """
    c, v, cm, vm, d, tol = _pairs(control, variant)
    if float(np.max(np.abs(d))) <= tol:
        return Effect("identical", cm, vm, 0.0, None if cm == 0 else 0.0, None, 1.0, int(c.size))
    d = np.where(np.abs(d) <= tol, 0.0, d)  # float noise counts as a zero difference
    with warnings.catch_warnings():
        # scipy may note that it switches to the normal approximation because of ties/zeros; that is expected.
        warnings.filterwarnings("ignore", message=".*(approximation|zeros|ties).*", category=UserWarning)
        p = _st.wilcoxon(d).pvalue
    diff = vm - cm
    return Effect("wilcoxon", cm, vm, diff, _rel(diff, cm), None, _clean_p(p), int(c.size))


def welch(control: Sequence[float], variant: Sequence[float], *, alpha: float = 0.05, seed: int = 0) -> Effect:
    """Welch's unequal-variance t test (independent arms, crn = false), BCa CI resampling each group.

    ``p_value`` equals ``scipy.stats.ttest_ind(variant, control, equal_var=False).pvalue``. Both groups
    constant: p = 1 (test "identical") if the means are equal, else p = 0 with a zero-width CI.
    """
    _check_alpha(alpha)
    c, v = _array(control, "control"), _array(variant, "variant")
    return _welch(c, v, alpha=alpha, seed=seed, name="welch-t")


def _welch(c: np.ndarray, v: np.ndarray, *, alpha: float, seed: int, name: str) -> Effect:
    cm, vm = float(np.mean(c)), float(np.mean(v))
    n = int(min(c.size, v.size))
    tol = _tol(c, v)
    diff = vm - cm
    rel = _rel(diff, cm)
    if _is_constant(c, tol) and _is_constant(v, tol):
        if abs(diff) <= tol:
            return Effect("identical", cm, vm, 0.0, None if cm == 0 else 0.0, (0.0, 0.0), 1.0, n)
        point = rel if rel is not None else diff
        return Effect(name, cm, vm, diff, rel, (point, point), 0.0, n)
    with _quiet_precision():
        p = _st.ttest_ind(v, c, equal_var=False).pvalue
    ci = _ci(c, v, is_paired=False, alpha=alpha, seed=seed)
    return Effect(name, cm, vm, diff, rel, ci, _clean_p(p), n)


def lag1_autocorrelation(values: Sequence[float]) -> float:
    """Lag-1 sample autocorrelation (0.0 for a constant series); use it to check batch-means independence."""
    x = np.asarray(values, dtype=float).ravel()
    if x.size < 3:
        return 0.0
    x = x - x.mean()
    den = float(np.dot(x, x))
    return 0.0 if den == 0 else float(np.dot(x[:-1], x[1:]) / den)


def batch_series(series: Sequence[float] | np.ndarray, batches: int) -> np.ndarray:
    """Means of ``batches`` equal, contiguous, time-ordered batches (the oldest remainder is dropped)."""
    series = np.asarray(series, dtype=np.float64)
    size = series.size // batches
    if size < 1:
        raise ValueError(f"series of {series.size} points cannot be cut into {batches} batches")
    # drop the oldest remainder (closest to warm-up) so every batch has the same length
    return series[series.size - size * batches :].reshape(batches, size).mean(axis=1)


_paired_test = paired  # batch_means' own ``paired`` flag shadows the name


def batch_means(
    control_series: Sequence[float],
    variant_series: Sequence[float],
    *,
    batches: int = 20,
    alpha: float = 0.05,
    seed: int = 0,
    paired: bool = False,
) -> Effect:
    """Batch-means comparison of one long, time-ordered run per arm.

    ``paired=True`` (both runs saw the same customers, common random numbers): batch k of control is
    compared with batch k of the variant by :func:`paired` on the batch means (test "batch-means-paired").

    Each series is cut into ``batches`` contiguous equal batches (the oldest ``len % batches`` points are
    dropped); batch means are compared with Welch's t, CI as in :func:`welch`. Test name "batch-means",
    ``n`` = batches. Valid only if batches are long compared with the autocorrelation time: check that
    :func:`lag1_autocorrelation` of the batch means is near zero, otherwise use fewer batches.
    """
    _check_alpha(alpha)
    if batches < 2:
        raise ValueError("batches must be at least 2")
    c = batch_series(_array(control_series, "control_series"), batches)
    v = batch_series(_array(variant_series, "variant_series"), batches)
    if paired:
        eff = _paired_test(c.tolist(), v.tolist(), alpha=alpha, seed=seed)
        return replace(eff, test="batch-means-paired" if eff.test != "identical" else "identical")
    return _welch(c, v, alpha=alpha, seed=seed, name="batch-means")


def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    p = x / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportions(x_control: int, n_control: int, x_variant: int, n_variant: int, *, alpha: float = 0.05) -> Effect:
    """Compare two proportions from independent per-ticket samples (randomised splits of real traffic).

    Pooled two-proportion z test; when any expected cell of the 2x2 table is below 5, Fisher's exact test
    (scipy.stats.fisher_exact, two-sided) instead. The CI is Newcombe's hybrid score interval for the
    difference p_v - p_c (method 10, built from Wilson intervals; good coverage for small counts and near 0
    or 1); when p_c > 0 it is reported on the relative scale by dividing by p_c, which treats the control rate
    as known (an approximation that is fine at the sample sizes the z test is used for). Both arms all-success
    or all-failure: test "identical", p = 1.
    """
    _check_alpha(alpha)
    for x, n, name in ((x_control, n_control, "control"), (x_variant, n_variant, "variant")):
        if int(n) != n or int(x) != x or n <= 0 or not 0 <= x <= n:
            raise ValueError(f"{name}: need integers 0 <= x <= n and n > 0, got x={x}, n={n}")
    xc, nc, xv, nv = int(x_control), int(n_control), int(x_variant), int(n_variant)
    pc, pv = xc / nc, xv / nv
    diff = pv - pc
    rel = _rel(diff, pc)
    nmin = min(nc, nv)
    total, succ = nc + nv, xc + xv
    if succ == 0 or succ == total:
        return Effect("identical", pc, pv, 0.0, None if pc == 0 else 0.0, (0.0, 0.0), 1.0, nmin)
    z = float(_st.norm.ppf(1 - alpha / 2))
    lc, uc = _wilson(xc, nc, z)
    lv, uv = _wilson(xv, nv, z)
    lo = diff - math.sqrt((pv - lv) ** 2 + (uc - pc) ** 2)
    hi = diff + math.sqrt((uv - pv) ** 2 + (pc - lc) ** 2)
    ci = (lo / pc, hi / pc) if pc > 0 else (lo, hi)
    table = np.array([[xc, nc - xc], [xv, nv - xv]], dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    if np.any(expected < 5):
        p = _st.fisher_exact([[xc, nc - xc], [xv, nv - xv]]).pvalue
        return Effect("fisher", pc, pv, diff, rel, ci, _clean_p(p), nmin)
    pool = succ / total
    se = math.sqrt(pool * (1 - pool) * (1 / nc + 1 / nv))
    p = 2 * float(_st.norm.sf(abs(diff) / se))
    return Effect("two-proportion", pc, pv, diff, rel, ci, _clean_p(p), nmin)


def non_inferiority(
    control: Sequence[float],
    variant: Sequence[float],
    *,
    better: str,
    margin: float,
    relative: bool,
    paired: bool,
    alpha: float = 0.05,
) -> float:
    """One-sided p-value for H0: the variant is worse than control by at least ``margin``.

    With s = +1 for ``better="lower"`` and -1 for ``"higher"``, and m the margin, the null hypothesis is
    ``s * (V - C) >= m`` (absolute) or ``s * (V - C) >= m * |C|`` (relative). Both are linear in the means,
    so we test ``a*C - s*V > 0`` with a = s + m*sign(mean(c)) (relative) or compare ``s*c + m`` with ``s*v``
    (absolute): a one-sided paired t on per-replication differences when ``paired``, else one-sided Welch.
    Zero variance: p = 0 when strictly inside the margin, 1 otherwise (exactly on the margin cannot reject).
    ``alpha`` is accepted for a uniform signature; the p-value does not depend on it.
    """
    _check_alpha(alpha)
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")
    if not math.isfinite(margin) or margin < 0:
        raise ValueError(f"margin must be a finite number >= 0, got {margin}")
    c, v = _array(control, "control"), _array(variant, "variant")
    s = 1.0 if better == "lower" else -1.0
    if relative:
        g = math.copysign(1.0, float(np.mean(c))) if float(np.mean(c)) != 0 else 0.0
        x, y = (s + margin * g) * c, s * v
    else:
        x, y = s * c + margin, s * v
    tol = _tol(c, v) * (1 + margin) + _REL_TOL * margin
    if paired:
        if c.size != v.size:
            raise ValueError(f"paired samples need equal lengths, got {c.size} and {v.size}")
        e = x - y
        if _is_constant(e, tol):
            return 0.0 if float(np.mean(e)) > tol else 1.0
        with _quiet_precision():
            p = _st.ttest_1samp(e, 0.0, alternative="greater").pvalue
        return _clean_p(p)
    if _is_constant(x, tol) and _is_constant(y, tol):
        return 0.0 if float(np.mean(x) - np.mean(y)) > tol else 1.0
    with _quiet_precision():
        p = _st.ttest_ind(x, y, equal_var=False, alternative="greater").pvalue
    return _clean_p(p)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the input order, monotone, capped at 1.

    Sorted ascending p_(1) <= ... <= p_(m): adj_(i) = min(1, max_{j <= i} (m - j + 1) * p_(j)).
    Reject H_i at family-wise level alpha iff adj_i <= alpha.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    if p.size == 0:
        return []
    if np.any(~np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("p-values must be finite numbers in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adj_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    out = np.empty(m)
    out[order] = adj_sorted
    return [float(a) for a in out]


def srm(observed: Sequence[int], expected_shares: Sequence[float]) -> float:
    """Sample-ratio-mismatch p-value: chi-square goodness of fit of counts against the configured shares.

    Shares are normalised to sum to 1. A group with share 0 must be empty (else p = 0); empty zero-share
    groups are dropped. No observations, or a single remaining group: p = 1.
    """
    obs = np.asarray(observed, dtype=float).ravel()
    shares = np.asarray(expected_shares, dtype=float).ravel()
    if obs.size != shares.size:
        raise ValueError(f"{obs.size} observed counts but {shares.size} shares")
    if np.any(~np.isfinite(obs)) or np.any(obs < 0) or np.any(~np.isfinite(shares)) or np.any(shares < 0):
        raise ValueError("counts and shares must be finite and non-negative")
    if shares.sum() <= 0:
        raise ValueError("shares must sum to a positive number")
    zero = shares == 0
    if np.any(obs[zero] > 0):
        return 0.0
    obs, shares = obs[~zero], shares[~zero]
    total = obs.sum()
    if total == 0 or obs.size < 2:
        return 1.0
    expected = shares / shares.sum() * total
    return _clean_p(_st.chisquare(obs, expected).pvalue)


def _t_power(n: int, delta: float, sd: float, alpha: float, is_paired: bool) -> float:
    if is_paired:  # one-sample t on n differences
        df, ncp = n - 1, delta * math.sqrt(n) / sd
    else:  # two-sample t with n per arm; sd is the SD of a single difference V - C
        df, ncp = 2 * n - 2, delta * math.sqrt(n) / sd
    crit = float(_st.t.ppf(1 - alpha / 2, df))
    # P(T > crit) + P(T < -crit); the lower tail via symmetry (nct.cdf returns NaN far in the tail)
    total = 0.0
    for shift in (ncp, -ncp):
        tail = float(_st.nct.sf(crit, df, shift))
        if not math.isfinite(tail):  # defensive: normal approximation of that tail
            tail = float(_st.norm.sf(crit - shift))
        total += tail
    return min(1.0, total)


def replications_needed(
    pilot_control: Sequence[float],
    pilot_variant_or_None: Sequence[float] | None,
    *,
    min_effect: float,
    relative: bool,
    alpha: float = 0.05,
    power: float = 0.8,
    paired: bool = True,
) -> int:
    """Replications per arm for a two-sided t test to detect ``min_effect`` with the given power.

    The effect is ``min_effect * |mean(pilot_control)|`` when ``relative`` else ``min_effect`` (metric unit).
    Noise: with a variant pilot and ``paired``, the SD of the pilot differences (this is where CRN pays off);
    with a variant pilot and not paired, sqrt(sd_c^2 + sd_v^2); without a variant pilot, sqrt(2) * sd_c
    (assumes no CRN correlation, hence conservative for paired designs). Paired → one-sample t on the
    differences (df n - 1); else two-sample t with n per arm (df 2n - 2). Power is computed exactly with the
    noncentral t and the smallest n reaching it is found by bisection. Result is at least 2; zero pilot noise
    gives 2; if even 100000 replications are not enough the cap 100000 is returned (callers should treat the
    cap as "infeasible").
    """
    _check_alpha(alpha)
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")
    c = _array(pilot_control, "pilot_control")
    delta = abs(min_effect) * abs(float(np.mean(c))) if relative else abs(min_effect)
    if not math.isfinite(delta) or delta == 0:
        raise ValueError("the minimum effect must be non-zero (and the control mean non-zero when relative)")
    if pilot_variant_or_None is not None:
        v = _array(pilot_variant_or_None, "pilot_variant")
        if paired:
            if v.size != c.size:
                raise ValueError(f"paired pilots need equal lengths, got {c.size} and {v.size}")
            d = v - c
            sd = 0.0 if _is_constant(d, _tol(c, v)) else float(np.std(d, ddof=1))
        else:
            sc = 0.0 if _is_constant(c, _tol(c)) else float(np.std(c, ddof=1))
            sv = 0.0 if _is_constant(v, _tol(v)) else float(np.std(v, ddof=1))
            sd = math.hypot(sc, sv)
    else:
        sd = 0.0 if _is_constant(c, _tol(c)) else math.sqrt(2.0) * float(np.std(c, ddof=1))
    if sd == 0:
        return 2
    if _t_power(REPLICATIONS_CAP, delta, sd, alpha, paired) < power:
        return REPLICATIONS_CAP
    lo, hi = 2, REPLICATIONS_CAP  # invariant: power(hi) >= target; answer in [lo, hi]
    if _t_power(lo, delta, sd, alpha, paired) >= power:
        return lo
    while hi - lo > 1:  # power(lo) < target <= power(hi)
        mid = (lo + hi) // 2
        if _t_power(mid, delta, sd, alpha, paired) >= power:
            hi = mid
        else:
            lo = mid
    return hi
