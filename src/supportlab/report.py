"""summary.json and report.md of a result bundle (DESIGN.md §4).

:func:`build_summary` assembles the summary.json body from the per-arm metric statistics;
:func:`render_report` turns it into the human report. Both are deterministic: the same inputs give
the same text (no timestamps other than the run id).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from supportlab.bundle import FORMAT, json_safe
from supportlab.catalog import METRICS, metric_info
from supportlab.model import Experiment

#: shown for a missing, null or NaN value
MISSING = "–"

_UNIT_LABELS = {
    "seconds": "s",
    "ratio": "share",
    "count": "count",
    "per_hour": "per h",
    "score": "1–5",
    "length": "tickets",
}


def build_summary(
    experiment: Experiment,
    run_id: str,
    arms_metrics: Mapping[str, Mapping[str, Mapping[str, Any]]],
    expectations: Sequence[Mapping[str, Any]],
    status: str,
    limit: str | None,
) -> dict[str, Any]:
    """The summary.json body.

    ``arms_metrics`` is ``{arm: {metric: {"mean", "ci", "replications"}}}`` as the metrics module
    computes it; ``expectations`` the checked ``[expect]`` entries
    (``{"metric", "arm", "min"?, "max"?, "value", "met"}``). Arms come in the experiment's order
    (control first), metrics in the order given. NaN becomes None, so the result is JSON-ready.
    """
    order = [arm.name for arm in experiment.arms]
    order += [name for name in arms_metrics if name not in order]
    arms: dict[str, Any] = {}
    for name in order:
        metrics = arms_metrics.get(name, {})
        arms[name] = {
            "metrics": {
                metric: {
                    "mean": stats.get("mean"),
                    "ci": stats.get("ci"),
                    "replications": list(stats.get("replications", [])),
                    **{k: v for k, v in stats.items() if k not in ("mean", "ci", "replications")},
                }
                for metric, stats in metrics.items()
            }
        }
    summary: dict[str, Any] = {
        "format": FORMAT,
        "experiment": experiment.name,
        "run_id": run_id,
        "seed": experiment.seed,
        "replications": experiment.replications,
        "status": status,
        "limit": limit,
        "arms": arms,
        "expectations": [dict(e) for e in expectations],
    }
    replay = replay_summary(experiment)
    if replay:
        summary["replay"] = replay
    result: dict[str, Any] = json_safe(summary)
    return result


def replay_summary(experiment: Experiment) -> dict[str, Any] | None:
    """What the control's replayed log held and what was estimated from it (None: not a replay)."""
    from pathlib import Path

    from supportlab.replay_workload import patience_estimates
    from supportlab.staffing import staffed_seconds

    scenario = experiment.control.scenario
    rp = scenario.workload.replay
    if rp is None or rp.log is None:
        return None
    staffing = {}
    for p in scenario.system.pools:
        if p.staffing == "from-log":
            levels = [n for _, n in p.schedule]
            span = rp.log.end / rp.time_scale
            staffing[p.name] = {"estimate": rp.staffing_estimate, "interval": rp.staffing_interval,
                                "mean_agents": staffed_seconds(p, 0.0, span) / span if span > 0 else None,
                                "max_agents": max(levels, default=0)}
    return {
        "file": Path(rp.source.path).name,
        "log": rp.log.describe(),
        "time_scale": rp.time_scale,
        "volume_scale": rp.volume_scale,
        "patience": {ch: (est.describe() if est is not None else None)
                     for ch, est in patience_estimates(scenario).items()},
        "staffing": staffing,
    }


# --------------------------------------------------------------------------------------------------
# number formatting


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _decimals(magnitude: float, digits: int = 3) -> int:
    """Decimals that show ``digits`` significant digits of a number of this magnitude."""
    if magnitude == 0:
        return 0
    return max(0, digits - 1 - math.floor(math.log10(abs(magnitude))))


