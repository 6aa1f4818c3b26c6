"""``supportlab diff``: the CI regression gate between two bundles (supportlab.diffing)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from supportlab import api
from supportlab.diffing import Diff, Tolerance, diff_bundles, parse_tolerance, to_junit, to_markdown
from supportlab.errors import BundleError, UsageError

MMC = """\
[experiment]
name = "{name}"
seed = 1
replications = 8
horizon = "4h"
warmup = "30m"

[[workload.channels]]
name = "phone"
arrivals = {{ rate = "400/h" }}
sla = "20s"

[[workload.intents]]
name = "general"
share = 1.0
handle_time = {{ dist = "exponential", mean = "60s" }}

[[system.pools]]
name = "agents"
agents = {agents}
skills = ["general"]

[arms.control]
{extra}"""


def write(folder: Path, file: str, *, agents: int = 8, name: str = "mmc", extra: str = "") -> Path:
    path = folder / file
    path.write_text(MMC.format(name=name, agents=agents, extra=extra), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small bundles of one M/M/c-like file (8 agents at rho 0.83), and of its near-saturated neighbour."""
    folder = tmp_path_factory.mktemp("diff")
    out = folder / "results"
    mmc = write(folder, "mmc.toml")
    fewer = write(folder, "mmc7.toml", agents=7)
    table = write(folder, "mmc-table.toml", extra='\n[diff]\n"wait.p95" = "10%"\nabandon_rate = 0.01\n')
    other = write(folder, "other.toml", name="other")

    def run(path: Path, seed: int, replications: int | None = None) -> Path:
        return api.run(path, out=out, seed=seed, replications=replications, workers=1).bundle

    return {
        "s1": run(mmc, 1),
        "s2": run(mmc, 2),
        "s1_again": run(mmc, 1),
        "fewer": run(fewer, 1),
        "table": run(table, 1),
        "other": run(other, 1),
        "one_rep": run(mmc, 1, replications=1),
    }


def rows_by_metric(d: Diff, arm: str = "control") -> dict[str, object]:
    return {r.metric: r for r in d.rows if r.arm == arm}


# --- the statistics ----------------------------------------------------------------------------------------
def test_different_seeds_use_welch_flag_the_seeds_and_find_no_regression(bundles):
    d = diff_bundles(bundles["s1"], bundles["s2"])
    assert not d.paired
    assert d.warnings == ["different seeds (1 vs 2): compared with Welch's t, not paired"]
    assert d.regressions == []
    compared = [r for r in d.rows if r.status != "not compared"]
    assert compared and {r.test for r in compared} <= {"welch-t", "identical"}
    assert {r.arm for r in d.rows} == {"control"}
    assert d.experiment == "mmc"


def test_same_seed_twice_is_paired_and_every_row_unchanged(bundles):
    d = diff_bundles(bundles["s1"], bundles["s1_again"])
    assert d.paired and d.warnings == []
    assert d.regressions == []
    compared = [r for r in d.rows if r.status != "not compared"]
    assert len(compared) > 20
    assert all(r.status == "unchanged" and r.test == "identical" and r.p_value == 1.0 for r in compared)
    # metrics without a value (no escalations, no bot) are reported, never judged
    row = rows_by_metric(d)["handoff.mean"]
    assert row.status == "not compared" and row.base is None and row.p_value is None


