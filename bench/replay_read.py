"""How much reading a log through the replay mapping costs beyond reading the file itself.

Writes a synthetic ticket log (default 1,000,000 rows, 30 days, csv) and times, side by side and
interleaved, ``polars.read_csv`` of the file (the floor: just parsing it) against
``supportlab.replay.read_log`` with a full mapping (ISO timestamps, channel, intent, priority map,
queue and handle times, outcome lists, agent, a segment, an exclude rule, weekday and hour filters).

    python bench/replay_read.py [--rows 1000000] [--repeat 5]

Prints the median of each and their ratio (read_log / read_csv).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from supportlab.model import Field, ReplaySource
from supportlab.replay import read_log


def write_log(path: Path, rows: int) -> None:
    rng = np.random.default_rng(1)
    seconds = np.sort(rng.uniform(0, 30 * 86_400, rows))
    created = pl.select(pl.lit(dt.datetime(2026, 1, 1)) + pl.duration(milliseconds=pl.Series(
        (seconds * 1000).astype(np.int64)))).to_series()
    pl.DataFrame({
        "created": created.dt.strftime("%Y-%m-%dT%H:%M:%S%.3f"),
        "channel": rng.choice(["chat", "email", "phone"], rows),
        "intent": rng.choice(["billing", "tech", "sales", "other"], rows),
        "priority": rng.choice(["low", "normal", "vip"], rows),
        "wait": np.where(rng.random(rows) < 0.5, 0, rng.exponential(30, rows)).round(1),
        "handle": rng.exponential(300, rows).round(1),
        "status": rng.choice(["solved", "abandoned", "test"], rows, p=[0.9, 0.08, 0.02]),
        "agent": np.char.add("a", rng.integers(0, 400, rows).astype(str)),
        "region": rng.choice(["eu", "us", "apac"], rows),
    }).write_csv(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tickets.csv"
        write_log(path, args.rows)
        source = ReplaySource(
            path=str(path), format="csv", timestamp="created", channel=Field(column="channel"),
            intent=Field(column="intent"), priority=Field(column="priority", map=(("low", "0"), ("normal", "0"),
                                                                                 ("vip", "1"))),
            handle_time="handle", handle_max=3600.0, queue_time="wait", outcome="status", served=("solved",),
            abandoned=("abandoned",), agent="agent", segments=(("region", "region"),),
            exclude=((("status", "test"),),), weekdays=(1, 2, 3, 4, 5), hours=(7 * 3600.0, 22 * 3600.0))
        plain, mapped = [], []
        kept = 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            pl.read_csv(path, infer_schema=False)
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            kept = read_log(source, where="bench").kept
            mapped.append(time.perf_counter() - started)
    a, b = statistics.median(plain), statistics.median(mapped)
    print(f"rows {args.rows:,} (kept {kept:,}), median of {args.repeat}:")
    print(f"  polars.read_csv (all columns as text)  {a:6.2f} s")
    print(f"  replay.read_log (mapped and checked)   {b:6.2f} s   ({args.rows / b:,.0f} rows/s)")
    print(f"  ratio read_log / read_csv              {b / a:6.2f}")


if __name__ == "__main__":
    main()
