"""The command line as a user meets it: exit codes, messages, bundles, determinism, limits."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from support import cli

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

SMALL = """\
[experiment]
name = "small"
seed = 3
replications = 2
horizon = "2h"
warmup = "10m"

[workload]
kind = "generate"

[[workload.channels]]
name = "phone"
arrivals = { rate = "300/h" }
sla = "20s"
patience = { dist = "exponential", mean = "3m" }

[[workload.intents]]
name = "general"
share = 1.0
handle_time = { dist = "exponential", mean = "60s" }

[[system.pools]]
name = "agents"
agents = 6
skills = ["general"]

[arms.control]

[arms.seven]
set = { "system.pools.agents.agents" = 7 }
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def run_json(capsys, *args: str) -> dict:
    code, out, err = cli(capsys, "run", *args, "--json")
    assert code == 0, err
    return json.loads(out)


# --- run and the bundle --------------------------------------------------------------------------------------
def test_run_writes_a_complete_bundle(capsys, small, tmp_path):
    res = run_json(capsys, small, "--out", tmp_path / "results", "--workers", "1")
    bundle = Path(res["bundle"])
    assert bundle.parent == tmp_path / "results" / "small"
    assert res["status"] == "complete" and res["run_id"] == bundle.name
    names = {p.name for p in bundle.iterdir()}
    assert {"manifest.json", "experiment.toml", "tickets.parquet", "events.parquet", "metrics.parquet",
            "summary.json", "report.md"} <= names
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["seeds"]["master"] == 3
    for name, digest in manifest["files"].items():
        assert sha(bundle / name) == digest
    tickets = pl.read_parquet(bundle / "tickets.parquet")
    assert set(tickets["arm"].unique()) == {"control", "seven"}
    assert sorted(tickets["replication"].unique().to_list()) == [0, 1]
    events = pl.read_parquet(bundle / "events.parquet")
    assert events.columns == ["arm", "replication", "ticket", "session_id", "time", "event", "hop", "component",
                              "latency"]
    metrics = pl.read_parquet(bundle / "metrics.parquet")
    assert {"arm", "replication", "metric", "value"} <= set(metrics.columns)
    summary = json.loads((bundle / "summary.json").read_text())
    assert summary["experiment"] == "small" and summary["replications"] == 2
    wait = summary["arms"]["control"]["metrics"]["wait.mean"]
    assert len(wait["replications"]) == 2 and wait["ci"][0] <= wait["mean"] <= wait["ci"][1]
    # one more agent: shorter waits, with the very same customers (common random numbers)
    assert summary["arms"]["seven"]["metrics"]["wait.mean"]["mean"] < wait["mean"]
    c = tickets.filter(pl.col("arm") == "control").sort("replication", "ticket")
    s = tickets.filter(pl.col("arm") == "seven").sort("replication", "ticket")
    assert c["arrival"].equals(s["arrival"]) and c["session_id"].equals(s["session_id"])


def test_run_prints_a_table_and_the_bundle_path(capsys, small, tmp_path):
    code, out, err = cli(capsys, "run", small, "--out", tmp_path, "--workers", "1")
    assert code == 0
    assert "wait.mean" in out and "control" in out and "seven" in out
    assert out.strip().splitlines()[-1].startswith(str(tmp_path / "small"))


def test_same_file_and_seed_give_byte_identical_data_whatever_the_workers(capsys, small, tmp_path):
    one = Path(run_json(capsys, small, "--out", tmp_path / "a", "--workers", "1")["bundle"])
    two = Path(run_json(capsys, small, "--out", tmp_path / "b", "--workers", "2")["bundle"])
    for name in ("tickets.parquet", "events.parquet", "metrics.parquet"):
        assert sha(one / name) == sha(two / name), name
    s1, s2 = (json.loads((b / "summary.json").read_text()) for b in (one, two))
    assert s1.pop("run_id") != "" and s2.pop("run_id") != ""
    assert s1 == s2
    other = Path(run_json(capsys, small, "--out", tmp_path / "c", "--seed", "4", "--workers", "1")["bundle"])
    assert sha(one / "tickets.parquet") != sha(other / "tickets.parquet")


def test_seed_and_replications_overrides_are_recorded(capsys, small, tmp_path):
    res = run_json(capsys, small, "--out", tmp_path, "--seed", "99", "--replications", "3", "--workers", "1")
    bundle = Path(res["bundle"])
    assert "seed = 99" in (bundle / "experiment.toml").read_text()
    summary = json.loads((bundle / "summary.json").read_text())
    assert summary["seed"] == 99 and summary["replications"] == 3


