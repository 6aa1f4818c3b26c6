"""Result bundles (bundle.py) and the report (report.py): atomic writes, byte-identical parquet,
the manifest, reading errors, table comparison and the exact report text."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
import tomli_w

from supportlab import bundle as bundle_mod
from supportlab.bundle import (
    FORMAT,
    RunData,
    compare_bundles,
    compare_tables,
    git_info,
    json_safe,
    make_run_id,
    read_bundle,
    verify_files,
    write_bundle,
    write_parquet,
)
from supportlab.distributions import Dist
from supportlab.errors import BundleError
from supportlab.model import (
    Arm,
    Channel,
    Expectation,
    Experiment,
    Intent,
    Objective,
    Pool,
    Scenario,
    System,
    Workload,
)
from supportlab.report import build_summary, format_estimate, format_number, render_report

RUN_ID = "20261204T193012Z-3fa9c1"
STARTED = datetime(2026, 12, 4, 19, 30, 12, tzinfo=UTC)
FINISHED = datetime(2026, 12, 4, 19, 31, 5, 750000, tzinfo=UTC)


def _scenario(agents: int = 10) -> Scenario:
    return Scenario(
        workload=Workload(
            kind="generate",
            channels=(Channel("phone", (0.1,) * 24, 20.0),),
            intents=(Intent("general", 1.0, Dist("exponential", mean=60.0), "general"),),
        ),
        system=System(routing="skills", pools=(Pool("agents", ("general",), agents=agents),)),
    )


def _raw(handle: dict | None = None) -> dict:
    return {
        "experiment": {"name": "demo", "seed": 1, "replications": 2, "horizon": 3600.0},
        "workload": {
            "kind": "generate",
            "channels": [{"name": "phone", "arrivals": {"rate": "360/h"}, "sla": 20.0}],
            "intents": [
                {"name": "general", "share": 1.0,
                 "handle_time": handle or {"dist": "exponential", "mean": 60.0}},
            ],
        },
        "system": {"routing": "skills", "pools": [{"name": "agents", "skills": ["general"], "agents": 10}]},
        "arms": {"control": {}, "more_agents": {"set": {"system.pools.agents.agents": 12}}},
    }


def make_experiment(
    *,
    path: str = "x.toml",
    raw: dict | None = None,
    inputs: tuple[tuple[str, str], ...] = (),
    variant: bool = True,
) -> Experiment:
    arms = [Arm(name="control", changes=(), scenario=_scenario())]
    if variant:
        change = ("system.pools.agents.agents", 12)
        arms.append(Arm(name="more_agents", changes=(change,), scenario=_scenario(12)))
    return Experiment(
        path=path,
        name="demo",
        seed=1,
        replications=2,
        horizon=3600.0,
        tickets=None,
        warmup=0.0,
        crn=True,
        arms=tuple(arms),
        description="A tiny M/M/c queue",
        hypothesis="Two more agents cut the mean wait",
        objective=Objective(metric="wait.mean", direction="decrease", min_effect=0.1),
        expectations=(Expectation("sla_attainment", min=0.8),),
        raw=raw if raw is not None else _raw(),
        sha256="ab" * 32,
        inputs=inputs,
    )


def _tickets() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "arm": ["control", "control", "more_agents", "more_agents"],
            "replication": [0, 1, 0, 1],
            "ticket": [0, 0, 0, 0],
            "wait": [12.5, None, 3.25, float("nan")],
            "outcome": ["resolved", "abandoned", "resolved", "resolved"],
        }
    )


def _events() -> pl.DataFrame:
    return pl.DataFrame(
        {"ticket": [0, 0], "session_id": ["0-0", "0-0"], "time": [0.0, 12.5], "event": ["arrive", "answer"]}
    )


def _metrics() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "arm": ["control", "control", "more_agents", "more_agents"],
            "replication": [0, 1, 0, 1],
            "metric": ["wait.mean"] * 4,
            "value": [40.1, 42.36, 8.0, 9.0],
        }
    )


ARMS_METRICS = {
    "control": {
        "tickets": {"mean": 712.5, "ci": [700.2, 724.8], "replications": [700, 725]},
        "wait.mean": {"mean": 41.23, "ci": [38.01, 44.49], "replications": [40.1, 42.36]},
        "sla_attainment": {"mean": 0.8312, "ci": [0.81, 0.852], "replications": [0.82, 0.8424]},
        "utilization": {"mean": 0.6, "ci": [0.55, 0.65], "replications": [0.58, 0.62]},
        "utilization.agents": {"mean": 0.6, "ci": None, "replications": [0.6, 0.6]},
    },
    "more_agents": {
        "tickets": {"mean": 712.5, "ci": [700.2, 724.8], "replications": [700, 725]},
        "wait.mean": {"mean": 8.5, "ci": [7.9, 9.1], "replications": [8.0, 9.0]},
        "sla_attainment": {"mean": float("nan"), "ci": None, "replications": []},
    },
}
EXPECTATIONS = [{"metric": "sla_attainment", "arm": "control", "min": 0.8, "value": 0.8312, "met": True}]


def make_data(experiment: Experiment, status: str = "complete", limit: str | None = None) -> RunData:
    summary = build_summary(experiment, RUN_ID, ARMS_METRICS, EXPECTATIONS, status, limit)
    return RunData(
        tickets=_tickets(),
        events=_events(),
        metrics=_metrics(),
        summary=summary,
        report_md=render_report(experiment, summary, status, limit),
        status=status,
        limit=limit,
        started=STARTED,
        finished=FINISHED,
        seeds={"master": 1, "replications": [[0], [1]]},
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def written(tmp_path: Path) -> Path:
    exp = make_experiment()
    return write_bundle(tmp_path / "results", exp, RUN_ID, make_data(exp))


# --------------------------------------------------------------------------------------------------
# run id


def test_run_id_is_utc_time_and_content_hash() -> None:
    exp = make_experiment()
    digest = hashlib.sha256(tomli_w.dumps(exp.raw).encode()).hexdigest()[:6]
    assert make_run_id(exp, STARTED) == f"20261204T193012Z-{digest}"
    # the same moment in another zone gives the same id; naive datetimes are UTC
    plus_two = STARTED.astimezone(timezone(timedelta(hours=2)))
    assert make_run_id(exp, plus_two) == make_run_id(exp, STARTED)
    assert make_run_id(exp, STARTED.replace(tzinfo=None)) == make_run_id(exp, STARTED)


def test_run_id_hash_follows_the_resolved_experiment() -> None:
    a = make_experiment()
    raw = _raw()
    raw["experiment"]["seed"] = 2
    b = make_experiment(raw=raw)
    assert make_run_id(a, STARTED) != make_run_id(b, STARTED)
    assert make_run_id(a, STARTED)[:17] == make_run_id(b, STARTED)[:17]


# --------------------------------------------------------------------------------------------------
# writing


def test_bundle_layout(written: Path, tmp_path: Path) -> None:
    assert written == tmp_path / "results" / "demo" / RUN_ID
    assert sorted(p.name for p in written.iterdir()) == [
        "events.parquet", "experiment.toml", "manifest.json", "metrics.parquet",
        "report.md", "summary.json", "tickets.parquet",
    ]
    # no staging folder left behind
    assert sorted(p.name for p in written.parent.iterdir()) == [RUN_ID]
    assert (written / "experiment.toml").read_text() == tomli_w.dumps(make_experiment().raw)


def test_manifest_contents(written: Path) -> None:
    manifest = json.loads((written / "manifest.json").read_text())
    assert manifest["format"] == FORMAT == 1
    assert manifest["run_id"] == RUN_ID
    assert manifest["experiment"] == {"name": "demo", "file": "x.toml", "sha256": "ab" * 32}
    assert manifest["seeds"] == {"master": 1, "replications": [[0], [1]]}
    assert manifest["replications"] == 2
    assert manifest["arms"] == ["control", "more_agents"]
    assert set(manifest["versions"]) == {
        "supportlab", "python", "numpy", "polars", "scipy", "typer", "rich", "tomli_w"
    }
    assert manifest["versions"]["polars"] == pl.__version__
    assert all(isinstance(v, str) and v for v in manifest["versions"].values())
    assert manifest["platform"] and manifest["machine"] is not None
    assert "git" in manifest
    assert manifest["inputs"] == {}
    assert manifest["started"] == "2026-12-04T19:30:12Z"
    assert manifest["finished"] == "2026-12-04T19:31:05Z"
    assert manifest["status"] == "complete"
    assert manifest["limit"] is None
    assert list(manifest["files"]) == [
        "tickets.parquet", "events.parquet", "metrics.parquet", "summary.json", "experiment.toml", "report.md"
    ]
    for name, digest in manifest["files"].items():
        assert _sha(written / name) == digest, name


def test_aborted_run_records_the_limit(tmp_path: Path) -> None:
    exp = make_experiment()
    path = write_bundle(tmp_path, exp, RUN_ID, make_data(exp, "aborted", "max_tickets"))
    manifest = json.loads((path / "manifest.json").read_text())
    assert (manifest["status"], manifest["limit"]) == ("aborted", "max_tickets")
    assert read_bundle(path).status == "aborted"
    with pytest.raises(BundleError, match=r"aborted by the max_tickets limit; this needs a complete bundle"):
        read_bundle(path, require_complete=True)


def test_summary_json_turns_nan_into_null(written: Path) -> None:
    text = (written / "summary.json").read_text()
    assert "NaN" not in text
    summary = json.loads(text)
    assert summary["arms"]["more_agents"]["metrics"]["sla_attainment"]["mean"] is None
    assert list(summary) == [
        "format", "experiment", "run_id", "seed", "replications", "status", "limit", "arms", "expectations"
    ]
    assert text.startswith('{\n  "format": 1,\n  "experiment": "demo",')


def test_parquet_is_byte_identical_for_identical_frames(tmp_path: Path) -> None:
    frame = _tickets()
    write_parquet(frame, tmp_path / "a.parquet")
    write_parquet(frame, tmp_path / "b.parquet")
    # the same values built in pieces (several chunks) give the same bytes too
    chunked = pl.concat([frame[:1], frame[1:3], frame[3:]], rechunk=False)
    assert chunked.n_chunks() > 1
    write_parquet(chunked, tmp_path / "c.parquet")
    a = (tmp_path / "a.parquet").read_bytes()
    assert a == (tmp_path / "b.parquet").read_bytes() == (tmp_path / "c.parquet").read_bytes()
    assert pl.read_parquet(tmp_path / "a.parquet").equals(frame)


def test_rewriting_a_bundle_gives_identical_data_files(tmp_path: Path) -> None:
    exp = make_experiment()
    first = write_bundle(tmp_path / "one", exp, RUN_ID, make_data(exp))
    second = write_bundle(tmp_path / "two", exp, RUN_ID, make_data(exp))
    for name in ("tickets.parquet", "events.parquet", "metrics.parquet", "summary.json", "report.md",
                 "experiment.toml"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert compare_bundles(first, second) == []


def test_existing_bundle_is_not_overwritten(written: Path, tmp_path: Path) -> None:
    exp = make_experiment()
    with pytest.raises(BundleError, match="a bundle with this run id already exists"):
        write_bundle(tmp_path / "results", exp, RUN_ID, make_data(exp))


def test_bad_status_is_a_programming_error(tmp_path: Path) -> None:
    exp = make_experiment()
    data = make_data(exp)
    data.status = "done"
    with pytest.raises(ValueError, match="status"):
        write_bundle(tmp_path, exp, RUN_ID, data)


# --------------------------------------------------------------------------------------------------
# atomicity


def _crash(*args: object, **kwargs: object) -> None:
    raise RuntimeError("simulated crash")


@pytest.mark.parametrize("where", ["rename", "summary"])
def test_crash_leaves_only_a_partial_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    exp = make_experiment()
    if where == "rename":
        monkeypatch.setattr(bundle_mod.os, "rename", _crash)
    else:
        monkeypatch.setattr(bundle_mod, "dumps_json", _crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_bundle(tmp_path, exp, RUN_ID, make_data(exp))
    monkeypatch.undo()

    entries = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert entries == [f".{RUN_ID}.partial-{os.getpid()}"]
    assert not (tmp_path / "demo" / RUN_ID).exists()
    partial = tmp_path / "demo" / entries[0]
    assert (partial / "manifest.json").exists() == (where == "rename")
    with pytest.raises(BundleError) as err:
        read_bundle(partial)
    assert str(err.value) == (
        f"{partial} is not a result bundle (an unfinished staging folder left by an interrupted write)"
    )
    assert list(bundle_mod.iter_bundles(tmp_path)) == []

    # a later write with the same process id starts over from a clean staging folder
    path = write_bundle(tmp_path, exp, RUN_ID, make_data(exp))
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [RUN_ID]
    assert verify_files(read_bundle(path)) == []
    assert list(bundle_mod.iter_bundles(tmp_path)) == [path]


def test_manifest_is_written_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exp = make_experiment()
    seen: list[list[str]] = []
    real = bundle_mod._write_text

    def spy(path: Path, text: str) -> None:
        if path.name == "manifest.json":
            seen.append(sorted(p.name for p in path.parent.iterdir()))
        real(path, text)

    monkeypatch.setattr(bundle_mod, "_write_text", spy)
    write_bundle(tmp_path, exp, RUN_ID, make_data(exp))
    assert seen == [["events.parquet", "experiment.toml", "metrics.parquet", "report.md", "summary.json",
                     "tickets.parquet"]]


# --------------------------------------------------------------------------------------------------
# inputs


def test_inputs_are_copied_and_paths_rewritten(tmp_path: Path) -> None:
    src = tmp_path / "exp"
    src.mkdir()
    csv = src / "handle.csv"
    csv.write_text("handle\n30\n60\n90\n")
    digest = _sha(csv)
    raw = _raw(handle={"dist": "empirical", "path": "handle.csv", "column": "handle"})
    exp = make_experiment(path=str(src / "x.toml"), raw=raw, inputs=((str(csv), digest),))
    path = write_bundle(tmp_path / "results", exp, RUN_ID, make_data(exp))

    assert (path / "inputs" / "handle.csv").read_bytes() == csv.read_bytes()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["inputs"] == {str(csv): digest}
    assert manifest["files"]["inputs/handle.csv"] == digest
    toml = (path / "experiment.toml").read_text()
    assert 'path = "inputs/handle.csv"' in toml
    assert 'column = "handle"' in toml
    # the experiment itself is not modified
    assert exp.raw["workload"]["intents"][0]["handle_time"]["path"] == "handle.csv"
    assert verify_files(read_bundle(path)) == []


def test_changed_input_file_is_refused(tmp_path: Path) -> None:
    csv = tmp_path / "handle.csv"
    csv.write_text("handle\n30\n")
    exp = make_experiment(path=str(tmp_path / "x.toml"), inputs=((str(csv), "0" * 64),))
    with pytest.raises(BundleError, match=r"handle.csv changed since the experiment was loaded"):
        write_bundle(tmp_path / "results", exp, RUN_ID, make_data(exp))


# --------------------------------------------------------------------------------------------------
# reading


def test_read_bundle_round_trip(written: Path) -> None:
    b = read_bundle(written, require_complete=True)
    assert b.path == written
    assert b.run_id == RUN_ID and b.experiment_name == "demo" and b.status == "complete" and b.limit is None
    assert b.summary["arms"]["control"]["metrics"]["wait.mean"]["ci"] == [38.01, 44.49]
    assert b.tickets().equals(_tickets())
    assert b.tickets() is b.tickets()  # read once
    assert b.events().equals(_events())
    assert b.metrics().equals(_metrics())
    assert b.experiment_toml() == tomli_w.dumps(make_experiment().raw)


def test_read_bundle_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(BundleError, match=rf"^{missing}: no such bundle \(the folder does not exist\)$"):
        read_bundle(missing)


def test_read_bundle_file_instead_of_folder(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("x")
    with pytest.raises(BundleError, match=rf"^{f} is not a result bundle \(not a directory\)$"):
        read_bundle(f)


def test_read_bundle_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=rf"^{tmp_path} is not a result bundle \(no manifest.json\)$"):
        read_bundle(tmp_path)


def test_read_bundle_newer_format(written: Path) -> None:
    manifest = json.loads((written / "manifest.json").read_text())
    manifest["format"] = 2
    (written / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError) as err:
        read_bundle(written)
    assert str(err.value) == (
        f"{written} was written by a newer supportlab (format 2), this one reads format 1"
    )


def test_read_bundle_bad_manifest_json(written: Path) -> None:
    (written / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="manifest is not valid JSON"):
        read_bundle(written)


def test_read_bundle_missing_data_file(written: Path) -> None:
    (written / "events.parquet").unlink()
    with pytest.raises(BundleError) as err:
        read_bundle(written)
    assert str(err.value) == f"{written}: incomplete bundle, missing events.parquet"


def test_verify_files_names_tampered_and_missing_files(written: Path) -> None:
    b = read_bundle(written)
    assert verify_files(b) == []
    (written / "report.md").write_text("edited\n")
    (written / "metrics.parquet").unlink()
    problems = verify_files(b)
    assert len(problems) == 2
    assert problems[0] == f"{written / 'metrics.parquet'}: missing"
    assert problems[1].startswith(f"{written / 'report.md'}: sha256 is ")
    assert problems[1].endswith(f"the manifest says {b.manifest['files']['report.md']}")


# --------------------------------------------------------------------------------------------------
# comparing


def test_compare_tables_equal() -> None:
    assert compare_tables(_tickets(), _tickets()) is None  # nulls and NaNs compare equal


def test_compare_tables_columns() -> None:
    a = pl.DataFrame({"x": [1], "y": [2]})
    assert compare_tables(a, pl.DataFrame({"x": [1], "z": [2]})) == (
        "columns differ: only in first: y; only in second: z"
    )
    assert compare_tables(a, pl.DataFrame({"x": [1]})) == "columns differ: only in first: y"
    assert compare_tables(a, pl.DataFrame({"y": [2], "x": [1]})) == (
        "column order differs: first [x, y], second [y, x]"
    )


def test_compare_tables_types_and_rows() -> None:
    a = pl.DataFrame({"x": [1, 2]})
    assert compare_tables(a, pl.DataFrame({"x": [1.0, 2.0]})) == (
        "column 'x' type differs: first Int64, second Float64"
    )
    assert compare_tables(a, pl.DataFrame({"x": [1, 2, 3]})) == "row count differs: first 2, second 3"


def test_compare_tables_first_differing_value() -> None:
    a = pl.DataFrame({"arm": ["c", "c", "v"], "wait": [1.5, 2.0, 3.0], "n": [1, 2, 3]})
    b = pl.DataFrame({"arm": ["c", "c", "w"], "wait": [1.5, 2.25, 3.0], "n": [1, 2, 4]})
    assert compare_tables(a, b) == "row 1, column 'wait': first 2.0, second 2.25"
    assert compare_tables(a, b, labels=("original", "rerun")) == (
        "row 1, column 'wait': original 2.0, rerun 2.25"
    )
    c = pl.DataFrame({"arm": ["c", "c", "v"], "wait": [1.5, None, 3.0], "n": [1, 2, 3]})
    assert compare_tables(a, c) == "row 1, column 'wait': first 2.0, second null"
    d = pl.DataFrame({"arm": ["c", "x", "v"], "wait": [1.5, 2.0, 9.0], "n": [1, 2, 3]})
    assert compare_tables(a, d) == "row 1, column 'arm': first 'c', second 'x'"


def test_compare_bundles_names_the_first_difference(tmp_path: Path) -> None:
    exp = make_experiment()
    original = write_bundle(tmp_path / "a", exp, RUN_ID, make_data(exp))
    data = make_data(exp)
    data.metrics = data.metrics.with_columns(
        pl.when(pl.col("replication") == 1)
        .then(pl.col("value") + 0.5)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    rerun = write_bundle(tmp_path / "b", exp, RUN_ID, data)
    assert compare_bundles(original, rerun) == [
        "metrics.parquet: row 1, column 'value': original 42.36, rerun 42.86"
    ]


def test_compare_bundles_refuses_non_bundles(written: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no manifest.json"):
        compare_bundles(written, tmp_path)


# --------------------------------------------------------------------------------------------------
# helpers


def test_json_safe() -> None:
    import numpy as np

    value = {"a": float("nan"), "b": [1.0, float("inf"), -float("inf")], "c": (np.float64(2.5), np.int64(3)),
             "d": np.bool_(True), "e": {"f": None}}
    assert json_safe(value) == {"a": None, "b": [1.0, None, None], "c": [2.5, 3], "d": True, "e": {"f": None}}
    assert type(json_safe(np.int64(3))) is int
    with pytest.raises(TypeError):
        json_safe({1: 2})


def test_git_info_outside_and_inside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # ignore any enclosing repo
    for var in ("GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(var, raising=False)
    assert git_info(tmp_path) is None
    try:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("git not available")
    assert git_info(tmp_path) == {"commit": None, "dirty": False}
    (tmp_path / "a.txt").write_text("a")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com",
           "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "add", "a.txt"], check=True, capture_output=True, timeout=30)
    subprocess.run([*git, "commit", "-q", "-m", "a"], check=True, capture_output=True, timeout=30)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True, timeout=30)
    (tmp_path / "untracked.txt").write_text("u")
    assert git_info(tmp_path) == {"commit": head.stdout.strip(), "dirty": False}
    (tmp_path / "a.txt").write_text("changed")
    assert git_info(tmp_path) == {"commit": head.stdout.strip(), "dirty": True}


# --------------------------------------------------------------------------------------------------
# report


def test_number_formatting() -> None:
    assert format_number(712.5) == "713"
    assert format_number(41.23) == "41.2"
    assert format_number(0.8312) == "0.831"
    assert format_number(0.000123456) == "0.000123"
    assert format_number(12345.6) == "12346"
    assert format_number(0) == "0"
    assert format_number(None) == format_number(float("nan")) == "–"
    assert format_estimate(41.23, [38.01, 44.49]) == "41.2 [38.0, 44.5]"
    assert format_estimate(8.5, [7.9, 9.1]) == "8.50 [7.90, 9.10]"
    assert format_estimate(0.6, None) == "0.600"
    assert format_estimate(None, [1.0, 2.0]) == "–"


def test_build_summary_shape() -> None:
    exp = make_experiment()
    summary = build_summary(exp, RUN_ID, {"more_agents": ARMS_METRICS["more_agents"],
                                          "control": ARMS_METRICS["control"]}, EXPECTATIONS, "complete", None)
    assert summary["format"] == 1
    assert summary["experiment"] == "demo" and summary["run_id"] == RUN_ID
    assert summary["seed"] == 1 and summary["replications"] == 2
    assert summary["status"] == "complete" and summary["limit"] is None
    assert list(summary["arms"]) == ["control", "more_agents"]  # experiment order
    assert summary["arms"]["control"]["metrics"]["wait.mean"] == {
        "mean": 41.23, "ci": [38.01, 44.49], "replications": [40.1, 42.36]
    }
    assert summary["arms"]["more_agents"]["metrics"]["sla_attainment"]["mean"] is None
    assert summary["expectations"] == EXPECTATIONS
    json.dumps(summary, allow_nan=False)


EXPECTED_REPORT = """\
# demo · run 20261204T193012Z-3fa9c1

