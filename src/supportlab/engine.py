"""The discrete-event simulator of a support workflow.

One call simulates one arm × replication of a workload table (every random draw already made) and
returns the tickets table and the legs table of docs/ARCHITECTURE.md.

The model, in the order a ticket meets it:

* **Bot** (channels it covers): replies after its latency (the first response); resolves the ticket
  with the intent's containment probability, else hands it off to the skill its triage picked
  (right with ``triage_accuracy``, else one of the other tier-1 skills).
* **Agent queues**: first contacts wait in a queue per routed skill (``routing = "fifo"``: one queue
  for everything). A customer whose patience runs out before an agent answers abandons.
* **Routing policies**: ``skills`` – the most specialised tier-1 pool with a free agent, the
  longest-idle agent in it, queues served oldest first; ``longest-idle`` – the longest-idle eligible
  agent of any pool; ``priority`` – as ``skills`` but waiting tickets are served highest priority
  first (with ``priority_head_start`` h: in order of ``queued - priority × h``, so a priority level is
  worth h seconds of waiting, as a bank that moves its premium customers 1.5 minutes ahead);
  ``fifo`` – one queue, any free tier-1 agent, skills ignored.
* **Agents** hold several tickets at once where a pool's ``concurrency`` allows (a ticket takes
  ``1 / concurrency`` of an agent). Shift schedules add and remove agents; a leaving agent finishes
  its tickets first.
* **Handling**: an agent without the ticket's skill spends ``transfer_time`` and transfers it to the
  right skill's queue (no abandonment there). Otherwise the agent looks the ticket up in the KB
  (``hit_rate``, latency, ``time_saved`` on a hit; during an outage the fallback KB, or a failed lookup
  costing ``timeout``) and handles it.
* **Escalation**: after tier-1 handling a ticket of an escalating intent is handed to the tier-2
  queue of its skill after the handoff latency; a lost context adds ``rework`` to tier-2 handle time.
* **Satisfaction** (``csat``, 1-5): 4.5 + 0.5·sentiment, less up to 1.5 for a slow first response
  (linear up to four times the channel SLA), 0.6 when not resolved at first contact, 0.4 for a lost
  context, 0.3 for a transfer, plus normal noise (sd 0.4); abandoned or unserved: 1.5 + 0.5·sentiment
  plus noise; clipped to [1, 5].

With no bot, KB, escalation or patience, one channel, one intent and one pool, this is an M/M/c
queue when arrivals and handle times are exponential, and M/M/c+M with exponential patience.
"""

from __future__ import annotations

import heapq
import math
import time
from array import array
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from supportlab.errors import LimitExceeded
from supportlab.model import Scenario
from supportlab.staffing import agents_at, next_change
from supportlab.vocab import Vocabulary
from supportlab.workload import skill_names

# event kinds on the heap
_END, _ABANDON, _ENTER2, _SHIFT = 0, 1, 2, 3
# leg kinds
_LEG_FIRST, _LEG_AFTER_TRANSFER, _LEG_TIER2 = 1, 2, 3
# outcomes: indexes into vocab.OUTCOMES
_UNSERVED, _BOT, _RESOLVED, _ABANDONED = 0, 1, 2, 3
# KB lookup results: 0 = none, else 1 + the index into vocab.KB_RESULTS
_KB_NONE, _KB_HIT, _KB_MISS, _KB_FB_HIT, _KB_FB_MISS, _KB_FAILED = range(6)
_EPS = 1e-9
_CHECK_EVERY = 65_536


@dataclass(frozen=True)
class SimResult:
    tickets: pl.DataFrame
    legs: pl.DataFrame


#: a per-ticket column: ``array.array`` while the event loop fills it, a numpy array when the
#: recursion makes it whole; readers only use the buffer protocol (``np.frombuffer``)
Column = Any


class _Legs:
    """Per-ticket arrays of one leg kind (first contact, after transfer, tier 2)."""

    queued: Column
    dequeued: Column
    start: Column
    end: Column
    pool: Column
    agent: Column
    kb: Column
    kb_latency: Column

    @classmethod
    def of(cls, **arrays: np.ndarray) -> _Legs:
        """Legs from whole numpy arrays (the single-queue recursion); KB fields stay empty."""
        legs = cls.__new__(cls)
        for k, v in arrays.items():
            setattr(legs, k, v)
        n = len(arrays["queued"])
        legs.kb = np.zeros(n, dtype=np.int8)
        legs.kb_latency = np.full(n, np.nan)
        return legs

    def __init__(self, n: int) -> None:
        nan = array("d", [math.nan]) * n
        self.queued = nan
        self.dequeued = array("d", nan)
        self.start = array("d", nan)
        self.end = array("d", nan)
        self.pool = array("i", [-1]) * n
        self.agent = array("i", [-1]) * n
        self.kb = array("b", [_KB_NONE]) * n
        self.kb_latency = array("d", nan)


