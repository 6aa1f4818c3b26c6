"""From the simulator's raw per-ticket arrays to the tickets and legs tables (vectorised)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from supportlab.vocab import KB_RESULTS, OUTCOMES, Vocabulary
from supportlab.workload import skill_names

if TYPE_CHECKING:
    from supportlab.engine import SimResult, _Legs, _Simulator

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


class _Enums:
    """Maps the engine's scenario-local codes onto the experiment-wide :class:`Vocabulary` enums."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self._lookup: dict[str, pl.Series] = {}

    def series(self, kind: str, local_names: list[str] | tuple[str, ...], codes: np.ndarray) -> pl.Series:
        """Codes into ``local_names`` (-1 = null) as a column of the vocabulary's ``kind`` enum."""
        enum = self.vocab.enum(kind)
        cats = enum.categories.to_list()
        if kind not in self._lookup:
            self._lookup[kind] = pl.Series([*cats, None], dtype=enum)
        if list(local_names) == cats[: len(local_names)] and (codes.size == 0 or codes.min() >= 0):
            return self._lookup[kind].gather(codes)  # local codes are the vocabulary's: no remapping
        remap = np.array([cats.index(name) for name in local_names] + [len(cats)], dtype=np.int64)
        return self._lookup[kind].gather(remap[np.where(codes < 0, len(local_names), codes)])

    def null(self, kind: str, n: int) -> pl.Series:
        return pl.Series(dtype=self.vocab.enum(kind)).extend_constant(None, n)

    def constant(self, kind: str, name: str, n: int) -> pl.Series:
        return pl.Series([name], dtype=self.vocab.enum(kind)).extend_constant(name, n - 1) if n else pl.Series(
            dtype=self.vocab.enum(kind)
        )


def csat_score(*, first_response: np.ndarray, sla: np.ndarray, sentiment: np.ndarray, fcr: np.ndarray,
               context_lost: np.ndarray, transferred: np.ndarray, resolved: np.ndarray, noise: np.ndarray
               ) -> np.ndarray:
    """The documented satisfaction model (see engine.py), per ticket, clipped to [1, 5]."""
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
    return np.clip(score + noise, 1.0, 5.0)


def _floats(x: np.ndarray) -> pl.Series:
    """NaN → null; an all-NaN column costs no memory, one without NaN is not copied."""
    nan = np.isnan(x)
    if nan.all():
        return pl.Series(dtype=pl.Float64).extend_constant(None, len(x))
    if not nan.any():
        return pl.Series(x)
    return pl.Series(x).fill_nan(None)


def build_tables(
    sim: _Simulator, *, arm: str, replication: int, window: tuple[float, float], vocab: Vocabulary
) -> SimResult:
    from supportlab.engine import SimResult

    enums = _Enums(vocab)
    wl = sim.wl
    n = sim.n
    scen = sim.scenario
    pool_names = [p.name for p in scen.system.pools]
    legs = sim.legs
    l1 = legs[1]
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
    l3 = legs.get(3)
    escalated = ~np.isnan(_f64(l3.queued)) if l3 is not None else np.zeros(n, dtype=bool)

    wait = np.zeros(n)
    handle = np.zeros(n)
    for lg in legs.values():
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
    csat = csat_score(first_response=first_response, sla=sla, sentiment=sentiment, fcr=fcr,
                      context_lost=context_lost, transferred=transferred, resolved=resolved,
                      noise=wl["csat_noise"].to_numpy())

    def opt_bool(x: np.ndarray, mask: np.ndarray) -> pl.Series:
        if not mask.any():
            return pl.Series(dtype=pl.Boolean).extend_constant(None, n)
        return pl.Series(x).set(pl.Series(~mask), None)  # type: ignore[arg-type]

    def local(col: str, kind: str, names: list[str]) -> pl.Series:
        return enums.series(kind, names, wl[col].to_physical().to_numpy().astype(np.int64))

    def agent_cols(lg: _Legs | None) -> tuple[pl.Series, pl.Series]:
        if lg is None:
            return enums.null("pool", n), enums.null("agent", n)
        pool = enums.series("pool", pool_names, np.frombuffer(lg.pool, dtype=np.int32).astype(np.int64))
        agent = enums.series("agent", sim.agent_names, np.frombuffer(lg.agent, dtype=np.int32).astype(np.int64))
        return pool, agent

    has_bot = ~np.isnan(bot_reply)
    ticket = wl["ticket"]
    kb1 = np.frombuffer(l1.kb, dtype=np.int8).astype(np.int64) - 1  # the engine's 0 = no lookup
    pool1, agent1 = agent_cols(l1)
    pool3, agent3 = agent_cols(l3)
    routed = local("routed_skill", "skill", skill_names(scen))
    cols: dict[str, pl.Series] = {
        "arm": enums.constant("arm", arm, n),
        "replication": pl.Series(np.full(n, replication, dtype=np.int64)),
        "ticket": ticket,
        "session_id": pl.select((pl.lit(f"{replication}-") + ticket.cast(pl.String)).alias("s")).to_series()
        if n
        else pl.Series("session_id", [], dtype=pl.String),
        "channel": local("channel", "channel", [c.name for c in scen.workload.channels]),
        "intent": local("intent", "intent", [i.name for i in scen.workload.intents]),
        "persona": local("persona", "persona", [p.name for p in scen.workload.personas]),
        "priority": wl["priority"],
        "measured": pl.Series((arrival >= window[0]) & (arrival < window[1])),
        "arrival": pl.Series(arrival),
        "bot_reply": _floats(bot_reply),
        "contained": opt_bool(contained, has_bot),
        "routed_skill": routed.set(pl.Series(contained), None) if contained.any() else routed,  # type: ignore[arg-type]
        "queued": _floats(_f64(l1.queued)),
        "start": _floats(start1),
        "pool": pool1,
        "agent": agent1,
        "right_skill": opt_bool(_right_skill(sim), answered),
        "transferred": pl.Series(transferred),
        "escalated": pl.Series(escalated),
        "handoff": _floats(np.where(escalated, wl["handoff"].to_numpy(), np.nan)),
        "context_lost": opt_bool(context_lost, escalated),
        "tier2_start": _floats(_f64(l3.start)) if l3 is not None else _floats(np.full(n, np.nan)),
        "tier2_pool": pool3,
        "tier2_agent": agent3,
        "kb": enums.series("kb", list(KB_RESULTS), kb1) if sim.kb is not None else enums.null("kb", n),
        "abandoned_at": _floats(_f64(sim.abandoned_at)),
        "resolved_at": _floats(resolved_at),
        "outcome": enums.series("outcome", list(OUTCOMES), outcome.astype(np.int64)),
        "first_response": _floats(first_response),
        "wait": _floats(wait),
        "handle": _floats(handle),
        "resolution": _floats(resolved_at - arrival),
        "fcr": pl.Series(fcr),
        "sla_met": pl.Series(sla_met),
        "csat": pl.Series(csat),
    }
    tickets_df = pl.DataFrame([s.alias(k) for k, s in cols.items()])
    return SimResult(tickets=tickets_df, legs=_legs_table(sim, arm, replication, channel_codes, enums))


