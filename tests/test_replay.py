"""Replaying a real log: arrivals exactly as logged, the observed arm, patience, scaling, staffing, priorities.

Most tests use ``tests/data/bank-slice.tsv`` (3 days of the real bank log) through
``tests/data/replay-slice.toml`` (the bank example with its ``path`` changed); the truths they compare
with are counted straight from the file with the ``csv`` module, not through supportlab.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from support import cli

from supportlab.experiment import load_experiment, load_text
from supportlab.model import Pool, Shift
from supportlab.replay import read_log, staffing_busy_when_queued
from supportlab.runner import run_experiment
from supportlab.seeds import arm_key
from supportlab.staffing import agents_at, max_agents, next_change, schedule_steps, staffed_seconds
from supportlab.workload import StreamId, generate

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SLICE = DATA / "replay-slice.toml"
KEPT_DAYS = {"990201": 0, "990207": 6}  # Monday and Sunday; Friday 990205 is left out (Sun-Thu)


def clock(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def logged_rows() -> list[dict[str, str]]:
    """The slice's rows the example replays, selected by hand from the raw file."""
    with open(DATA / "bank-slice.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    out = []
    for r in rows:
        if r["outcome"] == "PHANTOM" or (r["outcome"] == "HANG" and r["q_start"] == "0:00:00"):
            continue
        if r["date"] not in KEPT_DAYS or clock(r["vru_exit"]) < 7 * 3600:
            continue
        out.append(r)
    return out


def arrival_of(r: dict[str, str]) -> float:
    return KEPT_DAYS[r["date"]] * 86_400.0 + clock(r["vru_exit"])


@pytest.fixture(scope="module")
def exp():
    return load_experiment(SLICE)


@pytest.fixture(scope="module")
def run(exp):
    return run_experiment(exp, workers=1)


def with_replay(line: str, replications: int = 2):
    """The slice experiment with one more ``[workload.replay]`` line."""
    text = SLICE.read_text().replace('staffing_interval = "15m"', f'staffing_interval = "15m"\n{line}')
    return load_text(text.replace("replications = 2", f"replications = {replications}"), str(SLICE))


def workload(exp, arm: int = 0, replication: int = 0) -> pl.DataFrame:
    return generate(exp.arms[arm].scenario, StreamId(exp.seed, replication, arm_key(exp.crn, arm)),
                    horizon=exp.horizon, tickets=exp.tickets)


# ---------------------------------------------------------------------------------------------------
# the replayed workload


def test_replayed_arrivals_are_the_log_exactly(exp) -> None:
    rows = logged_rows()
    wl = workload(exp)
    assert wl.height == len(rows)
    assert wl["arrival"].to_list() == sorted(arrival_of(r) for r in rows)
    hour = lambda t: int(t % 86_400 // 3600)  # noqa: E731
    want = Counter((hour(arrival_of(r)), r["type"]) for r in rows)
    got = Counter(zip((hour(t) for t in wl["arrival"].to_list()), wl["intent"].cast(pl.String).to_list(),
                      strict=True))
    assert got == want
    assert [i.name for i in exp.control.scenario.workload.intents] == sorted({r["type"] for r in rows})


def test_handle_times_priorities_and_patience_come_from_the_log(exp) -> None:
    rows = sorted(logged_rows(), key=lambda r: (arrival_of(r), int(r["call_id"])))
    wl = workload(exp)
    log = exp.control.scenario.workload.replay.log.table
    by_index = [log.row(i, named=True) for i in wl["log_index"].to_list()]
    served = [i for i, r in enumerate(by_index) if r["outcome"] == "served"]
    handle = wl["handle"].to_numpy()
    assert all(handle[i] == min(float(by_index[i]["handle"]), 3600.0) for i in served)
    raw_high = Counter(r["priority"] == "2" for r in rows)
    assert Counter(wl["priority"].to_numpy() == 1) == raw_high
    patience = wl["patience"].to_numpy()
    wait = np.array([r["queue_time"] for r in by_index])
    abandoned = np.array([r["outcome"] == "abandoned" for r in by_index])
    assert (patience[abandoned] == wait[abandoned]).all()  # an abandoned caller keeps the wait they gave up after
    assert (patience[~abandoned] > wait[~abandoned]).all()  # a served one was more patient than their wait
    again = workload(exp)
    assert again["patience"].to_list() == wl["patience"].to_list()
    other = workload(exp, replication=1)["patience"].to_numpy()
    assert (other[abandoned] == patience[abandoned]).all() and (other[~abandoned] != patience[~abandoned]).any()


def test_volume_scale_multiplies_and_thins_the_log(exp) -> None:
    base = workload(exp)

    def scaled(volume: float, replication: int = 0) -> pl.DataFrame:
        return workload(with_replay(f"volume_scale = {volume}"), replication=replication)

    double = scaled(2.0)
    assert double.height == 2 * base.height
    per_hour = lambda df: Counter((df["arrival"] // 3600).cast(pl.Int64).to_list())  # noqa: E731
    assert per_hour(double) == Counter({h: 2 * n for h, n in per_hour(base).items()})
    assert set(double["log_index"].to_list()) == set(base["log_index"].to_list())
    n = base.height
    for volume in (0.5, 1.5):
        got = scaled(volume).height
        sd = math.sqrt(n * 0.25)
        assert abs(got - volume * n) < 4 * sd, (volume, got)
    assert scaled(0.5).height != scaled(0.5, replication=1).height or \
        scaled(0.5)["log_index"].to_list() != scaled(0.5, replication=1)["log_index"].to_list()


def test_time_scale_runs_the_clock_faster(exp) -> None:
    fast = with_replay("time_scale = 2")
    assert workload(fast)["arrival"].to_list() == [t / 2 for t in workload(exp)["arrival"].to_list()]
    slow_pool, fast_pool = exp.control.scenario.system.pools[0], fast.control.scenario.system.pools[0]
    assert [t / 2 for t, _ in slow_pool.schedule] == [t for t, _ in fast_pool.schedule]
    assert [n for _, n in slow_pool.schedule] == [n for _, n in fast_pool.schedule]


# ---------------------------------------------------------------------------------------------------
# the observed arm


def test_observed_arm_is_the_log_measured_by_the_same_code(run) -> None:
    rows = logged_rows()
    served = [r for r in rows if r["outcome"] == "AGENT"]
    head = run.metrics.filter((pl.col("arm") == "observed") & (pl.col("segment") == "all"))
    value = dict(zip(head["metric"].to_list(), head["value"].to_list(), strict=True))
    assert value["tickets"] == len(rows)
    assert value["abandon_rate"] == pytest.approx((len(rows) - len(served)) / len(rows), rel=1e-12)
    assert value["wait.mean"] == pytest.approx(np.mean([int(r["q_time"]) for r in served]), rel=1e-12)
    assert value["handle.mean"] == pytest.approx(np.mean([min(int(r["ser_time"]), 3600) for r in served]), rel=1e-12)
    met = np.mean([int(r["q_time"]) <= 20 for r in served]) * len(served) / len(rows)
    assert value["sla_attainment"] == pytest.approx(met, rel=1e-12)
    tickets = run.tickets.filter(pl.col("arm") == "observed")
    assert tickets.height == len(rows) and set(tickets["replication"].to_list()) == {0}
    named = {r["server"] for r in served} - {"NO_SERVER"}
    assert set(tickets["agent"].drop_nulls().cast(pl.String).to_list()) == named | {"(unrecorded)"}
    # the events of the observed arm are the same trace as a simulated arm's
    events = run.events.filter(pl.col("arm") == "observed")
    assert Counter(events["event"].cast(pl.String).to_list())["abandon"] == len(rows) - len(served)


def test_replayed_segments_are_metrics_segments(run) -> None:
    rows = logged_rows()
    seg = run.metrics.filter((pl.col("segment") == "line") & (pl.col("metric") == "tickets"))
    for arm in ("control", "observed"):
        counts = dict(seg.filter((pl.col("arm") == arm) & (pl.col("replication") == 0))
                      .select("segment_value", "value").iter_rows())
        assert counts == {k: float(v) for k, v in Counter(r["vru+line"] for r in rows).items()}
    control = run.tickets.filter(pl.col("arm") == "control")
    assert {"log_row", "line"} <= set(control.columns)


def test_bundle_report_and_reproduce(tmp_path: Path, capsys) -> None:
    code, out, err = cli(capsys, "run", SLICE, "--out", tmp_path, "--json")
    assert code == 0, err
    bundle = Path(json.loads(out)["bundle"])
    summary = json.loads((bundle / "summary.json").read_text())
    assert list(summary["arms"]) == ["control", "peak_staff", "observed"]
    assert summary["arms"]["observed"]["metrics"]["wait.mean"]["ci"] is None
    with open(DATA / "bank-slice.tsv", newline="") as fh:
        outcomes = Counter(r["outcome"] for r in csv.DictReader(fh, delimiter="\t"))
    assert summary["replay"]["log"]["ignored"] == outcomes["PHANTOM"]
    assert summary["replay"]["log"]["kept"] == len(logged_rows())
    report = (bundle / "report.md").read_text()
    assert "## Simulated control against the observed log" in report and "## Replayed log" in report
    assert (bundle / "inputs" / "bank-slice.tsv").read_bytes() == (DATA / "bank-slice.tsv").read_bytes()
    assert 'path = "inputs/bank-slice.tsv"' in (bundle / "experiment.toml").read_text()
    code, out, err = cli(capsys, "reproduce", bundle)
    assert code == 0, err + out
    code, out, err = cli(capsys, "compare", bundle, "--format", "json")
    assert code == 0, err
    assert [v["arm"] for v in json.loads(out)["variants"]] == ["peak_staff"]


def test_no_observed_arm_when_the_control_changes_the_log() -> None:
    e = with_replay("volume_scale = 2", replications=1)
    out = run_experiment(dataclasses.replace(e, arms=e.arms[:1]), workers=1)
    assert set(out.metrics["arm"].unique().to_list()) == {"control"}


def test_bank_example_matches_the_observed_log(tmp_path: Path, capsys) -> None:
    """The quality bar: on the real February log the simulated control is within 15% of what happened."""
    example = ROOT / "experiments" / "replay-anonymous-bank.toml"
    code, out, err = cli(capsys, "run", example, "--replications", "2", "--out", tmp_path, "--json")
    assert code == 0, err
    summary = json.loads((Path(json.loads(out)["bundle"]) / "summary.json").read_text())
    arms = summary["arms"]
    for metric in ("abandon_rate", "wait.mean"):
        seen = arms["observed"]["metrics"][metric]["mean"]
        sim = arms["control"]["metrics"][metric]["mean"]
        assert abs(sim / seen - 1) < 0.15, (metric, sim, seen)
    assert all(e["met"] for e in summary["expectations"])
    assert summary["replay"]["log"]["rows"] == 33_344 and summary["replay"]["log"]["ignored"] == 278


# ---------------------------------------------------------------------------------------------------
# priorities, staffing


def _one_agent_log(tmp_path: Path, high_at: float, head_start: str | None) -> dict[str, float]:
    """Agent busy with A on [0, 200); B (regular) arrives at 10, C (high priority) at ``high_at``."""
    day = dt.datetime(2026, 1, 5)
    lines = ["ts,id,prio,handle"]
    for name, t, prio, handle in (("A", 0, 0, 200), ("B", 10, 0, 50), ("C", high_at, 1, 50)):
        lines.append(f"{(day + dt.timedelta(seconds=t)).isoformat()},{name},{prio},{handle}")
    (tmp_path / "calls.csv").write_text("\n".join(lines) + "\n")
    head = f'priority_head_start = "{head_start}"\n' if head_start else ""
    text = f"""
[experiment]
name = "prio"
seed = 1
replications = 1

[workload]
kind = "replay"

[[workload.channels]]
name = "phone"
sla = "20s"

[workload.replay]
path = "calls.csv"
timestamp = "ts"
priority = "prio"
handle_time = "handle"
segments = {{ call = "id" }}

[system]
routing = "priority"
{head}
[[system.pools]]
name = "desk"
agents = 1
skills = ["default"]

[arms.control]
"""
    e = load_text(text, str(tmp_path / "prio.toml"))
    t = run_experiment(e, workers=1).tickets.filter(pl.col("arm") == "control")
    return dict(zip(t["call"].to_list(), t["start"].to_list(), strict=True))


def test_priority_head_start_moves_high_priority_ahead_by_that_much(tmp_path: Path) -> None:
    # strict priority: C first whenever it waits with B
    assert _one_agent_log(tmp_path, 150, None) == {"A": 0.0, "C": 200.0, "B": 250.0}
    # a 90 s head start: C at 95 ranks 95 - 90 = 5 < 10, ahead of B; C at 120 ranks 30 > 10, behind B
    assert _one_agent_log(tmp_path, 95, "90s") == {"A": 0.0, "C": 200.0, "B": 250.0}
    assert _one_agent_log(tmp_path, 120, "1.5m") == {"A": 0.0, "B": 200.0, "C": 250.0}


def test_absolute_schedules_and_extra_shifts() -> None:
    pool = Pool("p", ("x",), schedule=((0.0, 2), (3600.0, 5), (7200.0, 0)))
    assert [agents_at(pool, t) for t in (-1.0, 0.0, 3599.0, 3600.0, 7200.0, 90_000.0)] == [0, 2, 2, 5, 0, 0]
    assert staffed_seconds(pool, 0.0, 10_000.0) == 2 * 3600 + 5 * 3600
    assert max_agents(pool) == 5
    assert next_change(pool, 0.0) == (3600.0, 5) and next_change(pool, 7200.0) is None
    extra = dataclasses.replace(pool, extra_shifts=(Shift(1800.0, 5400.0, 2),))
    # the extra agents come only while the log's schedule has someone on (not at 88,200 s, the next day)
    assert schedule_steps(extra, 0.0, 90_000.0) == [(0.0, 2), (1800.0, 4), (3600.0, 7), (5400.0, 5), (7200.0, 0)]
    assert max_agents(extra) == 7
    steps, t = [], 0.0
    while (change := next_change(extra, t)) is not None and change[0] < 90_000.0:
        steps.append(change)
        t = change[0]
    assert steps == schedule_steps(extra, 0.0, 90_000.0)[1:]
    constant = Pool("c", ("x",), agents=3, extra_shifts=(Shift(0.0, 43_200.0, 1), Shift(43_200.0, 86_400.0, 1)))
    assert next_change(constant, 0.0) is None  # the level never changes: no endless search


def test_busy_when_queued_staffing_on_a_hand_example(tmp_path: Path) -> None:
    """Queue on [5, 40): 2 in service for 5 s, then 1 for 30 s → 40/35 agents, kept exact on average."""
    from supportlab.model import ReplaySource

    source = ReplaySource(path=str(tmp_path / "log.csv"), format="csv", date="d", time="t",
                          queue_time="wait", handle_time="handle", outcome="outcome", served=("ok",),
                          agent="agent")
    (tmp_path / "log.csv").write_text("d,t,wait,handle,outcome,agent\n" + "".join(
        f"2026-01-05,{r}\n" for r in ("0,0,40,ok,a", "0,0,10,ok,b", "5,35,10,ok,a", "150,0,20,ok,b")))
    log = read_log(source, where="x")
    steps = staffing_busy_when_queued(log, 100.0)
    assert steps[0] == (0.0, 2) and steps[1][1] == 1 and steps[1][0] == pytest.approx(100 * (40 / 35 - 1))
    assert steps[2:] == ((200.0, 0),)  # [100, 200): no queue, at most 1 in service; then nobody


def test_unreadable_rows_are_counted_by_reason_and_shown(tmp_path: Path, capsys) -> None:
    lines = (DATA / "bank-slice.tsv").read_bytes().split(b"\r\n")
    for k in (5, 9, 40):  # data rows 5, 9, 40: a date that is not yymmdd
        fields = lines[k].split(b"\t")
        fields[5] = b"99-02-01"
        lines[k] = b"\t".join(fields)
    (tmp_path / "bank-slice.tsv").write_bytes(b"\r\n".join(lines))
    (tmp_path / "slice.toml").write_text(SLICE.read_text())
    code, out, err = cli(capsys, "validate", tmp_path / "slice.toml")
    assert code == 0, err
    assert 'unreadable (most: 3 × date: not a date of format "%y%m%d"; first row 5)' in out
    log = load_experiment(tmp_path / "slice.toml").control.scenario.workload.replay.log
    assert [(b.count, b.first_row, b.first_value) for b in log.bad] == [(3, 5, "99-02-01")]


def test_same_tables_whatever_the_number_of_workers(exp, run) -> None:
    two = run_experiment(exp, workers=2)
    for name in ("tickets", "events", "metrics"):
        assert getattr(two, name).equals(getattr(run, name)), name


def test_a_variant_can_change_one_key_of_a_column_mapping() -> None:
    text = SLICE.read_text().replace(
        'set = { "system.pools.agents.extra_shifts" = [{ start = "10h", end = "16h", agents = 2 }] }',
        'set = { "workload.replay.handle_time.max" = "30m" }')
    e = load_text(text, str(SLICE))
    variant = e.arms[1]
    assert variant.changes == (("workload.replay.handle_time.max", "30m"),)
    assert variant.scenario.workload.replay.source.handle_max == 1800.0
    assert workload(e, arm=1)["handle"].max() <= 1800.0 < workload(e, arm=0)["handle"].max()


MINIMAL = """
[experiment]
name = "minimal"
seed = 1
replications = 1
{extra_head}
[workload]
kind = "replay"

[[workload.channels]]
name = "chat"
sla = "1m"

[workload.replay]
path = "tickets.csv"
timestamp = "created"
handle_time = "handle"
queue_time = "wait"
outcome = {{ column = "status", served = ["done"], abandoned = ["gone"] }}
agent = "agent"

[[system.pools]]
name = "desk"
staffing = "from-log"
skills = ["default"]

[arms.control]
{arms}"""


def minimal(tmp_path: Path, *, extra_head: str = "", arms: str = ""):
    rows = ["created,handle,wait,status,agent"]
    for k in range(40):  # every served ticket names its agent; no segments
        t = dt.datetime(2026, 3, 2, 9) + dt.timedelta(minutes=3 * k)
        rows.append(f"{t.isoformat()},{100 + k},{(k % 5) * 20},{'gone' if k % 7 == 3 else 'done'},"
                    f"{'' if k % 7 == 3 else 'ann' if k % 2 else 'bob'}")
    (tmp_path / "tickets.csv").write_text("\n".join(rows) + "\n")
    return load_text(MINIMAL.format(extra_head=extra_head, arms=arms), str(tmp_path / "minimal.toml"))


def test_a_minimal_replay_runs_with_its_observed_arm(tmp_path: Path) -> None:
    out = run_experiment(minimal(tmp_path), workers=1)
    observed = out.tickets.filter(pl.col("arm") == "observed")
    assert observed.height == 40 and "log_row" in out.tickets.columns
    assert set(observed["agent"].drop_nulls().cast(pl.String).to_list()) == {"ann", "bob"}
    head = out.metrics.filter((pl.col("arm") == "observed") & (pl.col("segment") == "all"))
    value = dict(zip(head["metric"].to_list(), head["value"].to_list(), strict=True))
    gone = [k for k in range(40) if k % 7 == 3]
    assert value["abandon_rate"] == pytest.approx(len(gone) / 40)
    assert value["wait.mean"] == pytest.approx(np.mean([(k % 5) * 20 for k in range(40) if k not in gone]))


def test_observed_arm_follows_the_tickets_cut(tmp_path: Path) -> None:
    out = run_experiment(minimal(tmp_path, extra_head="tickets = 10"), workers=1)
    measured = out.tickets.filter(pl.col("measured")).group_by("arm").len().sort("arm")
    assert dict(measured.select(pl.col("arm").cast(pl.String), "len").iter_rows()) == {"control": 9, "observed": 9}


def test_replay_specific_refusals(tmp_path: Path) -> None:
    from supportlab.errors import ConfigError

    def problems(**kw: str) -> list[str]:
        with pytest.raises(ConfigError) as exc:
            minimal(tmp_path, **kw)
        return [p.split(": ", 1)[1] for p in exc.value.problems]

    assert problems(arms='\n[arms.observed]\nset = { "workload.replay.volume_scale" = 2.0 }\n') == [
        "arms.observed: \"observed\" is the replayed log's own arm, expected another name for a variant"]
    two = '\n[[system.pools]]\nname = "back"\nstaffing = "from-log"\nskills = ["default"]\n'
    text = MINIMAL.replace("[arms.control]", two + "\n[arms.control]")
    with pytest.raises(ConfigError) as exc:
        load_text(text.format(extra_head="", arms=""), str(tmp_path / "minimal.toml"))
    assert [p.split(": ", 1)[1] for p in exc.value.problems] == [
        'system.pools: 2 pools (desk, back) staffed from the log, expected at most one pool with staffing = '
        "\"from-log\" (the log's agents are counted once)"]
    with pytest.raises(ConfigError) as exc:
        load_text(MINIMAL.replace('handle_time = "handle"\n', "").format(extra_head="", arms=""),
                  str(tmp_path / "minimal.toml"))
    assert [p.split(": ", 1)[1] for p in exc.value.problems] == [
        "workload.replay.handle_time: missing key, expected the column of each served ticket's handle time in "
        'seconds, e.g. "handle_seconds"']


def test_no_observed_arm_without_queue_times(tmp_path: Path) -> None:
    minimal(tmp_path)  # writes the log
    text = MINIMAL.replace('queue_time = "wait"\n', "").replace('staffing = "from-log"', "agents = 2")
    e = load_text(text.format(extra_head="", arms=""), str(tmp_path / "minimal.toml"))
    assert set(run_experiment(e, workers=1).tickets["arm"].cast(pl.String).unique()) == {"control"}


def test_diff_never_gates_the_observed_arm_but_warns_when_the_log_changed(tmp_path: Path, capsys) -> None:
    minimal(tmp_path)
    (tmp_path / "minimal.toml").write_text(MINIMAL.format(extra_head="", arms=""))

    def bundle() -> str:
        code, out, err = cli(capsys, "run", tmp_path / "minimal.toml", "--out", tmp_path / "results", "--json")
        assert code == 0, err
        return json.loads(out)["bundle"]

    first, same = bundle(), bundle()
    log = tmp_path / "tickets.csv"
    log.write_text(log.read_text().replace(",0,done,", ",90,done,"))  # the same month, other waits
    changed = bundle()
    for new, warned in ((same, False), (changed, True)):
        code, out, err = cli(capsys, "diff", first, new, "--format", "json")
        report = json.loads(out)
        assert report["rows"] and all(r["arm"] != "observed" for r in report["rows"])
        assert ("the replayed logs differ (the observed arms are not the same)" in report["warnings"]) is warned
