"""Closed-form and exact numerical results for the queues a supportlab model reduces to.

A supportlab experiment with one channel, one intent with exponential handle time, one pool of ``c``
agents and no bot/KB/escalation is an M/M/c queue (Erlang C); giving the channel an exponential
``patience`` makes it M/M/c+M (Erlang A, the Palm/Erlang-A model). These functions are the "truth" the
engine's statistical tests compare with. They are pure (numpy/scipy only, no I/O, no global state).

Conventions, shared by every function here:

* ``lam`` – arrival rate (per second, or any time unit as long as all rates share it);
* ``mu``  – service rate of one agent (1 / mean handle time);
* ``c``   – number of agents (integer >= 1);
* ``theta`` – abandonment rate (1 / mean patience) of each waiting customer, Erlang A only;
* times (``t``, returned waits) are in the reciprocal unit of the rates (seconds for rates per second).

The waiting time ``W`` is the time from arrival until an agent starts handling the customer; customers
who do not wait contribute ``W = 0`` ("zeros included", like supportlab's ``wait.*`` metrics).

References:

* [Kle75] L. Kleinrock, *Queueing Systems, Vol. 1: Theory*, Wiley 1975, §3.5 (M/M/c) and §3.4 (M/M/∞).
* [GH98] D. Gross, C. M. Harris, *Fundamentals of Queueing Theory*, 3rd ed., Wiley 1998, §2.3
  (Erlang C, waiting-time distribution ``P(W > t) = C·exp(-(cμ-λ)t)``).
* [Jag74] D. L. Jagerman, "Some properties of the Erlang loss function", *Bell Syst. Tech. J.* 53
  (1974) 525-551 (the stable recursion ``B(k) = a·B(k-1) / (k + a·B(k-1))``).
* [GKM03] N. Gans, G. Koole, A. Mandelbaum, "Telephone call centers: tutorial, review, and research
  prospects", *Manufacturing & Service Operations Management* 5(2) (2003) 79-141 (Erlang A, §4.2).
* [MZ07] A. Mandelbaum, S. Zeltyn, "Service engineering in action: the Palm/Erlang-A queue, with
  applications to call centers", in *Advances in Services Innovations*, Springer 2007, 17-45
  (``P(Ab) = θ·E[Lq]/λ``, PASTA, performance measures of M/M/n+M).

The incomplete-beta form of the Erlang A service level (:func:`_tagged_outcomes`) is derived in its
docstring and checked in the tests against a matrix exponential of the tagged-customer chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import linalg, special

__all__ = [
    "ErlangAResult",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "mmc_mean_queue_length",
    "mmc_mean_wait",
    "mmc_service_level",
    "mmc_utilization",
    "mmc_wait_quantile",
]

# Relative mass of the truncated tail of the Erlang A birth-death chain: far below double precision.
_TAIL_TOL = 1e-18
# Hard cap on the truncation level, so a pathological input (theta ~ 0 with rho ~ 1) cannot run away.
_MAX_STATES = 20_000_000
_CHUNK = 4096


def _check_rates(lam: float, mu: float, c: int) -> None:
    if not (math.isfinite(lam) and lam > 0):
        raise ValueError(f"arrival rate lam must be a positive finite number, got {lam!r}")
    if not (math.isfinite(mu) and mu > 0):
        raise ValueError(f"service rate mu must be a positive finite number, got {mu!r}")
    if isinstance(c, bool) or int(c) != c or c < 1:
        raise ValueError(f"number of agents c must be an integer >= 1, got {c!r}")


def _check_stable(lam: float, mu: float, c: int) -> None:
    _check_rates(lam, mu, c)
    if lam >= c * mu:
        raise ValueError(
            f"M/M/c is unstable: offered load lam/mu = {lam / mu:.6g} >= c = {c} agents "
            "(no steady state; add agents or patience)"
        )


# --------------------------------------------------------------------------------------------------
# Erlang B / Erlang C (M/M/c)
# --------------------------------------------------------------------------------------------------


def erlang_b(a: float, c: int) -> float:
    """Erlang B blocking probability of an M/M/c/c loss system with offered load ``a = lam/mu``.

    Uses the recursion ``B(0) = 1``, ``B(k) = a·B(k-1) / (k + a·B(k-1))`` [Jag74], which never
    overflows (unlike ``a**c / c!``) and is accurate to a few ulps for any ``c``.
    """
    if not (math.isfinite(a) and a > 0):
        raise ValueError(f"offered load a must be a positive finite number, got {a!r}")
    if isinstance(c, bool) or int(c) != c or c < 0:
        raise ValueError(f"number of servers c must be an integer >= 0, got {c!r}")
    b = 1.0
    for k in range(1, int(c) + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(lam: float, mu: float, c: int) -> float:
    """Erlang C: probability that an arrival has to wait, ``P(W > 0)``, in a stable M/M/c queue.

    Computed from Erlang B as ``C = c·B / (c - a·(1 - B))`` with ``a = lam/mu`` [GH98 §2.3], which is
    numerically stable. By PASTA this is also the long-run share of time all ``c`` agents are busy.

    Raises ``ValueError`` unless ``lam < c·mu``.
    """
    _check_stable(lam, mu, c)
    a = lam / mu
    b = erlang_b(a, c)
    return c * b / (c - a * (1.0 - b))


def mmc_utilization(lam: float, mu: float, c: int) -> float:
    """Agent utilisation ``rho = lam / (c·mu)`` (busy share of agent capacity; < 1 when stable)."""
    _check_rates(lam, mu, c)
    return lam / (c * mu)


def mmc_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean waiting time in queue ``E[W] = C / (c·mu - lam)`` over all arrivals (zeros included)."""
    return erlang_c(lam, mu, c) / (c * mu - lam)