def test_reproduce_matches_and_reports_the_first_difference(capsys, small, tmp_path):
    bundle = Path(run_json(capsys, small, "--out", tmp_path, "--workers", "1")["bundle"])
    code, out, _ = cli(capsys, "reproduce", bundle, "--workers", "1")
    assert code == 0 and "reproduced" in out
    # tamper with the stored data: the re-run no longer matches and the first difference is named
    tickets = pl.read_parquet(bundle / "tickets.parquet")
    tickets.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(-1.0).otherwise(pl.col("wait")).alias("wait")
                         ).write_parquet(bundle / "tickets.parquet")
    code, out, _ = cli(capsys, "reproduce", bundle, "--workers", "1")
    assert code == 1
    assert "NOT reproduced" in out and "tickets.parquet" in out and "wait" in out


# --- limits -------------------------------------------------------------------------------------------------
def test_max_tickets_aborts_cleanly_with_exit_3(capsys, small, tmp_path):
    limited = small.read_text() + "\n[limits]\nmax_tickets = 1000\n"
    small.write_text(limited)
    code, out, err = cli(capsys, "run", small, "--out", tmp_path, "--workers", "1", "--json")
    assert code == 3
    assert "max_tickets" in err
    bundle = Path(json.loads(out)["bundle"])
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["status"] == "aborted" and manifest["limit"] == "max_tickets"
    assert pl.read_parquet(bundle / "tickets.parquet").height <= 1000


def test_max_wall_time_aborts_cleanly_with_exit_3(capsys, small, tmp_path):
    text = small.read_text().replace('horizon = "2h"', 'horizon = "2000h"')
    small.write_text(text + '\n[limits]\nmax_wall_time = "0.3s"\n')
    code, out, err = cli(capsys, "run", small, "--out", tmp_path, "--workers", "1", "--json")
    assert code == 3 and "max_wall_time" in err
    manifest = json.loads((Path(json.loads(out)["bundle"]) / "manifest.json").read_text())
    assert manifest["status"] == "aborted" and manifest["limit"] == "max_wall_time"


# --- bad input: exit 2, a message, never a traceback -----------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"],
         "UsageError: --workers: 0 is not a positive number of processes, expected an integer >= 1"),
        (["--replications", "0"],
         "UsageError: --replications: 0 is not a positive number of replications, expected an integer >= 1"),
        (["--seed", "-1"], "UsageError: --seed: -1 is negative, expected an integer >= 0"),
    ],
)
def test_bad_option_values_exit_2(capsys, small, tmp_path, args, message):
    code, out, err = cli(capsys, "run", small, "--out", tmp_path, *args)
    assert code == 2 and out == ""
    assert err.strip() == message


def test_unknown_option_and_missing_file_exit_2(capsys, tmp_path):
    code, _, err = cli(capsys, "run", tmp_path / "x.toml", "--frobnicate")
    assert code == 2 and "frobnicate" in err and "Traceback" not in err
    code, _, err = cli(capsys, "run", tmp_path / "nope.toml")
    assert code == 2 and "Traceback" not in err
    assert err.strip() == f"ConfigError: {tmp_path / 'nope.toml'}: file not found"


def test_invalid_file_exits_2_naming_file_key_value_and_expectation(capsys, small):
    small.write_text(SMALL.replace('share = 1.0', 'share = 0.9'))
    code, out, err = cli(capsys, "validate", small)
    assert code == 2 and out == ""
    assert err.strip() == f"ConfigError: {small}: workload.intents[0].share: shares sum to 0.9, expected 1.0"


def test_validate_accepts_every_shipped_experiment(capsys):
    files = sorted((ROOT / "experiments").glob("*.toml")) + sorted(DATA.glob("*.toml"))
    code, out, _ = cli(capsys, "validate", *files)
    assert code == 0 and out.count(": ok (") == len(files)


def test_internal_errors_are_one_line_with_a_hint(capsys, small, tmp_path, monkeypatch):
    import supportlab.api as api

    def boom(*a, **k):
        raise RuntimeError("kaput")

    monkeypatch.setattr(api, "run_experiment", boom)
    code, _, err = cli(capsys, "run", small, "--out", tmp_path)
    assert code == 4
    assert err.strip() == "InternalError: RuntimeError: kaput (re-run with --debug for the traceback)"


# --- init ---------------------------------------------------------------------------------------------------
def test_init_writes_a_starter_that_validates_and_runs(capsys, tmp_path):
    code, out, _ = cli(capsys, "init", tmp_path / "new")
    starter = Path(out.strip())
    assert code == 0 and starter.exists()
    assert cli(capsys, "validate", starter)[0] == 0
    assert cli(capsys, "run", starter, "--out", tmp_path / "r", "--workers", "1", "--json")[0] == 0
    code, _, err = cli(capsys, "init", tmp_path / "new")
    assert code == 2 and "already exists" in err


