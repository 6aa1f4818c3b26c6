"""How often does ``supportlab probe`` alert on a system that did not change, and does it see a change?

Probes one small, stable experiment ``--probes`` times with seeds 1, 2, ... (each a real run written to a
temporary folder and recorded in a temporary log), then counts the probes past the learning stage that
raised an alert, and which metric fired. Then probes the same file with 10% longer handle times against
that history (its own file hash would start a new history, so the history entries are copied under its
hash, as the tests do) and reports whether the change fired.

Usage::

    python bench/probe_calibration.py              # 40 probes
    python bench/probe_calibration.py --probes 80
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from supportlab import blueprint
from supportlab.probing import probe

EXPERIMENT = """\
[experiment]
name = "probe-calibration"
seed = 1
replications = 10
horizon = "4h"
warmup = "15m"

[[workload.channels]]
name = "phone"
arrivals = {{ rate = "300/h" }}
sla = "60s"
patience = {{ dist = "exponential", mean = "5m" }}

[[workload.intents]]
name = "general"
share = 1.0
handle_time = {{ dist = "exponential", mean = "{handle}" }}

[[system.pools]]
name = "agents"
agents = 7
skills = ["general"]

[arms.control]
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--probes", type=int, default=40, help="probes of the stable file (default 40)")
    args = parser.parse_args(argv)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="supportlab-probe-") as tmp:
        root = Path(tmp)
        stable = root / "stable.toml"
        stable.write_text(EXPERIMENT.format(handle="60s"))
        log = root / "blueprint.jsonl"
        fired: Counter[str] = Counter()
        alerting = judged = 0
        for seed in range(1, args.probes + 1):
            report = probe([stable], out=root / "results", log=log, seeds=[seed], workers=1)
            (r,) = report.results
            if all(c.status == "learning" for c in r.checks):
                continue
            judged += 1
            alerting += bool(r.alerts)
            for c in r.checks:
                if c.status in ("anomaly", "drift"):
                    fired[f"{c.metric} ({c.status})"] += 1
        checks = judged * len(report.results[0].checks)
        print(f"stable file: {alerting} of {judged} judged probes alerted "
              f"({sum(fired.values())} of {checks} metric checks = {sum(fired.values()) / max(checks, 1):.2%})")
        if fired:
            print("  fired: " + ", ".join(f"{k} x{v}" for k, v in fired.most_common()))

        changed = root / "changed.toml"
        changed.write_text(EXPERIMENT.format(handle="66s"))
        sha = hashlib.sha256(changed.read_bytes()).hexdigest()
        log2 = root / "changed.jsonl"
        history = [e for e in blueprint.read(log) if e.kind == "probe"][-20:]
        for e in history:
            blueprint.append(log2, "probe", e.experiment, e.run_id, dict(e.data, file_sha256=sha, file=str(changed)))
        detected = 0
        for seed in range(1001, 1011):
            report = probe([changed], out=root / "results", log=log2, seeds=[seed], workers=1)
            detected += any(a.startswith("wait.mean") for a in report.results[0].alerts)
        print(f"10% longer handle times (wait.mean roughly doubles): wait.mean alerted in {detected} of 10 probes")
    print(f"({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