def test_one_agent_fewer_near_saturation_regresses(bundles):
    d = diff_bundles(bundles["s1"], bundles["fewer"])
    assert not d.paired
    assert len(d.warnings) == 1 and d.warnings[0].startswith("the experiment files differ (sha256 ")
    rows = rows_by_metric(d)
    for metric in ("wait.mean", "wait.p95", "first_response.mean", "queue_length.mean", "sla_attainment"):
        assert rows[metric].status == "regressed", metric
    assert rows["wait.mean"].new > rows["wait.mean"].base and rows["wait.mean"].p_value < 0.05
    assert rows["sla_attainment"].rel_diff < -0.05
    # utilization rises, but it is a load metric: reported as changed, never a regression
    assert rows["utilization.agents"].status == "changed"
    assert rows["handle.mean"].status == "unchanged"
    regressed = {(r.arm, r.metric) for r in d.regressions}
    assert ("control", "wait.mean") in regressed

    doc = d.to_json()
    json.dumps(doc, allow_nan=False)
    assert {(r["arm"], r["metric"]) for r in doc["regressions"]} == regressed
    assert doc["passed"] is False and doc["counts"]["regressed"] == len(regressed)
    assert doc["warnings"] == d.warnings

    md = to_markdown(d)
    assert f"{len(regressed)} regressions" in md
    assert "- `control` · `wait.mean`:" in md
    assert "the experiment files differ" in md

    root = ET.fromstring(to_junit(d))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "supportlab diff mmc"
    assert int(suite.get("failures")) == len(d.regressions)
    assert int(suite.get("tests")) == len(d.rows)
    failed = {(c.get("classname"), c.get("name")) for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failed == {(f"mmc.{arm}", metric) for arm, metric in regressed}
    assert len(list(suite.iter("testcase"))) == len(d.rows)


def test_one_agent_more_improves_and_never_fails(bundles):
    d = diff_bundles(bundles["fewer"], bundles["s1"])
    assert d.regressions == []
    rows = rows_by_metric(d)
    assert rows["wait.mean"].status == "improved"
    assert rows["sla_attainment"].status == "improved"
    assert rows["utilization"].status == "changed"  # staff added on purpose: not a regression
    root = ET.fromstring(to_junit(d))
    assert root.find("testsuite").get("failures") == "0"
    assert d.to_json()["passed"] is True


def test_an_explicit_tolerance_gates_a_load_metric(bundles):
    d = diff_bundles(bundles["fewer"], bundles["s1"], tolerances=[parse_tolerance("utilization=5%")])
    rows = rows_by_metric(d)
    assert rows["utilization"].status == "regressed" and rows["utilization"].tolerance == "5%"
    assert rows["utilization.agents"].status == "changed"
    assert [r.metric for r in d.regressions] == ["utilization"]


def test_a_large_tolerance_absorbs_a_significant_move(bundles):
    d = diff_bundles(bundles["s1"], bundles["fewer"], tolerances=[parse_tolerance("wait.mean=100000%")])
    row = rows_by_metric(d)["wait.mean"]
    assert row.p_value < 0.05 and row.status == "unchanged" and row.tolerance == "100000%"


def test_one_replication_is_not_compared(bundles):
    d = diff_bundles(bundles["one_rep"], bundles["s1"])
    assert "different replication counts (1 vs 8)" in d.warnings
    assert d.rows and all(r.status == "not compared" for r in d.rows)
    assert d.regressions == []
    row = rows_by_metric(d)["wait.mean"]
    assert row.base is not None and row.new is not None and row.p_value is None


# --- tolerances --------------------------------------------------------------------------------------------
def test_parse_tolerance():
    assert parse_tolerance("wait.p95=10%") == Tolerance("wait.p95", pytest.approx(0.10), True)
    assert parse_tolerance("abandon_rate=0.01") == Tolerance("abandon_rate", 0.01, False)
    assert parse_tolerance(" utilization.tier1 = 2.5% ") == Tolerance("utilization.tier1", pytest.approx(0.025), True)
    assert parse_tolerance("wait.p95=10%").text() == "10%"
    assert parse_tolerance("abandon_rate=0.01").text() == "0.01"
    assert Tolerance("wait.mean", 0.05, True).text() == "5%"


@pytest.mark.parametrize("text", ["wait.p96=10%", "wait.p95", "wait.p95=ten%", "wait.p95=-5%", "wait.p95=nan",
                                  "=5%", "utilization.=5%", "wait.p95=10%%"])  # fmt: skip
def test_parse_tolerance_rejects(text):
    with pytest.raises(UsageError) as e:
        parse_tolerance(text)
    assert str(e.value) == f"--tolerance: '{text}' is not METRIC=PCT% or METRIC=VALUE, expected e.g. wait.p95=10%"
    assert e.value.exit_code == 2


def test_tolerance_precedence_cli_then_diff_table_then_default(bundles):
    d = diff_bundles(bundles["s1"], bundles["table"], tolerances=[parse_tolerance("wait.p95=20%")])
    rows = rows_by_metric(d)
    assert rows["wait.p95"].tolerance == "20%"  # the command line wins over the table
    assert rows["abandon_rate"].tolerance == "0.01"  # the NEW file's [diff] table
    assert rows["wait.mean"].tolerance == "5%"  # the global default
    d = diff_bundles(bundles["s1"], bundles["table"])
    assert rows_by_metric(d)["wait.p95"].tolerance == "10%"
    d = diff_bundles(bundles["s1"], bundles["table"], default=0.2)
    assert rows_by_metric(d)["wait.mean"].tolerance == "20%"
    # the table is NEW's: BASE's does not count
    d = diff_bundles(bundles["table"], bundles["s1"])
    assert rows_by_metric(d)["wait.p95"].tolerance == "5%"


# --- trust and bad input -----------------------------------------------------------------------------------
def test_strict_refuses_a_diff_with_warnings(bundles):
    with pytest.raises(UsageError) as e:
        diff_bundles(bundles["s1"], bundles["s2"], strict=True)
    assert "different seeds (1 vs 2)" in str(e.value) and e.value.exit_code == 2
    with pytest.raises(UsageError, match="the experiment files differ"):
        diff_bundles(bundles["s1"], bundles["fewer"], strict=True)
    assert diff_bundles(bundles["s1"], bundles["s1_again"], strict=True).warnings == []


def test_different_experiments_are_refused(bundles):
    with pytest.raises(BundleError) as e:
        diff_bundles(bundles["s1"], bundles["other"])
    assert str(e.value) == "BASE is experiment 'mmc', NEW is 'other': diff compares two runs of the same experiment"
    assert e.value.exit_code == 2


def test_missing_and_aborted_bundles_are_refused(bundles, tmp_path):
    with pytest.raises(BundleError, match="no such bundle"):
        diff_bundles(tmp_path / "nope", bundles["s1"])
    aborted = tmp_path / "aborted"
    shutil.copytree(bundles["s1"], aborted)
    manifest = json.loads((aborted / "manifest.json").read_text(encoding="utf-8"))
    manifest["status"] = "aborted"
    (aborted / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match="aborted"):
        diff_bundles(bundles["s1"], aborted)


def test_version_difference_is_flagged(bundles, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(bundles["s1"], copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    old = manifest["versions"]["supportlab"]
    manifest["versions"]["supportlab"] = "99.0.0"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    d = diff_bundles(bundles["s1"], copy)
    assert d.warnings == [f"different supportlab versions ({old} vs 99.0.0)"]
    assert d.paired  # same seeds, file and replications: still paired by replication


# --- rendering ---------------------------------------------------------------------------------------------
def test_markdown_only_changed_hides_unchanged_rows(bundles):
    d = diff_bundles(bundles["s1"], bundles["fewer"])
    full, short = to_markdown(d), to_markdown(d, only_changed=True)
    assert "`handle.mean`" in full and "`handle.mean`" not in short
    assert "`handoff.mean`" in full and "`handoff.mean`" not in short  # not compared
    assert "| `control` | `wait.mean` |" in short
    hidden = sum(1 for r in d.rows if r.status in ("unchanged", "not compared"))
    assert f"{hidden} unchanged or not compared metrics not shown." in short
    same = diff_bundles(bundles["s1"], bundles["s1_again"])
    assert "no regression" in to_markdown(same, only_changed=True)


def test_junit_skips_metrics_not_compared(bundles):
    d = diff_bundles(bundles["s1"], bundles["s1_again"])
    suite = ET.fromstring(to_junit(d)).find("testsuite")
    skipped = [c.get("name") for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert "handoff.mean" in skipped
    assert int(suite.get("skipped")) == len(skipped) and suite.get("failures") == "0"
