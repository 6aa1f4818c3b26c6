"""The blueprint log as a user meets it: run, compare and decide record; show, verify and render read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import cli

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def story(capsys, tmp_path) -> tuple[Path, Path]:
    """A run, its comparison and a decision, in a log of its own."""
    log = tmp_path / "log" / "blueprint.jsonl"
    text = (DATA / "mmc.toml").read_text().replace("replications = 10", "replications = 3")
    text = text.replace('horizon = "24h"', 'horizon = "6h"')
    path = tmp_path / "mmc.toml"
    path.write_text(text)
    code, out, err = cli(capsys, "run", path, "--out", tmp_path / "results", "--log", log, "--json", "--workers", "1")
    assert code == 0, err
    bundle = Path(json.loads(out)["bundle"])
    assert cli(capsys, "compare", bundle, "--log", log)[0] == 0
    code, out, _ = cli(capsys, "decide", bundle, "--action", "ship", "--note", "Eleven agents halve the wait",
                       "--item", "Update the staffing plan", "--item", "Re-probe in a month", "--log", log)
    assert code == 0 and "recorded decision #3" in out
    return log, bundle


def entries(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_run_compare_and_decide_append_a_hash_chain(story):
    log, bundle = story
    kinds = [(e["seq"], e["kind"], e["experiment"]) for e in entries(log)]
    assert kinds == [(1, "run", "mmc"), (2, "compare", "mmc"), (3, "decision", "mmc")]
    run, compare, decision = entries(log)
    assert run["run_id"] == bundle.name and run["data"]["bundle"] == str(bundle)
    assert run["data"]["objective"]["metric"] == "wait.mean"
    assert run["data"]["arms"]["eleven_agents"]["changes"] == {"system.pools.agents.agents": 11}
    assert "wait.mean" in run["data"]["arms"]["control"]["metrics"]
    assert compare["data"]["variants"][0]["verdict"] in ("ship", "inconclusive")
    assert decision["data"] == {"bundle": str(bundle), "action": "ship", "note": "Eleven agents halve the wait",
                                "by": "tester", "items": ["Update the staffing plan", "Re-probe in a month"]}
    assert compare["prev"] == run["hash"] and decision["prev"] == compare["hash"]


def test_the_default_log_comes_from_the_environment(capsys, tmp_path, monkeypatch):
    log = tmp_path / "env-log.jsonl"
    monkeypatch.setenv("SUPPORTLAB_LOG", str(log))
    text = (DATA / "mmc.toml").read_text().replace("replications = 10", "replications = 2")
    path = tmp_path / "m.toml"
    path.write_text(text.replace('horizon = "24h"', 'horizon = "2h"'))
    assert cli(capsys, "run", path, "--out", tmp_path, "--workers", "1", "--json")[0] == 0
    assert [e["kind"] for e in entries(log)] == ["run"]


def test_verify_passes_then_names_a_tampered_entry(capsys, story):
    log, _ = story
    code, out, _ = cli(capsys, "blueprint", "verify", "--log", log)
    assert code == 0 and "ok, 3 entries" in out
    lines = log.read_text().splitlines()
    lines[1] = lines[1].replace('"compare"', '"comparE"')
    log.write_text("\n".join(lines) + "\n")
    code, out, _ = cli(capsys, "blueprint", "verify", "--log", log)
    assert code == 1 and "seq 2" in out.splitlines()[0]


def test_verify_names_a_changed_bundle(capsys, story):
    log, bundle = story
    (bundle / "metrics.parquet").write_bytes(b"not the data")
    code, out, _ = cli(capsys, "blueprint", "verify", "--log", log)
    assert code == 1 and "metrics.parquet" in out and "seq 1" in out


def test_show_and_render_tell_the_story(capsys, story, tmp_path):
    log, bundle = story
    code, out, _ = cli(capsys, "blueprint", "show", "--log", log, "--kind", "decision", "--json")
    assert code == 0
    (decision,) = [json.loads(line) for line in out.splitlines()]
    assert decision["data"]["action"] == "ship"
    code, out, _ = cli(capsys, "blueprint", "show", "--log", log)
    assert code == 0 and "decision" in out and "compare" in out
    target = tmp_path / "BLUEPRINT.md"
    code, out, _ = cli(capsys, "blueprint", "render", "--log", log, "--output", target)
    assert code == 0
    doc = target.read_text()
    for needle in ("## mmc", "Update the staffing plan", "Re-probe in a month", "Eleven agents halve the wait",
                   bundle.name, "wait.mean"):
        assert needle in doc, needle


def test_decide_refuses_bad_input(capsys, story, tmp_path):
    log, bundle = story
    code, _, err = cli(capsys, "decide", bundle, "--action", "maybe", "--note", "x", "--log", log)
    assert code == 2 and "--action: 'maybe' is not an action" in err
    code, _, err = cli(capsys, "decide", tmp_path / "nowhere", "--action", "hold", "--note", "x", "--log", log)
    assert code == 2 and "no such bundle" in err
    assert len(entries(log)) == 3  # nothing was appended


def test_diff_records_its_outcome(capsys, story, tmp_path):
    log, bundle = story
    code, _, _ = cli(capsys, "diff", bundle, bundle, "--log", log)
    assert code == 0
    last = entries(log)[-1]
    assert last["kind"] == "diff" and last["run_id"] == bundle.name
    assert last["data"]["passed"] is True and last["data"]["regressions"] == []
    assert cli(capsys, "blueprint", "verify", "--log", log)[0] == 0
