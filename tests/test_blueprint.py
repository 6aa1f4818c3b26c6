"""The blueprint log (blueprint.py): concurrent appends, the hash chain, tamper detection, torn lines,
bundle checks, the log path and the exact rendered document."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from supportlab import blueprint
from supportlab.blueprint import (
    DEFAULT_LOG,
    GENESIS,
    LOG_ENV,
    AppendResult,
    Entry,
    LogError,
    append,
    filter_entries,
    log_path,
    read,
    render,
    verify,
)
from supportlab.errors import SupportlabError

T0 = datetime(2026, 12, 4, 19, 30, 12, tzinfo=UTC)


def _log(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "blueprint.jsonl"
    for i in range(n):
        append(path, "probe", "exp", f"r{i + 1}", {"i": i + 1}, now=T0 + timedelta(minutes=i))
    return path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


# --------------------------------------------------------------------------------------------------
# appending and the chain


def test_append_builds_a_chain(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "blueprint.jsonl"  # parent folders are created
    r1 = append(path, "run", "exp", "r1", {"x": 1.5, "nan": float("nan")}, now=T0)
    r2 = append(path, "decision", "exp", None, {"action": "hold"}, now=datetime(2026, 12, 4, 20, 0, 0))
    assert isinstance(r1, AppendResult) and r1.warnings == [] and r2.warnings == []
    assert (r1.entry.seq, r1.entry.prev, r1.entry.ts) == (1, GENESIS, "2026-12-04T19:30:12Z")
    assert r1.entry.data == {"x": 1.5, "nan": None}  # NaN becomes null
    assert (r2.entry.seq, r2.entry.prev, r2.entry.ts) == (2, r1.entry.hash, "2026-12-04T20:00:00Z")
    assert read(path) == [r1.entry, r2.entry]
    # the line is the canonical JSON of the full entry; the hash covers everything but the hash
    first = _lines(path)[0]
    body = r1.entry.to_dict()
    assert first == (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode()
    del body["hash"]
    expected_hash = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert r1.entry.hash == expected_hash
    assert verify(path) == []


def test_append_refuses_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        append(tmp_path / "log.jsonl", "note", "exp", None, {})
    assert not (tmp_path / "log.jsonl").exists()


def _worker(path: str, proc: int, count: int, start: Any) -> None:
    start.wait()
    for i in range(count):
        append(Path(path), "probe", "concurrency", None, {"proc": proc, "i": i})


def test_concurrent_appends_from_8_processes(tmp_path: Path) -> None:
    path = tmp_path / "blueprint.jsonl"
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_worker, args=(str(path), p, 50, start)) for p in range(8)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    entries = read(path)
    assert [e.seq for e in entries] == list(range(1, 401))
    assert verify(path) == []
    payloads = [(e.data["proc"], e.data["i"]) for e in entries]
    assert sorted(payloads) == [(p, i) for p in range(8) for i in range(50)]  # each exactly once


def test_append_reads_only_the_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "blueprint.jsonl"
    append(path, "probe", "exp", None, {"blob": "x" * 2_000_000}, now=T0)
    append(path, "probe", "exp", None, {"small": 1}, now=T0)
    read_bytes = []
    real_pread = os.pread

    def counting_pread(fd: int, n: int, offset: int) -> bytes:
        read_bytes.append(n)
        return real_pread(fd, n, offset)

    monkeypatch.setattr(blueprint.os, "pread", counting_pread)
    r = append(path, "probe", "exp", None, {"small": 2}, now=T0)
    assert r.entry.seq == 3
    assert sum(read_bytes) < 200_000


# --------------------------------------------------------------------------------------------------
# tampering


def test_flipped_byte_is_a_hash_mismatch(tmp_path: Path) -> None:
    path = _log(tmp_path, 5)
    lines = _lines(path)
    assert b'"i":3' in lines[2]
    lines[2] = lines[2].replace(b'"i":3', b'"i":8')
    path.write_bytes(b"".join(lines))
    assert verify(path) == ["line 3 (seq 3): hash mismatch"]


def test_deleted_middle_line(tmp_path: Path) -> None:
    path = _log(tmp_path, 5)
    lines = _lines(path)
    del lines[2]
    path.write_bytes(b"".join(lines))
    assert verify(path) == [
        "line 3 (seq 4): seq jumps from 2 to 4, expected 3",
        "line 3 (seq 4): prev does not match the hash of seq 2",
    ]


def test_swapped_pair_of_lines(tmp_path: Path) -> None:
    path = _log(tmp_path, 5)
    lines = _lines(path)
    lines[2], lines[3] = lines[3], lines[2]
    path.write_bytes(b"".join(lines))
    problems = verify(path)
    assert problems[0] == "line 3 (seq 4): seq jumps from 2 to 4, expected 3"
    assert problems == [
        "line 3 (seq 4): seq jumps from 2 to 4, expected 3",
        "line 3 (seq 4): prev does not match the hash of seq 2",
        "line 4 (seq 3): seq goes back from 4 to 3, expected 5",
        "line 4 (seq 3): prev does not match the hash of seq 4",
        "line 5 (seq 5): seq jumps from 3 to 5, expected 4",
        "line 5 (seq 5): prev does not match the hash of seq 3",
    ]


def test_rehashed_forgery_breaks_the_next_link(tmp_path: Path) -> None:
    path = _log(tmp_path, 4)
    lines = _lines(path)
    obj = json.loads(lines[1])
    obj["data"]["i"] = 99
    obj["hash"] = blueprint.entry_hash(obj)
    lines[1] = (blueprint.canonical_json(obj) + "\n").encode()
    path.write_bytes(b"".join(lines))
    assert verify(path) == ["line 3 (seq 3): prev does not match the hash of seq 2"]


def test_garbage_and_malformed_lines(tmp_path: Path) -> None:
    path = _log(tmp_path, 4)
    lines = _lines(path)
    lines[1] = b"{not json\n"
    lines[2] = b'{"seq": 3}\n'
    path.write_bytes(b"".join(lines))
    problems = verify(path)
    assert problems[0] == "line 2: not valid JSON"
    assert problems[1].startswith("line 3 (seq 3): not a blueprint entry (missing 'ts', ")
    assert len(problems) == 2  # line 4 follows unreadable lines: its links cannot be checked
    with pytest.raises(LogError, match=r"blueprint\.jsonl: line 2: not valid JSON$"):
        read(path)


def test_tampered_kind_names_the_entry(tmp_path: Path) -> None:
    path = _log(tmp_path, 3)
    lines = _lines(path)
    lines[1] = lines[1].replace(b'"probe"', b'"probE"')
    path.write_bytes(b"".join(lines))
    assert verify(path) == [
        "line 2 (seq 2): not a blueprint entry (unknown kind 'probE')",
        "line 2 (seq 2): hash mismatch",
    ]
    with pytest.raises(LogError, match=r"line 2 \(seq 2\): not a blueprint entry \(unknown kind 'probE'\)$"):
        read(path)


def test_first_entry_must_start_the_chain(tmp_path: Path) -> None:
    path = _log(tmp_path, 3)
    path.write_bytes(b"".join(_lines(path)[1:]))
    assert verify(path) == [
        "line 1 (seq 2): the first entry has seq 2, expected 1",
        "line 1 (seq 2): the first entry's prev is not 64 zeros",
    ]


def test_missing_and_empty_logs(tmp_path: Path) -> None:
    assert read(tmp_path / "nope.jsonl") == []
    assert verify(tmp_path / "nope.jsonl") == []
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert read(tmp_path / "empty.jsonl") == []
    assert verify(tmp_path / "empty.jsonl") == []
    assert issubclass(LogError, SupportlabError)


# --------------------------------------------------------------------------------------------------
# torn lines


def _side_file(warning: str) -> Path:
    m = re.search(r"were moved to (\S+) and", warning)
    assert m, warning
    return Path(m.group(1))


def test_torn_last_line_is_moved_aside(tmp_path: Path) -> None:
    path = _log(tmp_path, 3)
    good = path.read_bytes()
    last = read(path)[-1]
    fragment = b'{"data":{"i":4},"experiment":"exp","hash":"ab'
    with open(path, "ab") as f:
        f.write(fragment)

    assert verify(path) == [
        "line 4: torn last line (no newline: an interrupted write; the next append moves it aside)"
    ]
    with pytest.raises(LogError, match=r"line 4: not valid JSON \(a torn last line: no newline\)"):
        read(path)

    r = append(path, "probe", "exp", "r4", {"i": 4}, now=T0)
    assert len(r.warnings) == 1
    side = _side_file(r.warnings[0])
    assert side.parent == tmp_path and side.name.startswith("blueprint.jsonl.torn-2")
    assert side.name.endswith(f"-{os.getpid()}")
    assert side.read_bytes() == fragment
    assert r.warnings[0] == (
        f"{path}: the last line was torn (an interrupted write); its {len(fragment)} bytes were moved to "
        f"{side} and the log continues after seq 3"
    )
    assert (r.entry.seq, r.entry.prev) == (4, last.hash)
    assert path.read_bytes() == good + r.entry.line()  # complete lines untouched
    assert verify(path) == []


def test_unparseable_last_line_is_moved_aside(tmp_path: Path) -> None:
    path = _log(tmp_path, 2)
    with open(path, "ab") as f:
        f.write(b"half an entry\n")
    r = append(path, "probe", "exp", None, {}, now=T0)
    assert _side_file(r.warnings[0]).read_bytes() == b"half an entry\n"
    assert r.entry.seq == 3 and verify(path) == []


def test_only_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "blueprint.jsonl"
    path.write_bytes(b'{"seq":1,"ts"')
    r = append(path, "probe", "exp", None, {}, now=T0)
    assert _side_file(r.warnings[0]).read_bytes() == b'{"seq":1,"ts"'
    assert (r.entry.seq, r.entry.prev) == (1, GENESIS)
    assert verify(path) == []


@pytest.mark.parametrize("tail", [b'garbage\n{"torn', b"garbage\nmore garbage\n"])
def test_damage_before_the_torn_line_refuses_to_append(tmp_path: Path, tail: bytes) -> None:
    path = _log(tmp_path, 2)
    with open(path, "ab") as f:
        f.write(tail)
    before = path.read_bytes()
    with pytest.raises(LogError, match="the entry before the torn last line is damaged too"):
        append(path, "probe", "exp", None, {}, now=T0)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.torn-*"))


# --------------------------------------------------------------------------------------------------
# bundles


def _fake_bundle(folder: Path) -> str:
    folder.mkdir(parents=True)
    for name in ("tickets.parquet", "events.parquet", "metrics.parquet", "experiment.toml", "report.md"):
        (folder / name).write_bytes(b"data of " + name.encode())
    (folder / "summary.json").write_text("{}")
    sha = hashlib.sha256((folder / "tickets.parquet").read_bytes()).hexdigest()
    manifest = {"format": 1, "run_id": folder.name, "status": "complete", "files": {"tickets.parquet": sha}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return sha


def test_run_entries_check_their_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    expected = _fake_bundle(tmp_path / "results" / "x" / "y")
    path = tmp_path / "blueprint.jsonl"
    append(path, "probe", "x", None, {}, now=T0)
    append(path, "run", "x", "y", {"bundle": "results/x/y", "status": "complete"}, now=T0)
    assert verify(path) == []

    (tmp_path / "results" / "x" / "y" / "tickets.parquet").write_bytes(b"tampered")
    actual = hashlib.sha256(b"tampered").hexdigest()
    message = f"line 2 (seq 2): bundle results/x/y: tickets.parquet: sha256 is {actual}, the manifest says {expected}"
    assert verify(path) == [message]
    assert verify(path, check_bundles=False) == []

    (tmp_path / "results" / "x" / "y" / "summary.json").unlink()
    assert verify(path) == ["line 2 (seq 2): bundle results/x/y: results/x/y: incomplete bundle, missing summary.json"]

    shutil.rmtree(tmp_path / "results")  # archived bundles are not a problem
    assert verify(path) == []


def test_bundle_path_relative_to_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    _fake_bundle(tmp_path / "proj" / "results" / "x" / "y")
    path = tmp_path / "proj" / "blueprint.jsonl"
    append(path, "run", "x", "y", {"bundle": "results/x/y"}, now=T0)
    (tmp_path / "proj" / "results" / "x" / "y" / "tickets.parquet").write_bytes(b"tampered")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert verify(path)[0].startswith("line 1 (seq 1): bundle results/x/y: tickets.parquet: sha256 is ")


# --------------------------------------------------------------------------------------------------
# the log path, filtering


def test_log_path_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOG_ENV, raising=False)
    assert log_path(None) == Path(DEFAULT_LOG) == Path("blueprint.jsonl")
    monkeypatch.setenv(LOG_ENV, "")
    assert log_path(None) == Path("blueprint.jsonl")
    monkeypatch.setenv(LOG_ENV, "/var/log/env.jsonl")
    assert log_path(None) == Path("/var/log/env.jsonl")
    assert log_path("opt.jsonl") == Path("opt.jsonl")
    assert log_path(Path("/x/opt.jsonl")) == Path("/x/opt.jsonl")


def test_filter_entries(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    append(path, "run", "a", "1", {}, now=T0)
    append(path, "probe", "b", None, {}, now=T0)
    append(path, "decision", "a", "1", {}, now=T0)
    entries = read(path)
    assert [e.seq for e in filter_entries(entries, experiment="a")] == [1, 3]
    assert [e.seq for e in filter_entries(entries, kind="probe")] == [2]
    assert [e.seq for e in filter_entries(entries, experiment="a", kind="decision")] == [3]
    assert filter_entries(entries) == entries


# --------------------------------------------------------------------------------------------------
# render

RUN_DATA: dict[str, Any] = {
    "bundle": "results/launch-burst/20261204T193012Z-3fa9c1",
    "status": "complete",
    "limit": None,
    "file": "experiments/launch-burst.toml",
    "file_sha256": "0" * 64,
    "description": "Launch-day burst with a billing bot.",
    "hypothesis": "More bot containment cuts the p95 first response.",
    "objective": {
        "metric": "first_response.p95",
        "direction": "decrease",
        "min_effect": 0.1,
        "min_effect_abs": None,
        "alpha": 0.05,
    },
    "guardrails": [
        {"metric": "csat.mean", "max_degradation": 0.02, "max_degradation_abs": None},
        {"metric": "abandon_rate", "max_degradation": None, "max_degradation_abs": 0.01},
    ],
    "arms": {
        "control": {
            "changes": {},
            "metrics": {
                "first_response.p95": {"mean": 612.345, "ci": [580.0, 640.5]},
                "csat.mean": {"mean": 4.1234, "ci": [4.05, 4.2]},
                "abandon_rate": {"mean": 0.0523, "ci": None},
                "wait.mean": {"mean": 41.25, "ci": [38.0, 44.5]},
                "handle.mean": {"mean": 300.0, "ci": [290.0, 310.0]},
            },
        },
        "more_containment": {
            "changes": {"system.bot.containment.billing": 0.5},
            "metrics": {
                "first_response.p95": {"mean": 1234.5, "ci": [1100.0, 1300.0]},
                "csat.mean": {"mean": None, "ci": None},
                "wait.mean": {"mean": 30.0, "ci": [28.1, 31.9]},
            },
        },
    },
    "replications": 20,
    "seed": 20261204,
}


def _render_entries(tmp_path: Path) -> list[Entry]:
    path = tmp_path / "blueprint.jsonl"
    t = T0
    append(path, "run", "launch-burst", "20261204T193012Z-3fa9c1", RUN_DATA, now=t)
    append(path, "probe", "capacity", None, {"agents": 12, "note": "ok"}, now=t + timedelta(minutes=5))
    compare = {
        "bundle": RUN_DATA["bundle"],
        "variants": [
            {
                "arm": "more_containment",
                "verdict": "ship",
                "reasons": ["p95 -12% (p 0.001)", "guardrails hold"],
                "objective": None,
            }
        ],
    }
    append(path, "compare", "launch-burst", "20261204T193012Z-3fa9c1", compare, now=t + timedelta(minutes=10))
    decision = {"bundle": RUN_DATA["bundle"], "action": "hold", "note": "wait for CSAT", "by": "ana", "items": ["a"]}
    append(path, "decision", "launch-burst", "20261204T193012Z-3fa9c1", decision, now=t + timedelta(minutes=20))
    decision2 = {"bundle": RUN_DATA["bundle"], "action": "ship", "note": "", "by": "bo"}
    decision2["items"] = ["Tell support", "Watch CSAT"]
    append(path, "decision", "launch-burst", "20261204T193012Z-3fa9c1", decision2, now=t + timedelta(hours=1))
    return read(path)


EXPECTED_DOCUMENT = """\
# Blueprint