def mmc_mean_queue_length(lam: float, mu: float, c: int) -> float:
    """Time-average number waiting ``Lq = lam·E[W] = C·rho / (1 - rho)`` (Little's law)."""
    return lam * mmc_mean_wait(lam, mu, c)


def mmc_service_level(lam: float, mu: float, c: int, t: float) -> float:
    """Service level ``P(W <= t) = 1 - C·exp(-(c·mu - lam)·t)`` over all arrivals [GH98 §2.3].

    ``W`` includes the zeros of customers who are answered at once, so ``P(W <= 0) = 1 - C``. This is
    the definition that gives 0.301157 for the ``mmc.toml`` example (570/h, 60 s, c = 10, t = 20 s),
    and it equals supportlab's ``sla_attainment`` for an M/M/c model (nobody abandons).
    """
    if not (t >= 0 and math.isfinite(t)):
        raise ValueError(f"service-level threshold t must be a finite number >= 0, got {t!r}")
    pw = erlang_c(lam, mu, c)
    return 1.0 - pw * math.exp(-(c * mu - lam) * t)


def mmc_wait_quantile(lam: float, mu: float, c: int, q: float) -> float:
    """The ``q``-quantile of the waiting time ``W`` (zeros included) of a stable M/M/c queue.

    Inverts ``P(W > t) = C·exp(-(c·mu - lam)·t)``: the quantile is 0 when ``1 - q >= C`` (the share of
    customers who do not wait covers ``q``), else ``ln(C / (1 - q)) / (c·mu - lam)``. Useful to check
    ``wait.p50/p90/p95/p99``.
    """
    if not (0.0 <= q < 1.0):
        raise ValueError(f"quantile level q must be in [0, 1), got {q!r}")
    pw = erlang_c(lam, mu, c)
    if 1.0 - q >= pw:
        return 0.0
    return math.log(pw / (1.0 - q)) / (c * mu - lam)


