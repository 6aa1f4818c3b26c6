"""Customer patience estimated from a call log with censoring, and conditional draws from the estimate.

The data. In a replayed log every call that entered the queue has a wait ``w >= 0``. A caller who hung up
(abandoned) shows their patience exactly: ``T = w``. A caller who was served shows only that their patience
was longer than their wait: ``T > w``, an observation *right-censored* at ``w`` (calls answered at once,
``w = 0``, tell nothing beyond ``T > 0``). Simply averaging the abandoned waits would be badly biased
(it keeps the impatient callers and drops everyone who was served in time), and so would treating served
waits as patience. Both estimators here use every call correctly, under the usual assumption that the
censoring is independent of patience (being served does not depend on how patient the caller is).

Methods (:data:`METHODS`):

* ``"kaplan-meier"`` (default) - the product-limit estimator [KM58]::

      S(t) = prod over event times t_i <= t of (1 - d_i / n_i)

  with ``d_i`` the abandons at ``t_i`` and ``n_i`` the calls still at risk, i.e. with ``wait >= t_i`` (a
  call served at exactly ``t_i`` still counts at risk at ``t_i``, the usual convention). It is the
  nonparametric maximum-likelihood estimate and assumes no shape for the patience distribution. That matters:
  in the Israeli bank data of Brown et al. [B05] the estimated patience hazard is far from constant and has
  distinct peaks, so an exponential fit - constant hazard - is biased at most times of interest (too few
  early abandons, too many late ones, or the reverse).

  The Kaplan-Meier estimate is, however, undefined past the data, and unreliable where only a handful of
  calls are still at risk (its last steps rest on a few calls). A simulator whose scenario makes callers wait
  longer than anyone waited in the log needs an answer there, so the estimate is Kaplan-Meier on
  ``[0, tail_start]`` followed by an exponential tail::

      S(t) = S(tail_start) * exp(-tail_rate * (t - tail_start))        for t > tail_start

  ``tail_start`` is the largest event time at which at least ``min_at_risk`` calls are still at risk. When
  not even the first event time has that many (a very small log), ``tail_start`` is the *first* event time:
  the Kaplan-Meier part is then a single step (the share abandoning at that time, a plain proportion) and
  everything after it is the exponential tail. (Using the whole Kaplan-Meier curve instead would mean that a
  log with fewer calls gets *more* of the noisy nonparametric curve than a log with more, a discontinuity;
  pass ``min_at_risk=1`` to get the full Kaplan-Meier curve.) ``tail_rate`` is the censored-data exponential
  MLE restricted to the part of each wait beyond ``tail_start``: (abandons with ``wait > tail_start``) /
  (sum of ``max(0, wait - tail_start)``). If no call abandoned after ``tail_start`` it falls back to the
  overall exponential MLE below, and if no call abandoned at all it is 0 (the estimate never falls below
  ``S(tail_start) = 1``: such callers never abandon).

* ``"exponential"`` - the censored-data maximum-likelihood estimate of an exponential patience,
  ``rate = abandons / sum(waits)`` over *all* calls (served ones contribute their exposure), which is the
  classic Erlang-A estimator ``theta = P(Ab) / E[W]`` [MZ07]. It is the simpler, lower-variance alternative
  and exact when patience really is exponential; the model is memoryless, so ``T | T > w = w + Exp(rate)``.
  ``abandons == 0`` gives ``rate = 0`` (infinite patience); abandons with zero total wait (every caller hung
  up at once) give ``rate = inf``, read as patience 0.

Draws. :meth:`PatienceEstimate.ppf_given_greater` turns uniforms ``u`` into patience drawn from the estimate
*conditional on* ``T > w``, so a replayed served caller never abandons before the wait they were seen to
sit through: ``s = (1 - u) * S(w)`` and ``t`` is the smallest time ``> w`` with ``S(t) <= s`` (an event time
in the Kaplan-Meier part, ``tail_start + log(S(tail_start) / s) / tail_rate`` in the tail). ``w = 0`` gives
an unconditional draw. It is vectorised (``np.searchsorted``) and driven by pre-drawn uniforms like every
other draw in supportlab, so common random numbers work across arms.

References:

* [KM58] E. L. Kaplan, P. Meier, "Nonparametric estimation from incomplete observations", *J. Amer. Statist.
  Assoc.* 53 (1958) 457-481.
* [B05] L. Brown, N. Gans, A. Mandelbaum, A. Sakov, H. Shen, S. Zeltyn, L. Zhao, "Statistical analysis of a
  telephone call center: a queueing-science perspective", *J. Amer. Statist. Assoc.* 100 (2005) 36-50.
* [MZ07] A. Mandelbaum, S. Zeltyn, "Service engineering in action: the Palm/Erlang-A queue, with
  applications to call centers", in *Advances in Services Innovations*, Springer 2007, 17-45.

This module is pure (numpy only, no I/O, no global random state) and raises only ``ValueError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["METHODS", "PatienceEstimate", "estimate"]

METHODS = ("kaplan-meier", "exponential")


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class PatienceEstimate:
    """An estimated patience distribution: Kaplan-Meier steps then an exponential tail, or one exponential.

    ``times`` are the distinct abandon times up to ``tail_start`` (sorted ascending) and ``survival`` is
    ``S(t) = P(T > t)`` just after each (the step at ``times[i]`` included); both are empty for the exponential
    method, whose whole distribution is the "tail" from ``tail_start = 0``. ``tail_rate`` is the hazard (per
    second) beyond ``tail_start``: 0 means nobody abandons after it, ``inf`` means everybody left by then
    (patience 0 for the exponential method). The arrays are read-only.
    """

    method: str
    abandons: int
    censored: int
    times: np.ndarray
    survival: np.ndarray
    tail_start: float
    tail_rate: float

    # ------------------------------------------------------------------------------------------- helpers

    @property
    def _s_tail(self) -> float:
        """S(tail_start): the survival the exponential tail starts from."""
        return float(self.survival[-1]) if len(self.survival) else 1.0

    @property
    def _patience_zero(self) -> bool:
        """Exponential fit with infinite rate: every caller abandons at once (point mass at 0)."""
        return self.method == "exponential" and math.isinf(self.tail_rate)

    # ------------------------------------------------------------------------------------------------ API

    def sf(self, t: np.ndarray | float) -> np.ndarray:
        """Survival function ``S(t) = P(patience > t)``, elementwise (right-continuous; 1 for ``t < 0``)."""
        return self._sf_and_index(np.asarray(t, dtype=np.float64))[0]

    def _sf_and_index(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``S(t)`` and the number of event times ``<= t`` (so callers need not search ``times`` again)."""
        idx = np.searchsorted(self.times, t, side="right")
        if self._patience_zero:
            return np.where(np.isnan(t), np.nan, np.where(t < 0, 1.0, 0.0)), idx
        out = np.concatenate(([1.0], self.survival))[idx]
        beyond = t > self.tail_start
        if self.tail_rate > 0 and np.any(beyond):
            if math.isinf(self.tail_rate):
                out = np.where(beyond, 0.0, out)
            else:
                out = np.where(beyond, self._s_tail * np.exp(-self.tail_rate * np.maximum(t - self.tail_start, 0)), out)
        return np.where(np.isnan(t), np.nan, out), idx

    def mean(self) -> float:
        """Mean patience, the integral of ``S`` over ``[0, inf)``; ``inf`` when ``S`` stays above 0 for ever."""
        if self._patience_zero:
            return 0.0
        area = 0.0
        if len(self.times):
            t = self.times
            area = float(t[0]) + float(np.sum(self.survival[:-1] * np.diff(t)))
        s_tail = self._s_tail
        if s_tail == 0 or math.isinf(self.tail_rate):
            return area
        if self.tail_rate == 0:
            return math.inf
        return area + s_tail / self.tail_rate

    def median(self) -> float:
        """Smallest ``t`` with ``S(t) <= 0.5``; ``inf`` when ``S`` never falls to 0.5."""
        if self._patience_zero:
            return 0.0
        k = len(self.times)
        if k:
            j = int(np.searchsorted(-self.survival, -0.5, side="left"))
            if j < k:
                return float(self.times[j])
        if self.tail_rate == 0:
            return math.inf
        if math.isinf(self.tail_rate):
            return self.tail_start
        return self.tail_start + math.log(self._s_tail / 0.5) / self.tail_rate

    def ppf_given_greater(self, u: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Patience drawn from the estimate conditional on ``T > w``, from uniforms ``u`` in ``[0, 1)``.

        ``u`` and ``w`` broadcast together. With ``s = (1 - u) * S(w)`` the draw is the smallest ``t > w``
        with ``S(t) <= s``: an event time in the Kaplan-Meier part, the exponential-tail inverse beyond
        ``tail_start``, ``inf`` when the estimate says the caller never abandons (``tail_rate == 0`` with ``S``
        flat there). Draws equal ``w`` only in degenerate cases: ``S(w) == 0`` (the estimate says the caller
        should already have left), an infinite tail rate, or ``u`` so close to 0 that the draw rounds to ``w``.
        ``w = 0`` gives an unconditional draw (except that a Kaplan-Meier step at exactly 0 is skipped: the
        draw is conditional on ``T > 0``). No Python loops: fine for millions of rows.
        """
        u = np.asarray(u, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        if not np.all((u >= 0) & (u < 1)):
            raise ValueError("u: expected uniforms in [0, 1) (no NaN)")
        if not np.all(w >= 0):
            raise ValueError("w: expected waits >= 0 (no NaN)")
        shape = np.broadcast_shapes(u.shape, w.shape)
        s_w, after_w = self._sf_and_index(w)  # before broadcasting: one search when w is a scalar
        u, w, s_w, after_w = (np.broadcast_to(x, shape) for x in (u, w, s_w, after_w))
        s = (1.0 - u) * s_w
        out = np.empty(shape, dtype=np.float64)

        k = len(self.times)
        if k:
            # survival is non-increasing, so -survival is sorted: first index with survival <= s, and first
            # event time strictly after w; the draw is the later of the two (both conditions hold from there on).
            j = np.maximum(np.searchsorted(-self.survival, -s, side="left"), after_w)
            in_km = j < k
            out[in_km] = self.times[j[in_km]]
            tail = ~in_km
        else:
            tail = np.ones(shape, dtype=bool)

        dead = tail & (s <= 0)  # S(w) == 0: conditioning on T > w is impossible under the estimate
        out[dead] = w[dead]
        live = tail & ~dead
        if self.tail_rate == 0:
            out[live] = np.inf
        elif math.isinf(self.tail_rate):
            out[live] = np.maximum(w[live], self.tail_start)
        else:
            wl, ul, swl = w[live], u[live], s_w[live]
            after = wl >= self.tail_start
            # log(S(base) / s) with base = max(w, tail_start); = -log1p(-u) when w is already in the tail
            log_ratio = np.where(after, 0.0, np.log(self._s_tail / np.where(after, 1.0, swl))) - np.log1p(-ul)
            base = np.maximum(wl, self.tail_start)
            out[live] = np.maximum(base + log_ratio / self.tail_rate, wl)
        return out

    def describe(self) -> dict[str, float | int | str | None]:
        """A JSON-friendly summary (``inf`` and NaN become ``None``)."""
        return {
            "method": self.method,
            "abandons": self.abandons,
            "censored": self.censored,
            "mean": _json_float(self.mean()),
            "median": _json_float(self.median()),
            "tail_start": _json_float(self.tail_start),
            "tail_rate": _json_float(self.tail_rate),
        }


def _validate(waits: np.ndarray, abandoned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(waits, dtype=np.float64)
    a = np.asarray(abandoned)
    if w.ndim != 1 or a.ndim != 1:
        raise ValueError(f"waits, abandoned: expected 1-D arrays, got {w.ndim}-D and {a.ndim}-D")
    if len(w) != len(a):
        raise ValueError(f"waits, abandoned: expected the same length, got {len(w)} and {len(a)}")
    if np.isnan(w).any():
        raise ValueError(f"waits: expected numbers, got {int(np.isnan(w).sum())} NaN")
    if np.isinf(w).any():
        raise ValueError("waits: expected finite seconds, got inf")
    if (w < 0).any():
        raise ValueError(f"waits: expected seconds >= 0, got {int((w < 0).sum())} negative (min {w.min()})")
    if a.dtype != np.bool_:
        if a.size and not np.isin(a, (0, 1)).all():
            raise ValueError("abandoned: expected booleans (or 0/1)")
        a = a.astype(bool)
    return w, a


def _exponential_rate(abandons: int, exposure: float) -> float:
    """Censored-data MLE of an exponential rate: events / total time at risk (0 if no events, inf if no time)."""
    if abandons == 0:
        return 0.0
    if exposure <= 0:
        return math.inf
    return abandons / exposure


def estimate(
    waits: np.ndarray, abandoned: np.ndarray, method: str = "kaplan-meier", *, min_at_risk: int = 30
) -> PatienceEstimate:
    """Estimate the patience distribution from a call log (see the module docstring for the methods).

    ``waits``: float seconds ``>= 0`` each call spent in the queue (NaN, inf or negative: ``ValueError``);
    ``abandoned``: bool array of the same length, True where the caller hung up (patience = wait), False
    where they were served (patience > wait). ``min_at_risk`` (``>= 1``, Kaplan-Meier only) is how many
    calls must still be at risk at an event time for the Kaplan-Meier curve to be used up to it.
    """
    if method not in METHODS:
        raise ValueError(f"method: unknown {method!r}, expected one of {', '.join(repr(m) for m in METHODS)}")
    if isinstance(min_at_risk, bool) or not isinstance(min_at_risk, int | np.integer) or min_at_risk < 1:
        raise ValueError(f"min_at_risk: expected an integer >= 1, got {min_at_risk!r}")
    w, a = _validate(waits, abandoned)
    abandons = int(a.sum())
    censored = len(w) - abandons
    empty = _readonly(np.empty(0, dtype=np.float64))

    if method == "exponential":
        rate = _exponential_rate(abandons, float(w.sum()))
        return PatienceEstimate(method, abandons, censored, empty, _readonly(np.empty(0)), 0.0, rate)

    if abandons == 0:
        return PatienceEstimate(method, 0, censored, empty, _readonly(np.empty(0)), 0.0, 0.0)

    times, d = np.unique(w[a], return_counts=True)
    n = len(w) - np.searchsorted(np.sort(w), times, side="left")  # at risk: wait >= t_i
    survival = np.cumprod(1.0 - d / n)
    # n is non-increasing, so the event times with enough calls at risk are a prefix; keep at least one step
    k = max(1, int(np.count_nonzero(n >= min_at_risk)))
    tail_start = float(times[k - 1])
    beyond = w > tail_start
    events_beyond = int(np.count_nonzero(a & beyond))
    if events_beyond:
        tail_rate = events_beyond / float(np.sum(w[beyond] - tail_start))
    else:
        tail_rate = _exponential_rate(abandons, float(w.sum()))
    return PatienceEstimate(
        method, abandons, censored, _readonly(times[:k].copy()), _readonly(survival[:k].copy()), tail_start, tail_rate
    )
