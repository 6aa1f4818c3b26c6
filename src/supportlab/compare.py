"""Judge every variant of a bundle against control: effect, confidence interval, p-value, verdict.

The unit of analysis is the replication: each arm contributes one value of a metric per replication
(tickets within a run are autocorrelated, so per-ticket tests would reject far too often). With
common random numbers (``crn = true``) the arms of a replication share their customers and are
compared pair by pair (paired t, with a BCa bootstrap interval of the relative difference); without,
Welch's t compares the two sets of replications.

Verdicts, per variant:

* ``ship`` — the objective moved the wanted way with p < alpha AND by at least ``min_effect``, and
  every guardrail is shown non-inferior (Holm-adjusted over the guardrails);
* ``no-ship`` — the objective is significantly worse, or a guardrail is breached (its degradation is
  beyond the allowed margin and non-inferiority cannot be shown);
* ``inconclusive`` — neither: no significant or no large-enough move, or a guardrail not yet shown
  non-inferior;
* ``invalid`` — the comparison cannot be made (fewer than 2 replications, the objective or an arm
  missing from the bundle, no objective in the experiment).

Secondary metrics (every other headline metric) are reported with Holm-adjusted p-values and never
decide. Sample-ratio mismatch does not apply to simulated bundles: every arm sees the whole workload.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from supportlab import stats
from supportlab.bundle import read_bundle
from supportlab.catalog import METRICS, metric_info
from supportlab.errors import BundleError, ConfigError
from supportlab.experiment import load_text
from supportlab.model import Experiment

VERDICTS = ("ship", "no-ship", "inconclusive", "invalid")


@dataclass(frozen=True)
class MetricComparison:
    metric: str
    role: str  # "objective" | "guardrail" | "secondary"
    control: float | None
    variant: float | None
    diff: float | None
    rel_diff: float | None
    ci: list[float] | None
    p_value: float | None
    p_adjusted: float | None
    test: str
    significant: bool
    #: guardrails: the allowed degradation and the one-sided non-inferiority p-value (Holm-adjusted)
    margin: str | None = None
    noninferiority_p: float | None = None
    status: str | None = None  # guardrails: "ok" | "breached" | "unclear"


@dataclass(frozen=True)
class VariantVerdict:
    arm: str
    verdict: str
    reasons: list[str]
    metrics: list[MetricComparison] = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    bundle: str
    experiment: str
    run_id: str
    control: str
    paired: bool
    replications: int
    alpha: float
    variants: list[VariantVerdict]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["variants"] = [
            {**asdict(v), "metrics": [_clean(asdict(m)) for m in v.metrics]} for v in self.variants
        ]
        return out


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None or k in ("p_value", "p_adjusted", "ci", "rel_diff")}


def bundle_experiment(bundle_path: Path) -> Experiment:
    path = bundle_path / "experiment.toml"
    try:
        return load_text(path.read_text(encoding="utf-8"), str(path))
    except ConfigError as e:  # pragma: no cover - a bundle's own file always validated once
        raise BundleError(f"{bundle_path}: its experiment.toml no longer validates: {e}") from e


def replication_values(summary: dict[str, Any], arm: str, metric: str) -> list[float] | None:
    m = summary.get("arms", {}).get(arm, {}).get("metrics", {}).get(metric)
    if not m:
        return None
    vals = m.get("replications") or []
    if not vals or any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals):
        return None
    return [float(v) for v in vals]


def _effect(
    control: list[float], variant: list[float], paired: bool, alpha: float, batched: bool = False
) -> stats.Effect:
    eff = stats.paired(control, variant, alpha=alpha) if paired else stats.welch(control, variant, alpha=alpha)
    if batched and eff.test != "identical":  # the same tests on batch means, named as stats.batch_means names them
        eff = replace(eff, test="batch-means-paired" if paired else "batch-means")
    return eff


#: metrics that are means over tickets: with one long run per arm they are compared by batch means of
#: the time-ordered per-ticket values (the filter picks the tickets the metric is defined over)
BATCHES = 20


def _per_ticket() -> dict[str, tuple[Any, Any]]:
    import polars as pl

    answered = pl.col("start").is_not_null()
    resolved = pl.col("outcome").cast(pl.String).is_in(["bot", "resolved"])
    return {
        "first_response.mean": (pl.col("first_response"), pl.col("first_response").is_not_null()),
        "wait.mean": (pl.col("wait"), pl.col("wait").is_not_null()),
        "resolution.mean": (pl.col("resolution"), resolved),
        "handle.mean": (pl.col("handle"), pl.col("handle").is_not_null()),
        "abandon_rate": (pl.col("outcome").cast(pl.String) == "abandoned", pl.col("queued").is_not_null()),
        "sla_attainment": (pl.col("sla_met").fill_null(False), pl.lit(True)),
        "fcr_rate": (pl.col("fcr").fill_null(False), resolved),
        "escalation_rate": (pl.col("escalated").fill_null(False), answered),
        "routing_accuracy": (pl.col("right_skill").fill_null(False), answered),
        "csat.mean": (pl.col("csat"), pl.col("csat").is_not_null()),
    }


Series = Callable[[str, str], "list[float] | None"]


def ticket_series(tickets: Any) -> Series:
    """``series(arm, metric)``: the time-ordered per-ticket values of a per-ticket metric in one run."""
    import polars as pl

    defs = _per_ticket()

    def series(arm: str, metric: str) -> list[float] | None:
        if metric not in defs:
            return None
        value, where = defs[metric]
        t = tickets.filter((pl.col("arm").cast(pl.String) == arm) & pl.col("measured") & where).sort("arrival")
        return t.select(value.cast(pl.Float64)).to_series().to_list()

    return series


def _worse(diff: float, better: str) -> bool:
    return diff > 0 if better == "lower" else diff < 0


def compare_bundle(path: Path) -> Comparison:
    """Judge each variant of the bundle at ``path`` (exit-2 errors for a missing, aborted or unknown bundle)."""
    bundle = read_bundle(Path(path), require_complete=True)
    exp = bundle_experiment(Path(path))
    seeds = bundle.manifest.get("seeds", {})
    arm_keys = seeds.get("arm_keys", {}) if isinstance(seeds, dict) else {}
    series = ticket_series(bundle.tickets()) if exp.replications == 1 else None
    return judge(exp, bundle.summary, arm_keys, bundle=str(path), run_id=str(bundle.manifest.get("run_id", "")),
                 series=series)  # fmt: skip


def judge(
    exp: Experiment,
    summary: dict[str, Any],
    arm_keys: dict[str, Any],
    *,
    bundle: str = "",
    run_id: str = "",
    series: Series | None = None,
) -> Comparison:
    """Judge each variant from a summary's per-replication values (``arms.<arm>.metrics.<m>.replications``).

    ``arm_keys`` (the manifest's ``seeds.arm_keys``) says which arms shared random streams: those are paired.
    With one replication, ``series`` gives the time-ordered per-ticket values of a run, compared by batch
    means (metrics that are not per-ticket means cannot be tested from one run).
    """
    control = exp.control.name
    alpha = exp.objective.alpha if exp.objective else 0.05
    variants = [
        _judge(exp, summary, control, arm.name, _paired(arm_keys, control, arm.name), alpha, series)
        for arm in exp.arms[1:]
    ]
    return Comparison(
        bundle=bundle,
        experiment=exp.name,
        run_id=run_id,
        control=control,
        paired=all(_paired(arm_keys, control, a.name) for a in exp.arms[1:]) if exp.arms[1:] else exp.crn,
        replications=exp.replications,
        alpha=alpha,
        variants=variants,
    )


def judge_run(exp: Experiment, metrics: Any, arm_keys: dict[str, Any]) -> Comparison:
    """Judge straight from a run's long metrics table (no bundle): what calibration scripts use."""
    from supportlab.metrics import summarize

    arms = {arm: {"metrics": m} for arm, m in summarize(metrics).items()}
    return judge(exp, {"arms": arms}, arm_keys)


def _paired(arm_keys: dict[str, Any], control: str, arm: str) -> bool:
    """Paired when both arms drew from the same streams (common random numbers)."""
    return arm_keys.get(control) is not None and arm_keys.get(control) == arm_keys.get(arm)


def _judge(
    exp: Experiment,
    summary: dict[str, Any],
    control: str,
    arm: str,
    paired: bool,
    alpha: float,
    series: Series | None = None,
) -> VariantVerdict:
    if exp.objective is None:
        return VariantVerdict(arm, "invalid", ["the experiment has no [objective]: nothing decides"])
    obj = exp.objective
    pools = tuple(p.name for a in exp.arms for p in a.scenario.system.pools)

    def effect_of(metric: str) -> stats.Effect | None:
        units = _units(summary, control, arm, metric, series)
        return None if units is None else _effect(*units[:2], paired, alpha, batched=units[2])

    eff_or_none = effect_of(obj.metric)
    if eff_or_none is None:
        c_vals = replication_values(summary, control, obj.metric)
        if c_vals is None:
            why = f"objective {obj.metric} has no value for every replication"
        elif len(c_vals) < 2:
            why = (f"{len(c_vals)} replication(s) and {obj.metric} is not a per-ticket mean that batch means "
                   "could test: at least 2 replications per arm are needed")  # fmt: skip
        else:
            why = f"objective {obj.metric} has unequal replication counts across arms"
        return VariantVerdict(arm, "invalid", [why])
    eff = eff_or_none
    reasons: list[str] = []
    metrics: list[MetricComparison] = []

    # --- objective --------------------------------------------------------------------------------------
    wanted = (eff.diff < 0) if obj.direction == "decrease" else (eff.diff > 0)
    significant = eff.p_value < alpha
    size_ok, size_text = _large_enough(eff, obj.min_effect, obj.min_effect_abs)
    metrics.append(_metric_row(obj.metric, "objective", eff, eff.p_value, significant))
    moved = _describe(obj.metric, eff)
    if significant and wanted and size_ok:
        objective = "win"
        reasons.append(f"objective {obj.metric} {moved}, p = {_p(eff.p_value)} < {alpha:g}, {size_text}")
    elif significant and not wanted and eff.diff != 0:
        objective = "loss"
        reasons.append(f"objective {obj.metric} got worse: {moved}, p = {_p(eff.p_value)} < {alpha:g}")
    else:
        objective = "none"
        if not significant:
            reasons.append(f"objective {obj.metric} {moved}, not significant (p = {_p(eff.p_value)} >= {alpha:g})")
        elif wanted:
            reasons.append(f"objective {obj.metric} {moved}, significant but {size_text}")
        else:
            reasons.append(f"objective {obj.metric} did not move")

    # --- guardrails: non-inferiority, Holm across them -----------------------------------------------------------
    guard_rows: list[tuple[str, stats.Effect, float, str, float, bool]] = []
    for g in exp.guardrails:
        info = metric_info(g.metric, pools)
        units = _units(summary, control, arm, g.metric, series)
        if info is None or units is None:
            reasons.append(f"guardrail {g.metric}: no value for every replication, not checked")
            continue
        gc, gv, batched = units
        relative = g.max_degradation is not None
        margin = g.max_degradation if relative else g.max_degradation_abs
        assert margin is not None
        geff = _effect(gc, gv, paired, alpha, batched=batched)
        p_ni = stats.non_inferiority(gc, gv, better=info.better, margin=margin, relative=relative, paired=paired,
                                     alpha=alpha)  # fmt: skip
        allowed = margin * abs(geff.control) if relative else margin
        beyond = _worse(geff.diff, info.better) and abs(geff.diff) > allowed
        text = f"{margin:.0%}" if relative else f"{margin:g}"
        guard_rows.append((g.metric, geff, p_ni, text, allowed, beyond))
    adjusted = stats.holm([r[2] for r in guard_rows]) if guard_rows else []
    guard_states = []
    for (metric, geff, _p_ni, text, _allowed, beyond), p_adj in zip(guard_rows, adjusted, strict=True):
        status = "ok" if p_adj < alpha else ("breached" if beyond else "unclear")
        guard_states.append(status)
        metrics.append(
            _metric_row(metric, "guardrail", geff, geff.p_value, geff.p_value < alpha,
                        margin=text, noninferiority_p=p_adj, status=status)  # fmt: skip
        )
        if status == "breached":
            reasons.append(f"guardrail {metric} breached: {_describe(metric, geff)}, beyond the allowed {text}")
        elif status == "unclear":
            reasons.append(
                f"guardrail {metric}: non-inferiority within {text} not shown (Holm-adjusted p = {_p(p_adj)})"
            )

    # --- secondary metrics: reported, Holm-adjusted, never decide --------------------------------------------------
    decided = {obj.metric, *(g.metric for g in exp.guardrails)}
    secondary: list[tuple[str, stats.Effect]] = []
    for name in [*METRICS, *(f"utilization.{p}" for p in dict.fromkeys(pools))]:
        if name in decided or name == "tickets":
            continue
        seff = effect_of(name)
        if seff is not None:
            secondary.append((name, seff))
    sec_adj = stats.holm([e.p_value for _, e in secondary]) if secondary else []
    for (name, seff), p_adj in zip(secondary, sec_adj, strict=True):
        metrics.append(_metric_row(name, "secondary", seff, p_adj, p_adj < alpha))

    if objective == "loss" or "breached" in guard_states:
        verdict = "no-ship"
    elif objective == "win" and all(s == "ok" for s in guard_states):
        verdict = "ship"
    else:
        verdict = "inconclusive"
    return VariantVerdict(arm, verdict, reasons, metrics)


def _units(
    summary: dict[str, Any], control: str, arm: str, metric: str, series: Series | None
) -> tuple[list[float], list[float], bool] | None:
    """What a metric's tests compare: ``(control, variant, batched)``.

    The replication values when both arms have at least 2; with one long run per arm, the means of
    :data:`BATCHES` time-ordered batches of the per-ticket values (batch k of control pairs with batch k
    of the variant); None when the metric cannot be tested.
    """
    c, v = replication_values(summary, control, metric), replication_values(summary, arm, metric)
    if c is not None and v is not None and len(c) == len(v) >= 2:
        return c, v, False
    if series is not None and c is not None and len(c) == 1:
        sc, sv = series(control, metric), series(arm, metric)
        if sc is not None and sv is not None and min(len(sc), len(sv)) >= 20:
            k = max(2, min(BATCHES, len(sc) // 10, len(sv) // 10))
            return stats.batch_series(sc, k).tolist(), stats.batch_series(sv, k).tolist(), True
    return None


def _large_enough(eff: stats.Effect, rel: float | None, absolute: float | None) -> tuple[bool, str]:
    if absolute is not None:
        ok = abs(eff.diff) >= absolute
        return ok, f"{'at least' if ok else 'smaller than'} the minimum effect {absolute:g}"
    threshold = rel or 0.0
    if eff.rel_diff is None:
        return threshold == 0, "no relative effect (control is 0)"
    ok = abs(eff.rel_diff) >= threshold
    return ok, f"{'at least' if ok else 'smaller than'} the minimum effect {threshold:.0%}"


def _describe(metric: str, eff: stats.Effect) -> str:
    rel = f" ({eff.rel_diff:+.1%})" if eff.rel_diff is not None else ""
    return f"{_num(eff.control)} -> {_num(eff.variant)}{rel}"


def _num(x: float) -> str:
    return f"{x:.4g}"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def _metric_row(
    metric: str,
    role: str,
    eff: stats.Effect,
    p_adjusted: float,
    significant: bool,
    *,
    margin: str | None = None,
    noninferiority_p: float | None = None,
    status: str | None = None,
) -> MetricComparison:
    return MetricComparison(
        metric=metric,
        role=role,
        control=eff.control,
        variant=eff.variant,
        diff=eff.diff,
        rel_diff=eff.rel_diff,
        ci=list(eff.ci) if eff.ci is not None else None,
        p_value=eff.p_value,
        p_adjusted=p_adjusted,
        test=eff.test,
        significant=significant,
        margin=margin,
        noninferiority_p=noninferiority_p,
        status=status,
    )


# --- rendering -------------------------------------------------------------------------------------------
def to_markdown(c: Comparison) -> str:
    """A pull-request-ready summary: one section per variant, objective and guardrails first."""
    test = "paired by replication (common random numbers)" if c.paired else "Welch's t on replications"
    lines = [
        f"# {c.experiment}: comparison of run {c.run_id}",
        "",
        f"Control `{c.control}`, {c.replications} replications, {test}, alpha {c.alpha:g}.",
        "",
        "| variant | verdict | why |",
        "|---|---|---|",
    ]
    for v in c.variants:
        lines.append(f"| `{v.arm}` | **{v.verdict}** | {'; '.join(v.reasons)} |")
    for v in c.variants:
        lines += ["", f"## `{v.arm}`: {v.verdict}", ""]
        lines += ["| metric | role | control | variant | change | CI of change | p | p adj. | test |",
                  "|---|---|---:|---:|---:|---|---:|---:|---|"]  # fmt: skip
        for m in v.metrics:
            if m.role == "secondary" and not m.significant:
                continue
            lines.append(
                f"| `{m.metric}` | {m.role}{' (' + m.status + ')' if m.status else ''} | {fmt_value(m.control)} | "
                f"{fmt_value(m.variant)} | {fmt_change(m)} | {fmt_ci(m)} | {fmt_p(m.p_value)} | "
                f"{fmt_p(m.p_adjusted)} | {m.test} |"
            )
        hidden = sum(1 for m in v.metrics if m.role == "secondary" and not m.significant)
        if hidden:
            lines += ["", f"{hidden} secondary metrics without a significant change are not shown."]
    return "\n".join(lines) + "\n"


def fmt_value(x: float | None) -> str:
    return "–" if x is None else f"{x:.4g}"


def fmt_p(p: float | None) -> str:
    return "–" if p is None else _p(p)


class _Change(Protocol):
    """A row with a change to show: a comparison or a diff row."""

    @property
    def diff(self) -> float | None: ...
    @property
    def rel_diff(self) -> float | None: ...
    @property
    def ci(self) -> list[float] | None: ...


def fmt_change(m: _Change) -> str:
    if m.rel_diff is not None:
        return f"{m.rel_diff:+.1%}"
    return "–" if m.diff is None else f"{m.diff:+.4g}"


def fmt_ci(m: _Change) -> str:
    if m.ci is None:
        return "–"
    if m.rel_diff is not None:
        return f"[{m.ci[0]:+.1%}, {m.ci[1]:+.1%}]"
    return f"[{m.ci[0]:+.4g}, {m.ci[1]:+.4g}]"
