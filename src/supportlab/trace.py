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
times never decrease along it), and rows are ordered by ``ticket × slot`` (see :class:`_Rows`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from supportlab.vocab import EVENTS, Vocabulary

_E = {name: k for k, name in enumerate(EVENTS)}
# slots: arrive 0, bot 1, contained 2; leg L in 1..3 at base 3, 7, 12: queue +0, abandon or answer +1, kb +2,
# transfer (leg 1 only) +3; escalate 11; resolve 15
_LEG_BASE = {1: 3, 2: 7, 3: 12}
_ESCALATE_SLOT = 11
_RESOLVE_SLOT = 15


def _codes(series: pl.Series, target: list[str]) -> np.ndarray:
    """An Enum column as codes into ``target`` (a superset of its categories); -1 for null."""
    source = series.dtype.categories.to_list()  # type: ignore[attr-defined]
    remap = np.array([target.index(c) for c in source] + [-1], dtype=np.int64)
    physical = series.to_physical().fill_null(len(source)).to_numpy().astype(np.int64)
    return remap[physical]


class _Rows:
    """Event kinds are added first; :meth:`frame` then places every event at its final row directly.

    Each ticket's events fill a 16-bit mask of slots. A ticket's rows start at the running sum of the
    popcounts; an event's row within its ticket is the popcount of the slots below its own. No sort
    and no concatenation: every column is written once, in place.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.mask = np.zeros(n, dtype=np.uint16)
        self.kinds: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray | None]] = []

    def add(
        self,
        ticket: np.ndarray,
        slot: int | np.ndarray,
        time: np.ndarray,
        event: str,
        component: int | np.ndarray,
        latency: np.ndarray | None = None,
    ) -> None:
        slots = np.broadcast_to(np.asarray(slot, dtype=np.uint16), ticket.shape)
        if np.ndim(slot) == 0:
            # one slot: each ticket appears at most once, so a plain fancy-index update is exact
            self.mask[ticket] |= np.uint16(1 << int(slot))
        else:
            np.bitwise_or.at(self.mask, ticket, np.left_shift(np.uint16(1), slots))
        comp = np.broadcast_to(np.asarray(component, dtype=np.int64), ticket.shape)
        self.kinds.append((ticket, slots, time, _E[event], comp, latency))

    def place(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(ticket, time, event, hop, component, latency) columns in ticket × slot order."""
        counts = np.bitwise_count(self.mask).astype(np.int64)
        offset = np.cumsum(counts) - counts
        m = int(counts.sum())
        time = np.empty(m)
        event = np.empty(m, dtype=np.uint8)
        hop = np.empty(m, dtype=np.int32)
        component = np.empty(m, dtype=np.uint32)
        latency = np.full(m, np.nan)
        one = np.uint16(1)
        for ticket, slots, t, e, comp, lat in self.kinds:
            below = self.mask[ticket] & (np.left_shift(one, slots) - one)
            rank = np.bitwise_count(below)
            pos = offset[ticket] + rank
            time[pos] = t
            event[pos] = e
            hop[pos] = rank
            component[pos] = comp
            if lat is not None:
                latency[pos] = lat
        ticket_col = np.repeat(np.arange(self.n, dtype=np.int64), counts)
        return ticket_col, time, event, hop, component, latency


def events(tickets: pl.DataFrame, legs: pl.DataFrame, vocab: Vocabulary) -> pl.DataFrame:
    """The events of one arm × replication (``tickets`` and ``legs`` of :func:`engine.simulate`).

    ``tickets`` must be in ticket order with ``ticket`` = row index (as the engine makes it).
    """
    t = tickets
    n = t.height
    rows = _Rows(n)
    component_enum = vocab.enum("component")
    comp = component_enum.categories.to_list()
    tid = np.arange(n, dtype=np.int64)
    arrival = t["arrival"].to_numpy()
    rows.add(tid, 0, arrival, "arrive", _codes(t["channel"], comp))
    bot_reply = t["bot_reply"].to_numpy().astype(np.float64)
    has_bot = ~np.isnan(bot_reply)
    if has_bot.any():
        idx = np.flatnonzero(has_bot)
        rows.add(idx, 1, arrival[idx], "bot", comp.index("bot"), bot_reply[idx] - arrival[idx])
        cont = np.flatnonzero(t["contained"].fill_null(False).to_numpy())
        rows.add(cont, 2, bot_reply[cont], "contained", comp.index("bot"))

    lg_ticket = legs["ticket"].to_numpy()
    leg_no = legs["leg"].to_numpy()
    queued = legs["queued"].to_numpy()
    dequeued = legs["dequeued"].to_numpy().astype(np.float64)
    start = legs["start"].to_numpy().astype(np.float64)
    end = legs["end"].to_numpy().astype(np.float64)
    first_legs_only = bool((leg_no == 1).all())
    base = np.array([0, _LEG_BASE[1], _LEG_BASE[2], _LEG_BASE[3]])[leg_no]

    def slot(idx: np.ndarray | slice, plus: int) -> int | np.ndarray:
        """The slot of a leg event: one number when every leg is a first contact."""
        return _LEG_BASE[1] + plus if first_legs_only else base[idx] + plus

    everything = slice(None)
    rows.add(lg_ticket, slot(everything, 0), queued, "queue", comp.index("queue"), dequeued - queued)
    ab = np.flatnonzero(np.isnan(start) & ~np.isnan(dequeued))
    rows.add(lg_ticket[ab], slot(ab, 1), dequeued[ab], "abandon", comp.index("queue"), dequeued[ab] - queued[ab])
    ans = np.flatnonzero(~np.isnan(start))
    agent = _codes(legs["agent"], comp)
    rows.add(lg_ticket[ans], slot(ans, 1), start[ans], "answer", agent[ans], end[ans] - start[ans])
    kb = legs["kb"]
    has_kb = np.flatnonzero(kb.is_not_null().to_numpy())
    if len(has_kb):
        fallback = kb.gather(has_kb).cast(pl.String).str.starts_with("fallback").to_numpy()
        component = np.where(fallback, comp.index("kb-fallback"), comp.index("kb"))
        rows.add(lg_ticket[has_kb], slot(has_kb, 2), start[has_kb], "kb", component,
                 legs["kb_latency"].to_numpy().astype(np.float64)[has_kb])
    transferred = t["transferred"].to_numpy()
    tr = np.flatnonzero((leg_no == 1) & ~np.isnan(end))
    tr = tr[transferred[lg_ticket[tr]]]
    rows.add(lg_ticket[tr], _LEG_BASE[1] + 3, end[tr], "transfer", agent[tr])
    esc = np.flatnonzero(leg_no == 3)
    handoff = t["handoff"].to_numpy().astype(np.float64)
    et = lg_ticket[esc]
    rows.add(et, _ESCALATE_SLOT, queued[esc] - handoff[et], "escalate", comp.index("handoff"), handoff[et])
    resolved_at = t["resolved_at"].to_numpy().astype(np.float64)
    res = np.flatnonzero(~np.isnan(resolved_at))
    # resolved by the bot, or by the agent of the ticket's last answered leg
    last_leg = np.full(n, -1, dtype=np.int64)
    if first_legs_only:
        last_leg[lg_ticket[ans]] = ans
    else:
        np.maximum.at(last_leg, lg_ticket[ans], ans)
    resolver = np.where(last_leg[res] >= 0, agent[np.maximum(last_leg[res], 0)], comp.index("bot"))
    rows.add(res, _RESOLVE_SLOT, resolved_at[res], "resolve", resolver)

    ticket, time, event, hop, component, latency = rows.place()
    m = len(ticket)
    arm_enum = vocab.enum("arm")
    arm = t["arm"].cast(pl.String)[0] if n else arm_enum.categories[0]
    replication = int(t["replication"][0]) if n else 0
    event_enum = vocab.enum("event")
    return pl.DataFrame(
        {
            "arm": pl.Series([arm], dtype=arm_enum).extend_constant(arm, m - 1) if m else pl.Series(dtype=arm_enum),
            "replication": pl.repeat(replication, m, dtype=pl.Int64, eager=True),
            "ticket": ticket,
            "session_id": t["session_id"].gather(ticket),
            "time": time,
            "event": pl.Series(list(EVENTS), dtype=event_enum).gather(event),
            "hop": hop,
            "component": pl.Series(comp, dtype=component_enum).gather(component),
            "latency": pl.Series(latency).fill_nan(None),
        }
    )
