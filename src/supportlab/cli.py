"""The command line: parse options, call one library function, render its result, map errors to exit codes.

This is the only module that imports typer and rich, prints, or exits. Exit codes: 0 success; 1 a check
failed; 2 bad input or usage; 3 a run aborted by a ``[limits]`` value; 4 an unexpected internal error.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from supportlab import api
from supportlab.catalog import METRICS
from supportlab.errors import SupportlabError

INTERNAL_ERROR = 4

app = typer.Typer(
    name="supportlab",
    help="Prototype and test customer-support workflows with reproducible simulated experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

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
        out.print(f"{result.path}: ok ({result.name}: {len(result.arms)} arms, variants: {variants})")
    if bad:
        raise typer.Exit(2)


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="The experiment file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where bundles go.")] = Path("results"),
    seed: Annotated[int | None, typer.Option(help="Override the master seed.")] = None,
    replications: Annotated[int | None, typer.Option(help="Override the number of replications.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: the core count).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object only.")] = False,
) -> None:
    """Run every arm of an experiment and write a result bundle."""
    with _progress(enabled=not as_json) as progress:
        task = progress.add_task("simulating", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = api.run(file, out=out_dir, seed=seed, replications=replications, workers=workers, progress=tick)
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


# --- rendering ----------------------------------------------------------------------------------------
def _progress(*, enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not enabled,
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
        mark = "met" if e["met"] else "NOT met"
        out.print(f"expect {e['metric']} ({e['arm']}) {rng}: {_fmt(e['metric'], e['value'])} {mark}")
    out.print(str(result.bundle))


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
