"""Power analysis: how many replications the objective needs to detect ``min_effect``.

``plan`` runs a short pilot of the experiment (a few replications, nothing written), measures how
much the objective varies between replications — the spread of the paired differences under common
random numbers, of the control values otherwise — and asks the paired (or Welch) t test how many
replications give it the wanted power at ``alpha`` for the experiment's minimum effect.
"""

from __future__ import annotations

import statistics as st
from dataclasses import dataclass

import polars as pl

from supportlab import stats
from supportlab.errors import ConfigError, UsageError
from supportlab.experiment import load_experiment
from supportlab.runner import Progress, run_experiment


@dataclass(frozen=True)
class VariantPlan:
    arm: str
    pilot_control: float
    pilot_variant: float
    pilot_sd: float  # SD of the paired differences (CRN) or of the control values
    effect: float  # the absolute effect to detect, in the metric's unit
    replications: int


@dataclass(frozen=True)
class Plan:
    experiment: str
    metric: str
    alpha: float
    power: float
    pilot: int
    paired: bool
    current: int
    variants: list[VariantPlan]

    def to_json(self) -> dict[str, object]:
        return {
            "experiment": self.experiment,
            "metric": self.metric,
            "alpha": self.alpha,
            "power": self.power,
            "pilot_replications": self.pilot,
            "paired": self.paired,
            "replications_in_file": self.current,
            "variants": [v.__dict__ for v in self.variants],
            "replications_needed": max((v.replications for v in self.variants), default=None),
        }


def plan(path: str, *, pilot: int = 5, power: float = 0.8, workers: int | None = None,
         progress: Progress | None = None) -> Plan:  # fmt: skip
    if pilot < 2:
        raise UsageError(f"--pilot: {pilot} is too few replications, expected an integer >= 2")
    if not 0 < power < 1:
        raise UsageError(f"--power: {power:g} is not a probability, expected a number between 0 and 1")
    exp = load_experiment(path, replications=pilot)
    if exp.objective is None:
        raise ConfigError(f"{path}: objective: missing, expected an [objective] table to plan for")
    if len(exp.arms) < 2:
        raise ConfigError(f"{path}: arms: only control, expected a variant arm to plan for")
    obj = exp.objective
    out = run_experiment(exp, workers=workers, progress=progress)
    if out.status != "complete":
        raise UsageError(f"the pilot stopped at a [limits] value ({out.limit}); raise the limit or lower --pilot")
    m = out.metrics.filter((pl.col("segment") == "all") & (pl.col("metric") == obj.metric)).sort("replication")
    values = {a: m.filter(pl.col("arm") == a)["value"].to_list() for a in [a.name for a in exp.arms]}
    control = values[exp.control.name]
    plans = []
    for arm in exp.arms[1:]:
        variant = values[arm.name]
        mean_c = st.fmean(control)
        effect = obj.min_effect_abs if obj.min_effect_abs is not None else (obj.min_effect or 0.0) * abs(mean_c)
        if effect <= 0:
            raise ConfigError(f"{path}: objective.min_effect: 0, expected a positive minimum effect to plan for")
        n = stats.replications_needed(
            control, variant if exp.crn else None, min_effect=effect, relative=False,
            alpha=obj.alpha, power=power, paired=exp.crn,
        )  # fmt: skip
        diffs = [v - c for c, v in zip(control, variant, strict=True)]
        sd = st.stdev(diffs) if exp.crn else st.stdev(control)
        plans.append(VariantPlan(arm.name, mean_c, st.fmean(variant), sd, effect, n))
    return Plan(exp.name, obj.metric, obj.alpha, power, pilot, exp.crn, _replications_in_file(path), plans)


def _replications_in_file(path: str) -> int:
    return load_experiment(path).replications
