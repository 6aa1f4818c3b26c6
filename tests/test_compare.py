"""`supportlab compare` and `supportlab plan` on real bundles: verdicts, formats, exit codes, calibration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats as st
from support import cli

from supportlab.compare import judge_run
from supportlab.experiment import load_text
from supportlab.runner import run_experiment

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def run_bundle(capsys, path: Path, tmp_path: Path, *extra: str) -> Path:
    code, out, err = cli(capsys, "run", path, "--out", tmp_path, "--json", *extra)
    assert code == 0, err
    return Path(json.loads(out)["bundle"])


def reversed_mmc(tmp_path: Path) -> Path:
    text = (DATA / "mmc.toml").read_text()
    text = text.replace("agents = 10", "agents = 11").replace('"system.pools.agents.agents" = 11',
                                                             '"system.pools.agents.agents" = 10')
    path = tmp_path / "mmc-reverse.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def mmc_bundle(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("mmc")
    from supportlab import api

    return api.run(DATA / "mmc.toml", out=tmp, workers=2).bundle


def test_a_real_effect_ships(capsys, mmc_bundle):
    code, out, _ = cli(capsys, "compare", mmc_bundle, "--format", "json")
    assert code == 0
    result = json.loads(out)
    assert result["control"] == "control" and result["paired"] is True
    (variant,) = result["variants"]
    assert variant["arm"] == "eleven_agents" and variant["verdict"] == "ship"
    objective = next(m for m in variant["metrics"] if m["role"] == "objective")
    assert objective["metric"] == "wait.mean" and objective["test"] == "paired-t"
    assert objective["rel_diff"] < -0.5 and objective["p_value"] < 0.01 and objective["significant"]
    lo, hi = objective["ci"]
    assert lo <= objective["rel_diff"] <= hi < 0


def test_the_reverse_effect_is_no_ship_and_fail_on_exits_1(capsys, tmp_path):
    bundle = run_bundle(capsys, reversed_mmc(tmp_path), tmp_path, "--workers", "2")
    code, out, _ = cli(capsys, "compare", bundle, "--format", "json", "--fail-on", "no-ship")
    assert code == 1
    assert json.loads(out)["variants"][0]["verdict"] == "no-ship"
    code, _, _ = cli(capsys, "compare", bundle, "--fail-on", "inconclusive")
    assert code == 0


def test_text_and_markdown_name_the_verdict_and_the_numbers(capsys, mmc_bundle):
    code, out, _ = cli(capsys, "compare", mmc_bundle)
    assert code == 0 and "eleven_agents: SHIP" in out and "wait.mean" in out and "paired-t" in out
    code, md, _ = cli(capsys, "compare", mmc_bundle, "--format", "markdown")
    assert code == 0
    assert md.startswith("# mmc: comparison of run ")
    assert "| `eleven_agents` | **ship** |" in md
    assert "| `wait.mean` | objective |" in md


def test_bad_inputs_exit_2(capsys, tmp_path, mmc_bundle):
    code, _, err = cli(capsys, "compare", tmp_path / "nope")
    assert code == 2 and "no such bundle" in err
    code, _, err = cli(capsys, "compare", mmc_bundle, "--format", "yaml")
    assert code == 2
    assert err.strip() == "UsageError: --format: 'yaml' is not a format, expected one of text, markdown, json"
    code, _, err = cli(capsys, "compare", mmc_bundle, "--fail-on", "ship")
    assert code == 2 and "--fail-on" in err


def test_an_aborted_bundle_is_refused(capsys, tmp_path):
    path = tmp_path / "limited.toml"
    path.write_text((DATA / "mmc.toml").read_text() + "\n[limits]\nmax_tickets = 20000\n")
    code, out, _ = cli(capsys, "run", path, "--out", tmp_path, "--json", "--workers", "1")
    assert code == 3
    code, _, err = cli(capsys, "compare", json.loads(out)["bundle"])
    assert code == 2 and "aborted" in err


GUARDED = """\
[experiment]
name = "guarded"
seed = 5
replications = 6
horizon = "6h"
warmup = "30m"
crn = {crn}

[objective]
metric = "utilization"
direction = "increase"
min_effect = 0.02

[[guardrails]]
metric = "wait.mean"
max_degradation = 0.05

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
agents = 9
skills = ["general"]

[arms.control]

[arms.fewer]
set = {{ "system.pools.agents.agents" = 8 }}

