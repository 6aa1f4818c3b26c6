"""The events table: the trace of every ticket, one row per hop, derived from tickets and legs.

Columns: ``arm``, ``replication``, ``ticket``, ``session_id``, ``time``, ``event``, ``hop`` (0, 1, ...
within the ticket), ``component`` and ``latency`` (seconds the hop took; null where a hop is an
instant).

Events, in the causal order that ``hop`` follows: ``arrive`` (component: the channel), ``bot`` (the
bot's reply; latency = bot latency), ``contained`` (the bot resolved it), ``queue`` (entered an agent
queue; latency = the wait), ``abandon`` (left the queue; latency = the wait), ``answer`` (an agent
took it; component = the agent, latency = the leg's handling), ``kb`` (a lookup at the answer;
component ``kb`` or ``kb-fallback``), ``transfer`` (an agent without the skill passed it on),
``escalate`` (component ``handoff``; latency = handoff latency), ``resolve``.

Built with numpy: each event kind has a fixed slot in a ticket's life (slot order is causal, so
times never decrease along it), and rows are ordered by ``ticket × slot``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

EVENTS = ("arrive", "bot", "contained", "queue", "abandon", "answer", "kb", "transfer", "escalate", "resolve")
_E = {name: k for k, name in enumerate(EVENTS)}
_SLOTS = 16
# slots: arrive 0, bot 1, contained 2; leg L in 1..3 at base 3, 7, 12: queue +0, abandon or answer +1, kb +2,
# transfer (leg 1 only) +3; escalate 11; resolve 15
_LEG_BASE = {1: 3, 2: 7, 3: 12}
_ESCALATE_SLOT = 11
_RESOLVE_SLOT = 15


class _Rows:
    """Column chunks collected per event kind, then concatenated once."""

    def __init__(self) -> None:
        self.ticket: list[np.ndarray] = []
        self.slot: list[np.ndarray] = []
        self.time: list[np.ndarray] = []
        self.event: list[np.ndarray] = []
        self.component: list[pl.Series] = []
        self.latency: list[np.ndarray] = []

    def add(
        self,
        ticket: np.ndarray,
        slot: int | np.ndarray,
        time: np.ndarray,
        event: str,
        component: pl.Series | str,
        latency: np.ndarray | None = None,
    ) -> None:
        n = len(ticket)
        self.ticket.append(ticket)
        self.slot.append(np.broadcast_to(np.asarray(slot, dtype=np.int64), (n,)))
        self.time.append(time)
        self.event.append(np.full(n, _E[event], dtype=np.int64))
        if isinstance(component, str):
            component = pl.Series([component], dtype=pl.String).gather(np.zeros(n, dtype=np.int64))
        self.component.append(component)
        self.latency.append(np.full(n, np.nan) if latency is None else latency)


def events(tickets: pl.DataFrame, legs: pl.DataFrame) -> pl.DataFrame:
    """The events of one arm × replication (``tickets`` and ``legs`` of :func:`engine.simulate`).

    ``tickets`` must be in ticket order with ``ticket`` = row index (as the engine makes it).
    """
    t = tickets
    rows = _Rows()
    n = t.height
    tid = np.arange(n, dtype=np.int64)
    arrival = t["arrival"].to_numpy()
    rows.add(tid, 0, arrival, "arrive", t["channel"])
    bot_reply = t["bot_reply"].to_numpy().astype(np.float64)
    has_bot = ~np.isnan(bot_reply)
    if has_bot.any():
        idx = np.flatnonzero(has_bot)
        rows.add(idx, 1, arrival[idx], "bot", "bot", bot_reply[idx] - arrival[idx])
        cont = np.flatnonzero(t["contained"].fill_null(False).to_numpy())
        rows.add(cont, 2, bot_reply[cont], "contained", "bot")

    lg_ticket = legs["ticket"].to_numpy()
    leg_no = legs["leg"].to_numpy()
    queued = legs["queued"].to_numpy()
    dequeued = legs["dequeued"].to_numpy().astype(np.float64)
    start = legs["start"].to_numpy().astype(np.float64)
    end = legs["end"].to_numpy().astype(np.float64)
    base = np.array([0, _LEG_BASE[1], _LEG_BASE[2], _LEG_BASE[3]])[leg_no]
    rows.add(lg_ticket, base, queued, "queue", "queue", dequeued - queued)
    ab = np.flatnonzero(np.isnan(start) & ~np.isnan(dequeued))
    rows.add(lg_ticket[ab], base[ab] + 1, dequeued[ab], "abandon", "queue", dequeued[ab] - queued[ab])
    ans = np.flatnonzero(~np.isnan(start))
    agent = legs["agent"]
    rows.add(lg_ticket[ans], base[ans] + 1, start[ans], "answer", agent.gather(ans), end[ans] - start[ans])
    kb = legs["kb"]
    has_kb = np.flatnonzero(kb.is_not_null().to_numpy())
    if len(has_kb):
        fallback = kb.gather(has_kb).str.starts_with("fallback")
        component = pl.select(pl.when(fallback).then(pl.lit("kb-fallback")).otherwise(pl.lit("kb"))).to_series()
        rows.add(lg_ticket[has_kb], base[has_kb] + 2, start[has_kb], "kb", component,
                 legs["kb_latency"].to_numpy().astype(np.float64)[has_kb])
    transferred = t["transferred"].to_numpy()
    tr = np.flatnonzero((leg_no == 1) & ~np.isnan(end))
    tr = tr[transferred[lg_ticket[tr]]]
    rows.add(lg_ticket[tr], base[tr] + 3, end[tr], "transfer", agent.gather(tr))
    esc = np.flatnonzero(leg_no == 3)
    handoff = t["handoff"].to_numpy().astype(np.float64)
    et = lg_ticket[esc]
    rows.add(et, _ESCALATE_SLOT, queued[esc] - handoff[et], "escalate", "handoff", handoff[et])
    resolved_at = t["resolved_at"].to_numpy().astype(np.float64)
    res = np.flatnonzero(~np.isnan(resolved_at))
    # resolved by the bot, or by the agent of the ticket's last answered leg
    last_leg = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_leg, lg_ticket[ans], ans)
    by_agent = last_leg[res] >= 0
    resolver = pl.Series(np.where(by_agent, "", "bot"), dtype=pl.String)
    if by_agent.any():
        resolver = resolver.scatter(np.flatnonzero(by_agent), agent.gather(last_leg[res][by_agent]))
    rows.add(res, _RESOLVE_SLOT, resolved_at[res], "resolve", resolver)

    ticket = np.concatenate(rows.ticket)
    key = ticket * _SLOTS + np.concatenate(rows.slot)
    order = np.argsort(key, kind="stable")
    ticket = ticket[order]
    counts = np.bincount(ticket, minlength=n)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    hop = np.arange(len(ticket)) - first[ticket]
    latency = np.concatenate(rows.latency)[order]
    m = len(ticket)
    arm = t["arm"][0] if n else ""
    replication = int(t["replication"][0]) if n else 0
    return pl.DataFrame(
        {
            "arm": pl.Series([arm], dtype=pl.String).gather(np.zeros(m, dtype=np.int64)),
            "replication": np.full(m, replication, dtype=np.int64),
            "ticket": ticket,
            "session_id": t["session_id"].gather(ticket),
            "time": np.concatenate(rows.time)[order],
            "event": pl.Series(list(EVENTS), dtype=pl.String).gather(np.concatenate(rows.event)[order]),
            "hop": hop.astype(np.int32),
            "component": pl.concat(rows.component).gather(order),
            "latency": pl.Series(latency).fill_nan(None),
        }
    )
