"""Synthetic workloads: one row per ticket with every random draw the simulator will need.

Arrivals of a channel are a non-homogeneous Poisson process with intensity
``rate(hour of day) × Π(active burst multipliers)``, made by mapping a unit-rate Poisson process
through the inverse of the cumulative intensity. Under common random numbers a variant that changes
a rate therefore moves arrival times smoothly instead of redrawing them, and every other draw of
ticket *k* of a channel (its intent, handle time, patience, ...) stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from supportlab.model import Scenario
from supportlab.seeds import Purpose, stream, uniforms

HOUR = 3600.0
DAY = 86_400.0
CSAT_NOISE_SD = 0.4


@dataclass(frozen=True)
class StreamId:
    """Where the draws of one arm × replication come from."""

    seed: int
    replication: int
    arm: int  # see seeds.arm_key


def _breakpoints(scenario: Scenario, channel: int, until: float) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-constant intensity of a channel on [0, until]: times ``t`` (len k+1) and rates (len k)."""
    ch = scenario.workload.channels[channel]
    cuts = set(np.arange(0.0, until, HOUR).tolist())
    cuts.add(until)
    for b in scenario.workload.bursts:
        if not b.channels or ch.name in b.channels:
            for edge in (b.start, b.start + b.duration):
                if 0 < edge < until:
                    cuts.add(edge)
    t = np.array(sorted(cuts))
    mid = (t[:-1] + t[1:]) / 2
    hours = ((mid % DAY) // HOUR).astype(np.int64)
    rates = np.asarray(ch.rates, dtype=np.float64)[hours]
    for b in scenario.workload.bursts:
        if not b.channels or ch.name in b.channels:
            active = (mid >= b.start) & (mid < b.start + b.duration)
            rates = np.where(active, rates * b.multiplier, rates)
    return t, rates


def _arrivals(scenario: Scenario, channel: int, until: float, sid: StreamId) -> np.ndarray:
    """Arrival times of one channel on [0, until), from the channel's ARRIVALS stream."""
    t, rates = _breakpoints(scenario, channel, until)
    cum = np.concatenate([[0.0], np.cumsum(rates * np.diff(t))])
    total = cum[-1]
    if total <= 0:
        return np.empty(0)
    # enough unit exponentials to pass the total intensity (prefix-stable: more draws never change earlier ones)
    n = int(total + 10 * np.sqrt(total) + 100)
    while True:
        u = uniforms(sid.seed, sid.replication, sid.arm, channel, Purpose.ARRIVALS, n)
        s = np.cumsum(-np.log1p(-u))
        if s[-1] > total:
            break
        n *= 2
    s = s[s < total]
    k = np.searchsorted(cum, s, side="right") - 1
    k = np.clip(k, 0, len(rates) - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        times = t[k] + np.where(rates[k] > 0, (s - cum[k]) / rates[k], 0.0)
    return times


def _pick(u: np.ndarray, shares: list[float]) -> np.ndarray:
    """Category index per uniform, by cumulative shares."""
    cum = np.cumsum(shares)
    cum[-1] = 1.0 + 1e-12
    return np.searchsorted(cum, u, side="right").astype(np.int64)


def horizon_for_tickets(scenario: Scenario, tickets: int) -> float:
    """A first guess of how long it takes for ``tickets`` to arrive (doubled by the caller if short)."""
    mean_rate = sum(float(np.mean(c.rates)) for c in scenario.workload.channels)
    return max(HOUR, 1.2 * tickets / mean_rate + 24 * HOUR)


def generate(scenario: Scenario, sid: StreamId, *, horizon: float | None, tickets: int | None) -> pl.DataFrame:
    """The workload table of one arm × replication (see docs/ARCHITECTURE.md), sorted by arrival.

    Exactly one of ``horizon`` (arrivals on [0, horizon)) and ``tickets`` (the first N arrivals) is given.
    """
    wl = scenario.workload
    if wl.kind == "replay":
        from supportlab.replay_workload import replay

        return replay(scenario, sid, horizon=horizon, tickets=tickets)
    until = horizon if horizon is not None else horizon_for_tickets(scenario, tickets or 0)
    while True:
        per_channel = [_arrivals(scenario, c, until, sid) for c in range(len(wl.channels))]
        if tickets is None or sum(len(a) for a in per_channel) >= tickets:
            break
        until *= 2
    parts = [_channel_draws(scenario, c, arr, sid) for c, arr in enumerate(per_channel)]
    return assemble(scenario, parts, tickets)


def assemble(scenario: Scenario, parts: list[dict[str, np.ndarray | None]], tickets: int | None) -> pl.DataFrame:
    """The workload table from per-channel draws (:func:`_channel_draws`): merged in arrival order."""
    wl = scenario.workload
    sizes = [len(p["arrival"]) for p in parts]  # type: ignore[arg-type]
    n_all = sum(sizes)
    if len(parts) == 1:
        order = None  # one channel: already in arrival order
        n = min(n_all, tickets) if tickets is not None else n_all
    else:
        arrival = np.concatenate([p["arrival"] for p in parts])  # type: ignore[misc]
        channel = np.concatenate([p["channel"] for p in parts])  # type: ignore[misc]
        order = np.lexsort((channel, arrival))  # by time, ties by channel: deterministic
        if tickets is not None:
            order = order[:tickets]
        n = len(order)
    skills = skill_names(scenario)
    enum = {
        "channel": pl.Enum([c.name for c in wl.channels]),
        "intent": pl.Enum([i.name for i in wl.intents]),
        "persona": pl.Enum([p.name for p in wl.personas]),
        "routed_skill": pl.Enum(skills),
    }
    data: list[pl.Series] = [pl.Series("ticket", np.arange(n, dtype=np.int64))]
    for k in parts[0]:
        chunks = [p[k] for p in parts]
        if all(c is None for c in chunks):
            # a feature the scenario does not have: an all-null column costs no memory until read
            data.append(pl.Series(k, dtype=pl.Float64).extend_constant(None, n))
            continue
        full = [np.full(size, np.nan) if c is None else c for c, size in zip(chunks, sizes, strict=True)]
        if order is None:
            v = full[0][:n]
        else:
            v = np.concatenate(full)[order]
        if k in enum:
            data.append(pl.Series(k, enum[k].categories.to_list(), dtype=enum[k]).gather(v))
        else:
            data.append(pl.Series(k, v))
    return pl.DataFrame(data)


def skill_names(scenario: Scenario) -> list[str]:
    """Every skill named by an intent or a pool, in first-seen order (intents first)."""
    out: list[str] = []
    for s in [i.skill for i in scenario.workload.intents] + [s for p in scenario.system.pools for s in p.skills]:
        if s not in out:
            out.append(s)
    return out


def _channel_draws(scenario: Scenario, c: int, arrival: np.ndarray, sid: StreamId,
                   given: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray | None]:
    """Every per-ticket draw for the tickets of channel ``c`` (ticket k of the channel = row k).

    None stands for a feature the channel does not have (null in the table: no bot, no KB, ...).
    ``given`` holds what a replayed log states per ticket instead of a draw: ``intent`` (codes),
    ``priority`` (added to the channel's and intent's), ``handle`` (NaN: drawn) and ``patience``
    (used unless the channel sets a patience distribution).
    """
    given = given or {}
    wl, sysm = scenario.workload, scenario.system
    ch = wl.channels[c]
    n = len(arrival)

    def u(p: Purpose) -> np.ndarray:
        return uniforms(sid.seed, sid.replication, sid.arm, c, p, n)

    false = np.zeros(n, dtype=bool)
    # one category needs no draw (and its stream is independent of every other, so skipping it changes nothing)
    if "intent" in given:
        intent = given["intent"]
    elif len(wl.intents) > 1:
        intent = _pick(u(Purpose.INTENT), [i.share for i in wl.intents])
    else:
        intent = np.zeros(n, np.int64)
    persona = (
        _pick(u(Purpose.PERSONA), [p.share for p in wl.personas]) if len(wl.personas) > 1 else np.zeros(n, np.int64)
    )
    priority = (
        ch.priority
        + np.array([i.priority for i in wl.intents], dtype=np.int64)[intent]
        + np.array([p.priority for p in wl.personas], dtype=np.int64)[persona]
        + given.get("priority", 0)
    )
    handle = _per_intent(u(Purpose.HANDLE), intent, [i.handle_time for i in wl.intents])
    if "handle" in given:
        handle = np.where(np.isnan(given["handle"]), handle, given["handle"])
    if ch.patience is None:
        patience = given["patience"] if "patience" in given else np.full(n, np.inf)
    else:
        factor = np.array([p.patience_factor for p in wl.personas])[persona]
        patience = ch.patience.ppf(u(Purpose.PATIENCE)) * factor

    skills = skill_names(scenario)
    skill_of_intent = np.array([skills.index(i.skill) for i in wl.intents], dtype=np.int64)
    right_skill = skill_of_intent[intent]
    routed = right_skill.copy()
    bot = sysm.bot
    bot_latency: np.ndarray | None = None
    contained, triage_ok = false, np.ones(n, dtype=bool)
    if bot is not None and (not bot.channels or ch.name in bot.channels):
        bot_latency = bot.latency.ppf(u(Purpose.BOT_LATENCY))
        p_contain = np.array([bot.containment_of(i.name) for i in wl.intents])[intent]
        contained = u(Purpose.CONTAIN) < p_contain
        triage_ok = u(Purpose.TRIAGE) < bot.triage_accuracy
        # a misrouted handoff goes to one of the other skills, uniformly
        tier1 = [skills.index(s) for s in _tier1_skills(scenario)]
        if len(tier1) > 1:
            um = u(Purpose.MISROUTE)
            wrong = np.empty(n, dtype=np.int64)
            for k in range(len(skills)):
                others = np.array([s for s in tier1 if s != k], dtype=np.int64)
                mask = right_skill == k
                if len(others) and mask.any():
                    wrong[mask] = others[np.minimum((um[mask] * len(others)).astype(np.int64), len(others) - 1)]
                elif mask.any():
                    wrong[mask] = k
            routed = np.where(triage_ok, right_skill, wrong)
        triage_ok = routed == right_skill

    kb = sysm.kb
    kb_u: np.ndarray | None = None
    kb_latency: np.ndarray | None = None
    kb_fb_latency: np.ndarray | None = None
    if kb is not None:
        kb_u = u(Purpose.KB)
        kb_latency = kb.latency.ppf(u(Purpose.KB_LATENCY))
        if kb.fallback is not None:
            kb_fb_latency = kb.fallback.latency.ppf(u(Purpose.KB_FALLBACK_LATENCY))

    p_esc = np.array([i.escalation for i in wl.intents])[intent]
    escalate, context_lost = false, false
    handoff: np.ndarray | None = None
    tier2: np.ndarray | None = None
    if (p_esc > 0).any():
        escalate = u(Purpose.ESCALATE) < p_esc
        esc = sysm.escalation
        if esc is not None:
            handoff = esc.handoff_latency.ppf(u(Purpose.HANDOFF))
            context_lost = u(Purpose.CONTEXT) >= esc.context_preserved
        else:
            handoff = np.zeros(n)
        tier2 = _per_intent(
            u(Purpose.TIER2_HANDLE), intent, [i.tier2_handle_time or i.handle_time for i in wl.intents]
        )
    # an agent without the ticket's skill can only get it through a bot's misroute or fifo routing
    misroutes = sysm.routing == "fifo" or (bot is not None and bot.triage_accuracy < 1)
    transfer = sysm.transfer_time.ppf(u(Purpose.TRANSFER)) if misroutes else None
    csat_noise = CSAT_NOISE_SD * stream(sid.seed, sid.replication, sid.arm, c, Purpose.CSAT).standard_normal(n)
    return {
        "channel": np.full(n, c, dtype=np.int64),
        "intent": intent,
        "persona": persona,
        "priority": priority,
        "arrival": arrival,
        "handle": handle,
        "patience": patience,
        "bot_latency": bot_latency,
        "contained": contained,
        "triage_ok": triage_ok,
        "routed_skill": routed,
        "kb_u": kb_u,
        "kb_latency": kb_latency,
        "kb_fallback_latency": kb_fb_latency,
        "escalate": escalate,
        "handoff": handoff,
        "context_lost": context_lost,
        "tier2_handle": tier2,
        "transfer_time": transfer,
        "csat_noise": csat_noise,
    }


def _tier1_skills(scenario: Scenario) -> list[str]:
    out: list[str] = []
    for p in scenario.system.pools:
        if p.tier == 1:
            out += [s for s in p.skills if s not in out]
    return out


def _per_intent(u: np.ndarray, intent: np.ndarray, dists: list) -> np.ndarray:  # type: ignore[type-arg]
    out = np.empty(len(u))
    for k, d in enumerate(dists):
        mask = intent == k
        if mask.any():
            out[mask] = d.ppf(u[mask])
    return out
