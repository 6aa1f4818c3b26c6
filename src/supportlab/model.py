"""The typed, immutable experiment: what :func:`supportlab.experiment.load_experiment` builds.

Every time is in seconds and every rate in arrivals per second. Optional parts that are left out
take neutral values (no bot, no KB, no escalation, no abandonment), so a file with one channel, one
intent with exponential handle time and one pool of c agents is exactly an M/M/c queue.

An :class:`Arm` carries its own fully resolved :class:`Scenario` (workload + system), built from the
control's raw TOML with the arm's ``set`` overrides applied and then validated like the control.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from supportlab.distributions import Dist

ROUTING_POLICIES = ("fifo", "skills", "longest-idle", "priority")


@dataclass(frozen=True)
class Channel:
    name: str
    #: 24 hour-of-day arrival rates (per second); a constant rate is 24 equal values.
    rates: tuple[float, ...]
    #: first-response target in seconds
    sla: float
    #: customer patience; None = customers never abandon
    patience: Dist | None = None
    #: added to the ticket's priority under ``routing = "priority"`` (higher is served first)
    priority: int = 0


@dataclass(frozen=True)
class Burst:
    start: float
    duration: float
    multiplier: float
    #: channel names; empty = all channels
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Intent:
    name: str
    share: float
    handle_time: Dist
    #: the skill an agent needs; defaults to the intent's name
    skill: str
    #: probability the ticket needs tier 2 after tier-1 handling
    escalation: float = 0.0
    #: tier-2 handle time; defaults to ``handle_time``
    tier2_handle_time: Dist | None = None
    priority: int = 0


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    patience_factor: float = 1.0
    #: -1 (hostile) .. 1 (delighted); shifts modelled satisfaction
    sentiment: float = 0.0
    priority: int = 0


DEFAULT_PERSONA = Persona(name="default", share=1.0)


@dataclass(frozen=True)
class Field:
    """Where one workload column comes from in a replayed log: a source column or a constant value.

    ``map`` renames raw values (raw → mapped, both strings); raw values not in ``map`` are kept as
    they are. ``default`` replaces an empty or missing cell (None: such a cell is a bad row).
    """

    column: str | None = None
    value: str | None = None
    map: tuple[tuple[str, str], ...] = ()
    default: str | None = None


@dataclass(frozen=True)
class ReplaySource:
    """How to read a ticket or call log into workload rows (``[workload.replay]``, see docs/REPLAY.md).

    Arrival time: either ``timestamp`` (one column, ``timestamp_format`` strftime, None = ISO 8601)
    or ``date`` (``date_format`` strftime, None = ISO ``%Y-%m-%d``) plus ``time`` (a time of day
    ``H:MM``, ``H:MM:SS`` or ``H:MM:SS.fff``, or a number of seconds since midnight; or ``time_format``).
    Durations (``handle_time``, ``queue_time``) are numbers of seconds.
    """

    #: absolute path of the log
    path: str
    #: "csv" | "tsv" | "parquet" | "jsonl"
    format: str
    timestamp: str | None = None
    timestamp_format: str | None = None
    date: str | None = None
    date_format: str | None = None
    time: str | None = None
    #: strftime of the time of day (e.g. "%I:%M %p"); None = ``H:MM[:SS[.fff]]`` or seconds since midnight
    time_format: str | None = None
    channel: Field = Field(value="default")
    intent: Field = Field(value="default")
    #: mapped values must be integers (higher = more urgent); None = priority 0 for every row
    priority: Field | None = None
    handle_time: str | None = None
    #: service times above this are truncated to it (None: kept as they are)
    handle_max: float | None = None
    queue_time: str | None = None
    #: the outcome column; None = every row was served
    outcome: str | None = None
    served: tuple[str, ...] = ()
    abandoned: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    agent: str | None = None
    #: agent cell values that mean "no agent" (the row keeps its outcome, the agent is null)
    agent_missing: tuple[str, ...] = ()
    #: extra drill-down segments: (segment name, source column)
    segments: tuple[tuple[str, str], ...] = ()
    #: rows matching every (column, raw value) pair of any rule are left out (counted per rule)
    exclude: tuple[tuple[tuple[str, str], ...], ...] = ()
    #: inclusive ISO dates ("1999-02-01", "1999-02-28"); None = every date
    dates: tuple[str, str] | None = None
    #: ISO weekdays kept (1 = Monday .. 7 = Sunday); empty = every day
    weekdays: tuple[int, ...] = ()
    #: time-of-day window [start, end) in seconds; None = the whole day
    hours: tuple[float, float] | None = None
    #: share of rows kept (a seeded Bernoulli sample, the same for every arm and replication)
    sample: float = 1.0
    sample_seed: int = 0


@dataclass(frozen=True)
class Replay:
    """A replayed workload: the log read once, plus what an arm may change about replaying it."""

    source: ReplaySource
    #: the log's arrival clock runs this many times faster (2 = the same day's traffic in half the time)
    time_scale: float = 1.0
    #: each logged ticket arrives this many times on average (2 = a surge that doubles the load)
    volume_scale: float = 1.0
    #: "kaplan-meier" | "exponential": how patience is estimated from abandoned and served waits
    patience: str = "kaplan-meier"
    #: width of the intervals over which ``staffing = "from-log"`` reads the agents from the log
    staffing_interval: float = 900.0
    #: "busy-when-queued" | "agents-seen" (see :mod:`supportlab.replay`)
    staffing_estimate: str = "busy-when-queued"
    #: the log as read (a :class:`supportlab.replay.ReplayLog`); not part of equality
    log: Any = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Workload:
    kind: str  # "generate" | "replay"
    channels: tuple[Channel, ...]
    intents: tuple[Intent, ...]
    #: never empty: a file without personas gets the single neutral :data:`DEFAULT_PERSONA`
    personas: tuple[Persona, ...] = (DEFAULT_PERSONA,)
    bursts: tuple[Burst, ...] = ()
    #: set when ``kind == "replay"``
    replay: Replay | None = None


@dataclass(frozen=True)
class Bot:
    #: channels the bot answers first; empty = all channels
    channels: tuple[str, ...]
    #: P(resolved by the bot) per intent name; intents not listed: 0
    containment: tuple[tuple[str, float], ...]
    #: P(the bot hands off to the right skill)
    triage_accuracy: float
    latency: Dist

    def containment_of(self, intent: str) -> float:
        return dict(self.containment).get(intent, 0.0)


@dataclass(frozen=True)
class Outage:
    start: float
    duration: float

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class KBFallback:
    hit_rate: float
    latency: Dist


@dataclass(frozen=True)
class KB:
    hit_rate: float
    latency: Dist
    #: share of handle time saved on a hit
    time_saved: float
    outages: tuple[Outage, ...] = ()
    #: backup KB used during outages; None = lookups fail during outages
    fallback: KBFallback | None = None
    #: time an agent loses on a failed lookup (outage without fallback)
    timeout: float = 10.0


@dataclass(frozen=True)
class Shift:
    start: float
    end: float
    agents: int


@dataclass(frozen=True)
class Pool:
    name: str
    skills: tuple[str, ...]
    tier: int = 1
    #: constant staffing; None when ``shifts`` is given
    agents: int | None = None
    #: a one-day schedule that repeats every 24 h; ``end`` may pass 24 h for overnight shifts
    shifts: tuple[Shift, ...] = ()
    #: simultaneous tickets per agent by channel name; channels not listed: 1
    concurrency: tuple[tuple[str, int], ...] = ()
    #: "from-log": staffed as the replayed log shows (``schedule``); "" otherwise
    staffing: str = ""
    #: an absolute, non-repeating schedule ``((t0, n0), (t1, n1), ...)``: n_k agents on [t_k, t_k+1), the
    #: last level holding on; before t0 no agent. Set for ``staffing = "from-log"``.
    schedule: tuple[tuple[float, int], ...] = ()
    #: one-day shifts (repeating every 24 h) added on top of any of the above, e.g. two more agents at peak;
    #: on a ``schedule`` only while it has someone on (see :func:`supportlab.staffing.agents_at`)
    extra_shifts: tuple[Shift, ...] = ()

    def concurrency_of(self, channel: str) -> int:
        return dict(self.concurrency).get(channel, 1)

    def max_agents(self) -> int:
        """The largest number of agents the pool ever has on shift."""
        from supportlab.staffing import max_agents  # local: avoids an import cycle

        return max_agents(self)


@dataclass(frozen=True)
class Escalation:
    handoff_latency: Dist
    #: P(context survives the handoff); a loss adds rework
    context_preserved: float = 1.0
    #: extra share of tier-2 handle time after a context loss
    rework: float = 0.0


@dataclass(frozen=True)
class System:
    routing: str
    pools: tuple[Pool, ...]
    bot: Bot | None = None
    kb: KB | None = None
    escalation: Escalation | None = None
    #: time an agent without the ticket's skill spends before transferring it
    transfer_time: Dist = field(default_factory=lambda: Dist("fixed", value=60.0))
    #: under ``routing = "priority"``: None = strict priority; else a priority level counts as this many
    #: seconds of waiting (queue order ``queued - priority × head_start``)
    priority_head_start: float | None = None


@dataclass(frozen=True)
class Scenario:
    """What one arm simulates."""

    workload: Workload
    system: System


@dataclass(frozen=True)
class Arm:
    name: str
    #: the arm's overrides as (dotted path, value as written); empty for control
    changes: tuple[tuple[str, Any], ...]
    scenario: Scenario
    allow_multi: bool = False


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: str  # "decrease" | "increase"
    min_effect: float | None = None
    min_effect_abs: float | None = None
    alpha: float = 0.05


@dataclass(frozen=True)
class Guardrail:
    metric: str
    max_degradation: float | None = None
    max_degradation_abs: float | None = None


@dataclass(frozen=True)
class Expectation:
    metric: str
    min: float | None = None
    max: float | None = None
    arm: str = "control"
    #: relative form: the arm's value within this share of arm ``of``'s (e.g. 0.15 of "observed")
    within: float | None = None
    of: str | None = None


@dataclass(frozen=True)
class Limits:
    max_tickets: int | None = None
    max_wall_time: float | None = None


@dataclass(frozen=True)
class Experiment:
    #: the file it was loaded from (as given)
    path: str
    name: str
    seed: int
    replications: int
    #: simulated time of arrivals per replication; None when ``tickets`` is given instead
    horizon: float | None
    #: number of tickets per replication; None when ``horizon`` is given
    tickets: int | None
    warmup: float
    crn: bool
    #: control first, then the variants in file order
    arms: tuple[Arm, ...]
    description: str = ""
    hypothesis: str = ""
    objective: Objective | None = None
    guardrails: tuple[Guardrail, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    limits: Limits = Limits()
    #: the resolved raw document (defaults filled, CLI overrides applied) that ``tomli_w`` can write
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    #: sha256 of the experiment file's bytes
    sha256: str = ""
    #: input files the experiment reads (empirical distributions): path → sha256
    inputs: tuple[tuple[str, str], ...] = ()

    @property
    def control(self) -> Arm:
        return self.arms[0]

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(name)