def _right_skill(sim: _Simulator) -> np.ndarray:
    pools = np.frombuffer(sim.legs[1].pool, dtype=np.int32)
    skill_of_intent = np.array([sim.skills.index(i.skill) for i in sim.scenario.workload.intents], dtype=np.int64)
    true = skill_of_intent[sim.wl["intent"].to_physical().to_numpy().astype(np.int64)]
    has = np.zeros((len(sim.pool_skills) + 1, len(sim.skills)), dtype=bool)
    for p, skills in enumerate(sim.pool_skills):
        has[p, list(skills)] = True
    return has[np.where(pools < 0, len(sim.pool_skills), pools), true]


def _legs_table(sim: _Simulator, arm: str, replication: int, channel: np.ndarray, enums: _Enums) -> pl.DataFrame:
    pool_names = [p.name for p in sim.scenario.system.pools]
    load_of = np.array(sim.load_of + [[0.0] * len(sim.load_of[0])]) if sim.load_of else np.zeros((1, 1))
    frames = []
    for leg, lg in sim.legs.items():
        queued = _f64(lg.queued)
        idx = np.flatnonzero(~np.isnan(queued))
        m = len(idx)

        def take(a: np.ndarray, idx: np.ndarray = idx, every: bool = m == len(queued)) -> np.ndarray:
            return a if every else a[idx]  # every ticket has this leg: no copy

        pool = take(np.frombuffer(lg.pool, dtype=np.int32)).astype(np.int64)
        single_load = len({x for row in sim.load_of for x in row}) == 1
        frames.append(
            pl.DataFrame(
                {
                    "arm": enums.constant("arm", arm, m),
                    "replication": pl.repeat(replication, m, dtype=pl.Int64, eager=True),
                    "ticket": pl.Series(idx.astype(np.int64)),
                    "leg": pl.repeat(leg, m, dtype=pl.Int64, eager=True),
                    "queued": pl.Series(take(queued)),
                    "dequeued": _floats(take(_f64(lg.dequeued))),
                    "start": _floats(take(_f64(lg.start))),
                    "end": _floats(take(_f64(lg.end))),
                    "pool": enums.series("pool", pool_names, pool),
                    "agent": enums.series("agent", sim.agent_names, take(np.frombuffer(lg.agent, dtype=np.int32))),
                    "load": pl.repeat(sim.load_of[0][0], m, dtype=pl.Float64, eager=True)
                    if single_load
                    else pl.Series(load_of[np.where(pool < 0, len(pool_names), pool), take(channel)]),
                    "kb": enums.series("kb", list(KB_RESULTS), take(np.frombuffer(lg.kb, dtype=np.int8)) - 1)
                    if sim.kb is not None
                    else enums.null("kb", m),
                    "kb_latency": _floats(take(_f64(lg.kb_latency)))
                    if sim.kb is not None
                    else pl.Series(dtype=pl.Float64).extend_constant(None, m),
                }
            )
        )
    legs = pl.concat(frames) if len(frames) > 1 else frames[0]
    return legs.sort(["ticket", "leg"]) if len(frames) > 1 else legs
