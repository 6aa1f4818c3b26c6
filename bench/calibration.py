"""Calibration of ``supportlab compare``: does it reject at about alpha when nothing changed, and does
it see a real effect?

Every figure comes from real simulations (replications as the unit), judged by the same code as
``supportlab compare``:

1. A/A, ``crn = false``: the variant changes nothing; arms get independent random streams, so the two
   sets of replications differ by noise only. Welch's t must reject the objective in about alpha of
   the runs: the rate is printed with the binomial 95% range around alpha.
2. A/A, ``crn = true`` with a change irrelevant to the objective (the email SLA, when the objective is
   the phone wait): under common random numbers the two arms are then the same simulation, every
   paired difference is exactly 0, and the verdict must be "no difference, p = 1" (never a rejection).
3. A real effect: 10 -> 11 agents on the M/M/c model of ``mmc.toml`` must come out ``ship``; the
   reverse (11 -> 10) ``no-ship``.

Usage::

    python bench/calibration.py              # 200 A/A runs per case, 20 effect runs
    python bench/calibration.py --runs 50    # quicker
"""

from __future__ import annotations

import argparse
import sys
import time

from scipy import stats as st

from supportlab.compare import judge_run
from supportlab.experiment import load_text
from supportlab.runner import run_experiment

AA = """\
[experiment]
name = "calibration"
seed = {seed}
replications = 10
horizon = "4h"
warmup = "30m"
crn = {crn}

[objective]
metric = "wait.mean"
direction = "decrease"
min_effect = 0.05

[[workload.channels]]
name = "phone"
arrivals = {{ rate = "450/h" }}
sla = "20s"

[[workload.channels]]
name = "email"
arrivals = {{ rate = "30/h" }}
sla = "4h"

[[workload.intents]]
name = "general"
share = 1.0
handle_time = {{ dist = "exponential", mean = "60s" }}

[[system.pools]]
name = "agents"
agents = 9
skills = ["general"]

[arms.control]

[arms.variant]
set = {{ {change} }}
"""

MMC = """\
[experiment]
name = "mmc"
seed = {seed}
replications = 10
horizon = "24h"
warmup = "1h"

[objective]
metric = "wait.mean"
direction = "decrease"
min_effect = 0.05

[[workload.channels]]
name = "phone"
arrivals = {{ rate = "570/h" }}
sla = "20s"

[[workload.intents]]
name = "general"
share = 1.0
handle_time = {{ dist = "exponential", mean = "60s" }}

[[system.pools]]
name = "agents"
agents = {control}
skills = ["general"]

[arms.control]

[arms.variant]
set = {{ "system.pools.agents.agents" = {variant} }}
"""


def _judge(text: str):  # type: ignore[no-untyped-def]
    exp = load_text(text, "calibration.toml")
    out = run_experiment(exp, workers=1)
    arm_keys = out.seeds["arm_keys"]
    return judge_run(exp, out.metrics, arm_keys).variants[0]  # type: ignore[arg-type]


def objective_p(verdict) -> float:  # type: ignore[no-untyped-def]
    return next(m.p_value for m in verdict.metrics if m.role == "objective")


def aa_rate(runs: int, *, crn: bool, change: str, alpha: float) -> tuple[int, int]:
    """(rejections, runs with every paired difference exactly zero)."""
    rejected = identical = 0
    for seed in range(runs):
        v = _judge(AA.format(seed=1000 + seed, crn=str(crn).lower(), change=change))
        p = objective_p(v)
        rejected += p < alpha
        obj = next(m for m in v.metrics if m.role == "objective")
        identical += obj.diff == 0 and obj.test == "identical"
    return rejected, identical


def effect_rate(runs: int, control: int, variant: int, expected: str) -> int:
    hits = 0
    for seed in range(runs):
        v = _judge(MMC.format(seed=2000 + seed, control=control, variant=variant))
        hits += v.verdict == expected
    return hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="A/A experiments per case (default 200)")
    parser.add_argument("--effect-runs", type=int, default=20, help="runs of each real-effect case (default 20)")
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args(argv)
    alpha, n = args.alpha, args.runs
    lo, hi = st.binom.interval(0.95, n, alpha)
    started = time.time()
    ok = True

    rej, _ = aa_rate(n, crn=False, change="", alpha=alpha)
    inside = lo <= rej <= hi
    ok &= inside
    print(f"A/A, crn = false (Welch on replications): {rej}/{n} rejected = {rej / n:.3f}; "
          f"binomial 95% range around {alpha:g}: [{lo / n:.3f}, {hi / n:.3f}] -> {'ok' if inside else 'OUT'}")

    rej, ident = aa_rate(n, crn=True, change='"workload.channels.email.sla" = "8h"', alpha=alpha)
    good = rej == 0 and ident == n
    ok &= good
    print(f"A/A, crn = true, irrelevant change (email SLA): {rej}/{n} rejected; identical arms in {ident}/{n} "
          f"runs (paired differences all 0 -> p = 1) -> {'ok' if good else 'UNEXPECTED'}")

    m = args.effect_runs
    ship = effect_rate(m, 10, 11, "ship")
    no_ship = effect_rate(m, 11, 10, "no-ship")
    ok &= ship == m and no_ship == m
    print(f"real effect 10 -> 11 agents: ship in {ship}/{m}; 11 -> 10 agents: no-ship in {no_ship}/{m}")
    print(f"{'PASS' if ok else 'FAIL'} ({time.time() - started:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
