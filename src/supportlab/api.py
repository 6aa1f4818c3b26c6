"""What each command does, as library functions that return data (the CLI only renders it)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from supportlab import bundle as bundle_mod
from supportlab import compare as compare_mod
from supportlab import metrics as metrics_mod
from supportlab import planning, records
from supportlab import report as report_mod
from supportlab.errors import BundleError, ConfigError, UsageError
from supportlab.experiment import load_experiment, load_text, starter_text
from supportlab.model import Experiment
from supportlab.runner import Progress, run_experiment


@dataclass(frozen=True)
class RunResult:
    bundle: Path
    run_id: str
    experiment: Experiment
    summary: dict  # type: ignore[type-arg]
    status: str
    limit: str | None
    limit_message: str | None
    #: the blueprint log entry recorded for the run (None when no log was given) and its warnings
    log_seq: int | None = None
    log_warnings: tuple[str, ...] = ()


def init(directory: Path, name: str = "starter.toml") -> Path:
    """Write a commented starter experiment into ``directory``; never overwrites a file."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"DIR: {directory} is a file, expected a directory")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    if target.exists():
        raise UsageError(f"DIR: {target} already exists, expected a path with no starter file (nothing overwritten)")
    target.write_text(starter_text(), encoding="utf-8")
    return target


def validate(paths: list[Path]) -> list[Experiment | ConfigError]:
    """Load and validate every file: its Experiment, or the ConfigError naming all its problems."""
    out: list[Experiment | ConfigError] = []
    for p in paths:
        try:
            out.append(load_experiment(p))
        except ConfigError as e:
            out.append(e)
    return out


def _check_positive(option: str, value: int | None, what: str) -> None:
    if value is not None and value < 1:
        raise UsageError(f"{option}: {value} is not {what}, expected an integer >= 1")


def run(
    path: Path,
    *,
    out: Path = Path("results"),
    seed: int | None = None,
    replications: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    log: Path | None = None,
) -> RunResult:
    """Load, run every arm × replication, write the bundle (also when a limit aborted the run), and record
    a ``run`` entry in the blueprint log ``log`` once the bundle is complete on disk."""
    if seed is not None and seed < 0:
        raise UsageError(f"--seed: {seed} is negative, expected an integer >= 0")
    _check_positive("--replications", replications, "a positive number of replications")
    _check_positive("--workers", workers, "a positive number of processes")
    exp = load_experiment(path, seed=seed, replications=replications)
    _prepare_out(out)
    result = _run_loaded(exp, out=out, workers=workers, progress=progress)
    if log is None:
        return result
    rec = records.record_run(log, exp, result.bundle, result.summary, result.status, result.limit)
    return replace(result, log_seq=rec.entry.seq, log_warnings=tuple(rec.warnings))


def _run_loaded(
    exp: Experiment, *, out: Path, workers: int | None, progress: Progress | None, run_id: str | None = None
) -> RunResult:
    started = datetime.now(UTC)
    output = run_experiment(exp, workers=workers, progress=progress)
    finished = datetime.now(UTC)
    arms_metrics = metrics_mod.summarize(output.metrics) if output.metrics.height else {}
    expectations = metrics_mod.check_expectations(arms_metrics, exp.expectations)
    summary = report_mod.build_summary(
        exp, run_id or "", arms_metrics, expectations, output.status, output.limit
    )
    run_id = run_id or _free_run_id(out / exp.name, bundle_mod.make_run_id(exp, started))
    summary["run_id"] = run_id
    report_md = report_mod.render_report(exp, summary, output.status, output.limit)
    data = bundle_mod.RunData(
        tickets=output.tickets,
        events=output.events,
        metrics=output.metrics,
        summary=summary,
        report_md=report_md,
        status=output.status,
        limit=output.limit,
        started=started,
        finished=finished,
        seeds=output.seeds,
    )
    path = bundle_mod.write_bundle(out, exp, run_id, data)
    return RunResult(path, run_id, exp, summary, output.status, output.limit, output.limit_message)


def _prepare_out(out: Path) -> None:
    """Make sure bundles can be written under ``out`` before spending time on the run."""
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out: cannot create {out} ({e.strerror}), expected a writable directory") from e
    if not os.access(out, os.W_OK):
        raise UsageError(f"--out: {out} is not writable, expected a writable directory")


def _free_run_id(parent: Path, run_id: str) -> str:
    """``run_id``, or ``run_id-2``, ``-3``, ... when the same file ran twice within one second."""
    candidate, n = run_id, 1
    while (parent / candidate).exists():
        n += 1
        candidate = f"{run_id}-{n}"
    return candidate


@dataclass(frozen=True)
class ReproduceResult:
    bundle: Path
    rerun: Path
    problems: list[str]

    @property
    def match(self) -> bool:
        return not self.problems


def reproduce(bundle_path: Path, *, workers: int | None = None, progress: Progress | None = None) -> ReproduceResult:
    """Re-run a bundle from its own experiment.toml and seeds; compare the data byte for byte."""
    _check_positive("--workers", workers, "a positive number of processes")
    original = bundle_mod.read_bundle(bundle_path, require_complete=True)
    toml_path = Path(bundle_path) / "experiment.toml"
    try:
        exp = load_text(toml_path.read_text(encoding="utf-8"), str(toml_path))
    except OSError as e:  # pragma: no cover - read_bundle checked the files
        raise BundleError(f"{toml_path}: cannot read ({e.strerror})") from e
    scratch = Path(tempfile.mkdtemp(prefix="supportlab-reproduce-"))
    try:
        rerun = _run_loaded(exp, out=scratch, workers=workers, progress=progress, run_id=original.manifest["run_id"])
        problems = bundle_mod.compare_bundles(Path(bundle_path), rerun.bundle)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return ReproduceResult(Path(bundle_path), rerun.bundle, problems)


@dataclass(frozen=True)
class CompareResult:
    comparison: compare_mod.Comparison
    log_seq: int | None = None
    log_warnings: tuple[str, ...] = ()


def compare(bundle_path: Path, *, log: Path | None = None) -> CompareResult:
    """Judge every variant of a complete bundle against control; record a ``compare`` entry in ``log``."""
    c = compare_mod.compare_bundle(Path(bundle_path))
    if log is None:
        return CompareResult(c)
    rec = records.record_compare(log, c)
    return CompareResult(c, rec.entry.seq, tuple(rec.warnings))


def plan(path: Path, *, pilot: int = 5, power: float = 0.8, workers: int | None = None,
         progress: Progress | None = None) -> planning.Plan:  # fmt: skip
    """Power analysis from a pilot run (nothing is written)."""
    return planning.plan(str(path), pilot=pilot, power=power, workers=workers, progress=progress)
