"""The command line: parse options, call one library function, render its result, map errors to exit codes.

This is the only module that imports typer and rich, prints, or exits. Exit codes: 0 success; 1 a check
failed; 2 bad input or usage; 3 a run aborted by a ``[limits]`` value; 4 an unexpected internal error.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from supportlab import api, blueprint, diffing, probing, records
from supportlab import compare as compare_mod
from supportlab.catalog import METRICS
from supportlab.errors import SupportlabError, UsageError

INTERNAL_ERROR = 4

app = typer.Typer(
    name="supportlab",
    help="Prototype and test customer-support workflows with reproducible simulated experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
if not out.is_terminal and "COLUMNS" not in os.environ:
    out.width = 120  # piped or captured output: room for the comparison tables
err = Console(stderr=True, highlight=False, soft_wrap=True)

#: ``--log PATH`` on every command that reads or appends to the blueprint log
LogOption = Annotated[
    Path | None, typer.Option("--log", help="Blueprint log (default: $SUPPORTLAB_LOG, else ./blueprint.jsonl).")
]

HEADLINE = (
    "tickets",
    "first_response.mean",
    "first_response.p95",
    "wait.mean",
    "abandon_rate",
    "sla_attainment",
    "utilization",
    "queue_length.mean",
    "csat.mean",
)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
) -> None:
    """supportlab: run support-workflow experiments and judge them."""


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write starter.toml.")] = Path("."),
) -> None:
    """Write a commented starter experiment."""
    path = api.init(directory)
    out.print(str(path))


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Experiment files to check.")]) -> None:
    """Check experiment files: every problem of every file (exit 2 if any is invalid)."""
    bad = 0
    for result in api.validate(files):
        if isinstance(result, SupportlabError):
            err.print(f"{type(result).__name__}: {result}", markup=False)
            bad += 1
            continue
        variants = ", ".join(a.name for a in result.arms[1:]) or "none"
        out.print(f"{result.path}: ok ({result.name}: {len(result.arms)} arms, variants: {variants})", markup=False)
        replay = result.control.scenario.workload.replay
        if replay is not None and replay.log is not None:
            out.print(f"  log {Path(replay.source.path).name}: {replay.log.headline()}", markup=False)
    if bad:
        raise typer.Exit(2)


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="The experiment file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where bundles go.")] = Path("results"),
    seed: Annotated[int | None, typer.Option(help="Override the master seed.")] = None,
    replications: Annotated[int | None, typer.Option(help="Override the number of replications.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: the core count).")] = None,
    log: LogOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object only.")] = False,
) -> None:
    """Run every arm of an experiment, write a result bundle and record it in the blueprint log."""
    with _progress(enabled=not as_json) as progress:
        task = progress.add_task("simulating", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = api.run(
            file, out=out_dir, seed=seed, replications=replications, workers=workers, progress=tick,
            log=blueprint.log_path(log),
        )  # fmt: skip
    _warn(result.log_warnings)
    if as_json:
        print(json.dumps(_run_json(result), indent=2))
    else:
        _render_run(result)
    if result.status == "aborted":
        err.print(f"Aborted: {result.limit_message} (bundle marked aborted)")
        raise typer.Exit(3)


@app.command()
def reproduce(
    bundle: Annotated[Path, typer.Argument(help="A result bundle folder.")],
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: the core count).")] = None,
) -> None:
    """Re-run a bundle and check that its data are byte-identical (exit 1 on the first difference)."""
    with _progress(enabled=True) as progress:
        task = progress.add_task("re-running", total=None)
        result = api.reproduce(
            bundle, workers=workers, progress=lambda d, t: progress.update(task, completed=d, total=t)
        )
    if result.match:
        out.print(f"{bundle}: reproduced, tickets, events and metrics are byte-identical")
        return
    out.print(f"{bundle}: NOT reproduced")
    for p in result.problems:
        out.print(f"  {p}")
    raise typer.Exit(1)


@app.command()
def compare(
    bundle: Annotated[Path, typer.Argument(help="A result bundle folder.")],
    output_format: Annotated[str, typer.Option("--format", help="text, markdown or json.")] = "text",
    fail_on: Annotated[
        str | None, typer.Option("--fail-on", help="Exit 1 when a variant is no-ship or inconclusive.")
    ] = None,
    log: LogOption = None,
) -> None:
    """Judge each variant against control: effect, confidence interval, p-value and a verdict."""
    if output_format not in ("text", "markdown", "json"):
        raise UsageError(f"--format: {output_format!r} is not a format, expected one of text, markdown, json")
    if fail_on is not None and fail_on not in ("no-ship", "inconclusive"):
        raise UsageError(f"--fail-on: {fail_on!r} is not a verdict, expected no-ship or inconclusive")
    recorded = api.compare(bundle, log=blueprint.log_path(log))
    _warn(recorded.log_warnings)
    result = recorded.comparison
    if output_format == "json":
        print(json.dumps(result.to_json(), indent=2, allow_nan=False))
    elif output_format == "markdown":
        print(compare_mod.to_markdown(result), end="")
    else:
        _render_compare(result)
    if fail_on is not None and any(v.verdict == fail_on for v in result.variants):
        raise typer.Exit(1)


@app.command()
def plan(
    file: Annotated[Path, typer.Argument(help="The experiment file.")],
    pilot: Annotated[int, typer.Option(help="Replications of the pilot run.")] = 5,
    power: Annotated[float, typer.Option(help="Wanted power.")] = 0.8,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: the core count).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object only.")] = False,
) -> None:
    """Power analysis: replications the objective needs to detect min_effect at alpha."""
    with _progress(enabled=not as_json) as progress:
        task = progress.add_task("pilot", total=None)
        result = api.plan(
            file, pilot=pilot, power=power, workers=workers,
            progress=lambda d, t: progress.update(task, completed=d, total=t),
        )  # fmt: skip
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        return
    how = "paired differences (common random numbers)" if result.paired else "control values"
    table = Table(title=f"{result.experiment}: {result.metric}, alpha {result.alpha:g}, power {result.power:.0%}")
    for col in ("variant", "pilot control", "pilot variant", f"SD of {how}", "effect to detect", "replications"):
        table.add_column(col, justify="right" if col != "variant" else "left")
    for v in result.variants:
        table.add_row(v.arm, f"{v.pilot_control:.4g}", f"{v.pilot_variant:.4g}", f"{v.pilot_sd:.4g}",
                      f"{v.effect:.4g}", str(v.replications))  # fmt: skip
    out.print(table)
    need = max(v.replications for v in result.variants)
    out.print(f"pilot: {result.pilot} replications; the file asks for {result.current}; needed: {need}")


@app.command()
def decide(
    bundle: Annotated[Path, typer.Argument(help="The result bundle the decision is about.")],
    action: Annotated[str, typer.Option(help="ship, hold, rollback or rerun.")],
    note: Annotated[str, typer.Option(help="The rationale.")],
    by: Annotated[str | None, typer.Option(help="Who decided (default: $SUPPORTLAB_USER, else the login).")] = None,
    item: Annotated[list[str] | None, typer.Option(help="A follow-up action item (repeatable).")] = None,
    log: LogOption = None,
) -> None:
    """Record a decision, its rationale and follow-up action items in the blueprint log."""
    rec = records.decide(blueprint.log_path(log), bundle, action=action, note=note, by=by, items=item or [])
    _warn(rec.warnings)
    out.print(f"recorded decision #{rec.entry.seq}: {action} on {rec.entry.experiment} {rec.entry.run_id}")


log_app = typer.Typer(help="The blueprint log: every run, comparison and decision.", no_args_is_help=True)
app.add_typer(log_app, name="blueprint")


@log_app.command("show")
def blueprint_show(
    experiment: Annotated[str | None, typer.Option(help="Only this experiment.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind (run, compare, decision, ...).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines only.")] = False,
    log: LogOption = None,
) -> None:
    """List the log's entries."""
    entries = blueprint.filter_entries(blueprint.read(blueprint.log_path(log)), experiment=experiment, kind=kind)
    if as_json:
        for e in entries:
            print(json.dumps(e.to_dict(), sort_keys=True))
        return
    table = Table()
    for col in ("seq", "time (UTC)", "kind", "experiment", "run", "summary"):
        table.add_column(col, justify="right" if col == "seq" else "left")
    for e in entries:
        table.add_row(str(e.seq), e.ts, e.kind, e.experiment, e.run_id or "", _entry_summary(e))
    out.print(table)


