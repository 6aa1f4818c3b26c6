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
class Workload:
    kind: str  # "generate" (replay comes later)
    channels: tuple[Channel, ...]
    intents: tuple[Intent, ...]
    #: never empty: a file without personas gets the single neutral :data:`DEFAULT_PERSONA`
    personas: tuple[Persona, ...] = (DEFAULT_PERSONA,)
    bursts: tuple[Burst, ...] = ()


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

    def concurrency_of(self, channel: str) -> int:
        return dict(self.concurrency).get(channel, 1)

    def max_agents(self) -> int:
        """The largest number of agents the pool ever has on shift."""
        if self.agents is not None:
            return self.agents
        from supportlab.staffing import schedule_steps  # local: avoids an import cycle

        return max((n for _, n in schedule_steps(self, 0.0, 86_400.0 * 2)), default=0)


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
