"""Agent staffing over time: constant pools and one-day shift schedules that repeat every 24 h."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supportlab.model import Pool

DAY = 86_400.0


def agents_at(pool: Pool, t: float) -> int:
    """Agents on shift at time ``t`` (seconds from the start of the simulation)."""
    if pool.agents is not None:
        return pool.agents
    tod = t % DAY
    total = 0
    for s in pool.shifts:
        # a shift may run past midnight (end > 24 h): it then also covers [0, end - 24 h)
        if s.start <= tod < s.end or (s.end > DAY and tod < s.end - DAY):
            total += s.agents
    return total


def schedule_steps(pool: Pool, t0: float, t1: float) -> list[tuple[float, int]]:
    """Staffing as a step function on [t0, t1): ``[(t0, n0), (ta, na), ...]``, one entry per change."""
    if pool.agents is not None:
        return [(t0, pool.agents)]
    bounds: set[float] = set()
    first_day = int(t0 // DAY) - 1
    last_day = int(t1 // DAY) + 1
    for day in range(first_day, last_day + 1):
        for s in pool.shifts:
            for b in (s.start, s.end):
                t = day * DAY + b
                if t0 < t < t1:
                    bounds.add(t)
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
