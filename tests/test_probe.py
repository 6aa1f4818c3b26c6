"""``supportlab probe``: fresh seeds, probe entries in the log, anomaly / drift / expectation alerts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from supportlab import blueprint, probing
from supportlab.errors import UsageError
from supportlab.probing import MetricCheck, ProbeResult, check_history, fresh_seed, probe

# An M/M/7 queue: 300/h arrivals, exponential 60 s handling (load 5 Erlangs, utilization ~0.71).
EXPERIMENT = """
[experiment]
name = "probe-mmc"
seed = 1
replications = 10
horizon = "4h"
warmup = "15m"

[expect]
"utilization" = {{ min = {util_min} }}

[workload]
kind = "generate"

[[workload.channels]]
name = "phone"
arrivals = {{ rate = "300/h" }}
sla = "60s"

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

#: fixed seeds for the 10-probe history (the probes are deterministic given their seeds): simply the
#: first ten, not a block picked to pass. (With the bare MAD scale and 3 replications per probe these
#: seeds gave three false csat.mean anomalies; see probing's docstring for the scale now used.)
HISTORY_SEEDS = list(range(1, 11))


def write(path: Path, *, handle: str = "60s", util_min: float = 0.3) -> Path:
    path.write_text(EXPERIMENT.format(handle=handle, util_min=util_min), encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def probes(log: Path) -> list[blueprint.Entry]:
    return [e for e in blueprint.read(log) if e.kind == "probe"]


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Ten probes of file A with different seeds, in one log: (file A, log, reports)."""
    root = tmp_path_factory.mktemp("history")
    file_a = write(root / "a.toml")
    log = root / "blueprint.jsonl"
    reports = [probe([file_a], out=root / "results", log=log, seeds=[s], workers=1) for s in HISTORY_SEEDS]
    return file_a, log, reports


# --------------------------------------------------------------------------------------------------
# check_history (pure)

NORMAL = [100, 102, 98, 101, 99, 103, 97, 100, 101, 99]  # median 100, MAD 1


def test_value_inside_a_normal_history_is_ok():
    status, median, low, high = check_history(NORMAL, 101)
    assert status == "ok"
    assert median == 100


def test_value_far_outside_is_an_anomaly_with_exact_bounds():
    # |x - 100| = 0 2 2 1 1 3 3 0 1 1 -> MAD = 1, mean |x - 100| = 1.4;
    # sigma = max(1.4826 * 1, 1.2533 * 1.4) = 1.75462; g(10) = t(0.975, 9) / z(0.975) * sqrt(1.1)
    #       = 2.262157 / 1.959964 * 1.048809 = 1.210514; bounds 100 ± 4 * 1.75462 * 1.210514 = 100 ± 8.49604
    status, median, low, high = check_history(NORMAL, 120)
    assert status == "anomaly"
    assert median == 100
    assert low == pytest.approx(100 - 8.49604, abs=1e-4)
    assert high == pytest.approx(100 + 8.49604, abs=1e-4)
    # the threshold is k
    _, _, low2, high2 = check_history(NORMAL, 120, threshold=2.0)
    assert (low2, high2) == (pytest.approx(100 - 4.24802, abs=1e-4), pytest.approx(100 + 4.24802, abs=1e-4))
    assert check_history(NORMAL, 80)[0] == "anomaly"
    assert check_history(NORMAL, 108)[0] == "ok"


def test_fewer_than_five_values_is_learning():
    assert check_history([1.0, 2.0, 3.0, 4.0], 1000.0) == ("learning", None, None, None)
    assert check_history([], 5.0) == ("learning", None, None, None)
    assert check_history([1.0, 2.0], None)[0] == "no value"


def test_missing_value_is_no_value():
    status, median, low, high = check_history(NORMAL, None)
    assert status == "no value"
    assert median == 100 and low is not None and high is not None


def test_identical_history_does_not_crash():
    status, median, low, high = check_history([5.0] * 8, 5.0)
    assert status == "ok"
    assert median == 5.0 and low is not None and high is not None and low < 5.0 < high
    assert check_history([5.0] * 8, 5.1)[0] == "anomaly"
    assert check_history([0.0] * 8, 0.0)[0] == "ok"
    assert check_history([0.0] * 8, 0.01)[0] == "anomaly"


def test_mad_of_zero_falls_back_to_the_mean_absolute_deviation():
    # more than half the history is 0 (MAD = 0), but values of 0.001 do happen: not an anomaly
    assert check_history([0, 0, 0, 0, 0, 0, 0.001, 0.002], 0.001)[0] == "ok"


def test_slow_upward_trend_inside_the_bounds_is_drift():
    stable = [100, 101, 99, 100.5, 99.5, 100, 101, 99, 100.5, 99.5, 100, 100]
    trend = [100.5, 101, 101.5, 102, 102.5, 103, 103.5, 104]
    status, median, low, high = check_history(stable + trend, 104.5)
    assert status == "drift"
    assert low is not None and high is not None
    assert all(low <= x <= high for x in [*stable, *trend, 104.5])  # no single value is an anomaly
    # the same history with a value back at the median: the newest point is not part of a drift
    assert check_history(stable + trend, 100.0)[0] == "ok"
    # and the mirror image drifts down
    mirrored = [200 - x for x in stable + trend]
    assert check_history(mirrored, 200 - 104.5)[0] == "drift"


def test_alert_lines():
    checks = [
        MetricCheck("wait.mean", 180.0, 100.0, 80.1, 120.0, 10, "anomaly"),
        MetricCheck("first_response.p95", 104.5, 100.5, 96.05, 104.9, 20, "drift"),
        MetricCheck("csat.mean", 4.4, None, None, None, 3, "learning"),
    ]
    expectations = [
        {"metric": "sla_attainment", "arm": "control", "min": 0.8, "value": 0.71, "met": False},
        {"metric": "utilization", "arm": "control", "min": 0.3, "value": 0.7, "met": True},
    ]
    r = ProbeResult("x", "x.toml", "results/x/1", 7, 1, checks, expectations, [])
    assert r.alerts == [
        "wait.mean 180 is outside [80.1, 120] (anomaly)",
        "first_response.p95 drifts up (CUSUM)",
        "expectation sla_attainment >= 0.8 not met: 0.71",
    ]


# --------------------------------------------------------------------------------------------------
# probe


def test_ten_probes_of_a_stable_file_raise_no_alert(history):
    file_a, log, reports = history
    for i, report in enumerate(reports):
        (r,) = report.results
        assert r.alerts == [], (i, r.alerts)
        assert not report.alerting
        assert r.seed == HISTORY_SEEDS[i]
        expected_history = min(i, 20)
        assert {c.history for c in r.checks} == {expected_history}
        if i < 5:
            assert {c.status for c in r.checks} == {"learning"}
        else:
            assert {c.status for c in r.checks} <= {"ok", "drift", "anomaly"}
            assert all(c.low is not None and c.high is not None for c in r.checks)
        assert r.log_seq == i + 1
    entries = probes(log)
    assert len(entries) == 10
    assert blueprint.verify(log) == []
    last = entries[-1]
    (r,) = reports[-1].results
    assert last.experiment == "probe-mmc"
    assert last.run_id == Path(r.bundle).name
    assert last.data["file_sha256"] == sha256(file_a)
    assert last.data["seed"] == HISTORY_SEEDS[-1]
    assert last.data["status"] == "complete"
    assert last.data["file"] == str(file_a)
    assert last.data["bundle"] == r.bundle and Path(r.bundle).is_dir()
    assert set(last.data["metrics"]) == set(probing.HEADLINE)
    assert [c["metric"] for c in last.data["checks"]] == list(probing.HEADLINE)
    assert last.data["alerts"] == []
    # the seed is the one the bundle ran with
    summary = json.loads((Path(r.bundle) / "summary.json").read_text(encoding="utf-8"))
    assert summary["seed"] == HISTORY_SEEDS[-1]
    json.dumps(reports[-1].to_json(), allow_nan=False)


def test_a_doubled_wait_is_an_anomaly(history, tmp_path):
    """File A' is A with a 10% longer handle time (66 s instead of 60 s): the load rises from 5 to 5.5
    Erlangs on 7 agents and wait.mean roughly doubles. A' has its own sha256, so A's probes are not
    its history. To compare A' with the history of A honestly (the same runs, nothing mocked), the
    metric values of the ten real probes of A are copied into synthetic ``probe`` entries whose
    ``file_sha256`` is that of A', in a fresh log; then A' is probed for real."""
    _, log_a, _ = history
    file_b = write(tmp_path / "a.toml", handle="66s")
    log = tmp_path / "log.jsonl"
    for e in probes(log_a):
        data = dict(e.data, file_sha256=sha256(file_b), file=str(file_b))
        blueprint.append(log, "probe", e.experiment, e.run_id, data)
    report = probe([file_b], out=tmp_path / "results", log=log, seeds=[HISTORY_SEEDS[0]], workers=1)
    (r,) = report.results
    wait = next(c for c in r.checks if c.metric == "wait.mean")
    assert wait.history == 10
    assert wait.status == "anomaly"
    assert wait.median is not None and wait.value is not None and wait.high is not None
    assert wait.value > wait.high
    # the same seed on A (common random numbers): the wait about doubled
    same_seed_on_a = probes(log_a)[0].data["metrics"]["wait.mean"]
    assert 1.7 * same_seed_on_a < wait.value < 3 * same_seed_on_a
    assert report.alerting
    assert any(a.startswith("wait.mean ") and a.endswith("(anomaly)") for a in r.alerts)
    assert probes(log)[-1].data["alerts"] == r.alerts


def test_history_is_per_file_version(history, tmp_path):
    """Probes of another version of the file (another sha256) are not history: learning, with a warning."""
    _, log_a, _ = history
    log = tmp_path / "log.jsonl"
    for e in probes(log_a):
        blueprint.append(log, "probe", e.experiment, e.run_id, e.data)
    file_b = write(tmp_path / "b.toml", handle="66s")
    report = probe([file_b], out=tmp_path / "results", log=log, seeds=[5], workers=1)
    (r,) = report.results
    assert {c.status for c in r.checks} == {"learning"}
    assert {c.history for c in r.checks} == {0}
    assert not report.alerting
    assert any("another version of the file" in w for w in r.warnings)


def test_window_limits_the_history(history, tmp_path):
    file_a, log_a, _ = history
    log = tmp_path / "log.jsonl"
    for e in probes(log_a):
        blueprint.append(log, "probe", e.experiment, e.run_id, e.data)
    report = probe([file_a], out=tmp_path / "results", log=log, seeds=[999], workers=1, window=6)
    assert {c.history for c in report.results[0].checks} == {6}


def test_a_history_of_three_is_learning(tmp_path):
    file_a = write(tmp_path / "a.toml")
    log = tmp_path / "log.jsonl"
    out = tmp_path / "results"
    probe([file_a, file_a, file_a], out=out, log=log, seeds=[1, 2, 3], workers=1)
    report = probe([file_a], out=out, log=log, seeds=[4], workers=1)
    (r,) = report.results
    assert {c.status for c in r.checks} == {"learning"}
    assert {c.history for c in r.checks} == {3}
    assert all(c.median is None and c.low is None and c.high is None for c in r.checks)
    assert r.alerts == [] and not report.alerting
    assert r.log_seq == 4
    assert len(probes(log)) == 4


def test_a_breached_expectation_alerts_even_while_learning(tmp_path):
    file_a = write(tmp_path / "a.toml", util_min=0.95)  # utilization is about 0.71
    log = tmp_path / "log.jsonl"
    report = probe([file_a], out=tmp_path / "results", log=log, seeds=[1], workers=1)
    (r,) = report.results
    assert {c.status for c in r.checks} == {"learning"}
    (e,) = r.expectations
    assert e["metric"] == "utilization" and e["met"] is False
    assert report.alerting
    assert len(r.alerts) == 1 and r.alerts[0].startswith("expectation utilization >= 0.95 not met: 0.7")
    assert probes(log)[0].data["alerts"] == r.alerts


def test_fresh_seeds_differ_and_are_recorded(tmp_path):
    drawn = {fresh_seed() for _ in range(20)}
    assert len(drawn) > 1
    assert all(isinstance(s, int) and 0 <= s < 2**32 for s in drawn)
    file_a = write(tmp_path / "a.toml")
    log = tmp_path / "log.jsonl"
    report = probe([file_a, file_a], out=tmp_path / "results", log=log, workers=1)
    a, b = report.results
    assert a.seed != b.seed
    assert [e.data["seed"] for e in probes(log)] == [a.seed, b.seed]
    for r in (a, b):
        summary = json.loads((Path(r.bundle) / "summary.json").read_text(encoding="utf-8"))
        assert summary["seed"] == r.seed


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [({"window": 0}, "--window"), ({"threshold": 0.0}, "--threshold"), ({"threshold": -1.0}, "--threshold"),
     ({"threshold": float("nan")}, "--threshold")],
)  # fmt: skip
def test_bad_options_are_usage_errors(tmp_path, kwargs, option):
    file_a = write(tmp_path / "a.toml")
    with pytest.raises(UsageError, match=option):
        probe([file_a], out=tmp_path / "results", log=tmp_path / "log.jsonl", **kwargs)
    assert not (tmp_path / "log.jsonl").exists()