[arms.same]
set = {{ "workload.channels.phone.sla" = "30s" }}
"""


def verdicts(text: str):  # type: ignore[no-untyped-def]
    exp = load_text(text, "x.toml")
    out = run_experiment(exp, workers=1)
    return {v.arm: v for v in judge_run(exp, out.metrics, out.seeds["arm_keys"]).variants}


def test_a_breached_guardrail_blocks_a_winning_objective():
    v = verdicts(GUARDED.format(crn="true"))
    fewer = v["fewer"]
    objective = next(m for m in fewer.metrics if m.role == "objective")
    assert objective.significant and objective.diff > 0  # utilisation went up, as wanted
    guard = next(m for m in fewer.metrics if m.role == "guardrail")
    assert guard.metric == "wait.mean" and guard.status == "breached"
    assert fewer.verdict == "no-ship" and any("guardrail wait.mean breached" in r for r in fewer.reasons)


def test_identical_arms_under_crn_are_no_difference_not_a_crash():
    same = verdicts(GUARDED.format(crn="true"))["same"]
    objective = next(m for m in same.metrics if m.role == "objective")
    assert objective.p_value == 1.0 and objective.diff == 0.0 and objective.test == "identical"
    assert same.verdict == "inconclusive"
    for m in same.metrics:  # nothing is NaN anywhere
        assert all(x is None or x == x for x in (m.p_value, m.p_adjusted, m.diff))


def test_without_crn_the_test_is_welch():
    fewer = verdicts(GUARDED.format(crn="false"))["fewer"]
    assert next(m for m in fewer.metrics if m.role == "objective").test == "welch-t"


AA = GUARDED.replace('set = {{ "system.pools.agents.agents" = 8 }}', "set = {{ }}")


def test_a_over_a_without_crn_rejects_at_about_alpha():
    """The short, seeded version of bench/calibration.py: 60 A/A experiments, independent streams."""
    runs, alpha = 60, 0.05
    rejected = 0
    for seed in range(runs):
        text = AA.format(crn="false").replace("seed = 5", f"seed = {100 + seed}").replace("replications = 6",
                                                                                          "replications = 5")
        text = text.replace('horizon = "6h"', 'horizon = "2h"')
        fewer = verdicts(text)["fewer"]
        p = next(m.p_value for m in fewer.metrics if m.role == "objective")
        rejected += p < alpha
    lo, hi = st.binom.interval(0.99, runs, alpha)
    assert lo <= rejected <= hi, (rejected, lo, hi)


def test_plan_reports_replications_for_the_objective(capsys):
    code, out, err = cli(capsys, "plan", DATA / "erlang-a.toml", "--pilot", "4", "--json", "--workers", "1")
    assert code == 0, err
    result = json.loads(out)
    assert result["metric"] == "abandon_rate" and result["pilot_replications"] == 4
    (variant,) = result["variants"]
    assert variant["arm"] == "shorter_calls" and variant["replications"] >= 2
    assert result["replications_needed"] == variant["replications"]


def test_plan_refuses_a_file_without_objective(capsys, tmp_path):
    path = tmp_path / "noobj.toml"
    text = (DATA / "mmc.toml").read_text()
    start = text.index("[objective]")
    end = text.index("[workload]")
    path.write_text(text[:start] + text[end:])
    code, _, err = cli(capsys, "plan", path, "--pilot", "2", "--workers", "1")
    assert code == 2 and "objective" in err


def test_one_long_run_per_arm_is_judged_by_batch_means(capsys, tmp_path):
    """With one replication there is no replication spread: per-ticket means go by batch means."""
    text = (DATA / "mmc.toml").read_text().replace("replications = 10", "replications = 1")
    text = text.replace('horizon = "24h"', 'horizon = "96h"')
    path = tmp_path / "one-run.toml"
    path.write_text(text)
    bundle = run_bundle(capsys, path, tmp_path, "--workers", "1")
    code, out, _ = cli(capsys, "compare", bundle, "--format", "json")
    assert code == 0
    (variant,) = json.loads(out)["variants"]
    objective = next(m for m in variant["metrics"] if m["role"] == "objective")
    assert objective["test"] == "batch-means-paired" and variant["verdict"] == "ship"
    # a quantile objective cannot be tested from one run: invalid, with the reason
    path.write_text(text.replace('metric = "wait.mean"', 'metric = "wait.p95"'))
    bundle = run_bundle(capsys, path, tmp_path, "--workers", "1")
    code, out, _ = cli(capsys, "compare", bundle, "--format", "json")
    (variant,) = json.loads(out)["variants"]
    assert variant["verdict"] == "invalid" and "batch means" in variant["reasons"][0]
