"""Agent staffing over time.

A pool is staffed in one of three ways, plus optional extra shifts on top:

* ``agents``: a constant number;
* ``shifts``: a one-day schedule that repeats every 24 h (a shift may run past midnight);
* ``schedule``: an absolute, non-repeating step function ``((t0, n0), (t1, n1), ...)``, as estimated
  from a replayed log (``staffing = "from-log"``): ``n_k`` agents on ``[t_k, t_k+1)``, the last level
  holding on, no agent before ``t0``;
* ``extra_shifts``: one-day shifts (repeating every 24 h) whose agents add to any of the above (to an
  absolute schedule only while it has someone on).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supportlab.model import Pool, Shift

DAY = 86_400.0


def _daily(shifts: Iterable[Shift], t: float) -> int:
    tod = t % DAY
    total = 0
    for s in shifts:
        # a shift may run past midnight (end > 24 h): it then also covers [0, end - 24 h)
        if s.start <= tod < s.end or (s.end > DAY and tod < s.end - DAY):
            total += s.agents
    return total


_TIMES: dict[int, tuple[tuple[tuple[float, int], ...], list[float]]] = {}


def _times(schedule: tuple[tuple[float, int], ...]) -> list[float]:
    """The step times of an absolute schedule, computed once per schedule object."""
    hit = _TIMES.get(id(schedule))
    if hit is not None and hit[0] is schedule:
        return hit[1]
    if len(_TIMES) > 64:
        _TIMES.clear()
    times = [s for s, _ in schedule]
    _TIMES[id(schedule)] = (schedule, times)  # the entry keeps the schedule alive: its id cannot be reused
    return times


def _scheduled(schedule: tuple[tuple[float, int], ...], t: float) -> int:
    k = bisect.bisect_right(_times(schedule), t) - 1
    return schedule[k][1] if k >= 0 else 0


def agents_at(pool: Pool, t: float) -> int:
    """Agents on shift at time ``t`` (seconds from the start of the simulation).

    Extra shifts on an absolute (from-log) schedule count only while that schedule has someone on: two
    more agents at peak hours do not open the floor on the days and hours a replay leaves out.
    """
    if pool.agents is not None:
        base = pool.agents
    elif pool.schedule:
        base = _scheduled(pool.schedule, t)
        if base == 0:
            return 0
    else:
        base = _daily(pool.shifts, t)
    return base + (_daily(pool.extra_shifts, t) if pool.extra_shifts else 0)


def _daily_bounds(shifts: Iterable[Shift], t0: float, t1: float) -> set[float]:
    bounds: set[float] = set()
    shifts = list(shifts)
    if not shifts:
        return bounds
    for day in range(int(t0 // DAY) - 1, int(t1 // DAY) + 2):
        for s in shifts:
            for b in (s.start, s.end):
                t = day * DAY + b
                if t0 < t < t1:
                    bounds.add(t)
    return bounds


def schedule_steps(pool: Pool, t0: float, t1: float) -> list[tuple[float, int]]:
    """Staffing as a step function on [t0, t1): ``[(t0, n0), (ta, na), ...]``, one entry per change."""
    if pool.agents is not None and not pool.extra_shifts:
        return [(t0, pool.agents)]
    bounds = _daily_bounds(pool.extra_shifts, t0, t1)
    if pool.agents is None and pool.schedule:
        times = _times(pool.schedule)
        lo, hi = bisect.bisect_right(times, t0), bisect.bisect_left(times, t1)
        if not pool.extra_shifts:  # the schedule's own steps, without a lookup per step
            steps = [(t0, _scheduled(pool.schedule, t0))]
            for t, n in pool.schedule[lo:hi]:
                if n != steps[-1][1]:
                    steps.append((t, n))
            return steps
        bounds.update(times[lo:hi])
    elif pool.agents is None:
        bounds |= _daily_bounds(pool.shifts, t0, t1)
    steps = [(t0, agents_at(pool, t0))]
    for t in sorted(bounds):
        n = agents_at(pool, t)
        if n != steps[-1][1]:
            steps.append((t, n))
    return steps


def staffed_seconds(pool: Pool, t0: float, t1: float) -> float:
    """Agent-seconds of staffing on [t0, t1) (the denominator of utilisation)."""
    steps = schedule_steps(pool, t0, t1)
    total = 0.0
    for i, (t, n) in enumerate(steps):
        end = steps[i + 1][0] if i + 1 < len(steps) else t1
        total += n * (end - t)
    return total


def max_agents(pool: Pool) -> int:
    """The largest number of agents the pool ever has on shift."""
    if pool.agents is not None and not pool.extra_shifts:
        return pool.agents
    end = (pool.schedule[-1][0] if pool.schedule else 0.0) + 2 * DAY
    return max((n for _, n in schedule_steps(pool, 0.0, end)), default=0)


def next_change(pool: Pool, t: float) -> tuple[float, int] | None:
    """The first change of staffing after ``t``: (time, new level), or None when it never changes again."""
    if pool.agents is not None and not pool.extra_shifts:
        return None
    absolute = pool.agents is None and bool(pool.schedule)
    daily = list(pool.extra_shifts) + ([] if pool.agents is not None or absolute else list(pool.shifts))
    times = _times(pool.schedule) if absolute else []
    now = agents_at(pool, t)
    k = bisect.bisect_right(times, t)
    x = t
    limit = (times[-1] if times else t) + 2 * DAY  # past the schedule's end only the daily part moves
    while x < limit or daily:
        candidates = [times[k]] if k < len(times) else []
        nxt = _next_daily_bound(daily, x)
        if nxt is not None:
            candidates.append(nxt)
        if not candidates:
            return None
        x = min(candidates)
        while k < len(times) and times[k] <= x:
            k += 1
        n = agents_at(pool, x)
        if n != now:
            return (x, n)
        if k >= len(times) and x >= max(limit, t + 2 * DAY):
            return None  # the schedule is over and two whole days of daily shifts change nothing
    return None


def _next_daily_bound(shifts: list[Shift], t: float) -> float | None:
    """The first shift start or end after ``t`` of one-day shifts repeating every 24 h."""
    if not shifts:
        return None
    day = t // DAY
    best = None
    for d in (day - 1, day, day + 1):
        for s in shifts:
            for b in (s.start, s.end):
                x = d * DAY + b
                if x > t and (best is None or x < best):
                    best = x
    return best
