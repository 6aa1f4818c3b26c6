"""The experiment-wide vocabularies of the output tables' categorical columns.

Names that repeat on every row (arm, channel, intent, persona, pool, agent, outcome, event, ...) are
stored as ``polars.Enum`` columns: a small integer per row and the names once. The categories are
fixed by the experiment file alone (the union over all arms, in first-seen order), so every arm ×
replication, whichever worker process made it, builds the very same column types, tables concatenate
without recasting, and the parquet files are byte-identical for any number of workers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import polars as pl

from supportlab.model import Experiment, Scenario

OUTCOMES = ("unserved", "bot", "resolved", "abandoned")
KB_RESULTS = ("hit", "miss", "fallback-hit", "fallback-miss", "failed")
EVENTS = ("arrive", "bot", "contained", "queue", "abandon", "answer", "kb", "transfer", "escalate", "resolve")
COMPONENTS = ("bot", "queue", "kb", "kb-fallback", "handoff")


def _union(groups: list[list[str]]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for g in groups:
        for name in g:
            if name not in seen:
                seen.add(name)
                out.append(name)
    return out


def agent_names(scenario: Scenario) -> list[str]:
    """``<pool>-<k>`` for every agent a pool ever has on shift, pool by pool."""
    return [f"{p.name}-{k + 1}" for p in scenario.system.pools for k in range(p.max_agents())]


@dataclass(frozen=True)
class Vocabulary:
    arms: tuple[str, ...]
    channels: tuple[str, ...]
    intents: tuple[str, ...]
    personas: tuple[str, ...]
    skills: tuple[str, ...]
    pools: tuple[str, ...]
    agents: tuple[str, ...]

    @classmethod
    def of_scenarios(cls, arms: list[str], scenarios: list[Scenario]) -> Vocabulary:
        from supportlab.workload import skill_names

        return cls(
            arms=tuple(arms),
            channels=tuple(_union([[c.name for c in s.workload.channels] for s in scenarios])),
            intents=tuple(_union([[i.name for i in s.workload.intents] for s in scenarios])),
            personas=tuple(_union([[p.name for p in s.workload.personas] for s in scenarios])),
            skills=tuple(_union([skill_names(s) for s in scenarios])),
            pools=tuple(_union([[p.name for p in s.system.pools] for s in scenarios])),
            agents=tuple(_union([agent_names(s) for s in scenarios])),
        )

    @classmethod
    def of(cls, exp: Experiment) -> Vocabulary:
        """The experiment's names; a replay adds the ``observed`` arm and the log's agent names."""
        from supportlab import observed

        vocab = cls.of_scenarios([a.name for a in exp.arms], [a.scenario for a in exp.arms])
        control = exp.control.scenario
        if not observed.comparable(control):
            return vocab
        return dataclasses.replace(vocab, arms=(*vocab.arms, observed.ARM),
                                   agents=tuple(_union([list(vocab.agents), observed.log_agents(control)])))

    def enum(self, kind: str) -> pl.Enum:
        """The Enum type of a column kind: arm, channel, intent, persona, skill, pool, agent, outcome,
        kb, event or component (channels, the fixed components, then agents)."""
        cats = {
            "arm": self.arms,
            "channel": self.channels,
            "intent": self.intents,
            "persona": self.personas,
            "skill": self.skills,
            "pool": self.pools,
            "agent": self.agents,
            "outcome": OUTCOMES,
            "kb": KB_RESULTS,
            "event": EVENTS,
            "component": _union([list(self.channels), list(COMPONENTS), list(self.agents)]),
        }[kind]
        return pl.Enum(list(cats))