@log_app.command("verify")
def blueprint_verify(
    log: LogOption = None,
) -> None:
    """Check the hash chain and the bundles the log names (exit 1 naming the first bad entry)."""
    path = blueprint.log_path(log)
    problems = blueprint.verify(path)
    if problems:
        for p in problems:
            out.print(f"{path}: {p}", markup=False)
        raise typer.Exit(1)
    out.print(f"{path}: ok, {len(blueprint.read(path))} entries, chain and bundles intact")


@log_app.command("render")
def blueprint_render(
    output: Annotated[Path | None, typer.Option(help="Write the Markdown document here (default: stdout).")] = None,
    log: LogOption = None,
) -> None:
    """Render the log as the living Markdown document of every experiment, verdict and decision."""
    text = blueprint.render(blueprint.read(blueprint.log_path(log)))
    if output is None:
        print(text, end="")
        return
    output.write_text(text, encoding="utf-8")
    out.print(str(output))


@app.command()
def diff(
    bundles: Annotated[list[Path], typer.Argument(help="BASE NEW, or just NEW with --baseline.")],
    tolerance: Annotated[
        list[str] | None, typer.Option(help="METRIC=PCT% (relative) or METRIC=VALUE (absolute); repeatable.")
    ] = None,
    baseline: Annotated[str | None, typer.Option(help="Compare NEW against this named baseline.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="text, markdown, json or junit.")] = "text",
    output: Annotated[Path | None, typer.Option(help="Write the result to this file too.")] = None,
    only_changed: Annotated[bool, typer.Option(help="Show only metrics that changed.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit 2 when the bundles are not comparable like for like.")] = False,
    log: LogOption = None,
) -> None:
    """CI regression gate: exit 1 when NEW is significantly worse than BASE beyond a tolerance."""
    if output_format not in ("text", "markdown", "json", "junit"):
        raise UsageError(f"--format: {output_format!r} is not a format, expected one of text, markdown, json, junit")
    if baseline is not None:
        if len(bundles) != 1:
            raise UsageError(f"BUNDLES: {len(bundles)} given with --baseline, expected only NEW")
        base, new = records.baseline_bundle(blueprint.log_path(log), baseline), bundles[0]
    elif len(bundles) != 2:
        raise UsageError(f"BUNDLES: {len(bundles)} given, expected BASE and NEW (or NEW with --baseline NAME)")
    else:
        base, new = bundles
    tolerances = [diffing.parse_tolerance(t) for t in tolerance or []]
    result = diffing.diff_bundles(base, new, tolerances=tolerances, strict=strict)
    for w in result.warnings:
        err.print(f"Warning: {w}", markup=False)
    _warn(records.record_diff(blueprint.log_path(log), result).warnings)
    if output_format == "json":
        text = json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n"
    elif output_format == "markdown":
        text = diffing.to_markdown(result, only_changed=only_changed)
    elif output_format == "junit":
        text = diffing.to_junit(result)
    else:
        text = ""
        _render_diff(result, only_changed=only_changed)
    if text:
        print(text, end="")
    if output is not None:
        output.write_text(text or diffing.to_markdown(result, only_changed=only_changed), encoding="utf-8")
    if result.regressions:
        raise typer.Exit(1)


baseline_app = typer.Typer(help="Named baselines for `diff --baseline`.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("set")
def baseline_set(
    bundle: Annotated[Path, typer.Argument(help="The bundle to bless.")],
    name: Annotated[str | None, typer.Option(help="Baseline name (default: the experiment's name).")] = None,
    log: LogOption = None,
) -> None:
    """Record BUNDLE as the baseline NAME in the blueprint log."""
    rec = records.set_baseline(blueprint.log_path(log), bundle, name)
    _warn(rec.warnings)
    out.print(f"baseline {rec.entry.data['name']!r} = {bundle} (log entry #{rec.entry.seq})")


@app.command()
def probe(
    files: Annotated[list[Path], typer.Argument(help="Experiment files to re-probe.")],
    window: Annotated[int, typer.Option(help="Earlier probes to compare with.")] = 20,
    threshold: Annotated[float, typer.Option(help="k in median ± k·MAD.")] = 4.0,
    out_dir: Annotated[Path, typer.Option("--out", help="Where bundles go.")] = Path("results"),
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: the core count).")] = None,
    log: LogOption = None,
) -> None:
    """Scheduled re-probe: run with a fresh seed, record it, flag anomalies, drift and breached expectations."""
    if output_format not in ("text", "json"):
        raise UsageError(f"--format: {output_format!r} is not a format, expected text or json")
    with _progress(enabled=output_format == "text") as progress:
        task = progress.add_task("probing", total=None)
        report = probing.probe(
            files, out=out_dir, log=blueprint.log_path(log), window=window, threshold=threshold, workers=workers,
            progress=lambda d, t: progress.update(task, completed=d, total=t),
        )  # fmt: skip
    for r in report.results:
        _warn(r.warnings)
    if output_format == "json":
        print(json.dumps(report.to_json(), indent=2, allow_nan=False))
    else:
        for r in report.results:
            table = Table(title=f"{r.experiment} · seed {r.seed} · {r.bundle}")
            for col in ("metric", "value", "history median", "bounds", "history", "status"):
                table.add_column(col, justify="left" if col in ("metric", "status") else "right")
            for c in r.checks:
                bounds = "–" if c.low is None or c.high is None else f"[{c.low:.4g}, {c.high:.4g}]"
                table.add_row(c.metric, compare_mod.fmt_value(c.value), compare_mod.fmt_value(c.median), bounds,
                              str(c.history), c.status)  # fmt: skip
            out.print(table)
            for a in r.alerts:
                out.print(f"ALERT {r.experiment}: {a}", markup=False)
    if report.alerting:
        raise typer.Exit(1)


def _render_diff(d: diffing.Diff, *, only_changed: bool) -> None:
    how = "paired (same seeds and workload)" if d.paired else "Welch's t (independent runs)"
    out.print(f"{d.experiment}: {d.base_run_id} -> {d.new_run_id} · {how}")
    table = Table()
    for col in ("arm", "metric", "base", "new", "change", "tolerance", "p", "status"):
        table.add_column(col, justify="left" if col in ("arm", "metric", "status") else "right")
    for r in d.rows:
        if only_changed and r.status in ("unchanged", "not compared"):
            continue
        change = compare_mod.fmt_change(r)
        style = "bold red" if r.status == "regressed" else ("green" if r.status == "improved" else "")
        status = f"[{style}]{r.status}[/]" if style else r.status
        table.add_row(r.arm, r.metric, compare_mod.fmt_value(r.base), compare_mod.fmt_value(r.new), change,
                      r.tolerance, compare_mod.fmt_p(r.p_value), status)  # fmt: skip
    out.print(table)
    n = len(d.regressions)
    out.print(f"{n} regression{'s' if n != 1 else ''}" if n else "no regression")


def _entry_summary(e: blueprint.Entry) -> str:
    d = e.data
    if e.kind == "run":
        return f"{d.get('status', '')}: {d.get('bundle', '')}"
    if e.kind == "compare":
        return ", ".join(f"{v.get('arm')}: {v.get('verdict')}" for v in d.get("variants", []))
    if e.kind == "decision":
        return f"{d.get('action')} by {d.get('by')}: {d.get('note')}"
    return json.dumps(d, sort_keys=True)[:80]


def _warn(warnings: tuple[str, ...] | list[str]) -> None:
    for w in warnings:
        err.print(f"Warning: {w}", markup=False)


# --- rendering ----------------------------------------------------------------------------------------
def _progress(*, enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not enabled or not err.is_terminal,  # no bar in logs, pipes and CI
    )


def _fmt(metric: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    info = METRICS.get(metric)
    unit = info.unit if info else "ratio"
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "seconds":
        return f"{v:.3g}s" if abs(v) < 100 else f"{v:,.0f}s"
    if unit == "ratio":
        return f"{100 * v:.1f}%"
    return f"{v:.3g}"


def _cell(metric: str, stats: dict[str, Any] | None) -> str:
    if not stats:
        return "–"
    text = _fmt(metric, stats.get("mean"))
    ci = stats.get("ci")
    if ci and METRICS.get(metric, None) is not None and METRICS[metric].unit != "count":
        text += f" [{_fmt(metric, ci[0])}, {_fmt(metric, ci[1])}]"
    return text


def _render_run(result: api.RunResult) -> None:
    exp = result.experiment
    arms = result.summary.get("arms", {})
    wanted = list(HEADLINE)
    for m in [exp.objective.metric if exp.objective else None, *(g.metric for g in exp.guardrails)]:
        if m and m not in wanted:
            wanted.append(m)
    table = Table(title=f"{exp.name}: mean [95% CI] over {exp.replications} replication(s)")
    table.add_column("metric")
    for arm in arms:
        table.add_column(arm, justify="right")
    for m in wanted:
        table.add_row(m, *(_cell(m, arms[a]["metrics"].get(m)) for a in arms))
    out.print(table)
    for e in result.summary.get("expectations", []):
        rng = " ".join(f"{k} {_fmt(e['metric'], e[k])}" for k in ("min", "max") if e.get(k) is not None)
        if e.get("within") is not None:
            rng = f"within {e['within']:.0%} of {e['of']} ({_fmt(e['metric'], e.get('reference'))})"
        mark = "met" if e["met"] else "NOT met"
        out.print(f"expect {e['metric']} ({e['arm']}) {rng}: {_fmt(e['metric'], e['value'])} {mark}")
    out.print(str(result.bundle))


def _render_compare(c: compare_mod.Comparison) -> None:
    how = "paired by replication (common random numbers)" if c.paired else "Welch's t on replications"
    out.print(f"{c.experiment} · run {c.run_id} · control {c.control} · {c.replications} replications · {how}")
    for v in c.variants:
        out.print(f"\n[bold]{v.arm}[/bold]: {v.verdict.upper()}")
        for r in v.reasons:
            out.print(f"  - {r}", markup=False)
        table = Table()
        for col in ("metric", "role", "control", "variant", "change", "CI of change", "p", "p adj.", "test"):
            table.add_column(col, justify="left" if col in ("metric", "role", "test") else "right")
        for m in v.metrics:
            if m.role == "secondary" and not m.significant:
                continue
            role = m.role + (f" ({m.status})" if m.status else "")
            table.add_row(m.metric, role, compare_mod.fmt_value(m.control), compare_mod.fmt_value(m.variant),
                          compare_mod.fmt_change(m), compare_mod.fmt_ci(m), compare_mod.fmt_p(m.p_value),
                          compare_mod.fmt_p(m.p_adjusted), m.test)  # fmt: skip
        out.print(table)


def _run_json(result: api.RunResult) -> dict[str, Any]:
    return {
        "bundle": str(result.bundle),
        "run_id": result.run_id,
        "experiment": result.experiment.name,
        "status": result.status,
        "limit": result.limit,
        "expectations": result.summary.get("expectations", []),
    }


# --- entry point ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one place where errors become messages and exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        # standalone mode: Typer reports usage errors itself (exit 2) and raises SystemExit when done
        app(args=args, prog_name="supportlab")
    except SupportlabError as e:
        err.print(f"{type(e).__name__}: {e}", markup=False)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        # nothing half-written looks complete: an unfinished bundle stays in its hidden .partial folder
        err.print("Interrupted.")
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - the one place that turns a bug into a one-line message
        if debug:
            raise
        err.print(f"InternalError: {type(e).__name__}: {e} (re-run with --debug for the traceback)", markup=False)
        sys.exit(INTERNAL_ERROR)
    sys.exit(0)

if __name__ == "__main__":  # pragma: no cover
    main()
