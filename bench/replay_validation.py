"""Simulated control against the observed bank log, for each way of estimating what the log does not state.

Runs the control arm of ``experiments/replay-anonymous-bank.toml`` (February 1999, Sunday-Thursday,
07:00-24:00) with each staffing estimate and interval and each patience method, side by side, and prints
the simulated value of the validation metrics beside the observed one (gap = simulated / observed - 1).

    python bench/replay_validation.py [--replications 5] [--workers 2]

The quality bar of issue 6: abandonment and mean wait within 15% of observed for the example's settings
(busy-when-queued, 15 minutes, Kaplan-Meier).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import polars as pl

from supportlab.experiment import load_text
from supportlab.runner import run_experiment

EXAMPLE = Path(__file__).resolve().parent.parent / "experiments" / "replay-anonymous-bank.toml"
METRICS = ("abandon_rate", "wait.mean", "wait.p90", "utilization", "sla_attainment")
#: (label, staffing_estimate, staffing_interval, patience); the first is the example's
SETTINGS = (
    ("example", "busy-when-queued", "15m", "kaplan-meier"),
    ("5-minute intervals", "busy-when-queued", "5m", "kaplan-meier"),
    ("30-minute intervals", "busy-when-queued", "30m", "kaplan-meier"),
    ("exponential patience", "busy-when-queued", "15m", "exponential"),
    ("agents seen, 30 min", "agents-seen", "30m", "kaplan-meier"),
    ("agents seen, 5 min", "agents-seen", "5m", "kaplan-meier"),
)


def variant_text(staffing: str, interval: str, patience: str) -> str:
    text = EXAMPLE.read_text()
    for key, value in (("staffing_estimate", staffing), ("staffing_interval", interval), ("patience", patience)):
        start = text.index(f"\n{key} = ") + 1
        end = text.index("\n", start)
        text = text[:start] + f'{key} = "{value}"' + text[end:]
    return text


def headline(metrics: pl.DataFrame, arm: str) -> dict[str, float]:
    rows = metrics.filter((pl.col("arm") == arm) & (pl.col("segment") == "all") & pl.col("metric").is_in(METRICS))
    means = rows.group_by("metric").agg(pl.col("value").mean())
    return dict(zip(means["metric"].to_list(), means["value"].to_list(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    observed: dict[str, float] | None = None
    print(f"{'setting':<22} {'metric':<15} {'observed':>10} {'simulated':>10} {'gap':>8}")
    for label, staffing, interval, patience in SETTINGS:
        exp = load_text(variant_text(staffing, interval, patience), str(EXAMPLE), replications=args.replications)
        exp = dataclasses.replace(exp, arms=exp.arms[:1])
        started = time.perf_counter()
        out = run_experiment(exp, workers=args.workers)
        seconds = time.perf_counter() - started
        observed = observed or headline(out.metrics, "observed")
        sim = headline(out.metrics, "control")
        for metric in METRICS:
            gap = sim[metric] / observed[metric] - 1
            print(f"{label:<22} {metric:<15} {observed[metric]:>10.4g} {sim[metric]:>10.4g} {gap:>+8.1%}")
        print(f"{label:<22} ({args.replications} replications in {seconds:.1f} s)")


if __name__ == "__main__":
    main()
