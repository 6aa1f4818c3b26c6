"""Tests for supportlab.patience: hand-computed Kaplan-Meier, recovery of known truths, conditional draws, edges."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from supportlab.patience import METHODS, PatienceEstimate, estimate

# A small textbook-style log: ties among abandons (two at 5 s) and a served call censored at an event time (5 s).
#   event  3: at risk 10, 1 abandons -> S = 9/10
#   event  5: at risk  9 (the call served at 5 still counts), 2 abandon -> S = 9/10 * 7/9 = 7/10
#   event  8: at risk  6 (8, 8, 10, 12, 12, 15), 1 abandons -> S = 7/10 * 5/6 = 7/12
#   event 12: at risk  3 (12, 12, 15), 1 abandons -> S = 7/12 * 2/3 = 7/18
#   event 15: at risk  1, 1 abandons -> S = 0
BOOK_WAITS = np.array([3, 5, 5, 5, 8, 8, 10, 12, 12, 15], dtype=float)
BOOK_ABANDONED = np.array([1, 1, 1, 0, 1, 0, 0, 1, 0, 1], dtype=bool)
BOOK_TIMES = [3.0, 5.0, 8.0, 12.0, 15.0]
BOOK_S = [Fraction(9, 10), Fraction(7, 10), Fraction(7, 12), Fraction(7, 18), Fraction(0)]


def _censored_sample(rng: np.random.Generator, patience: np.ndarray, censor_mean: float) -> tuple[np.ndarray, ...]:
    """waits = min(patience, independent Exp censoring), abandoned = patience ran out first."""
    censor = rng.exponential(censor_mean, len(patience))
    return np.minimum(patience, censor), patience <= censor


@pytest.fixture(scope="module")
def exp_log() -> tuple[np.ndarray, ...]:
    """True patience Exp(mean 120 s), independent censoring Exp(mean 60 s), 200,000 calls."""
    rng = np.random.default_rng(1234)
    return _censored_sample(rng, rng.exponential(120.0, 200_000), 60.0)


def _weibull_sf(t: np.ndarray | float) -> np.ndarray:
    return np.exp(-((np.asarray(t, dtype=float) / 100.0) ** 0.6))


@pytest.fixture(scope="module")
def weibull_log() -> tuple[np.ndarray, ...]:
    """True patience Weibull(shape 0.6, scale 100 s): decreasing hazard, far from exponential."""
    rng = np.random.default_rng(2024)
    return _censored_sample(rng, 100.0 * rng.weibull(0.6, 100_000), 200.0)


# ---------------------------------------------------------------------------------------- Kaplan-Meier by hand


def test_km_matches_hand_computation():
    est = estimate(BOOK_WAITS, BOOK_ABANDONED, min_at_risk=1)
    assert est.method == "kaplan-meier"
    assert (est.abandons, est.censored) == (6, 4)
    np.testing.assert_array_equal(est.times, BOOK_TIMES)
    np.testing.assert_allclose(est.survival, [float(s) for s in BOOK_S], rtol=1e-15, atol=1e-15)
    assert est.tail_start == 15.0
    # right-continuous steps: the drop at t_i is included at t_i
    t = np.array([-1.0, 0.0, 2.999, 3.0, 4.99, 5.0, 7.0, 8.0, 11.9, 12.0, 14.0, 15.0, 1e6])
    expected = [1, 1, 1, 0.9, 0.9, 0.7, 0.7, 7 / 12, 7 / 12, 7 / 18, 7 / 18, 0, 0]
    np.testing.assert_allclose(est.sf(t), expected, rtol=1e-15, atol=1e-15)
    assert float(est.sf(5.0)) == pytest.approx(0.7)  # scalar in, 0-d array out
    # mean = area under the steps: 3*1 + 2*9/10 + 3*7/10 + 4*7/12 + 3*7/18 = 10.4
    area = 3 + 2 * Fraction(9, 10) + 3 * Fraction(7, 10) + 4 * Fraction(7, 12) + 3 * Fraction(7, 18)
    assert est.mean() == pytest.approx(float(area), rel=1e-14)
    assert est.median() == 12.0  # first time S <= 1/2


def test_km_tail_matches_hand_computation():
    # at risk at the event times: 10, 9, 6, 3, 1 -> with min_at_risk=5 the curve is used up to 8 s
    est = estimate(BOOK_WAITS, BOOK_ABANDONED, min_at_risk=5)
    assert est.tail_start == 8.0
    np.testing.assert_array_equal(est.times, [3.0, 5.0, 8.0])
    # tail: abandons after 8 s (12, 15) over exposure beyond 8 s: (10-8) + (12-8) + (12-8) + (15-8) = 17
    rate = 2 / 17
    assert est.tail_rate == pytest.approx(rate, rel=1e-15)
    assert float(est.sf(8.0)) == pytest.approx(7 / 12)
    assert float(est.sf(10.0)) == pytest.approx(7 / 12 * math.exp(-rate * 2))
    assert float(est.sf(40.0)) == pytest.approx(7 / 12 * math.exp(-rate * 32))
    assert est.mean() == pytest.approx(3 + 2 * 0.9 + 3 * 0.7 + (7 / 12) / rate)
    # S(8) = 7/12 > 1/2, so the median is in the tail: 8 + log((7/12) / (1/2)) / rate
    assert est.median() == pytest.approx(8 + math.log(7 / 6) / rate)


def test_km_with_too_few_at_risk_keeps_one_step():
    est = estimate(BOOK_WAITS, BOOK_ABANDONED)  # default min_at_risk=30 > 10 calls
    assert est.tail_start == 3.0
    np.testing.assert_allclose(est.survival, [0.9])
    # tail: abandons after 3 s: 5 over exposure sum(w - 3) = 83 - 30 = 53
    assert est.tail_rate == pytest.approx(5 / 53)


def test_exponential_mle_by_hand():
    est = estimate(BOOK_WAITS, BOOK_ABANDONED, "exponential")
    assert est.tail_rate == pytest.approx(6 / 83)  # abandons / total wait, served calls included
    assert est.times.size == 0 and est.survival.size == 0 and est.tail_start == 0.0
    assert est.mean() == pytest.approx(83 / 6)
    assert est.median() == pytest.approx(math.log(2) * 83 / 6)
    np.testing.assert_allclose(est.sf([0.0, 10.0, 100.0]), np.exp(-6 / 83 * np.array([0.0, 10.0, 100.0])))


def test_calls_answered_at_once_tell_nothing():
    waits = np.concatenate([BOOK_WAITS, np.zeros(1000)])
    abandoned = np.concatenate([BOOK_ABANDONED, np.zeros(1000, dtype=bool)])
    km = estimate(waits, abandoned, min_at_risk=1)
    np.testing.assert_allclose(km.survival, [float(s) for s in BOOK_S], rtol=1e-14, atol=1e-15)
    assert km.censored == 1004
    assert estimate(waits, abandoned, "exponential").tail_rate == pytest.approx(6 / 83)


def test_draws_from_the_hand_computed_curve():
    est = estimate(BOOK_WAITS, BOOK_ABANDONED, min_at_risk=1)
    # w = 5: S(5) = 0.7; s = (1-u) * 0.7 -> first event time > 5 with S <= s
    u = np.array([0.0, 0.1, 1 / 6 - 1e-9, 1 / 6 + 1e-9, 0.2, 0.5, 0.99])
    np.testing.assert_array_equal(est.ppf_given_greater(u, 5.0), [8, 8, 8, 12, 12, 15, 15])
    # a wait between event times conditions the same way as the last event time before it
    np.testing.assert_array_equal(est.ppf_given_greater(u, 6.5), est.ppf_given_greater(u, 5.0))
    # unconditional draws land on the event times with the Kaplan-Meier jumps as probabilities
    draws = est.ppf_given_greater(np.random.default_rng(7).random(200_000), 0.0)
    jumps = -np.diff([1.0] + [float(s) for s in BOOK_S])
    freq = np.array([(draws == t).mean() for t in BOOK_TIMES])
    np.testing.assert_allclose(freq, jumps, atol=0.005)
    assert freq.sum() == 1.0


def test_tail_draws_by_hand():
    est = estimate(BOOK_WAITS, BOOK_ABANDONED, min_at_risk=5)  # KM to 8 s, then Exp(2/17)
    rate = 2 / 17
    # w in the tail: memoryless, t = w - log(1 - u) / rate
    assert est.ppf_given_greater(np.array([0.5]), np.array([10.0]))[0] == pytest.approx(10 + math.log(2) / rate)
    # w = 0, u = 0.5: s = 0.5 < S(8) = 7/12, so the draw is in the tail: 8 + log((7/12) / 0.5) / rate
    assert est.ppf_given_greater(np.array([0.5]), np.array([0.0]))[0] == pytest.approx(8 + math.log(7 / 6) / rate)
    # w = 4, u = 0.5: s = 0.45, S(8) = 7/12 > s -> tail: 8 + log((7/12) / 0.45) / rate
    assert est.ppf_given_greater(0.5, 4.0) == pytest.approx(8 + math.log((7 / 12) / 0.45) / rate)
    # w = 4, u = 0.05: s = 0.855 >= S(5) = 0.7 -> the next event time
    assert est.ppf_given_greater(0.05, 4.0) == 5.0


# ------------------------------------------------------------------------------------------ recovering truth


def test_exponential_truth_is_recovered(exp_log):
    waits, abandoned = exp_log
    exp_fit = estimate(waits, abandoned, "exponential")
    assert exp_fit.tail_rate == pytest.approx(1 / 120, rel=0.02)
    assert exp_fit.mean() == pytest.approx(120, rel=0.02)
    km = estimate(waits, abandoned)
    t = np.array([30.0, 60.0, 120.0])
    np.testing.assert_allclose(km.sf(t), np.exp(-t / 120), atol=0.01)
    assert km.abandons + km.censored == 200_000
    # at least min_at_risk calls at risk at tail_start, fewer at later abandon times
    assert np.count_nonzero(waits >= km.tail_start) >= 30
    later = waits[abandoned & (waits > km.tail_start)]
    assert later.size == 0 or np.count_nonzero(waits >= later.min()) < 30


def test_exponential_tail_recovers_truth_with_enough_data(exp_log):
    waits, abandoned = exp_log
    km = estimate(waits, abandoned, min_at_risk=5000)
    assert 100 < km.tail_start < 200  # ~exp(-t/40) * 200k at risk
    assert km.tail_rate == pytest.approx(1 / 120, rel=0.10)
    assert km.mean() == pytest.approx(120, rel=0.03)
    # past every observed wait the estimate still answers, and follows the truth
    t = np.array([300.0, 600.0, 2 * waits.max()])
    np.testing.assert_allclose(km.sf(t), np.exp(-t / 120), atol=0.01)
    # continuous where the tail takes over
    s_ts = km.survival[-1]
    assert float(km.sf(km.tail_start)) == s_ts
    assert float(km.sf(km.tail_start + 1e-9)) == pytest.approx(s_ts, rel=1e-9)


def test_km_fits_non_exponential_truth_where_exponential_fails(weibull_log):
    waits, abandoned = weibull_log
    km = estimate(waits, abandoned)
    exp_fit = estimate(waits, abandoned, "exponential")
    t = np.array([5.0, 20.0, 60.0, 120.0, 300.0])
    truth = _weibull_sf(t)
    np.testing.assert_allclose(km.sf(t), truth, atol=0.01)
    assert np.max(np.abs(exp_fit.sf(t) - truth)) > 0.05  # constant hazard cannot follow a decreasing one
    assert km.median() == pytest.approx(100 * math.log(2) ** (1 / 0.6), rel=0.05)
    s = km.sf(np.linspace(0, 5000, 2001))
    assert np.all(np.diff(s) <= 0) and np.all((s >= 0) & (s <= 1))


# -------------------------------------------------------------------------------------------- conditional draws


def test_conditional_draws_follow_the_conditional_survival(weibull_log):
    waits, abandoned = weibull_log
    km = estimate(waits, abandoned)
    rng = np.random.default_rng(99)
    draws = km.ppf_given_greater(rng.random(200_000), np.full(200_000, 50.0))
    assert np.all(draws > 50)
    t = np.array([60.0, 100.0, 200.0, 400.0])
    empirical = (draws[:, None] > t).mean(axis=0)
    np.testing.assert_allclose(empirical, km.sf(t) / km.sf(50.0), atol=0.01)
    np.testing.assert_allclose(empirical, _weibull_sf(t) / _weibull_sf(50.0), atol=0.02)  # and the truth
    in_km = draws <= km.tail_start
    assert np.all(np.isin(draws[in_km], km.times))  # the Kaplan-Meier part only returns event times


def test_conditional_draws_vectorised_over_waits(weibull_log):
    waits, abandoned = weibull_log
    km = estimate(waits, abandoned)
    rng = np.random.default_rng(5)
    w = rng.exponential(300.0, 100_000)  # many beyond tail_start as well
    assert np.any(w > km.tail_start)
    draws = km.ppf_given_greater(rng.random(100_000), w)
    assert np.all(draws > w)
    # element by element it is the same as a scalar-w call
    i = np.arange(0, 100_000, 9973)
    u = np.linspace(0.01, 0.99, i.size)
    each = [float(km.ppf_given_greater(np.array([uu]), np.array([ww]))[0]) for uu, ww in zip(u, w[i], strict=True)]
    np.testing.assert_array_equal(km.ppf_given_greater(u, w[i]), each)


def test_exponential_draws_are_memoryless(exp_log):
    waits, abandoned = exp_log
    fit = estimate(waits, abandoned, "exponential")
    draws = fit.ppf_given_greater(np.random.default_rng(11).random(200_000), 50.0)
    assert np.all(draws > 50)
    extra = draws - 50
    assert extra.mean() == pytest.approx(1 / fit.tail_rate, rel=0.02)
    assert (extra > 1 / fit.tail_rate).mean() == pytest.approx(math.exp(-1), abs=0.01)
    assert fit.ppf_given_greater(0.5, 0.0) == pytest.approx(fit.median())


def test_unconditional_draws_have_the_estimated_mean(exp_log):
    waits, abandoned = exp_log
    km = estimate(waits, abandoned, min_at_risk=5000)
    draws = km.ppf_given_greater(np.random.default_rng(3).random(400_000), 0.0)
    assert draws.mean() == pytest.approx(km.mean(), rel=0.01)


# ---------------------------------------------------------------------------------------------- degenerate


@pytest.mark.parametrize("method", METHODS)
def test_no_abandons_means_infinite_patience(method):
    est = estimate(np.array([0.0, 10.0, 30.0, 45.0]), np.zeros(4, dtype=bool), method)
    assert (est.abandons, est.censored) == (0, 4)
    assert est.tail_rate == 0.0 and est.times.size == 0
    assert est.mean() == math.inf and est.median() == math.inf
    np.testing.assert_array_equal(est.sf([0.0, 1e9]), [1.0, 1.0])
    assert np.all(np.isinf(est.ppf_given_greater(np.array([0.0, 0.3, 0.999]), np.array([0.0, 10.0, 1e6]))))
    d = est.describe()
    assert d["mean"] is None and d["median"] is None and d["tail_rate"] == 0.0
    json.dumps(d, allow_nan=False)


@pytest.mark.parametrize("method", METHODS)
def test_empty_log_means_infinite_patience(method):
    est = estimate(np.array([]), np.array([], dtype=bool), method)
    assert (est.abandons, est.censored) == (0, 0)
    assert est.mean() == math.inf


def test_everyone_abandons_at_the_same_time():
    waits, abandoned = np.full(50, 30.0), np.ones(50, dtype=bool)
    km = estimate(waits, abandoned)
    np.testing.assert_array_equal(km.times, [30.0])
    np.testing.assert_array_equal(km.sf([29.9, 30.0, 100.0]), [1.0, 0.0, 0.0])
    assert km.mean() == 30.0 and km.median() == 30.0
    np.testing.assert_array_equal(km.ppf_given_greater(np.array([0.0, 0.5, 0.99]), 0.0), [30.0, 30.0, 30.0])
    np.testing.assert_array_equal(km.ppf_given_greater(0.5, 12.0), 30.0)
    # S(40) = 0: conditioning on T > 40 is impossible, the degenerate answer is the wait itself
    np.testing.assert_array_equal(km.ppf_given_greater(0.5, 40.0), 40.0)
    fit = estimate(waits, abandoned, "exponential")
    assert fit.tail_rate == pytest.approx(1 / 30) and fit.mean() == pytest.approx(30.0)


@pytest.mark.parametrize("method", METHODS)
def test_everyone_abandons_at_once(method):
    est = estimate(np.zeros(20), np.ones(20, dtype=bool), method)
    assert est.mean() == 0.0 and est.median() == 0.0
    np.testing.assert_array_equal(est.sf([0.0, 5.0]), [0.0, 0.0])
    w = np.array([0.0, 3.0, 60.0])
    np.testing.assert_array_equal(est.ppf_given_greater(np.array([0.2, 0.5, 0.9]), w), w)  # patience 0
    json.dumps(est.describe(), allow_nan=False)


def test_exponential_rate_inf_is_reported_as_none():
    d = estimate(np.zeros(3), np.ones(3, dtype=bool), "exponential").describe()
    assert d == {
        "method": "exponential",
        "abandons": 3,
        "censored": 0,
        "mean": 0.0,
        "median": 0.0,
        "tail_start": 0.0,
        "tail_rate": None,
    }


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="'weibull'") as err:
        estimate(BOOK_WAITS, BOOK_ABANDONED, "weibull")
    assert all(m in str(err.value) for m in METHODS)


@pytest.mark.parametrize(
    ("waits", "abandoned", "match"),
    [
        ([1.0, np.nan], [True, False], "NaN"),
        ([1.0, -0.5], [True, False], "negative"),
        ([1.0, np.inf], [True, False], "inf"),
        ([1.0, 2.0, 3.0], [True, False], "same length"),
        ([[1.0]], [[True]], "1-D"),
        ([1.0, 2.0], [0, 2], "abandoned"),
    ],
)
def test_bad_input_is_rejected(waits, abandoned, match):
    with pytest.raises(ValueError, match=match):
        estimate(np.array(waits), np.array(abandoned))


@pytest.mark.parametrize("min_at_risk", [0, -3, 2.5, True])
def test_bad_min_at_risk_is_rejected(min_at_risk):
    with pytest.raises(ValueError, match="min_at_risk"):
        estimate(BOOK_WAITS, BOOK_ABANDONED, min_at_risk=min_at_risk)


def test_integer_flags_are_accepted():
    a = estimate(BOOK_WAITS, BOOK_ABANDONED.astype(int), min_at_risk=1)
    b = estimate(BOOK_WAITS, BOOK_ABANDONED, min_at_risk=1)
    np.testing.assert_array_equal(a.survival, b.survival)


@pytest.mark.parametrize(("u", "w"), [(1.0, 0.0), (-0.1, 0.0), (np.nan, 0.0), (0.5, -1.0), (0.5, np.nan)])
def test_bad_draw_input_is_rejected(u, w):
    est = estimate(BOOK_WAITS, BOOK_ABANDONED)
    with pytest.raises(ValueError):
        est.ppf_given_greater(np.array([u]), np.array([w]))


def test_estimate_is_immutable():
    est = estimate(BOOK_WAITS, BOOK_ABANDONED)
    assert isinstance(est, PatienceEstimate)
    with pytest.raises(ValueError):
        est.survival[0] = 0.5
    with pytest.raises(AttributeError):
        est.tail_rate = 1.0  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("method", METHODS)
def test_same_inputs_give_identical_results(weibull_log, method):
    waits, abandoned = weibull_log
    a = estimate(waits, abandoned, method)
    b = estimate(waits.copy(), abandoned.copy(), method)
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.survival, b.survival)
    assert (a.tail_start, a.tail_rate, a.describe()) == (b.tail_start, b.tail_rate, b.describe())
    u = np.random.default_rng(42).random(10_000)
    w = np.random.default_rng(43).exponential(60.0, 10_000)
    np.testing.assert_array_equal(a.ppf_given_greater(u, w), b.ppf_given_greater(u.copy(), w.copy()))