5 entries, 2 experiments, last entry 2026-12-04T20:30:12Z.

## Open action items

- [ ] Tell support — launch-burst, decided 2026-12-04T20:30:12Z by bo (ship)
- [ ] Watch CSAT — launch-burst, decided 2026-12-04T20:30:12Z by bo (ship)

## launch-burst

Launch-day burst with a billing bot.

**Hypothesis:** More bot containment cuts the p95 first response.

**Objective:** decrease `first_response.p95` by at least 10% (alpha 0.05)

**Guardrails:** `csat.mean` may not degrade more than 2%; `abandon_rate` may not degrade more than 0.01 (absolute)

**Variants:**

- `more_containment`: `system.bot.containment.billing = 0.5`

### History

- 2026-12-04T19:30:12Z **run** 20261204T193012Z-3fa9c1 (complete, 20 replications, seed 20261204)

  | metric | `control` | `more_containment` |
  |---|---|---|
  | `first_response.p95` | 612 [580, 640] | 1234 [1100, 1300] |
  | `csat.mean` | 4.12 [4.05, 4.2] | – |
  | `abandon_rate` | 0.0523 | – |
  | `wait.mean` | 41.2 [38, 44.5] | 30 [28.1, 31.9] |

- 2026-12-04T19:40:12Z **compare** 20261204T193012Z-3fa9c1: `more_containment` **ship** — p95 -12% (p 0.001)
- 2026-12-04T19:50:12Z **decision** 20261204T193012Z-3fa9c1 by ana: **hold** — wait for CSAT
  - a
- 2026-12-04T20:30:12Z **decision** 20261204T193012Z-3fa9c1 by bo: **ship**
  - Tell support
  - Watch CSAT

## capacity

### History

- 2026-12-04T19:35:12Z **probe**: `{"agents":12,"note":"ok"}`
"""


def test_render_exact(tmp_path: Path) -> None:
    assert render(_render_entries(tmp_path)) == EXPECTED_DOCUMENT


def test_render_empty() -> None:
    assert render([]) == "# Blueprint\n\nNo entries yet.\n\n## Open action items\n\nNone.\n"