def simulate(
    scenario: Scenario,
    workload: pl.DataFrame,
    *,
    arm: str,
    replication: int,
    window: tuple[float, float],
    vocab: Vocabulary | None = None,
    deadline: float | None = None,
    _force_event_loop: bool = False,
) -> SimResult:
    """Simulate one arm × replication of ``workload``.

    ``window`` is the measurement window [warmup, end of arrivals): tickets arriving in it are
    ``measured``. ``vocab`` fixes the categories of the name columns (by default: this arm's names;
    the runner passes the experiment's, so all arms share one set). ``deadline`` is a ``time.time()``
    after which the run stops with :class:`LimitExceeded`.
    """
    from supportlab.outcomes import build_tables

    sim = _Simulator(scenario, workload, deadline)
    if sim.single_queue() and not _force_event_loop:
        sim.run_single_queue()
    else:
        sim.run()
    vocab = vocab or Vocabulary.of_scenarios([arm], [scenario])
    return build_tables(sim, arm=arm, replication=replication, window=window, vocab=vocab)


class _Simulator:
    def __init__(self, scenario: Scenario, wl: pl.DataFrame, deadline: float | None) -> None:
        self.scenario = scenario
        self.wl = wl
        self.deadline = deadline
        sysm = scenario.system
        self.n = wl.height
        self.skills = skill_names(scenario)
        self.routing = sysm.routing
        #: None: strict priority; else a priority level is worth this many seconds of waiting
        self.head_start = sysm.priority_head_start
        channels = [c.name for c in scenario.workload.channels]

        # --- pools and agents -------------------------------------------------------------------
        self.pools = sysm.pools
        self.pool_of: list[int] = []
        self.agent_names: list[str] = []
        self.pool_agents: list[list[int]] = []
        for p_idx, p in enumerate(sysm.pools):
            ids = []
            for k in range(p.max_agents()):
                ids.append(len(self.pool_of))
                self.pool_of.append(p_idx)
                self.agent_names.append(f"{p.name}-{k + 1}")
            self.pool_agents.append(ids)
        n_agents = len(self.pool_of)
        self.load = [0.0] * n_agents
        self.active = [False] * n_agents
        self.leaving = [False] * n_agents
        self.idle_since = [0.0] * n_agents
        # a pool is "multi" when some channel lets its agents hold several tickets
        self.multi = [any(c > 1 for _, c in p.concurrency) for p in sysm.pools]
        # load a ticket of channel c puts on an agent of pool p
        self.load_of = [[1.0 / p.concurrency_of(ch) for ch in channels] for p in sysm.pools]
        self.idle: list[deque[int]] = [deque() for _ in sysm.pools]
        # skill codes each pool has
        self.pool_skills = [{self.skills.index(s) for s in p.skills} for p in sysm.pools]

        # --- queues: key 0..S-1 = first contact by skill, S..2S-1 = tier 2 by skill, 2S = fifo ---------
        s_count = len(self.skills)
        self.fifo_key = 2 * s_count
        self.queues: list[deque[int] | list[tuple[float, float, int]]] = []
        prio = self.routing == "priority"
        for _ in range(2 * s_count + 1):
            self.queues.append([] if prio else deque())
        # pools serving each key, in preference order; keys each pool serves
        tier1 = [i for i, p in enumerate(sysm.pools) if p.tier == 1]
        tier2 = [i for i, p in enumerate(sysm.pools) if p.tier >= 2]

        def by_specialism(ids: list[int]) -> list[int]:
            return sorted(ids, key=lambda i: (len(sysm.pools[i].skills), i))

        self.key_pools: list[list[int]] = []
        for s in range(s_count):
            self.key_pools.append(by_specialism([i for i in tier1 if s in self.pool_skills[i]]))
        for s in range(s_count):
            self.key_pools.append(by_specialism([i for i in tier2 if s in self.pool_skills[i]]))
        self.key_pools.append(list(tier1))
        self.pool_keys: list[list[int]] = [[] for _ in sysm.pools]
        # under fifo, first contacts use the one queue but transfers still use the skill queues
        for key, pools in enumerate(self.key_pools):
            if key == self.fifo_key and self.routing != "fifo":
                continue
            for p_idx in pools:
                self.pool_keys[p_idx].append(key)

        # --- outputs ------------------------------------------------------------------------------
        # per-ticket outputs: made by run() (see _load_inputs) or run_single_queue()
        self.legs: dict[int, _Legs] = {}
        self.outcome: Column = None
        self.resolved_at: Column = None
        self.abandoned_at: Column = None
        self.transferred: Column = None

        # --- KB ------------------------------------------------------------------------------------
        kb = sysm.kb
        self.kb = kb
        self.outages = [(w.start, w.end) for w in kb.outages] if kb else []

        esc = sysm.escalation
        self.rework = esc.rework if esc is not None else 0.0

        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0
        self.now = 0.0
        self.in_system = 0

    def _load_inputs(self) -> None:
        """Per-ticket inputs of the general engine as Python lists (fast scalar access)."""
        wl = self.wl
        n = self.n
        self.legs = {leg: _Legs(n) for leg in (_LEG_FIRST, _LEG_AFTER_TRANSFER, _LEG_TIER2)}
        self.waiting = bytearray(n)  # 1 while the ticket sits in a queue
        self.waiting_leg = bytearray(n)
        self.outcome = array("b", [_UNSERVED]) * n
        self.resolved_at = array("d", [math.nan]) * n
        self.abandoned_at = array("d", [math.nan]) * n
        self.transferred = bytearray(n)
        self.channel = wl["channel"].to_physical().to_list()
        self.intent = wl["intent"].to_physical().to_list()
        self.priority = wl["priority"].to_list()
        self.handle = wl["handle"].to_list()
        self.patience = wl["patience"].to_list()
        self.kb_u = wl["kb_u"].to_list()
        self.kb_latency = wl["kb_latency"].to_list()
        self.kb_fb_latency = wl["kb_fallback_latency"].to_list()
        self.escalate = wl["escalate"].to_list()
        self.handoff = wl["handoff"].to_list()
        self.context_lost = wl["context_lost"].to_list()
        self.tier2 = wl["tier2_handle"].to_list()
        self.transfer_time = wl["transfer_time"].to_list()
        skill_of_intent = [self.skills.index(i.skill) for i in self.scenario.workload.intents]
        self.true_skill = [skill_of_intent[k] for k in self.intent]

    def single_queue(self) -> bool:
        """True when the workflow is one FCFS queue in front of one pool of interchangeable agents.

        That is: one pool, constant staffing, one ticket per agent, no bot, KB or escalation, every
        intent's skill in the pool and no priorities. Such a system is fully described by the
        multi-server FCFS recursion of :meth:`run_single_queue`, which gives the same tickets, agents
        and times as the event loop (the tests check they agree exactly) in a fraction of the time.
        """
        sysm = self.scenario.system
        wl = self.scenario.workload
        if len(sysm.pools) != 1 or sysm.bot is not None or sysm.kb is not None:
            return False
        pool = sysm.pools[0]
        return (
            pool.agents is not None
            and not pool.extra_shifts
            and not self.multi[0]
            and all(i.escalation == 0 and i.skill in pool.skills for i in wl.intents)
            and (sysm.routing != "priority" or len({int(x) for x in self.wl["priority"].unique()}) <= 1)
        )

    def run_single_queue(self) -> None:
        """Kiefer-Wolfowitz recursion for FCFS c-server queues with abandonment.

        Customer i (in order of arrival) is served by the agent that frees first; it starts at
        ``max(arrival, free time)`` unless that wait exceeds its patience, in which case it abandons
        at ``arrival + patience`` and leaves the agents as they were. Ties between agents free at the
        same time go to the one idle longest (the same order the event loop's idle queue keeps).
        """
        wl = self.wl
        n = self.n
        arrival_np = wl["arrival"].to_numpy()
        patience_np = wl["patience"].to_numpy()
        # array('d') hands out Python floats on access without keeping a million of them alive
        arrival = array("d", arrival_np.tobytes())
        handle = array("d", wl["handle"].to_numpy().tobytes())
        start = array("d", bytes(8 * n))
        agent = array("i", bytes(4 * n))
        c = len(self.pool_agents[0])
        # heap of (time the agent is free, tie-break, agent): ties go to the agent free longest, then
        # to the lower index, exactly as the event loop's idle queue orders them
        heap = [(0.0, k - c, a) for k, a in enumerate(self.pool_agents[0])]
        replace = heapq.heapreplace
        abandon = not np.isinf(patience_np).all()
        patience = array("d", patience_np.tobytes()) if abandon else None
        for lo in range(0, n, _CHECK_EVERY):
            if self.deadline is not None and time.time() > self.deadline:
                raise LimitExceeded("max_wall_time", "the run passed [limits] max_wall_time")
            hi = min(n, lo + _CHECK_EVERY)
            if patience is None:
                for i in range(lo, hi):
                    t = arrival[i]
                    free, _, a = heap[0]
                    if free > t:
                        t = free
                    replace(heap, (t + handle[i], i, a))
                    start[i] = t
                    agent[i] = a
            else:
                for i in range(lo, hi):
                    t = arrival[i]
                    free, _, a = heap[0]
                    if free > t:
                        if free - t > patience[i]:
                            start[i] = math.nan
                            agent[i] = -1
                            continue
                        t = free
                    replace(heap, (t + handle[i], i, a))
                    start[i] = t
                    agent[i] = a
        # everything else follows from the start times, vectorised
        start_np = np.frombuffer(start, dtype=np.float64)
        agent_np = np.frombuffer(agent, dtype=np.int32)
        gone = np.isnan(start_np)
        left = np.where(gone, arrival_np + patience_np, np.nan)
        end = start_np + wl["handle"].to_numpy()
        self.legs[_LEG_FIRST] = _Legs.of(
            queued=arrival_np,
            dequeued=np.where(gone, left, start_np),
            start=start_np,
            end=end,
            pool=np.where(gone, -1, 0).astype(np.int32),
            agent=agent_np,
        )
        self.outcome = np.where(gone, _ABANDONED, _RESOLVED).astype(np.int8)
        self.resolved_at = end
        self.abandoned_at = left
        self.transferred = np.zeros(n, dtype=np.uint8)

    # ------------------------------------------------------------------------------------------------
    def push(self, t: float, kind: int, a: int, b: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, a, b))

    def run(self) -> None:
        self._load_inputs()
        wl = self.wl
        contained = wl["contained"].to_numpy()
        bot_latency = wl["bot_latency"].to_numpy()
        arrival = wl["arrival"].to_numpy()
        entry = np.where(np.isnan(bot_latency), arrival, arrival + np.nan_to_num(bot_latency))
        self.last_entry = float(entry.max()) if len(entry) else 0.0
        # contained tickets are resolved by the bot and never reach an agent
        cont_idx = np.flatnonzero(contained)
        for i, t in zip(cont_idx.tolist(), (arrival + bot_latency)[cont_idx].tolist(), strict=True):
            self.outcome[i] = _BOT
            self.resolved_at[i] = t
        to_agents = np.flatnonzero(~contained)
        order = to_agents[np.argsort(entry[to_agents], kind="stable")]
        entry_i = order.tolist()
        entry_t = entry[order].tolist()
        routed = wl["routed_skill"].to_physical().to_list()
        fifo = self.routing == "fifo"

        # staffing: start every pool at its level at t = 0, then follow the schedule
        for p_idx, pool in enumerate(self.pools):
            self._staff(p_idx, agents_at(pool, 0.0))
            self._schedule_next_shift(p_idx, 0.0)

        heap = self.heap
        pop = heapq.heappop
        n_entries = len(entry_i)
        e = 0
        count = 0
        deadline = self.deadline
        inf = math.inf
        while True:
            count += 1
            if deadline is not None and count % _CHECK_EVERY == 0 and time.time() > deadline:
                raise LimitExceeded("max_wall_time", "the run passed [limits] max_wall_time")
            next_entry = entry_t[e] if e < n_entries else inf
            if heap and heap[0][0] <= next_entry:
                t, _, kind, a, b = pop(heap)
                self.now = t
                if kind == _END:
                    self._end(a, b, t)
                elif kind == _ABANDON:
                    self._abandon(b, t)
                elif kind == _ENTER2:
                    self._enter(b, self.true_skill[b] + len(self.skills), _LEG_TIER2, t, inf)
                else:
                    self._shift(a, b, t)
            elif e < n_entries:
                i = entry_i[e]
                e += 1
                self.now = next_entry
                self.in_system += 1
                key = self.fifo_key if fifo else routed[i]
                self._enter(i, key, _LEG_FIRST, next_entry, self.patience[i])
            else:
                break

    # ------------------------------------------------------------------------------------------------
    def _enter(self, i: int, key: int, leg: int, t: float, patience: float) -> None:
        """Ticket ``i`` joins queue ``key`` for ``leg`` at time ``t``: served at once or waits."""
        lg = self.legs[leg]
        lg.queued[i] = t
        agent = self._free_agent(key, self.channel[i])
        if agent >= 0:
            p = self.pool_of[agent]
            if not self.multi[p]:
                self.idle[p].popleft()  # _free_agent returns the head of a pool's idle deque
            lg.dequeued[i] = t
            self._start(agent, i, leg, t)
            return
        self.waiting[i] = 1
        self.waiting_leg[i] = leg
        q = self.queues[key]
        if isinstance(q, deque):
            q.append(i)
        else:
            heapq.heappush(q, (self._rank(i, t), t, i))
        if patience < math.inf:
            self.push(t + patience, _ABANDON, -1, i)

    def _rank(self, i: int, queued: float) -> float:
        """Order of a waiting ticket under ``priority`` routing (lower is served first)."""
        if self.head_start is None:
            return -self.priority[i]
        return queued - self.priority[i] * self.head_start

    def _free_agent(self, key: int, ch: int) -> int:
        """A free agent of a pool serving ``key`` that can take a ticket of channel ``ch``, else -1."""
        pools = self.key_pools[key]
        if self.routing == "longest-idle" or key == self.fifo_key:
            best, best_t = -1, math.inf
            for p in pools:
                a = self._available_in(p, ch)
                if a >= 0 and self.idle_since[a] < best_t:
                    best, best_t = a, self.idle_since[a]
            return best
        for p in pools:
            a = self._available_in(p, ch)
            if a >= 0:
                return a
        return -1

    def _available_in(self, p: int, ch: int) -> int:
        if not self.multi[p]:
            idle = self.idle[p]
            return idle[0] if idle else -1
        need = self.load_of[p][ch]
        best, best_load = -1, math.inf
        load = self.load
        for a in self.pool_agents[p]:
            if self.active[a] and not self.leaving[a] and load[a] + need <= 1 + _EPS and load[a] < best_load:
                best, best_load = a, load[a]
        return best

    def _start(self, a: int, i: int, leg: int, t: float) -> None:
        """Agent ``a`` (already out of its pool's idle deque) answers ticket ``i`` at ``t``."""
        p = self.pool_of[a]
        self.load[a] += self.load_of[p][self.channel[i]]
        lg = self.legs[leg]
        lg.start[i] = t
        lg.pool[i] = p
        lg.agent[i] = a
        if leg == _LEG_FIRST and self.true_skill[i] not in self.pool_skills[p]:
            self.transferred[i] = 1
            duration = self.transfer_time[i]
        else:
            if leg == _LEG_TIER2:
                duration = self.tier2[i] * (1.0 + self.rework) if self.context_lost[i] else self.tier2[i]
            else:
                duration = self.handle[i]
            if self.kb is not None:
                duration = self._kb_lookup(lg, i, t, duration)
        self.push(t + duration, _END, a, i * 4 + leg)

    def _kb_lookup(self, lg: _Legs, i: int, t: float, base: float) -> float:
        kb = self.kb
        assert kb is not None
        down = any(s <= t < e for s, e in self.outages)
        if not down:
            hit = self.kb_u[i] < kb.hit_rate
            latency = self.kb_latency[i]
            result = _KB_HIT if hit else _KB_MISS
        elif kb.fallback is not None:
            hit = self.kb_u[i] < kb.fallback.hit_rate
            latency = self.kb_fb_latency[i]
            result = _KB_FB_HIT if hit else _KB_FB_MISS
        else:
            hit = False
            latency = kb.timeout
            result = _KB_FAILED
        lg.kb[i] = result
        lg.kb_latency[i] = latency
        return base * (1.0 - kb.time_saved if hit else 1.0) + latency

    def _end(self, a: int, code: int, t: float) -> None:
        i, leg = divmod(code, 4)
        p = self.pool_of[a]
        self.legs[leg].end[i] = t
        self.load[a] -= self.load_of[p][self.channel[i]]
        if self.load[a] < _EPS:
            self.load[a] = 0.0
        # what happens to the ticket next
        if leg == _LEG_FIRST and self.transferred[i]:
            self._enter(i, self.true_skill[i], _LEG_AFTER_TRANSFER, t, math.inf)
        elif leg != _LEG_TIER2 and self.escalate[i]:
            self.push(t + self.handoff[i], _ENTER2, -1, i)
        else:
            self.outcome[i] = _RESOLVED
            self.resolved_at[i] = t
            self.in_system -= 1
        # what the agent does next
        if self.leaving[a]:
            if self.load[a] == 0.0:
                self.leaving[a] = False
                self.active[a] = False
            return
        self._pull(a, t)

    def _pull(self, a: int, t: float) -> None:
        """Agent ``a`` (not in the idle deque) takes waiting tickets while it has room, else goes idle."""
        p = self.pool_of[a]
        multi = self.multi[p]
        prio = self.routing == "priority"
        while True:
            best_key, best = -1, None
            for key in self.pool_keys[p]:
                head = self._head(key)
                if head is None:
                    continue
                queued = self.legs[self.waiting_leg[head]].queued[head]
                cand = (self._rank(head, queued) if prio else 0.0, queued, head)
                if best is None or cand < best:
                    best_key, best = key, cand
            if best is None:
                break
            i = best[2]
            if self.load[a] + self.load_of[p][self.channel[i]] > 1 + _EPS:
                break
            self._pop(best_key)
            self.waiting[i] = 0
            leg = self.waiting_leg[i]
            self.legs[leg].dequeued[i] = t
            self._start(a, i, leg, t)
            if not multi:
                return
        if self.load[a] == 0.0:
            self.idle_since[a] = t
            if not multi:
                self.idle[p].append(a)

    def _head(self, key: int) -> int | None:
        q = self.queues[key]
        waiting = self.waiting
        if isinstance(q, deque):
            while q and not waiting[q[0]]:
                q.popleft()
            return q[0] if q else None
        while q and not waiting[q[0][2]]:
            heapq.heappop(q)
        return q[0][2] if q else None

    def _pop(self, key: int) -> None:
        q = self.queues[key]
        if isinstance(q, deque):
            q.popleft()
        else:
            heapq.heappop(q)

    def _abandon(self, i: int, t: float) -> None:
        if not self.waiting[i] or self.waiting_leg[i] != _LEG_FIRST:
            return
        self.waiting[i] = 0
        self.legs[_LEG_FIRST].dequeued[i] = t
        self.abandoned_at[i] = t
        self.outcome[i] = _ABANDONED
        self.in_system -= 1

    # --- shifts -------------------------------------------------------------------------------------
    def _schedule_next_shift(self, p: int, t: float) -> None:
        change = next_change(self.pools[p], t)
        if change is not None:
            self.push(change[0], _SHIFT, p, change[1])

    def _shift(self, p: int, n_agents: int, t: float) -> None:
        for a in self._staff(p, n_agents):
            if not self.multi[p]:
                self.idle[p].remove(a)
            self._pull(a, t)
        if self.in_system > 0 or self.now < self.last_entry:
            self._schedule_next_shift(p, t)

    def _staff(self, p: int, n_agents: int) -> list[int]:
        """Bring pool ``p`` to ``n_agents`` on shift; returns the agents that came on (idle).

        When the level drops, idle agents leave first (most recently idle first) and busy ones are
        marked to leave when their tickets are done.
        """
        agents = self.pool_agents[p]
        on = [a for a in agents if self.active[a] and not self.leaving[a]]
        came: list[int] = []
        if n_agents > len(on):
            need = n_agents - len(on)
            for a in agents:
                if need and self.active[a] and self.leaving[a]:
                    self.leaving[a] = False
                    need -= 1
            for a in agents:
                if need and not self.active[a]:
                    self.active[a] = True
                    self.load[a] = 0.0
                    self.idle_since[a] = self.now
                    if not self.multi[p]:
                        self.idle[p].append(a)
                    came.append(a)
                    need -= 1
        elif n_agents < len(on):
            extra = len(on) - n_agents
            for a in sorted(on, key=lambda a: (self.load[a] > 0, -self.idle_since[a], a)):
                if extra == 0:
                    break
                if self.load[a] == 0.0:
                    self.active[a] = False
                    if not self.multi[p]:
                        self.idle[p].remove(a)
                else:
                    self.leaving[a] = True
                extra -= 1
        return came