# --------------------------------------------------------------------------------------------------
# Erlang A (M/M/c+M)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErlangAResult:
    """Steady-state performance of an M/M/c+M (Erlang A) queue, computed by :func:`erlang_a`.

    All "per arrival" quantities are over *all* arrivals (PASTA).

    Attributes:
        p_wait: ``P(W > 0)`` – probability an arrival finds all agents busy and has to queue.
        p_abandon: probability an arrival abandons before being answered, ``theta·Lq / lam``.
        mean_wait: mean time in queue of all arrivals (abandoners count until they leave, answered-at-once
            customers count 0) = ``Lq / lam`` by Little's law.
        mean_wait_served: mean time in queue of the customers who are eventually answered (zeros
            included) – the quantity supportlab's ``wait.mean`` estimates.
        mean_queue_length: time-average number of customers waiting, ``Lq``.
        utilization: busy share of agent capacity, ``lam·(1 - p_abandon) / (c·mu)``.
        lam, mu, c, theta: the inputs.
        truncation: the largest number-in-system state ``N`` kept in the chain.
        probabilities: stationary distribution ``p[n]``, ``n = 0..N``, of the number in system.
    """

    lam: float
    mu: float
    c: int
    theta: float
    p_wait: float
    p_abandon: float
    mean_wait: float
    mean_wait_served: float
    mean_queue_length: float
    utilization: float
    truncation: int
    probabilities: NDArray[np.float64] = field(repr=False, compare=False)

    @property
    def p_served(self) -> float:
        """Probability an arrival is eventually answered by an agent, ``1 - p_abandon``."""
        return 1.0 - self.p_abandon

    def service_level(self, t: float) -> float:
        """Probability that an arrival is *answered by an agent within* ``t``: ``P(W <= t, served)``.

        Abandoned customers count as missed even when they leave before ``t`` – the same rule as
        supportlab's ``sla_attainment`` ("abandoned = missed"). With ``theta = 0`` it equals the Erlang C
        service level :func:`mmc_service_level`; ``service_level(inf) = 1 - p_abandon``.

        Exact method (FCFS, see :func:`_tagged_outcomes`): an arrival that finds ``c + k`` customers in
        system (probability ``p[c + k]``, PASTA) is answered after its *virtual wait*
        ``V_k = Σ_{j=0..k} Exp(c·mu + j·theta)`` unless its own patience ``Exp(theta)`` runs out first.
        """
        return float(np.sum(self._outcomes(t)[0])) + (1.0 - self.p_wait)

    def abandon_within(self, t: float) -> float:
        """Probability that an arrival abandons within ``t`` of arriving (``abandon_within(inf) = p_abandon``)."""
        return float(np.sum(self._outcomes(t)[1]))

    def _outcomes(self, t: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if not t >= 0:
            raise ValueError(f"time t must be >= 0, got {t!r}")
        alpha = self.probabilities[self.c :]
        served, abandoned = _tagged_outcomes(alpha.size, self.c * self.mu, self.theta, t)
        return alpha * served, alpha * abandoned


def _tagged_outcomes(
    size: int, service_rate: float, theta: float, t: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """For ``k = 0..size-1`` customers ahead: ``P(served by t)`` and ``P(abandoned by t)`` of a waiting arrival.

    Under FCFS the tagged customer moves up one place at rate ``s + j·theta`` when ``j`` customers are
    ahead (``s = c·mu``: a completion, or an abandonment ahead; those behind do not matter) and reaches
    an agent from place 0 at rate ``s``, so its virtual wait is ``V_k = Σ_{j=0..k} Exp(s + j·theta)``,
    independent of its own patience ``τ ~ Exp(theta)``.

    * ``theta = 0``: ``V_k ~ Gamma(k + 1, s)``, ``P(served by t) = P(k + 1, s·t)`` (regularised lower
      incomplete gamma); nobody abandons.
    * ``theta > 0``: with ``b = s / theta``, ``θ·V_k = Σ_{j=0..k} E_j / (b + j)`` so ``Z = exp(-θ·V_k)`` is
      a product of independent ``Beta(b + j, 1)`` variables, i.e. ``Z ~ Beta(b, k + 1)``. Then, with
      ``x = exp(-θ·t)`` and ``I_x`` the regularised incomplete beta function,

      ``P(served by t) = E[Z·1{Z >= x}] = b / (b + k + 1) · (1 - I_x(b + 1, k + 1))``,
      ``P(still waiting at t) = P(τ > t)·P(V_k > t) = x · I_x(b, k + 1)``,
      ``P(abandoned by t) = 1 - P(served by t) - P(still waiting at t)``.

      At ``t = inf`` this gives ``P(served) = s / (s + (k + 1)·theta)``, the telescoping product of the
      per-place odds of moving up before abandoning.
    """
    k = np.arange(size, dtype=float)
    if math.isinf(t):
        if theta == 0:
            return np.ones(size), np.zeros(size)
        served = service_rate / (service_rate + (k + 1.0) * theta)
        return served, 1.0 - served
    if theta == 0:
        return special.gammainc(k + 1.0, service_rate * t), np.zeros(size)
    b = service_rate / theta
    x = math.exp(-theta * t)
    y = -math.expm1(-theta * t)  # 1 - x without cancellation when theta·t is small
    # I_x(a, b') = 1 - I_{1-x}(b', a): evaluate at y, which stays accurate for tiny theta (huge b).
    served = b / (b + k + 1.0) * special.betainc(k + 1.0, b + 1.0, y)
    waiting = x * special.betaincc(k + 1.0, b, y)
    abandoned = np.clip(1.0 - served - waiting, 0.0, 1.0)
    return served, abandoned


def _served_wait_moment(p: NDArray[np.float64], mu: float, c: int, theta: float) -> float:
    """``E[W·1{served}]`` over all arrivals, from the tagged-customer chain of :func:`_tagged_outcomes`.

    The chain's transient generator ``T`` (place ``j`` → ``j - 1`` at rate ``c·mu + j·theta``, killing at
    rate ``theta``) is lower bidiagonal; with initial law ``alpha = p[c:]`` and rate into service
    ``s = c·mu·e_0``, the density of "served at time w" is ``alpha·exp(T·w)·s``, so
    ``E[W·1{served}] = ∫ w·alpha·exp(T·w)·s dw = alpha·T^{-2}·s`` – two banded solves with ``T``.
    """
    alpha = np.asarray(p[c:], dtype=float)
    size = alpha.size
    if size == 0:
        return 0.0
    j = np.arange(size, dtype=float)
    advance = c * mu + j * theta
    banded = np.zeros((2, size))
    banded[0] = -(advance + theta)  # diagonal
    banded[1, :-1] = advance[1:]  # sub-diagonal: place j -> j - 1
    s = np.zeros(size)
    s[0] = c * mu
    x = linalg.solve_banded((1, 0), banded, s)
    y = linalg.solve_banded((1, 0), banded, x)
    return float(alpha @ y)


def _birth_death_probabilities(lam: float, mu: float, c: int, theta: float) -> NDArray[np.float64]:
    """Stationary distribution of the M/M/c+M number in system, truncated where the tail is negligible.

    Birth rate ``lam`` in every state; death rate ``min(n, c)·mu + max(n - c, 0)·theta`` in state ``n``.
    Unnormalised log-probabilities are accumulated (no overflow for large loads); the chain is cut at
    the first ``N > c`` where the ratio ``r = lam / death(N+1) < 1`` and the geometric bound on the
    remaining tail, ``p[N]·r / (1 - r)``, is below ``_TAIL_TOL`` of the total. Since the death rates
    never decrease, that bound is rigorous, so the result is exact to double precision.
    """
    log_lam = math.log(lam)
    logs: list[NDArray[np.float64]] = []
    last = 0.0  # log p[0] (unnormalised)
    start = 1
    running_max = 0.0
    while True:
        n = np.arange(start, start + _CHUNK, dtype=float)
        death = np.minimum(n, c) * mu + np.maximum(n - c, 0.0) * theta
        chunk = last + np.cumsum(log_lam - np.log(death))
        logs.append(chunk)
        running_max = max(running_max, float(chunk.max()))
        last = float(chunk[-1])
        end = start + _CHUNK - 1  # the last state in this chunk
        # tail test at every state of the chunk beyond c
        next_death = np.minimum(n + 1, c) * mu + np.maximum(n + 1 - c, 0.0) * theta
        r = lam / next_death
        with np.errstate(divide="ignore"):
            log_tail = chunk + np.log(r) - np.log1p(-np.minimum(r, 1.0 - 1e-300))
        ok = (n > c) & (r < 1.0) & (log_tail - running_max < math.log(_TAIL_TOL))
        if ok.any():
            cut = int(np.argmax(ok))  # first state where the tail is negligible
            logs[-1] = chunk[: cut + 1]
            break
        if end >= _MAX_STATES:
            raise ValueError(
                f"Erlang A chain did not converge within {_MAX_STATES} states "
                f"(lam={lam}, mu={mu}, c={c}, theta={theta}); the queue is (nearly) unstable"
            )
        start = end + 1
    log_p = np.concatenate([np.zeros(1), *logs])
    log_p -= log_p.max()
    p = np.exp(log_p)
    return p / math.fsum(p)


def erlang_a(lam: float, mu: float, c: int, theta: float) -> ErlangAResult:
    """Exact steady state of the M/M/c+M (Erlang A) queue with abandonment rate ``theta`` per waiter.

    Method: the number in system is a birth-death chain (birth ``lam``; death
    ``min(n, c)·mu + max(n - c, 0)·theta``) whose product-form stationary distribution is summed up to a
    truncation level beyond which the remaining mass is below 1e-18 (see
    :func:`_birth_death_probabilities`), i.e. exact to machine precision. Then [MZ07]:

    * ``P(W > 0) = P(n >= c)`` (PASTA);
    * ``Lq = Σ (n - c)^+ p[n]``;  ``P(abandon) = theta·Lq / lam`` (abandonment flow / arrival flow);
    * mean wait of all arrivals ``= Lq / lam`` (Little's law on the queue);
    * mean wait of served customers from the tagged-customer chain (see :func:`_served_wait_moment`);
    * the service level in closed form per number found ahead (see :func:`_tagged_outcomes`).

    ``theta = 0`` is allowed and gives Erlang C (requires ``lam < c·mu``); with ``theta > 0`` the queue
    is stable for any load. ``theta = mu`` makes every customer leave at rate ``mu``, so the number in
    system is Poisson(``lam/mu``) as in M/M/∞.
    """
    _check_rates(lam, mu, c)
    if not (math.isfinite(theta) and theta >= 0):
        raise ValueError(f"abandonment rate theta must be a finite number >= 0, got {theta!r}")
    c = int(c)
    if theta == 0:
        _check_stable(lam, mu, c)
    p = _birth_death_probabilities(lam, mu, c, theta)
    n = np.arange(p.size, dtype=float)
    queue = np.maximum(n - c, 0.0)
    lq = math.fsum(queue * p)
    p_wait = math.fsum(p[c:]) if p.size > c else 0.0
    p_abandon = theta * lq / lam
    served_wait = _served_wait_moment(p, mu, c, theta)
    p_served = 1.0 - p_abandon
    mean_wait_served = served_wait / p_served if p_served > 0 else math.nan
    return ErlangAResult(
        lam=lam,
        mu=mu,
        c=c,
        theta=theta,
        p_wait=p_wait,
        p_abandon=p_abandon,
        mean_wait=lq / lam,
        mean_wait_served=mean_wait_served,
        mean_queue_length=lq,
        utilization=lam * (1.0 - p_abandon) / (c * mu),
        truncation=int(p.size - 1),
        probabilities=p,
    )