def _fixed(x: float, decimals: int) -> str:
    """``x`` with ``decimals`` decimals, halves rounded away from zero (712.5 → 713)."""
    q = Decimal(repr(x)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{q:f}"
    return "0" + text[2:] if text.startswith("-0") and q == 0 else text


def format_number(x: Any, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits (whole numbers from 100 up); None/NaN → ``–``."""
    f = _finite(x)
    if f is None:
        return MISSING
    return _fixed(f, _decimals(f, digits))


def format_estimate(mean: Any, ci: Any, digits: int = 3) -> str:
    """``41.2 [38.0, 44.5]``: the mean and its confidence interval, each to ``digits`` significant
    digits (a wide interval does not eat the mean's precision)."""
    if _finite(mean) is None:
        return MISSING
    text = format_number(mean, digits)
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and any(_finite(v) is not None for v in ci):
        text += f" [{format_number(ci[0], digits)}, {format_number(ci[1], digits)}]"
    return text


def _plain(x: Any) -> str:
    """A bound as written: 600 rather than 600.0, 0.8 rather than 0.800."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def format_value(value: Any) -> str:
    """A TOML-like rendering of an arm's override value (``0.5``, ``"fifo"``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {format_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


# --------------------------------------------------------------------------------------------------
# the report


def _metric_rows(experiment: Experiment, arms: Mapping[str, Any]) -> list[str]:
    """Metric names present in any arm: catalog order, ``utilization.<pool>`` after utilization."""
    present: set[str] = set()
    for arm in arms.values():
        present.update((arm or {}).get("metrics", {}) or {})
    pools: list[str] = []
    for arm in experiment.arms:
        for pool in arm.scenario.system.pools:
            if pool.name not in pools:
                pools.append(pool.name)
    per_pool = [f"utilization.{p}" for p in pools if f"utilization.{p}" in present]
    per_pool += sorted(m for m in present if m.startswith("utilization.") and m not in per_pool)
    rows: list[str] = []
    for name in METRICS:
        if name in present:
            rows.append(name)
        if name == "utilization":
            rows.extend(per_pool)
    return rows


def _unit(name: str) -> str:
    info = metric_info(name, (name.split(".", 1)[1],) if name.startswith("utilization.") else ())
    return _UNIT_LABELS.get(info.unit, info.unit) if info else ""


def _table(header: list[str], rows: list[list[str]], align: list[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _expected_range(e: Mapping[str, Any]) -> str:
    if e.get("within") is not None:
        return f"within {_plain(e['within'] * 100)}% of {e.get('of')} ({format_number(e.get('reference'))})"
    lo, hi = e.get("min"), e.get("max")
    if lo is not None and hi is not None:
        return f"{_plain(lo)} to {_plain(hi)}"
    if lo is not None:
        return f"≥ {_plain(lo)}"
    if hi is not None:
        return f"≤ {_plain(hi)}"
    return MISSING


def _met(flag: Any) -> str:
    if flag is True:
        return "✓"
    if flag is False:
        return "✗"
    return MISSING


#: the metrics the observed-vs-simulated table leads with (the rest follow in catalog order)
VALIDATION_METRICS = ("abandon_rate", "wait.mean", "wait.p90", "utilization", "sla_attainment")


def validation_rows(arms_summary: Mapping[str, Any]) -> list[tuple[str, float, Any, float | None]]:
    """(metric, observed, control stats, relative gap) for every metric both the observed arm and control have."""
    observed = ((arms_summary.get("observed") or {}).get("metrics")) or {}
    control = ((arms_summary.get("control") or {}).get("metrics")) or {}
    names = [m for m in VALIDATION_METRICS if m in observed] + [m for m in observed if m not in VALIDATION_METRICS]
    rows = []
    for metric in names:
        seen = _finite((observed.get(metric) or {}).get("mean"))
        stats = control.get(metric) or {}
        sim = _finite(stats.get("mean"))
        if seen is None or sim is None:
            continue
        gap = (sim - seen) / abs(seen) if seen else None
        rows.append((metric, seen, stats, gap))
    return rows


def _observed_section(summary: Mapping[str, Any], arms_summary: Mapping[str, Any]) -> list[str]:
    rows = validation_rows(arms_summary)
    if not rows:
        return []
    out = ["## Simulated control against the observed log", "",
           "The log's own outcomes measured by the same code (arm `observed`) beside the simulated control: "
           "the simulator's validation on real data. Gap = control / observed - 1.", ""]
    table = [[f"`{m}`", _unit(m), format_number(seen), format_estimate(stats.get("mean"), stats.get("ci")),
              MISSING if gap is None else f"{gap * 100:+.1f}%"] for m, seen, stats, gap in rows]
    out += _table(["metric", "unit", "observed", "control", "gap"], table, ["---", "---", "---:", "---:", "---:"])
    return [*out, ""]


def _replay_section(replay: Any) -> list[str]:
    if not isinstance(replay, Mapping):
        return []
    log = replay.get("log") or {}
    out = ["## Replayed log", "", f"`{replay.get('file', '')}`: {_count(log.get('rows'))} rows read, "
           f"{_count(log.get('kept'))} replayed, {_count(log.get('ignored'))} ignored by outcome."]
    excluded = log.get("excluded") or []
    if any(excluded):
        out.append("Excluded by rule: " + ", ".join(f"exclude[{i}] {_count(n)}" for i, n in enumerate(excluded)) + ".")
    filtered = {k: v for k, v in (log.get("filtered") or {}).items() if v}
    if filtered:
        out.append("Left out by the filters: " + ", ".join(f"{k} {_count(v)}" for k, v in filtered.items()) + ".")
    bad = log.get("bad") or []
    if bad:
        out += ["", "Rows that could not be read, by reason:", ""]
        out += _table(["reason", "rows", "first row", "first value"],
                      [[str(b.get("reason")), _count(b.get("count")), str(b.get("first_row")),
                        f"`{b.get('first_value')}`"] for b in bad], ["---", "---:", "---:", "---"])
    else:
        out.append("Every row that was not ignored or excluded could be read.")
    for channel, est in (replay.get("patience") or {}).items():
        if est:
            out.append(f"\nPatience ({channel}): {est.get('method')} from {_count(est.get('abandons'))} abandoned "
                       f"and {_count(est.get('censored'))} served (censored) waits; mean "
                       f"{format_number(est.get('mean'))} s, median {format_number(est.get('median'))} s.")
    for pool, st in (replay.get("staffing") or {}).items():
        out.append(f"\nStaffing of `{pool}` from the log ({st.get('estimate')}, {format_number(st.get('interval'))} s "
                   f"intervals): {format_number(st.get('mean_agents'))} agents on average over the replayed span "
                   f"(hours and days left out count as none), at most {st.get('max_agents')}.")
    return [*out, ""]


def _count(x: Any) -> str:
    return f"{int(x):,}" if isinstance(x, (int, float)) and math.isfinite(x) else MISSING


def render_report(experiment: Experiment, summary: Mapping[str, Any], status: str, limit: str | None) -> str:
    """report.md: what ran, the per-arm metrics with 95% CIs, the expectations and the variants."""
    run_id = summary.get("run_id", "")
    replications = summary.get("replications", experiment.replications)
    seed = summary.get("seed", experiment.seed)
    arms_summary: Mapping[str, Any] = summary.get("arms", {}) or {}
    arm_names = [a.name for a in experiment.arms if a.name in arms_summary]
    arm_names += [name for name in arms_summary if name not in arm_names]

    out: list[str] = [f"# {experiment.name} · run {run_id}", ""]
    if experiment.description:
        out += [experiment.description, ""]
    if experiment.hypothesis:
        out += [f"**Hypothesis:** {experiment.hypothesis}", ""]
    if status == "aborted":
        why = f"the `{limit}` limit was reached" if limit else "the run stopped early"
        out += [f"**Status:** aborted: {why}; the results cover only what ran before it.", ""]
    else:
        out += [f"**Status:** {status}", ""]
    out += [f"Seed {seed}, {replications} replications, arms: {', '.join(arm_names) or MISSING}.", ""]
    if experiment.objective is not None:
        obj = experiment.objective
        effect = ""
        if obj.min_effect is not None:
            effect = f", minimum effect {_plain(obj.min_effect * 100)}%"
        elif obj.min_effect_abs is not None:
            effect = f", minimum effect {_plain(obj.min_effect_abs)}"
        out += [f"**Objective:** {obj.direction} `{obj.metric}`{effect} (alpha {_plain(obj.alpha)}).", ""]

    out += ["## Metrics", ""]
    rows = _metric_rows(experiment, arms_summary)
    if rows and arm_names:
        out += ["Mean over replications with the 95% confidence interval; times in seconds.", ""]
        table_rows = []
        for metric in rows:
            cells = [f"`{metric}`", _unit(metric)]
            for arm in arm_names:
                stats = ((arms_summary.get(arm) or {}).get("metrics") or {}).get(metric) or {}
                cells.append(format_estimate(stats.get("mean"), stats.get("ci")))
            table_rows.append(cells)
        out += _table(["metric", "unit", *arm_names], table_rows, ["---", "---", *["---:"] * len(arm_names)])
    else:
        out.append("No metrics were recorded.")
    out.append("")

    expectations = summary.get("expectations", []) or []
    if expectations:
        out += ["## Expectations", ""]
        exp_rows = [
            [
                f"`{e.get('metric', '')}`",
                str(e.get("arm", "control")),
                _expected_range(e),
                format_number(e.get("value")),
                _met(e.get("met")),
            ]
            for e in expectations
        ]
        out += _table(["metric", "arm", "expected", "value", "met"], exp_rows,
                      ["---", "---", "---", "---:", ":---:"])
        met = sum(1 for e in expectations if e.get("met") is True)
        out += ["", f"{met} of {len(expectations)} expectations met.", ""]

    out += _observed_section(summary, arms_summary)
    out += _replay_section(summary.get("replay"))

    variants = experiment.arms[1:]
    if variants:
        out += ["## Variants", ""]
        for variant in variants:
            changes = ", ".join(f"`{path} = {format_value(value)}`" for path, value in variant.changes)
            out.append(f"- **{variant.name}**: {changes or 'no changes'}")
        out.append("")

    return "\n".join(out).rstrip("\n") + "\n"
