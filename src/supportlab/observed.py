"""The observed arm: a replayed log's own outcomes as tickets and legs tables, measured by the same code.

The log says, for each ticket, when it arrived, how long it waited, whether it was served or
abandoned, how long the service took and by whom. Those become the tables the simulator would have
produced (docs/ARCHITECTURE.md), under the pseudo-arm ``observed`` (replication 0), so
:func:`supportlab.metrics.compute` measures reality and the simulated control with one definition of
every metric. What a log cannot show is left out the neutral way: no bot, no KB, no transfers or
escalations (every served ticket is resolved at first contact), and satisfaction comes from the same
documented model as the simulation's (:func:`supportlab.outcomes.csat_score`).

A served ticket's first pool is the first tier-1 pool with its intent's skill; its agent is the
log's agent (``(unrecorded)`` where the log names none).

The observed arm exists only when the control replays the log as it is (``time_scale`` and
``volume_scale`` 1; otherwise the control is not a replay of what was observed) and the log has a
queue-time column.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from supportlab.model import Scenario
from supportlab.outcomes import csat_score
from supportlab.seeds import Purpose, stream
from supportlab.vocab import Vocabulary

ARM = "observed"
#: the master seed of the observed arm's satisfaction noise (not the experiment's: the arm is the log's)
CSAT_SEED = 0
#: the agent of a served ticket whose log row names none
UNRECORDED = "(unrecorded)"


def comparable(scenario: Scenario) -> bool:
    """True when the scenario replays its log unchanged, so the log's outcomes are its observed arm.

    The log must also say how long each ticket waited (``queue_time``): without it the observed waits,
    abandonment and SLA would be made up.
    """
    rp = scenario.workload.replay
    return (rp is not None and rp.log is not None and rp.time_scale == 1.0 and rp.volume_scale == 1.0
            and rp.source.queue_time is not None)


def tables(scenario: Scenario, vocab: Vocabulary, window: tuple[float, float]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(tickets, legs) of the observed arm: a function of the log alone (the satisfaction noise has its own
    fixed seed, :data:`CSAT_SEED`, so every run of any seed shows the same observed arm)."""
    seed = CSAT_SEED
    rp = scenario.workload.replay
    assert rp is not None and rp.log is not None
    t: pl.DataFrame = rp.log.table
    n = t.height
    wl = scenario.workload
    pools = scenario.system.pools
    arrival = t["arrival"].to_numpy()
    wait = t["queue_time"].cast(pl.Float64).fill_null(0.0).to_numpy()
    served = (t["outcome"] == "served").to_numpy()
    handle = np.where(served, t["handle"].cast(pl.Float64).fill_null(0.0).to_numpy(), np.nan)
    start = np.where(served, arrival + wait, np.nan)
    end = start + handle
    abandoned_at = np.where(served, np.nan, arrival + wait)
    channels = [c.name for c in wl.channels]
    channel = t["channel"].replace_strict(channels, list(range(len(channels))), return_dtype=pl.Int64).to_numpy()
    sla = np.array([c.sla for c in wl.channels])[channel]
    skill_of = {i.name: i.skill for i in wl.intents}
    pool_of_skill: dict[str, str] = {}
    for p in pools:
        if p.tier == 1:
            for s in p.skills:
                pool_of_skill.setdefault(s, p.name)
    pool_names = t["intent"].replace_strict({k: pool_of_skill.get(v) for k, v in skill_of.items()},
                                            return_dtype=pl.String)
    noise = np.empty(n)
    for c in range(len(channels)):
        mask = channel == c
        noise[mask] = stream(seed, 0, 0, c, Purpose.CSAT).standard_normal(int(mask.sum())) * 0.4
    first_response = np.where(served, wait, np.nan)
    csat = csat_score(first_response=first_response, sla=sla, sentiment=np.zeros(n), fcr=served,
                      context_lost=np.zeros(n, dtype=bool), transferred=np.zeros(n, dtype=bool), resolved=served,
                      noise=noise)

    def enum(kind: str, values: pl.Series | list[str | None]) -> pl.Series:
        return pl.Series(values, dtype=pl.String).cast(vocab.enum(kind))

    def floats(x: np.ndarray) -> pl.Series:
        return pl.Series(x).fill_nan(None)

    ticket = pl.Series(np.arange(n, dtype=np.int64))
    pool = enum("pool", pool_names)
    agent = enum("agent", pl.select(pl.when(pl.Series(served)).then(t["agent"].cast(pl.String).fill_null(UNRECORDED))
                                    ).to_series())
    outcome = enum("outcome", ["resolved" if s else "abandoned" for s in served.tolist()])
    tickets = pl.DataFrame({
        "arm": enum("arm", [ARM] * n),
        "replication": pl.Series(np.zeros(n, dtype=np.int64)),
        "ticket": ticket,
        "session_id": pl.select((pl.lit("0-") + ticket.cast(pl.String)).alias("s")).to_series(),
        "channel": t["channel"].cast(vocab.enum("channel")),
        "intent": t["intent"].cast(vocab.enum("intent")),
        "persona": enum("persona", [wl.personas[0].name] * n),
        "priority": t["priority"],
        "measured": pl.Series((arrival >= window[0]) & (arrival < window[1])),
        "arrival": pl.Series(arrival),
        "bot_reply": pl.Series(np.full(n, np.nan)).fill_nan(None),
        "contained": pl.Series([None] * n, dtype=pl.Boolean),
        "routed_skill": enum("skill", [skill_of[i] for i in t["intent"].to_list()]),
        "queued": pl.Series(arrival),
        "start": floats(start),
        "pool": pool.set(pl.Series(~served), None),  # type: ignore[arg-type]
        "agent": agent.set(pl.Series(~served), None),  # type: ignore[arg-type]
        "right_skill": pl.Series(served).set(pl.Series(~served), None),  # type: ignore[arg-type]
        "transferred": pl.Series(np.zeros(n, dtype=bool)),
        "escalated": pl.Series(np.zeros(n, dtype=bool)),
        "handoff": pl.Series(np.full(n, np.nan)).fill_nan(None),
        "context_lost": pl.Series([None] * n, dtype=pl.Boolean),
        "tier2_start": pl.Series(np.full(n, np.nan)).fill_nan(None),
        "tier2_pool": enum("pool", [None] * n),
        "tier2_agent": enum("agent", [None] * n),
        "kb": enum("kb", [None] * n),
        "abandoned_at": floats(abandoned_at),
        "resolved_at": floats(end),
        "outcome": outcome,
        "first_response": floats(first_response),
        "wait": floats(np.where(served, wait, np.nan)),
        "handle": floats(handle),
        "resolution": floats(end - arrival),
        "fcr": pl.Series(served),
        "sla_met": pl.Series(served & (wait <= sla)),
        "csat": pl.Series(csat),
    })
    # the share of an agent a ticket takes: 1 / its pool's concurrency for its channel (a column op, not a loop)
    loads = {f"{p.name}\0{c}": 1.0 / p.concurrency_of(c) for p in pools for c in channels}
    load = (pool_names + "\0" + t["channel"]).replace_strict(loads, default=1.0, return_dtype=pl.Float64).fill_null(1.0)
    legs = pl.DataFrame({
        "arm": tickets["arm"],
        "replication": tickets["replication"],
        "ticket": ticket,
        "leg": pl.Series(np.ones(n, dtype=np.int64)),
        "queued": pl.Series(arrival),
        "dequeued": pl.Series(np.where(served, start, abandoned_at)),
        "start": floats(start),
        "end": floats(end),
        "pool": pool,
        "agent": agent.set(pl.Series(~served), None),  # type: ignore[arg-type]
        "load": load,
        "kb": enum("kb", [None] * n),
        "kb_latency": pl.Series([None] * n, dtype=pl.Float64),
    })
    return tickets, legs


def log_agents(scenario: Scenario) -> list[str]:
    """The agent names of a replayed log (sorted), for the vocabulary."""
    rp = scenario.workload.replay
    if rp is None or rp.log is None:
        return []
    table: pl.DataFrame = rp.log.table
    names = sorted(table["agent"].drop_nulls().unique().to_list())
    if table.filter((pl.col("outcome") == "served") & pl.col("agent").is_null()).height:
        names.append(UNRECORDED)
    return names
