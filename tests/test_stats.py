"""Tests for supportlab.stats: agreement with scipy, known answers, edge cases, short seeded calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from supportlab import stats as S

C10 = np.array([10.2, 9.8, 11.5, 10.9, 9.4, 10.1, 12.0, 10.6, 9.9, 10.4])
V10 = np.array([10.9, 10.1, 11.9, 11.8, 9.6, 10.8, 12.9, 10.7, 10.6, 11.3])


def _binom99(n: int, p: float) -> tuple[int, int]:
    return int(st.binom.ppf(0.005, n, p)), int(st.binom.ppf(0.995, n, p))


# ------------------------------------------------------------------------------------ agreement with scipy


def test_paired_matches_ttest_rel():
    e = S.paired(C10, V10)
    assert e.test == "paired-t"
    assert e.p_value == pytest.approx(st.ttest_rel(V10, C10).pvalue, rel=1e-12)
    assert e.control == pytest.approx(C10.mean())
    assert e.variant == pytest.approx(V10.mean())
    assert e.diff == pytest.approx(V10.mean() - C10.mean())
    assert e.rel_diff == pytest.approx((V10.mean() - C10.mean()) / C10.mean())
    assert e.n == 10
    lo, hi = e.ci
    assert lo <= e.rel_diff <= hi and lo > 0  # a clear positive shift


def test_paired_is_reproducible_with_seed():
    assert S.paired(C10, V10, seed=3) == S.paired(C10, V10, seed=3)


def test_welch_matches_ttest_ind_unequal_var():
    c = np.array([5.1, 4.8, 5.6, 5.0, 4.7, 5.3, 5.2, 4.9])
    v = np.array([5.9, 4.1, 6.8, 5.5, 3.9, 6.2, 5.0, 6.6, 5.8, 4.4, 6.1, 5.2])
    e = S.welch(c, v)
    assert e.test == "welch-t"
    assert e.p_value == pytest.approx(st.ttest_ind(v, c, equal_var=False).pvalue, rel=1e-12)
    assert e.p_value != pytest.approx(st.ttest_ind(v, c, equal_var=True).pvalue, rel=1e-3)  # not Student's
    assert e.n == 8
    assert e.ci[0] <= e.rel_diff <= e.ci[1]


def test_wilcoxon_matches_scipy():
    e = S.wilcoxon(C10, V10)
    assert e.test == "wilcoxon"
    assert e.p_value == pytest.approx(st.wilcoxon(V10 - C10).pvalue, rel=1e-12)
    assert e.ci is None
    # with a zero difference (dropped by zero_method="wilcox") and ties: still scipy's answer, no warning
    v = C10 + np.array([0.0, 0.5, 0.5, 1.0, -0.3, 0.7, 0.2, 0.9, 0.5, 0.1])
    assert S.wilcoxon(C10, v).p_value == pytest.approx(st.wilcoxon(v - C10).pvalue, rel=1e-12)


def test_two_proportions_z_matches_hand_formula():
    e = S.two_proportions(120, 1000, 150, 1000)
    assert e.test == "two-proportion"
    pool = 270 / 2000
    z = (0.15 - 0.12) / math.sqrt(pool * (1 - pool) * (2 / 1000))
    assert e.p_value == pytest.approx(2 * st.norm.sf(z), rel=1e-12)
    # the pooled z test equals the uncorrected chi-square test of independence
    chi = st.chi2_contingency([[120, 880], [150, 850]], correction=False)
    assert e.p_value == pytest.approx(chi.pvalue, rel=1e-9)
    assert e.rel_diff == pytest.approx(0.25)
    assert e.ci[0] < 0.25 < e.ci[1]


def test_two_proportions_newcombe_known_answer():
    # Newcombe (1998), Table II example (a): 56/70 vs 48/80, difference 0.2, 95% CI 0.0524 to 0.3339 (method 10)
    e = S.two_proportions(48, 80, 56, 70)
    assert e.diff == pytest.approx(0.2)
    lo, hi = (b * 0.6 for b in e.ci)  # back from the relative scale (control rate 0.6)
    assert lo == pytest.approx(0.0524, abs=1e-4)
    assert hi == pytest.approx(0.3339, abs=1e-4)


def test_two_proportions_small_counts_use_fisher():
    e = S.two_proportions(1, 20, 7, 20)
    assert e.test == "fisher"
    assert e.p_value == pytest.approx(st.fisher_exact([[1, 19], [7, 13]]).pvalue, rel=1e-12)
    z = S.two_proportions(0, 20, 0, 25)
    assert (z.test, z.p_value, z.rel_diff, z.ci) == ("identical", 1.0, None, (0.0, 0.0))
    with pytest.raises(ValueError):
        S.two_proportions(5, 4, 1, 10)


def test_srm_matches_chisquare():
    obs, shares = [5000, 5210], [0.5, 0.5]
    assert S.srm(obs, shares) == pytest.approx(st.chisquare(obs, [5105, 5105]).pvalue, rel=1e-12)
    obs3 = [2900, 3050, 4050]
    exp3 = [3000, 3000, 4000]
    assert S.srm(obs3, [0.3, 0.3, 0.4]) == pytest.approx(st.chisquare(obs3, exp3).pvalue, rel=1e-12)
    assert S.srm(obs3, [3, 3, 4]) == pytest.approx(S.srm(obs3, [0.3, 0.3, 0.4]))  # shares are normalised
    assert S.srm([6000, 4000], [0.5, 0.5]) < 0.001  # a real mismatch
    assert S.srm([0, 0], [0.5, 0.5]) == 1.0
    assert S.srm([10, 0], [1.0, 0.0]) == 1.0
    assert S.srm([10, 1], [1.0, 0.0]) == 0.0
    with pytest.raises(ValueError):
        S.srm([1, 2, 3], [0.5, 0.5])


# ------------------------------------------------------------------------------------ Holm


def test_holm_hand_worked():
    # m = 4; sorted: 0.005, 0.01, 0.03, 0.04
    #   0.005 * 4 = 0.02
    #   0.01  * 3 = 0.03  (max with 0.02 -> 0.03)
    #   0.03  * 2 = 0.06  (max -> 0.06)
    #   0.04  * 1 = 0.04  (max with 0.06 -> 0.06: step-down monotonicity)
    # back in input order [0.01, 0.04, 0.03, 0.005] -> [0.03, 0.06, 0.06, 0.02]
    assert S.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_edges():
    assert S.holm([]) == []
    assert S.holm([0.03]) == [0.03]
    assert S.holm([0.6, 0.5]) == [1.0, 1.0]  # capped at 1
    assert S.holm([0.0, 1.0]) == [0.0, 1.0]
    assert S.holm([0.02, 0.02]) == [0.04, 0.04]  # ties
    rng = np.random.default_rng(1)
    p = rng.uniform(size=12)
    adj = np.array(S.holm(p))
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0) and np.all(adj >= p) and np.all(adj <= 1)
    with pytest.raises(ValueError):
        S.holm([0.1, float("nan")])
    with pytest.raises(ValueError):
        S.holm([1.2])


# ------------------------------------------------------------------------------------ zero variance


def test_identical_arms_give_p_one_without_nan():
    for e in (S.paired(C10, C10), S.wilcoxon(C10, C10)):
        assert e.test == "identical" and e.p_value == 1.0 and e.diff == 0.0 and e.rel_diff == 0.0
    assert S.paired(C10, C10).ci == (0.0, 0.0)
    const = [3.0] * 6
    w = S.welch(const, const)
    assert (w.test, w.p_value, w.ci) == ("identical", 1.0, (0.0, 0.0))
    # float noise from a different summation order still counts as identical
    noisy = C10 * (1 + 1e-15)
    assert S.paired(C10, noisy).p_value == 1.0
    # all-zero metric: rel_diff undefined, not NaN
    z = S.paired([0.0] * 5, [0.0] * 5)
    assert z.rel_diff is None and z.p_value == 1.0


def test_deterministic_shift_gives_p_zero():
    e = S.paired(C10, C10 + 2.0)
    assert e.p_value == 0.0 and e.diff == pytest.approx(2.0)
    assert e.ci[0] == e.ci[1] == pytest.approx(e.rel_diff)
    w = S.welch([3.0] * 5, [4.0] * 5)
    assert w.p_value == 0.0 and w.rel_diff == pytest.approx(1 / 3)


def test_no_nan_anywhere_in_degenerate_cases():
    cases = [
        S.paired([1.0, 1.0], [1.0, 1.0]),
        S.paired([0.0, 0.0, 0.0], [0.0, 1.0, 0.0]),  # control mean 0: CI of the difference
        S.welch([0.0, 0.0, 0.0], [1.0, 2.0, 3.0]),
        S.welch([5.0, 5.0, 5.0], [1.0, 2.0, 3.0]),  # one group constant: Welch is well defined
        S.batch_means([2.0] * 40, [2.0] * 40, batches=4),
    ]
    for e in cases:
        assert 0.0 <= e.p_value <= 1.0 and not math.isnan(e.p_value)
        assert e.ci is not None and all(math.isfinite(b) for b in e.ci) and e.ci[0] <= e.ci[1]
    assert cases[1].rel_diff is None


def test_too_few_values_raise():
    with pytest.raises(ValueError):
        S.paired([1.0], [2.0])
    with pytest.raises(ValueError):
        S.paired([1.0, 2.0], [2.0, 3.0, 4.0])
    with pytest.raises(ValueError):
        S.welch([1.0], [2.0, 3.0])
    with pytest.raises(ValueError):
        S.paired([1.0, float("nan")], [2.0, 3.0])


# ------------------------------------------------------------------------------------ calibration


def test_aa_calibration_and_power():
    """400 seeded A/A experiments of n = 10 replications: rejection rate is nominal; a real shift is found."""
    rng = np.random.default_rng(20261204)
    sims, n, alpha = 400, 10, 0.05
    lo, hi = _binom99(sims, alpha)  # 99% binomial range for the number of false rejections (about 9 to 31)
    base = rng.normal(100.0, 10.0, size=(sims, n))  # shared workload component (CRN)
    a = base + rng.normal(0.0, 3.0, size=(sims, n))
    b = base + rng.normal(0.0, 3.0, size=(sims, n))
    paired_rej = sum(S.paired(a[i], b[i]).p_value < alpha for i in range(sims))
    assert lo <= paired_rej <= hi
    x = rng.normal(100.0, 10.0, size=(sims, n))
    y = rng.normal(100.0, 20.0, size=(sims, n))  # unequal variances: Welch stays calibrated
    welch_rej = sum(S.welch(x[i], y[i]).p_value < alpha for i in range(sims))
    assert lo <= welch_rej <= hi
    # shift of 1.5 sd of the differences (sd = 3*sqrt(2) ~ 4.24): paired power at n = 10 is ~0.99
    shifted = sum(
        S.paired(a[i], a[i] + 6.4 + rng.normal(0.0, 3.0 * math.sqrt(2), n)).p_value < alpha for i in range(100)
    )
    assert shifted >= 90


def test_bca_ci_covers_true_relative_difference():
    rng = np.random.default_rng(7)
    c = rng.normal(50.0, 5.0, size=30)
    v = c * 1.10 + rng.normal(0.0, 1.0, size=30)  # true relative difference 0.10
    e = S.paired(c, v, alpha=0.05, seed=1)
    assert e.ci[0] <= 0.10 <= e.ci[1]
    assert e.ci[0] <= e.rel_diff <= e.ci[1]
    wide = S.paired(c, v, alpha=0.01, seed=1).ci
    assert wide[0] <= e.ci[0] and e.ci[1] <= wide[1]  # higher confidence → wider interval
    w = S.welch(rng.normal(50.0, 5.0, 40), rng.normal(45.0, 5.0, 40), seed=2)
    assert w.ci[0] <= -0.10 <= w.ci[1]


def test_bca_coverage_small_seeded():
    """Coverage of the paired BCa interval over 100 seeded experiments (n = 20): within the 99% binomial range
    of the nominal 95% (allowing BCa's known slight undercoverage at small n)."""
    rng = np.random.default_rng(11)
    covered = 0
    for i in range(100):
        c = rng.normal(20.0, 4.0, size=20)
        v = c + rng.normal(2.0, 2.0, size=20)  # true relative difference 2 / 20 = 0.10
        lo, hi = S.paired(c, v, seed=i).ci
        covered += lo <= 0.10 <= hi
    assert covered >= 85


def test_delta_method_fallback_agrees_with_bootstrap_for_large_n():
    rng = np.random.default_rng(2)
    c = rng.normal(50.0, 5.0, 200)
    v = c * 1.1 + rng.normal(0.0, 2.0, 200)
    x, y = rng.normal(50.0, 5.0, 200), rng.normal(45.0, 8.0, 150)
    for a, b, is_paired in ((c, v, True), (x, y, False)):
        delta = S._delta_ci(a, b, relative=True, is_paired=is_paired, alpha=0.05)
        boot = S._bootstrap_ci(a, b, relative=True, is_paired=is_paired, alpha=0.05, seed=0)
        assert delta == pytest.approx(boot, abs=2e-3)


# ------------------------------------------------------------------------------------ batch means


def test_batch_means_on_ar1_series():
    rng = np.random.default_rng(5)

    def ar1(n: int, mu: float) -> np.ndarray:
        x = np.empty(n)
        x[0] = 0.0
        eps = rng.normal(size=n)
        for t in range(1, n):
            x[t] = 0.9 * x[t - 1] + eps[t]
        return mu + x

    c, v = ar1(4003, 10.0), ar1(4000, 10.0)
    e = S.batch_means(c, v, batches=20)
    assert e.test == "batch-means" and e.n == 20
    bc = c[3:].reshape(20, 200).mean(axis=1)  # oldest remainder dropped
    bv = v.reshape(20, 200).mean(axis=1)
    assert e.control == pytest.approx(bc.mean())
    assert e.p_value == pytest.approx(st.ttest_ind(bv, bc, equal_var=False).pvalue, rel=1e-12)
    assert abs(S.lag1_autocorrelation(bc)) < 0.5  # batches of 200 >> correlation time ~10
    assert S.lag1_autocorrelation(c) > 0.8  # the raw series is strongly autocorrelated
    shifted = S.batch_means(c, ar1(4000, 11.0), batches=20)
    assert shifted.p_value < 0.01 and shifted.rel_diff > 0
    with pytest.raises(ValueError):
        S.batch_means([1.0] * 10, [1.0] * 10, batches=20)


# ------------------------------------------------------------------------------------ non-inferiority


@pytest.mark.parametrize("is_paired", [True, False])
def test_non_inferiority_both_directions(is_paired):
    rng = np.random.default_rng(3)
    c = 100.0 + rng.normal(0.0, 1.0, size=20)
    noise = rng.normal(0.0, 0.5, size=20)
    kw = dict(margin=0.05, relative=True, paired=is_paired)
    # lower is better (e.g. response time): +1% is inside a 5% margin, +10% is beyond it
    assert S.non_inferiority(c, c * 1.01 + noise, better="lower", **kw) < 0.01
    assert S.non_inferiority(c, c * 1.10 + noise, better="lower", **kw) > 0.99
    # an improvement is clearly non-inferior
    assert S.non_inferiority(c, c * 0.9 + noise, better="lower", **kw) < 0.001
    # higher is better (e.g. CSAT): -1% inside, -10% beyond
    assert S.non_inferiority(c, c * 0.99 + noise, better="higher", **kw) < 0.01
    assert S.non_inferiority(c, c * 0.90 + noise, better="higher", **kw) > 0.99
    # absolute margin in the metric's unit
    kw_abs = dict(margin=2.0, relative=False, paired=is_paired)
    assert S.non_inferiority(c, c + 0.5 + noise, better="lower", **kw_abs) < 0.01
    assert S.non_inferiority(c, c + 4.0 + noise, better="lower", **kw_abs) > 0.99
    assert S.non_inferiority(c, c - 0.5 + noise, better="higher", **kw_abs) < 0.01
    assert S.non_inferiority(c, c - 4.0 + noise, better="higher", **kw_abs) > 0.99


def test_non_inferiority_matches_one_sided_t():
    # absolute margin, lower is better: H1 mean(v - c) < margin  <=>  one-sided paired t on d - margin
    p = S.non_inferiority(C10, V10, better="lower", margin=1.0, relative=False, paired=True)
    assert p == pytest.approx(st.ttest_1samp(V10 - C10 - 1.0, 0.0, alternative="less").pvalue, rel=1e-12)
    p = S.non_inferiority(C10, V10, better="lower", margin=1.0, relative=False, paired=False)
    ref = st.ttest_ind(V10 - 1.0, C10, equal_var=False, alternative="less").pvalue
    assert p == pytest.approx(ref, rel=1e-12)


def test_non_inferiority_zero_variance():
    same = [4.0] * 8
    assert S.non_inferiority(same, same, better="higher", margin=0.02, relative=True, paired=True) == 0.0
    assert S.non_inferiority(same, [3.0] * 8, better="higher", margin=0.02, relative=True, paired=True) == 1.0
    assert S.non_inferiority(same, same, better="lower", margin=0.02, relative=True, paired=False) == 0.0
    assert S.non_inferiority(same, [5.0] * 8, better="lower", margin=0.02, relative=True, paired=False) == 1.0
    # identical arms with a zero margin: cannot reject "worse by at least 0"
    assert S.non_inferiority(same, same, better="lower", margin=0.0, relative=False, paired=True) == 1.0
    with pytest.raises(ValueError):
        S.non_inferiority(same, same, better="up", margin=0.1, relative=True, paired=True)


# ------------------------------------------------------------------------------------ power


def _standardised(n: int, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).normal(size=n)
    return (z - z.mean()) / z.std(ddof=1)  # sample sd exactly 1


def test_replications_needed_textbook():
    d = _standardised(20, 0)
    c = 10.0 + _standardised(20, 1)
    # Paired, sd of differences 1, effect 0.5 (Cohen's d = 0.5), alpha 0.05 two-sided, power 0.8:
    # normal approximation n = ((1.960 + 0.842) / 0.5)^2 = 31.4; the exact noncentral-t answer is 34
    # (G*Power, "means: difference from constant", d = 0.5 → 34).
    assert S.replications_needed(c, c + d, min_effect=0.5, relative=False) == 34
    # Two independent arms, sd 1 each (no variant pilot: sd of a difference = sqrt(2)): normal approximation
    # n = 2 * (2.802 / 0.5)^2 = 62.8 per arm; exact t (df 2n - 2) gives the classic 64 per group.
    assert S.replications_needed(c, None, min_effect=0.5, relative=False, paired=False) == 64
    # relative effect: 5% of a control mean of 10 is 0.5 → same answer
    assert S.replications_needed(c, c + d, min_effect=0.05, relative=True) == 34


def test_replications_needed_monotone_and_edges():
    d = _standardised(20, 0)
    c = 10.0 + _standardised(20, 1)
    ns = [S.replications_needed(c, c + d, min_effect=e, relative=False) for e in (2.0, 1.0, 0.5, 0.25, 0.1)]
    assert ns == sorted(ns) and ns[-1] > ns[0]
    assert ns[0] >= 2
    # half the effect needs about 4x the replications (n ~ 1/effect^2; 128 vs 4 * 34)
    assert ns[3] == pytest.approx(4 * ns[2], rel=0.1)
    assert S.replications_needed(c, c + d, min_effect=1e-4, relative=False) == S.REPLICATIONS_CAP
    assert S.replications_needed(c, c + 1.0, min_effect=0.1, relative=False) == 2  # no pilot noise
    # higher power or lower alpha needs more
    base = S.replications_needed(c, c + d, min_effect=0.5, relative=False)
    assert S.replications_needed(c, c + d, min_effect=0.5, relative=False, power=0.9) > base
    assert S.replications_needed(c, c + d, min_effect=0.5, relative=False, alpha=0.01) > base
    with pytest.raises(ValueError):
        S.replications_needed(c, c + d, min_effect=0.0, relative=False)
