"""The workload table of a replayed log, for one arm × replication.

What the log states is used as it is: arrival times, channels, intents, priorities and, for served
tickets, their handle times. What it does not state is drawn, from the same per-channel streams as a
generated workload (so common random numbers work the same way):

* **patience** (unless the channel sets a ``patience`` distribution): an abandoned ticket keeps the
  wait it was seen to abandon after; a served one draws from the patience estimated from the log
  (:mod:`supportlab.patience`) *given* that it was more than the wait it was seen to accept, so a
  replayed customer never gives up sooner than the log shows;
* **handle time** of a ticket the log never served (abandoned): drawn from its intent's handle times
  in the log;
* the bot, KB, escalation and satisfaction draws of any system features the arm adds.

``volume_scale`` s thins or multiplies the log: each logged ticket arrives ⌊s⌋ times, plus once more
with probability s − ⌊s⌋; the first copy keeps the logged time, extra copies arrive at a uniform time
within the same clock hour (so the hour-of-day profile is the log's, scaled). ``time_scale`` k runs
the log's clock k times faster (arrival / k; the from-log staffing schedule is compressed alike).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from supportlab.model import Scenario
from supportlab.patience import PatienceEstimate, estimate
from supportlab.seeds import Purpose, uniforms
from supportlab.workload import StreamId, _channel_draws, assemble

HOUR = 3600.0
#: the workload column giving each ticket's row in the log table (0-based)
LOG_INDEX = "log_index"


def replay(scenario: Scenario, sid: StreamId, *, horizon: float | None, tickets: int | None) -> pl.DataFrame:
    """The workload table (docs/ARCHITECTURE.md) of a replayed log, plus a ``log_index`` column."""
    wl = scenario.workload
    rp = wl.replay
    assert rp is not None and rp.log is not None
    t: pl.DataFrame = rp.log.table
    idx, arrival = copies(t["arrival"].to_numpy(), rp.volume_scale, sid)
    arrival = arrival / rp.time_scale
    order = np.lexsort((idx, arrival))
    idx, arrival = idx[order], arrival[order]
    if horizon is not None:
        keep = arrival < horizon
        idx, arrival = idx[keep], arrival[keep]
    if tickets is not None:
        idx, arrival = idx[:tickets], arrival[:tickets]

    channel = _codes(t["channel"], [c.name for c in wl.channels])
    intent = _codes(t["intent"], [i.name for i in wl.intents])
    priority = t["priority"].to_numpy()
    handle = t["handle"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    waits = t["queue_time"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    abandoned = (t["outcome"] == "abandoned").to_numpy()
    parts = []
    for c, ch in enumerate(wl.channels):
        mask = channel[idx] == c
        rows = idx[mask]
        given = {"intent": intent[rows], "priority": priority[rows], "handle": handle[rows]}
        if ch.patience is None:
            given["patience"] = _patience(rp.patience, channel == c, waits, abandoned, rows, c, sid)
        draws = _channel_draws(scenario, c, arrival[mask], sid, given)
        draws[LOG_INDEX] = rows
        parts.append(draws)
    return assemble(scenario, parts, None)


def extra_segments(scenario: Scenario) -> dict[str, list[str]]:
    """Replayed segment columns (``[workload.replay] segments``) → every value they take in the log."""
    rp = scenario.workload.replay
    if rp is None or rp.log is None:
        return {}
    table: pl.DataFrame = rp.log.table
    return {name: sorted(table[name].drop_nulls().unique().to_list()) for name, _ in rp.source.segments}


def replayed_columns(scenario: Scenario, log_index: pl.Series) -> list[pl.Series]:
    """Columns a replayed ticket takes from its log row: ``log_row`` (1-based data row) and the segments."""
    rp = scenario.workload.replay
    assert rp is not None and rp.log is not None
    table: pl.DataFrame = rp.log.table
    cols = ["row", *(name for name, _ in rp.source.segments)]
    picked = table.select(cols).rename({"row": "log_row"})[log_index.cast(pl.Int64).to_numpy()]
    return picked.get_columns()


def copies(arrival: np.ndarray, volume_scale: float, sid: StreamId) -> tuple[np.ndarray, np.ndarray]:
    """(log row of each arriving ticket, its arrival) under ``volume_scale`` (see the module docstring)."""
    n = len(arrival)
    if volume_scale == 1.0:
        return np.arange(n), arrival.copy()
    whole = np.floor(volume_scale)
    u = uniforms(sid.seed, sid.replication, sid.arm, 0, Purpose.VOLUME, n)
    count = (whole + (u < volume_scale - whole)).astype(np.int64)
    idx = np.repeat(np.arange(n), count)
    first = np.ones(len(idx), dtype=bool)
    first[1:] = idx[1:] != idx[:-1]
    jitter = uniforms(sid.seed, sid.replication, sid.arm, 0, Purpose.JITTER, len(idx))
    base = arrival[idx]
    return idx, np.where(first, base, np.floor(base / HOUR) * HOUR + jitter * HOUR)


def _codes(names: pl.Series, known: list[str]) -> np.ndarray:
    """Index of each name in ``known`` (the loader checked every value is known)."""
    return names.replace_strict(known, list(range(len(known))), return_dtype=pl.Int64).to_numpy()


def patience_estimate(method: str, in_channel: np.ndarray, waits: np.ndarray, abandoned: np.ndarray
                      ) -> PatienceEstimate | None:
    """The patience of one channel estimated from its log rows with a known wait (None: nobody abandoned).

    The exponential tail of the Kaplan-Meier estimate rests on the longest 1% of waits (at least 30).
    """
    seen = in_channel & ~np.isnan(waits)
    if not (abandoned & seen).any():
        return None
    return estimate(waits[seen], abandoned[seen], method, min_at_risk=max(30, int(seen.sum()) // 100))


def patience_estimates(scenario: Scenario) -> dict[str, PatienceEstimate | None]:
    """Channel name → the patience estimated from the replayed log (channels with a set patience: left out)."""
    wl = scenario.workload
    rp = wl.replay
    if rp is None or rp.log is None:
        return {}
    t: pl.DataFrame = rp.log.table
    channel = _codes(t["channel"], [c.name for c in wl.channels])
    waits = t["queue_time"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    abandoned = (t["outcome"] == "abandoned").to_numpy()
    return {ch.name: patience_estimate(rp.patience, channel == c, waits, abandoned)
            for c, ch in enumerate(wl.channels) if ch.patience is None}


def _patience(method: str, in_channel: np.ndarray, waits: np.ndarray, abandoned: np.ndarray, rows: np.ndarray,
              c: int, sid: StreamId) -> np.ndarray:
    """Patience of the replayed tickets ``rows`` of channel ``c``, estimated from the channel's log rows."""
    est = patience_estimate(method, in_channel, waits, abandoned)
    if est is None:
        return np.full(len(rows), np.inf)  # nobody was seen to abandon: nobody does
    w = np.nan_to_num(waits[rows], nan=0.0)
    u = uniforms(sid.seed, sid.replication, sid.arm, c, Purpose.PATIENCE, len(rows))
    drawn = est.ppf_given_greater(u, w)
    return np.where(abandoned[rows], w, drawn)
