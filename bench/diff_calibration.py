"""Calibration of ``supportlab diff``: how often does the CI gate fail when nothing changed?

For k = 0 .. N-1 the same M/M/c-like experiment file (one phone channel at 400/h, exponential 60 s handle
time, 8 agents, 4 h horizon, 30 min warm-up, 8 replications, only ``[arms.control]``) is run twice, with
seeds 2k (BASE) and 2k + 1 (NEW), into a temporary folder, and ``diff_bundles`` compares the two bundles
exactly as ``supportlab diff BASE NEW`` does (Welch's t on replications, default 5 % tolerance). Nothing
changed, so every regression it reports is a false alarm. The gate passes calibration when at least 90 %
of the pairs report no regression (exit 0), else exit 1.

Usage::

    python bench/diff_calibration.py             # 100 pairs, a few minutes
    python bench/diff_calibration.py --pairs 20  # quicker
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from supportlab import api
from supportlab.diffing import diff_bundles

EXPERIMENT = """\
[experiment]
name = "diff-calibration"
seed = 1
replications = 8
horizon = "4h"
warmup = "30m"

[[workload.channels]]
name = "phone"
arrivals = { rate = "400/h" }
sla = "20s"

[[workload.intents]]
name = "general"
share = 1.0
handle_time = { dist = "exponential", mean = "60s" }

[[system.pools]]
name = "agents"
agents = 8
skills = ["general"]

[arms.control]
"""

#: the share of pairs that must report no regression
REQUIRED = 0.90


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=100, help="seeded BASE/NEW pairs to diff (default 100)")
    args = parser.parse_args(argv)
    if args.pairs < 1:
        parser.error("--pairs must be >= 1")
    started = time.perf_counter()
    passed = 0
    culprits: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="supportlab-diff-calibration-") as tmp:
        folder = Path(tmp)
        path = folder / "experiment.toml"
        path.write_text(EXPERIMENT, encoding="utf-8")
        out = folder / "results"
        for k in range(args.pairs):
            base = api.run(path, out=out, seed=2 * k, workers=1).bundle
            new = api.run(path, out=out, seed=2 * k + 1, workers=1).bundle
            d = diff_bundles(base, new)
            if d.regressions:
                culprits.update(f"{r.arm}.{r.metric}" for r in d.regressions)
                print(f"pair {k} (seeds {2 * k}, {2 * k + 1}): false alarm on "
                      + ", ".join(r.metric for r in d.regressions))  # fmt: skip
            else:
                passed += 1
    need = math.ceil(REQUIRED * args.pairs)
    elapsed = time.perf_counter() - started
    print(f"{passed} of {args.pairs} pairs without regression (need {need}), {elapsed:.0f} s")
    if culprits:
        print("false alarms by metric: " + ", ".join(f"{m} {n}" for m, n in culprits.most_common()))
    ok = passed >= need
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