A tiny M/M/c queue

**Hypothesis:** Two more agents cut the mean wait

**Status:** complete

Seed 1, 2 replications, arms: control, more_agents.

**Objective:** decrease `wait.mean`, minimum effect 10% (alpha 0.05).

## Metrics

Mean over replications with the 95% confidence interval; times in seconds.

| metric | unit | control | more_agents |
|---|---|---:|---:|
| `tickets` | count | 713 [700, 725] | 713 [700, 725] |
| `wait.mean` | s | 41.2 [38.0, 44.5] | 8.50 [7.90, 9.10] |
| `sla_attainment` | share | 0.831 [0.810, 0.852] | – |
| `utilization` | share | 0.600 [0.550, 0.650] | – |
| `utilization.agents` | share | 0.600 | – |

## Expectations

| metric | arm | expected | value | met |
|---|---|---|---:|:---:|
| `sla_attainment` | control | ≥ 0.8 | 0.831 | ✓ |

1 of 1 expectations met.

## Variants

- **more_agents**: `system.pools.agents.agents = 12`
"""


def test_render_report_exact_text() -> None:
    exp = make_experiment()
    summary = build_summary(exp, RUN_ID, ARMS_METRICS, EXPECTATIONS, "complete", None)
    assert render_report(exp, summary, "complete", None) == EXPECTED_REPORT


def test_render_report_aborted_and_unmet() -> None:
    exp = make_experiment(variant=False)
    expectations = [
        {"metric": "wait.mean", "arm": "control", "min": 1.0, "max": 30.0, "value": 41.23, "met": False},
        {"metric": "first_response.p95", "arm": "control", "max": 600.0, "value": None, "met": None},
    ]
    summary = build_summary(exp, RUN_ID, {"control": ARMS_METRICS["control"]}, expectations, "aborted",
                            "max_tickets")
    text = render_report(exp, summary, "aborted", "max_tickets")
    assert ("**Status:** aborted: the `max_tickets` limit was reached; the results cover only what ran "
            "before it.") in text
    assert "| `wait.mean` | control | 1 to 30 | 41.2 | ✗ |" in text
    assert "| `first_response.p95` | control | ≤ 600 | – | – |" in text
    assert "0 of 2 expectations met." in text
    assert "## Variants" not in text
    assert render_report(exp, summary, "aborted", "max_tickets") == text  # deterministic
