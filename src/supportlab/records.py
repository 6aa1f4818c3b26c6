"""What each command records in the blueprint log: the ``data`` of run, compare and decision entries.

Entries are written only after what they point to is complete (the bundle is renamed into place before
its ``run`` entry is appended), so the log never names a half-written bundle.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

from supportlab import blueprint, catalog
from supportlab.bundle import read_bundle
from supportlab.compare import Comparison
from supportlab.errors import UsageError
from supportlab.model import Experiment

#: headline metrics a run entry keeps per arm (with the objective's and the guardrails')
HEADLINE = ("tickets", *catalog.HEADLINE)
ACTIONS = ("ship", "hold", "rollback", "rerun")


def run_data(exp: Experiment, bundle: Path, summary: dict[str, Any], status: str, limit: str | None) -> dict[str, Any]:
    obj = exp.objective
    keep = [*HEADLINE, *([obj.metric] if obj else []), *(g.metric for g in exp.guardrails)]
    arms: dict[str, Any] = {}
    for arm in exp.arms:
        metrics = summary.get("arms", {}).get(arm.name, {}).get("metrics", {})
        arms[arm.name] = {
            "changes": {path: value for path, value in arm.changes},
            "metrics": {m: {"mean": metrics[m].get("mean"), "ci": metrics[m].get("ci")}
                        for m in dict.fromkeys(keep) if m in metrics},  # fmt: skip
        }
    return {
        "bundle": str(bundle),
        "status": status,
        "limit": limit,
        "file": exp.path,
        "file_sha256": exp.sha256,
        "description": exp.description,
        "hypothesis": exp.hypothesis,
        "objective": None if obj is None else {
            "metric": obj.metric, "direction": obj.direction, "min_effect": obj.min_effect,
            "min_effect_abs": obj.min_effect_abs, "alpha": obj.alpha,
        },  # fmt: skip
        "guardrails": [
            {"metric": g.metric, "max_degradation": g.max_degradation, "max_degradation_abs": g.max_degradation_abs}
            for g in exp.guardrails
        ],
        "arms": arms,
        "replications": exp.replications,
        "seed": exp.seed,
    }


def compare_data(c: Comparison) -> dict[str, Any]:
    variants = []
    for v in c.variants:
        objective = next((m for m in v.metrics if m.role == "objective"), None)
        variants.append({
            "arm": v.arm,
            "verdict": v.verdict,
            "reasons": v.reasons,
            "objective": None if objective is None else {
                "metric": objective.metric, "control": objective.control, "variant": objective.variant,
                "rel_diff": objective.rel_diff, "ci": objective.ci, "p_value": objective.p_value,
            },
        })  # fmt: skip
    return {"bundle": c.bundle, "variants": variants}


def record_run(log: Path, exp: Experiment, bundle: Path, summary: dict[str, Any], status: str,
               limit: str | None) -> blueprint.AppendResult:  # fmt: skip
    return blueprint.append(log, "run", exp.name, bundle.name, run_data(exp, bundle, summary, status, limit))


def record_compare(log: Path, c: Comparison) -> blueprint.AppendResult:
    return blueprint.append(log, "compare", c.experiment, c.run_id, compare_data(c))


def decide(log: Path, bundle_path: Path, *, action: str, note: str, by: str | None,
           items: list[str]) -> blueprint.AppendResult:  # fmt: skip
    """Record a human decision on a bundle (negative and inconclusive results too)."""
    if action not in ACTIONS:
        raise UsageError(f"--action: {action!r} is not an action, expected one of {', '.join(ACTIONS)}")
    if not note.strip():
        raise UsageError("--note: empty, expected the rationale of the decision")
    bundle = read_bundle(bundle_path)
    name = bundle.manifest.get("experiment", {}).get("name", "")
    data = {"bundle": str(bundle_path), "action": action, "note": note, "by": by or _who(), "items": list(items)}
    return blueprint.append(log, "decision", name, str(bundle.manifest.get("run_id", "")), data)


def _who() -> str:
    try:
        return os.environ.get("SUPPORTLAB_USER") or getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user database entry
        return "unknown"


def set_baseline(log: Path, bundle_path: Path, name: str | None) -> blueprint.AppendResult:
    """Bless a complete bundle as the baseline ``name`` (default: its experiment's name)."""
    bundle = read_bundle(bundle_path, require_complete=True)
    experiment = bundle.manifest.get("experiment", {}).get("name", "")
    label = name or experiment
    data = {"name": label, "bundle": str(bundle_path)}
    return blueprint.append(log, "baseline", experiment, str(bundle.manifest.get("run_id", "")), data)


def baseline_bundle(log: Path, name: str) -> Path:
    """The bundle most recently blessed as ``name`` in the log."""
    found = [e for e in blueprint.read(log) if e.kind == "baseline" and e.data.get("name") == name]
    if not found:
        known = sorted({str(e.data.get("name")) for e in blueprint.read(log) if e.kind == "baseline"})
        raise UsageError(
            f"--baseline: no baseline named {name!r} in {log}, expected one of {', '.join(known) or '(none yet)'}"
            " (record one with `supportlab baseline set BUNDLE --name NAME`)"
        )
    return Path(str(found[-1].data["bundle"]))


def record_diff(log: Path, d: Any) -> blueprint.AppendResult:
    """A ``diff`` entry: which bundles, whether it passed, the regressions (not every row) and the warnings."""
    data = {
        "base": d.base,
        "new": d.new,
        "base_run_id": d.base_run_id,
        "paired": d.paired,
        "passed": not d.regressions,
        "regressions": [
            {"arm": r.arm, "metric": r.metric, "base": r.base, "new": r.new, "rel_diff": r.rel_diff,
             "p_value": r.p_value, "tolerance": r.tolerance}
            for r in d.regressions
        ],  # fmt: skip
        "warnings": list(d.warnings),
    }
    return blueprint.append(log, "diff", d.experiment, d.new_run_id, data)
