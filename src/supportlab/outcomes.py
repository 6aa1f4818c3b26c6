"""From the simulator's raw per-ticket arrays to the tickets and legs tables (vectorised)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from supportlab.engine import SimResult, _Simulator

# satisfaction model (documented in engine.py)
CSAT_BASE = 4.5
CSAT_SENTIMENT = 0.5
CSAT_SLOW_MAX = 1.5
CSAT_SLOW_SLAS = 4.0
CSAT_NOT_FCR = 0.6
CSAT_CONTEXT_LOST = 0.4
CSAT_TRANSFER = 0.3
CSAT_UNANSWERED = 1.5


def _f64(a: object) -> np.ndarray:
    return np.frombuffer(a, dtype=np.float64)  # type: ignore[call-overload]


def _names(codes: np.ndarray, names: list[str]) -> pl.Series:
    """Codes (-1 = null) to a string series."""
    lookup = pl.Series(names + [None], dtype=pl.String)
    return lookup.gather(np.where(codes < 0, len(names), codes))


def build_tables(sim: _Simulator, *, arm: str, replication: int, window: tuple[float, float]) -> SimResult:
    from supportlab.engine import KB_RESULTS, OUTCOMES, SimResult

    wl = sim.wl
    n = sim.n
    scen = sim.scenario
    pool_names = [p.name for p in scen.system.pools]
    legs = sim.legs
    l1, l2, l3 = legs[1], legs[2], legs[3]
    arrival = wl["arrival"].to_numpy()
    bot_latency = wl["bot_latency"].to_numpy()
    bot_reply = arrival + bot_latency  # NaN without bot
    contained = wl["contained"].to_numpy()
    start1 = _f64(l1.start)
    first_reply = np.fmin(bot_reply, start1)
    first_response = first_reply - arrival
    answered = ~np.isnan(start1)
    outcome = np.frombuffer(sim.outcome, dtype=np.int8)
    transferred = np.frombuffer(bytes(sim.transferred), dtype=np.uint8).astype(bool)
    escalated = ~np.isnan(_f64(l3.queued))

    wait = np.zeros(n)
    handle = np.zeros(n)
    for lg in (l1, l2, l3):
        q, d, s, e = _f64(lg.queued), _f64(lg.dequeued), _f64(lg.start), _f64(lg.end)
        wait += np.where(np.isnan(d) | np.isnan(q), 0.0, d - q)
        handle += np.where(np.isnan(e) | np.isnan(s), 0.0, e - s)
    wait = np.where(answered, wait, np.nan)
    handle = np.where(answered, handle, np.nan)
    resolved_at = _f64(sim.resolved_at)
    resolved = (outcome == 1) | (outcome == 2)
    fcr = resolved & ~transferred & ~escalated
    channel_codes = wl["channel"].to_physical().to_numpy().astype(np.int64)
    sla = np.array([c.sla for c in scen.workload.channels])[channel_codes]
    # the SLA clock stops at the reply that takes the ticket on: the bot's for tickets it resolves, the
    # first agent's for the rest (a bot's "an agent will be with you" does not meet an SLA)
    taken_on = np.where(contained, bot_reply, start1) - arrival
    sla_met = np.nan_to_num(taken_on, nan=np.inf) <= sla
    context_lost = wl["context_lost"].to_numpy() & escalated

    persona_codes = wl["persona"].to_physical().to_numpy().astype(np.int64)
    sentiment = np.array([p.sentiment for p in scen.workload.personas])[persona_codes]
    slow = CSAT_SLOW_MAX * np.minimum(1.0, np.nan_to_num(first_response, nan=0.0) / (CSAT_SLOW_SLAS * sla))
    score = (
        CSAT_BASE
        + CSAT_SENTIMENT * sentiment
        - slow
        - CSAT_NOT_FCR * ~fcr
        - CSAT_CONTEXT_LOST * context_lost
        - CSAT_TRANSFER * transferred
    )
    score = np.where(resolved, score, CSAT_UNANSWERED + CSAT_SENTIMENT * sentiment)
    csat = np.clip(score + wl["csat_noise"].to_numpy(), 1.0, 5.0)

    kb1 = np.frombuffer(l1.kb, dtype=np.int8).astype(np.int64)
    kb_first = np.where(kb1 > 0, kb1, -1)
    kb_labels = list(KB_RESULTS)

    def opt_bool(x: np.ndarray, mask: np.ndarray) -> pl.Series:
        return pl.Series(x).set(pl.Series(~mask), None)  # type: ignore[arg-type]

    has_bot = ~np.isnan(bot_reply)
    ticket = wl["ticket"]
    cols: dict[str, pl.Series] = {
        "arm": pl.Series("arm", [arm], dtype=pl.String).gather(np.zeros(n, dtype=np.int64)),
        "replication": pl.Series("replication", np.full(n, replication, dtype=np.int64)),
        "ticket": ticket,
        "session_id": pl.select((pl.lit(f"{replication}-") + ticket.cast(pl.String)).alias("s")).to_series()
        if n
        else pl.Series("session_id", [], dtype=pl.String),
        "channel": wl["channel"].cast(pl.String),
        "intent": wl["intent"].cast(pl.String),
        "persona": wl["persona"].cast(pl.String),
        "priority": wl["priority"],
        "measured": pl.Series((arrival >= window[0]) & (arrival < window[1])),
        "arrival": pl.Series(arrival),
        "bot_reply": pl.Series(bot_reply).fill_nan(None),
        "contained": opt_bool(contained, has_bot),
        "routed_skill": wl["routed_skill"].cast(pl.String).set(pl.Series(contained), None),  # type: ignore[arg-type]
        "queued": pl.Series(_f64(l1.queued)).fill_nan(None),
        "start": pl.Series(start1).fill_nan(None),
        "pool": _names(np.frombuffer(l1.pool, dtype=np.int32).astype(np.int64), pool_names),
        "agent": _names(np.frombuffer(l1.agent, dtype=np.int32).astype(np.int64), sim.agent_names),
        "right_skill": opt_bool(_right_skill(sim), answered),
        "transferred": pl.Series(transferred),
        "escalated": pl.Series(escalated),
        "handoff": pl.Series(np.where(escalated, wl["handoff"].to_numpy(), np.nan)).fill_nan(None),
        "context_lost": opt_bool(context_lost, escalated),
        "tier2_start": pl.Series(_f64(l3.start)).fill_nan(None),
        "tier2_pool": _names(np.frombuffer(l3.pool, dtype=np.int32).astype(np.int64), pool_names),
        "tier2_agent": _names(np.frombuffer(l3.agent, dtype=np.int32).astype(np.int64), sim.agent_names),
        "kb": _names(kb_first, kb_labels),
        "abandoned_at": pl.Series(_f64(sim.abandoned_at)).fill_nan(None),
        "resolved_at": pl.Series(resolved_at).fill_nan(None),
        "outcome": _names(outcome.astype(np.int64), list(OUTCOMES)),
        "first_response": pl.Series(first_response).fill_nan(None),
        "wait": pl.Series(wait).fill_nan(None),
        "handle": pl.Series(handle).fill_nan(None),
        "resolution": pl.Series(resolved_at - arrival).fill_nan(None),
        "fcr": pl.Series(fcr),
        "sla_met": pl.Series(sla_met),
        "csat": pl.Series(csat),
    }
    tickets_df = pl.DataFrame([s.alias(k) for k, s in cols.items()])
    return SimResult(tickets=tickets_df, legs=_legs_table(sim, arm, replication, channel_codes))


def _right_skill(sim: _Simulator) -> np.ndarray:
    pools = np.frombuffer(sim.legs[1].pool, dtype=np.int32)
    skill_of_intent = np.array([sim.skills.index(i.skill) for i in sim.scenario.workload.intents], dtype=np.int64)
    true = skill_of_intent[sim.wl["intent"].to_physical().to_numpy().astype(np.int64)]
    has = np.zeros((len(sim.pool_skills) + 1, len(sim.skills)), dtype=bool)
    for p, skills in enumerate(sim.pool_skills):
        has[p, list(skills)] = True
    return has[np.where(pools < 0, len(sim.pool_skills), pools), true]


def _legs_table(sim: _Simulator, arm: str, replication: int, channel: np.ndarray) -> pl.DataFrame:
    from supportlab.engine import KB_RESULTS

    pool_names = [p.name for p in sim.scenario.system.pools]
    load_of = np.array(sim.load_of + [[0.0] * len(sim.load_of[0])]) if sim.load_of else np.zeros((1, 1))
    frames = []
    for leg, lg in sim.legs.items():
        queued = _f64(lg.queued)
        idx = np.flatnonzero(~np.isnan(queued))
        pool = np.frombuffer(lg.pool, dtype=np.int32).astype(np.int64)[idx]
        kb = np.frombuffer(lg.kb, dtype=np.int8).astype(np.int64)[idx]
        frames.append(
            pl.DataFrame(
                {
                    "ticket": pl.Series(idx.astype(np.int64)),
                    "leg": pl.Series(np.full(len(idx), leg, dtype=np.int64)),
                    "queued": pl.Series(queued[idx]),
                    "dequeued": pl.Series(_f64(lg.dequeued)[idx]).fill_nan(None),
                    "start": pl.Series(_f64(lg.start)[idx]).fill_nan(None),
                    "end": pl.Series(_f64(lg.end)[idx]).fill_nan(None),
                    "pool": _names(pool, pool_names),
                    "agent": _names(np.frombuffer(lg.agent, dtype=np.int32).astype(np.int64)[idx], sim.agent_names),
                    "load": pl.Series(load_of[np.where(pool < 0, len(pool_names), pool), channel[idx]]),
                    "kb": _names(np.where(kb > 0, kb, -1), list(KB_RESULTS)),
                    "kb_latency": pl.Series(_f64(lg.kb_latency)[idx]).fill_nan(None),
                }
            )
        )
    legs = pl.concat(frames).sort(["ticket", "leg"])
    return legs.select(
        pl.lit(arm, dtype=pl.String).alias("arm"),
        pl.lit(replication, dtype=pl.Int64).alias("replication"),
        pl.all(),
    )
