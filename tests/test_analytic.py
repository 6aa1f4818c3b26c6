"""Truth tests for supportlab.analytic: published example values, brute force, limits and identities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, linalg, stats

from supportlab.analytic import (
    ErlangAResult,
    erlang_a,
    erlang_b,
    erlang_c,
    mmc_mean_queue_length,
    mmc_mean_wait,
    mmc_service_level,
    mmc_utilization,
    mmc_wait_quantile,
)

# The examples in shared/examples/: 570 arrivals per hour, mean handle 60 s, 10 agents (rates per second).
LAM = 570 / 3600
MU = 1 / 60
C = 10
THETA = 1 / 240  # mean patience 240 s (erlang-a.toml)

CASES = [  # (lam, mu, c): light, moderate, heavy, single server, many servers
    (0.5, 1.0, 1),
    (LAM, MU, C),
    (9.9, 1.0, 10),
    (3.0, 0.5, 7),
    (45.0, 1.0, 50),
]


def brute_force_distribution(lam: float, mu: float, c: int, theta: float, n_max: int) -> np.ndarray:
    """Stationary law of the truncated birth-death chain, by solving pi·Q = 0 with a dense generator.

    Deliberately naive (no product form, no log space): accurate to ~1e-9 relative, which is all the
    comparison needs.
    """
    size = n_max + 1
    q = np.zeros((size, size))
    for n in range(size):
        if n < n_max:
            q[n, n + 1] = lam
        if n > 0:
            q[n, n - 1] = min(n, c) * mu + max(n - c, 0) * theta
        q[n, n] = -q[n].sum()
    q /= np.abs(q).max()  # scale the rates to O(1) before the dense solve
    a = q.T.copy()
    a[-1, :] = 1.0  # replace one (redundant) balance equation by the normalisation sum(pi) = 1
    b = np.zeros(size)
    b[-1] = 1.0
    return np.linalg.solve(a, b)


# ---- the documented example values ------------------------------------------------------------------


def test_mmc_example_values() -> None:
    assert erlang_c(LAM, MU, C) == pytest.approx(0.825586, abs=5e-7)
    assert mmc_mean_wait(LAM, MU, C) == pytest.approx(99.070, abs=5e-4)
    assert mmc_service_level(LAM, MU, C, 20.0) == pytest.approx(0.301157, abs=5e-7)
    assert mmc_utilization(LAM, MU, C) == pytest.approx(0.95)


def test_erlang_a_example_values() -> None:
    r = erlang_a(LAM, MU, C, THETA)
    assert r.p_abandon == pytest.approx(0.065227, abs=5e-7)
    assert r.p_wait == pytest.approx(0.609431, abs=5e-7)


# ---- Erlang B / C against independent computations ----------------------------------------------------


@pytest.mark.parametrize(("a", "c"), [(1.0, 1), (2.0, 3), (9.5, 10), (10.0, 10), (100.0, 120)])
def test_erlang_b_matches_truncated_poisson(a: float, c: int) -> None:
    expected = stats.poisson.pmf(c, a) / stats.poisson.cdf(c, a)
    assert erlang_b(a, c) == pytest.approx(expected, rel=1e-12)


def test_erlang_b_published_value() -> None:
    # Classic table value: 10 erlangs offered to 10 trunks block 21.458 % of calls.
    assert erlang_b(10.0, 10) == pytest.approx(0.214582, abs=5e-7)
    assert erlang_b(1.0, 1) == 0.5


@pytest.mark.parametrize(("lam", "mu", "c"), CASES)
def test_erlang_c_against_brute_force_chain(lam: float, mu: float, c: int) -> None:
    rho = lam / (c * mu)
    n_max = c + int(math.log(1e-18) / math.log(rho)) + 50
    pi = brute_force_distribution(lam, mu, c, 0.0, n_max)
    n = np.arange(pi.size)
    assert erlang_c(lam, mu, c) == pytest.approx(pi[c:].sum(), rel=1e-9)
    assert mmc_mean_queue_length(lam, mu, c) == pytest.approx(
        float(np.sum(np.maximum(n - c, 0) * pi)), rel=1e-8
    )


def test_erlang_c_stable_for_many_agents() -> None:
    # a**c / c! overflows for c = 1000; the recursion must not. Compare with the Poisson form of Erlang C.
    lam, mu, c = 980.0, 1.0, 1000
    a = lam / mu
    tail = stats.poisson.pmf(c, a) * c / (c - a)
    expected = tail / (stats.poisson.cdf(c - 1, a) + tail)
    assert erlang_c(lam, mu, c) == pytest.approx(expected, rel=1e-9)


def test_single_server_reduces_to_mm1() -> None:
    lam, mu = 0.7, 1.0
    rho = lam / mu
    assert erlang_c(lam, mu, 1) == pytest.approx(rho)
    assert mmc_mean_wait(lam, mu, 1) == pytest.approx(rho / (mu - lam))
    assert mmc_mean_queue_length(lam, mu, 1) == pytest.approx(rho**2 / (1 - rho))


@pytest.mark.parametrize(("lam", "mu", "c"), CASES)
def test_mmc_service_level_and_quantiles_are_consistent(lam: float, mu: float, c: int) -> None:
    pw = erlang_c(lam, mu, c)
    assert mmc_service_level(lam, mu, c, 0.0) == pytest.approx(1 - pw)
    for q in (0.5, 0.9, 0.95, 0.99):
        t = mmc_wait_quantile(lam, mu, c, q)
        if t == 0.0:
            assert 1 - pw >= q
        else:
            assert mmc_service_level(lam, mu, c, t) == pytest.approx(q, rel=1e-12)
    # mean wait = integral of the tail P(W > t)
    tail_integral, _ = integrate.quad(lambda t: 1 - mmc_service_level(lam, mu, c, t), 0, math.inf)
    assert tail_integral == pytest.approx(mmc_mean_wait(lam, mu, c), rel=1e-8)


@pytest.mark.parametrize(("lam", "mu", "c"), CASES)
def test_mmc_littles_law(lam: float, mu: float, c: int) -> None:
    assert mmc_mean_queue_length(lam, mu, c) == pytest.approx(lam * mmc_mean_wait(lam, mu, c), rel=1e-14)
    rho = mmc_utilization(lam, mu, c)
    assert mmc_mean_queue_length(lam, mu, c) == pytest.approx(erlang_c(lam, mu, c) * rho / (1 - rho))


@pytest.mark.parametrize(
    "args",
    [(1.0, 1.0, 1), (11.0, 1.0, 10), (0.0, 1.0, 1), (1.0, 0.0, 1), (1.0, 1.0, 0), (1.0, 1.0, 2.5)],
)
def test_erlang_c_rejects_bad_or_unstable_input(args: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError):
        erlang_c(*args)  # type: ignore[arg-type]


# ---- Erlang A -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lam", "mu", "c", "theta"), [(LAM, MU, C, THETA), (12.0, 1.0, 10, 0.5), (3.0, 1.0, 2, 2.0)])
def test_erlang_a_against_brute_force_chain(lam: float, mu: float, c: int, theta: float) -> None:
    pi = brute_force_distribution(lam, mu, c, theta, c + 400)
    n = np.arange(pi.size)
    lq = float(np.sum(np.maximum(n - c, 0) * pi))
    r = erlang_a(lam, mu, c, theta)
    assert r.p_wait == pytest.approx(pi[c:].sum(), rel=1e-9)
    assert r.mean_queue_length == pytest.approx(lq, rel=1e-9)
    assert r.p_abandon == pytest.approx(theta * lq / lam, rel=1e-9)
    np.testing.assert_allclose(r.probabilities, pi[: r.probabilities.size], rtol=1e-8, atol=1e-14)


def test_erlang_a_with_zero_patience_rate_is_erlang_c() -> None:
    r = erlang_a(LAM, MU, C, 0.0)
    assert r.p_wait == pytest.approx(erlang_c(LAM, MU, C), rel=1e-12)
    assert r.mean_wait == pytest.approx(mmc_mean_wait(LAM, MU, C), rel=1e-12)
    assert r.mean_wait_served == pytest.approx(mmc_mean_wait(LAM, MU, C), rel=1e-10)
    assert r.p_abandon == 0.0
    for t in (0.0, 5.0, 20.0, 120.0, 600.0):
        assert r.service_level(t) == pytest.approx(mmc_service_level(LAM, MU, C, t), abs=1e-10)


def test_erlang_a_approaches_erlang_c_as_patience_grows() -> None:
    pw, wq = erlang_c(LAM, MU, C), mmc_mean_wait(LAM, MU, C)
    gaps = []
    for theta in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
        r = erlang_a(LAM, MU, C, theta)
        assert r.p_wait < pw and r.mean_wait < wq  # impatience only shortens queues
        gaps.append(abs(r.mean_wait - wq))
    assert gaps == sorted(gaps, reverse=True)
    # the gap is first order in theta: about 10x smaller per decade
    assert gaps[-1] < 1e-2 * wq
    assert 8 < gaps[-2] / gaps[-1] < 12
    assert erlang_a(LAM, MU, C, 1e-9).p_wait == pytest.approx(pw, rel=1e-6)


@pytest.mark.parametrize(("lam", "mu", "c"), [(LAM, MU, C), (5.0, 1.0, 3), (20.0, 2.0, 4)])
def test_erlang_a_with_theta_equal_mu_is_poisson(lam: float, mu: float, c: int) -> None:
    # Everyone leaves at rate mu (served or abandoning): the number in system is Poisson(lam/mu), as in M/M/inf.
    a = lam / mu
    r = erlang_a(lam, mu, c, mu)
    n = np.arange(r.probabilities.size)
    np.testing.assert_allclose(r.probabilities, stats.poisson.pmf(n, a), rtol=1e-9, atol=1e-300)
    assert r.p_wait == pytest.approx(stats.poisson.sf(c - 1, a), rel=1e-9)
    expected_lq = float(np.sum(np.maximum(n - c, 0) * stats.poisson.pmf(n, a)))
    assert r.mean_queue_length == pytest.approx(expected_lq, rel=1e-9)
    assert r.p_abandon == pytest.approx(expected_lq / a, rel=1e-9)
    # busy agents = E[min(N, c)], so utilisation = E[min(N, c)] / c
    assert r.utilization == pytest.approx(float(np.sum(np.minimum(n, c) * stats.poisson.pmf(n, a))) / c, rel=1e-9)


def test_erlang_a_is_stable_when_overloaded() -> None:
    r = erlang_a(20.0, 1.0, 10, 0.5)  # twice the capacity: abandonment keeps the queue finite
    assert 0.5 < r.p_abandon < 1
    assert r.utilization < 1
    # flow balance: carried load = served arrivals
    assert r.lam * r.p_served == pytest.approx(r.utilization * r.c * r.mu)


@pytest.mark.parametrize(("lam", "mu", "c", "theta"), [(LAM, MU, C, THETA), (12.0, 1.0, 10, 0.5), (2.0, 1.0, 3, 0.1)])
def test_erlang_a_littles_law_and_flow_identities(lam: float, mu: float, c: int, theta: float) -> None:
    r = erlang_a(lam, mu, c, theta)
    n = np.arange(r.probabilities.size)
    assert r.probabilities.sum() == pytest.approx(1.0, abs=1e-15)
    assert r.mean_queue_length == pytest.approx(lam * r.mean_wait, rel=1e-14)  # Little on the queue
    assert r.p_abandon == pytest.approx(theta * r.mean_queue_length / lam, rel=1e-14)
    busy = float(np.sum(np.minimum(n, c) * r.probabilities))  # Little on the agents
    assert busy == pytest.approx(lam * r.p_served / mu, rel=1e-10)
    assert r.utilization == pytest.approx(busy / c, rel=1e-10)


@pytest.mark.parametrize(("lam", "mu", "c", "theta"), [(LAM, MU, C, THETA), (12.0, 1.0, 10, 0.5)])
def test_erlang_a_service_level_is_consistent(lam: float, mu: float, c: int, theta: float) -> None:
    r = erlang_a(lam, mu, c, theta)
    assert r.service_level(0.0) == pytest.approx(1 - r.p_wait, abs=1e-15)
    levels = [r.service_level(t) for t in (0.0, 1.0, 5.0, 20.0, 60.0, 300.0)]
    assert levels == sorted(levels)
    horizon = 1e4 / min(mu, theta)
    # the tagged-customer chain ends in "served" or "abandoned", with the same split as the flow argument
    assert r.service_level(horizon) == pytest.approx(r.p_served, abs=1e-9)
    assert r.abandon_within(horizon) == pytest.approx(r.p_abandon, abs=1e-9)
    assert r.service_level(math.inf) == pytest.approx(r.p_served, abs=1e-15)
    assert r.abandon_within(math.inf) == pytest.approx(r.p_abandon, abs=1e-15)
    # mean wait of served customers = ∫ (P(served) - P(served by t)) dt / P(served): closed form vs banded solves
    area, _ = integrate.quad(lambda t: r.p_served - r.service_level(t), 0, math.inf, limit=200)
    assert r.mean_wait_served == pytest.approx(area / r.p_served, rel=1e-6)
    # mean wait of all arrivals = ∫ P(still waiting at t) dt
    waiting, _ = integrate.quad(
        lambda t: 1 - r.service_level(t) - r.abandon_within(t), 0, math.inf, limit=200
    )
    assert r.mean_wait == pytest.approx(waiting, rel=1e-6)


def test_erlang_a_example_served_wait_and_service_level() -> None:
    r = erlang_a(LAM, MU, C, THETA)
    # impatience trims the queue: the served wait less, and more are answered within 20 s than in M/M/c
    assert 0 < r.mean_wait_served < mmc_mean_wait(LAM, MU, C)
    assert r.service_level(20.0) > mmc_service_level(LAM, MU, C, 20.0)
    # golden values (agree with a 400k-customer SimPy run to within its noise: 15.21 s and 0.6519)
    assert r.mean_wait_served == pytest.approx(15.236863, abs=5e-6)
    assert r.service_level(20.0) == pytest.approx(0.652580, abs=5e-7)


def tagged_chain_by_expm(r: ErlangAResult, t: float) -> tuple[float, float]:
    """P(served within t) and P(abandoned within t) from the tagged-customer CTMC, by a dense matrix exponential.

    States: 0..K = customers ahead in the queue, then "served" and "abandoned" (absorbing). Independent
    of the incomplete-beta closed form used by the library.
    """
    alpha = r.probabilities[r.c :]
    k = alpha.size
    q = np.zeros((k + 2, k + 2))
    for j in range(k):
        advance = r.c * r.mu + j * r.theta
        q[j, j - 1 if j > 0 else k] = advance
        q[j, k + 1] = r.theta
        q[j, j] = -(advance + r.theta)
    start = np.zeros(k + 2)
    start[:k] = alpha
    end = start @ linalg.expm(q * t)
    return (1 - r.p_wait) + end[k], end[k + 1]


@pytest.mark.parametrize(("lam", "mu", "c", "theta"), [(LAM, MU, C, THETA), (12.0, 1.0, 10, 0.5), (2.0, 1.0, 3, 0.1)])
def test_erlang_a_service_level_matches_matrix_exponential(lam: float, mu: float, c: int, theta: float) -> None:
    r = erlang_a(lam, mu, c, theta)
    for t in (0.5 / mu, 1 / mu, 3 / mu, 10 / mu):
        served, abandoned = tagged_chain_by_expm(r, t)
        assert r.service_level(t) == pytest.approx(served, abs=1e-12)
        assert r.abandon_within(t) == pytest.approx(abandoned, abs=1e-12)


@pytest.mark.parametrize(
    "args", [(11.0, 1.0, 10, 0.0), (1.0, 1.0, 1, -0.1), (1.0, 1.0, 1, math.nan), (1.0, 1.0, 1, math.inf)]
)
def test_erlang_a_rejects_bad_input(args: tuple[float, float, int, float]) -> None:
    with pytest.raises(ValueError):
        erlang_a(*args)