# --- the shipped examples ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "experiments").glob("*.toml")))
def test_every_example_experiment_runs_meets_its_expectations_and_compares(capsys, tmp_path, name):
    res = run_json(capsys, ROOT / "experiments" / name, "--out", tmp_path, "--workers", "2")
    assert res["status"] == "complete"
    failed = [e for e in res["expectations"] if not e["met"]]
    assert not failed, failed
    code, out, err = cli(capsys, "compare", res["bundle"], "--format", "json")
    assert code == 0, err
    verdicts = {v["arm"]: v["verdict"] for v in json.loads(out)["variants"]}
    assert verdicts and set(verdicts.values()) <= {"ship", "no-ship", "inconclusive"}


def test_shared_mmc_example_agrees_with_erlang_c(capsys, tmp_path):
    """mmc.toml's comment: P(wait > 0) = 0.825586, mean wait = 99.070 s, P(first response <= 20 s) = 0.301157."""
    summary = _summary(capsys, DATA / "mmc.toml", tmp_path)
    control = summary["arms"]["control"]["metrics"]
    _assert_covers(control["wait.mean"], 99.070)
    _assert_covers(control["sla_attainment"], 0.301157)
    # eleven agents: Erlang C gives a far shorter mean wait
    assert summary["arms"]["eleven_agents"]["metrics"]["wait.mean"]["mean"] < 0.5 * control["wait.mean"]["mean"]


def test_shared_erlang_a_example_agrees_with_erlang_a(capsys, tmp_path):
    """erlang-a.toml's comment: P(abandon) = 0.065227."""
    summary = _summary(capsys, DATA / "erlang-a.toml", tmp_path)
    _assert_covers(summary["arms"]["control"]["metrics"]["abandon_rate"], 0.065227)


def _summary(capsys, path: Path, tmp_path: Path) -> dict:
    bundle = Path(run_json(capsys, path, "--out", tmp_path, "--workers", "2")["bundle"])
    return json.loads((bundle / "summary.json").read_text())


def _assert_covers(stats: dict, truth: float) -> None:
    """The analytic value lies in the simulation's own 99% confidence interval over replications."""
    import numpy as np
    from scipy import stats as st

    values = np.array(stats["replications"])
    half = st.t.ppf(0.995, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    assert values.mean() - half <= truth <= values.mean() + half, (values.mean(), half, truth)


def test_the_examples_do_not_need_shared(tmp_path):
    """The suite's copies of ../shared/examples are the files the tests use."""
    assert (DATA / "mmc.toml").exists() and (DATA / "erlang-a.toml").exists()
    shutil.copy(DATA / "mmc.toml", tmp_path / "mmc.toml")


def test_two_runs_within_a_second_get_two_bundles(capsys, small, tmp_path):
    first = Path(run_json(capsys, small, "--out", tmp_path, "--workers", "1")["bundle"])
    second = Path(run_json(capsys, small, "--out", tmp_path, "--workers", "1")["bundle"])
    assert first != second and first.exists() and second.exists()
    assert sha(first / "tickets.parquet") == sha(second / "tickets.parquet")


def test_no_partial_folder_is_left_after_a_run(capsys, small, tmp_path):
    run_json(capsys, small, "--out", tmp_path, "--workers", "1")
    assert [p.name for p in (tmp_path / "small").iterdir() if p.name.startswith(".")] == []


def test_validate_reports_every_bad_file_and_still_checks_the_good_ones(capsys, small, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace('agents = 6', 'agents = 0'))
    code, out, err = cli(capsys, "validate", bad, small)
    assert code == 2
    assert out.strip() == f"{small}: ok (small: 2 arms, variants: seven)"
    assert err.startswith(f"ConfigError: {bad}: system.pools[0].agents: 0 is not a positive integer")


def test_determinism_across_workers_holds_for_the_full_event_loop(capsys, tmp_path):
    """routine.toml has a bot, two pools, concurrency and transfers: the general engine, not the recursion."""
    path = ROOT / "experiments" / "routine.toml"
    one = Path(run_json(capsys, path, "--out", tmp_path / "a", "--workers", "1", "--replications", "2")["bundle"])
    two = Path(run_json(capsys, path, "--out", tmp_path / "b", "--workers", "2", "--replications", "2")["bundle"])
    for name in ("tickets.parquet", "events.parquet", "metrics.parquet"):
        assert sha(one / name) == sha(two / name), name
    events = pl.read_parquet(one / "events.parquet")
    assert {"bot", "contained", "transfer", "answer"} <= set(events["event"].cast(pl.String).unique())


def test_an_unwritable_out_directory_is_a_usage_error(capsys, small, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = cli(capsys, "run", small, "--out", blocker / "results")
    assert code == 2 and err.startswith(f"UsageError: --out: cannot create {blocker / 'results'}")
