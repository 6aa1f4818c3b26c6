"""Result bundles: writing them atomically, reading them back, verifying and comparing them.

A bundle is one folder ``<out>/<experiment>/<run_id>/`` (DESIGN.md §4)::

    manifest.json     what ran, with which versions, and the sha256 of every file below
    experiment.toml   the resolved experiment as run (empirical ``path`` keys point into inputs/)
    tickets.parquet   one row per ticket × arm × replication
    events.parquet    the trace
    metrics.parquet   long table: arm, replication, metric, value
    summary.json      per-arm metric means with confidence intervals, expectations
    report.md         the human summary
    inputs/           copies of the input files (empirical distribution CSVs)

Writing is atomic: everything goes into a hidden sibling staging folder
``.<run_id>.partial-<pid>`` and is renamed into place as the very last step, so a crash leaves only
a ``.partial`` folder, which no reader takes for a bundle (it has no ``manifest.json`` until the
very end, and its name starts with a dot).

Identical frames give byte-identical parquet files: the writer options are fixed
(:data:`PARQUET_OPTIONS`) and polars writes no timestamps.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl
import tomli_w

from supportlab.errors import BundleError
from supportlab.model import Experiment

#: the bundle format this supportlab writes and reads
FORMAT = 1

MANIFEST = "manifest.json"
EXPERIMENT_TOML = "experiment.toml"
TICKETS = "tickets.parquet"
EVENTS = "events.parquet"
METRICS = "metrics.parquet"
SUMMARY = "summary.json"
REPORT = "report.md"
INPUTS_DIR = "inputs"

#: the data files every bundle has (besides the manifest), in manifest order
DATA_FILES = (TICKETS, EVENTS, METRICS, SUMMARY, EXPERIMENT_TOML, REPORT)
#: the parquet tables that ``reproduce`` compares
TABLES = (TICKETS, EVENTS, METRICS)

STATUSES = ("complete", "aborted")

#: fixed writer options: the same frame always gives the same bytes
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 1,
    "statistics": True,
    "row_group_size": 512 * 512,
    "data_page_size": 1024 * 1024,
    "use_pyarrow": False,
}

#: distributions whose versions the manifest records
VERSIONED_PACKAGES = ("supportlab", "numpy", "polars", "scipy", "typer", "rich", "tomli_w")

_GIT_TIMEOUT = 10.0
_HASH_CHUNK = 1 << 20


# --------------------------------------------------------------------------------------------------
# small helpers


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def json_safe(obj: Any) -> Any:
    """A copy of ``obj`` that ``json.dumps(..., allow_nan=False)`` accepts.

    NaN and infinite floats become ``None``; numpy scalars become Python numbers; tuples become
    lists; mapping keys must already be strings (anything else is a programming error).
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"JSON object keys must be strings, got {k!r}")
            out[k] = json_safe(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    # numpy scalars and 0-d arrays (imported lazily: only their duck type matters)
    item = getattr(obj, "item", None)
    if callable(item) and getattr(obj, "ndim", 1) == 0:
        return json_safe(item())
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return json_safe(tolist())
    raise TypeError(f"cannot write {type(obj).__name__} to JSON: {obj!r}")


def dumps_json(obj: Any) -> str:
    """Deterministic JSON text: key order as given, 2-space indent, NaN → null, final newline."""
    return json.dumps(json_safe(obj), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def iso_utc(moment: datetime) -> str:
    """``2026-12-04T19:30:12Z``; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def content_hash(experiment: Experiment) -> str:
    """The sha256 of the resolved experiment as written to the bundle's experiment.toml."""
    return hashlib.sha256(tomli_w.dumps(experiment.raw).encode("utf-8")).hexdigest()


def make_run_id(experiment: Experiment, now: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ-<6 hex>``: UTC time of ``now`` and a short hash of the resolved experiment.

    A naive ``now`` is taken to be UTC.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{content_hash(experiment)[:6]}"


def package_versions() -> dict[str, str]:
    """Python and the versions of supportlab and its dependencies (``"unknown"`` if not installed)."""
    versions: dict[str, str] = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
        if name == "supportlab":
            versions["python"] = platform.python_version()
    return versions


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=_GIT_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None


def git_info(cwd: Path | None = None) -> dict[str, Any] | None:
    """``{"commit": sha | None, "dirty": bool | None}`` of the git work tree around ``cwd``.

    None when ``cwd`` (default: the current directory) is not inside a git work tree or git is not
    available. ``commit`` is None in a repository without commits. ``dirty`` means tracked files
    differ from the commit; untracked files (such as the results folder) do not count.
    """
    where = Path.cwd() if cwd is None else cwd
    inside = _git(["rev-parse", "--is-inside-work-tree"], where)
    if inside is None or inside.returncode != 0 or inside.stdout.strip() != "true":
        return None
    head = _git(["rev-parse", "--verify", "--quiet", "HEAD"], where)
    commit = head.stdout.strip() if head is not None and head.returncode == 0 else None
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    dirty = bool(status.stdout.strip()) if status is not None and status.returncode == 0 else None
    return {"commit": commit or None, "dirty": dirty}


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` with the fixed :data:`PARQUET_OPTIONS` (same frame → same bytes)."""
    frame.rechunk().write_parquet(path, **PARQUET_OPTIONS)


def _write_table(frame: pl.DataFrame, path: Path) -> str:
    """Write a table, sync it to disk, and return its sha256."""
    write_parquet(frame, path)
    _fsync_file(path)
    return sha256_file(path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _check_component(value: str, what: str) -> None:
    if not value or value in (".", "..") or value.startswith(".") or "/" in value or "\\" in value:
        raise BundleError(f"{what} {value!r} cannot name a bundle folder")


# --------------------------------------------------------------------------------------------------
# inputs


def _input_source(experiment: Experiment, given: str, sha: str) -> Path:
    """Where the input file recorded as ``given`` is now; its bytes must still hash to ``sha``."""
    p = Path(given)
    candidates = [p] if p.is_absolute() else [p, Path(experiment.path).parent / p]
    seen: list[Path] = []
    for c in candidates:
        if c in seen or not c.is_file():
            continue
        seen.append(c)
        if not sha or sha256_file(c) == sha:
            return c
    if seen:
        raise BundleError(
            f"{experiment.path}: input file {given} changed since the experiment was loaded "
            f"(sha256 no longer {sha[:12]}…); re-run to get a consistent bundle"
        )
    raise BundleError(f"{experiment.path}: input file {given} not found")


def _bundle_input_names(inputs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """``given path → inputs/<basename>`` with ``-2``, ``-3``… added when basenames collide."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for given, _ in inputs:
        if given in names:
            continue
        base = Path(given)
        name, k = base.name, 1
        while name in used:
            k += 1
            name = f"{base.stem}-{k}{base.suffix}"
        used.add(name)
        names[given] = f"{INPUTS_DIR}/{name}"
    return names


def _match_input(raw_path: str, experiment: Experiment, names: Mapping[str, str]) -> str | None:
    """The bundle name of the input that the raw document's ``path = raw_path`` refers to."""
    if raw_path in names:
        return names[raw_path]
    base = Path(experiment.path).parent
    try:
        wanted = {(base / raw_path).resolve(), Path(raw_path).resolve()}
    except OSError:
        wanted = set()
    for given, name in names.items():
        try:
            if Path(given).resolve() in wanted:
                return name
        except OSError:
            continue
    by_basename = [name for given, name in names.items() if Path(given).name == Path(raw_path).name]
    return by_basename[0] if len(by_basename) == 1 else None


def _rewrite_input_paths(raw: Any, experiment: Experiment, names: Mapping[str, str]) -> Any:
    """Point every ``{dist = "empirical", path = ...}`` table and the replayed log's ``path`` of ``raw``
    at their copies in inputs/."""
    if isinstance(raw, dict):
        out = {k: _rewrite_input_paths(v, experiment, names) for k, v in raw.items()}
        replay = out.get("replay") if out.get("kind") == "replay" else None
        if isinstance(replay, dict) and isinstance(replay.get("path"), str):
            name = _match_input(replay["path"], experiment, names)
            if name is not None:
                replay["path"] = name
        if out.get("dist") == "empirical" and isinstance(out.get("path"), str):
            name = _match_input(out["path"], experiment, names)
            if name is not None:
                out["path"] = name
        return out
    if isinstance(raw, list):
        return [_rewrite_input_paths(v, experiment, names) for v in raw]
    return raw


# --------------------------------------------------------------------------------------------------
# writing


@dataclass
class RunData:
    """Everything a run produced, ready to be written as a bundle."""

    tickets: pl.DataFrame
    events: pl.DataFrame
    metrics: pl.DataFrame
    #: the summary.json body (see :func:`supportlab.report.build_summary`)
    summary: dict[str, Any]
    report_md: str
    #: "complete" or "aborted"
    status: str
    #: the ``[limits]`` key that stopped an aborted run, e.g. "max_tickets"
    limit: str | None
    started: datetime
    finished: datetime
    #: resolved seeds: ``{"master": int, "replications": [...]}``
    seeds: dict[str, Any]


def staging_name(run_id: str, pid: int | None = None) -> str:
    """The hidden staging folder's name: ``.<run_id>.partial-<pid>``."""
    return f".{run_id}.partial-{os.getpid() if pid is None else pid}"


def is_staging(path: Path) -> bool:
    """Whether ``path`` is a staging folder (``.<run_id>.partial-<pid>``), never a bundle."""
    name = Path(path).name
    return name.startswith(".") and ".partial-" in name


def write_bundle(out_dir: Path, experiment: Experiment, run_id: str, data: RunData) -> Path:
    """Write the bundle ``out_dir/<experiment.name>/<run_id>/`` atomically and return its path.

    Everything is written into the hidden staging folder ``.<run_id>.partial-<pid>`` next to it,
    the manifest last; the staging folder is then renamed into place. If anything fails before the
    rename, no bundle folder exists (only the ``.partial`` one, left for inspection).

    Raises :class:`BundleError` when the bundle already exists or an input file is missing or has
    changed since the experiment was loaded.
    """
    if data.status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {data.status!r}")
    _check_component(experiment.name, "experiment name")
    _check_component(run_id, "run id")

    parent = Path(out_dir) / experiment.name
    final = parent / run_id
    if final.exists():
        raise BundleError(f"{final}: a bundle with this run id already exists")
    git = git_info()  # before the staging folder exists inside a work tree
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / staging_name(run_id)
    if staging.exists():
        shutil.rmtree(staging)  # a leftover of this very process id: never a bundle
    staging.mkdir()

    # inputs: copy the files, then point the experiment's empirical paths at the copies
    names = _bundle_input_names(experiment.inputs)
    input_shas: dict[str, str] = {}
    input_files: dict[str, str] = {}
    if experiment.inputs:
        (staging / INPUTS_DIR).mkdir()
    for given, sha in experiment.inputs:
        if given in input_shas:
            continue
        source = _input_source(experiment, given, sha)
        target = staging / names[given]
        shutil.copyfile(source, target)
        _fsync_file(target)
        actual = sha256_file(target)
        input_shas[given] = sha or actual
        input_files[names[given]] = actual
    raw = _rewrite_input_paths(copy.deepcopy(experiment.raw), experiment, names)

    # the three tables are independent: write, sync and hash them side by side (polars and hashlib
    # release the GIL)
    with ThreadPoolExecutor(max_workers=3) as pool:
        writes = {
            name: pool.submit(_write_table, frame, staging / name)
            for frame, name in ((data.tickets, TICKETS), (data.events, EVENTS), (data.metrics, METRICS))
        }
        table_shas = {name: w.result() for name, w in writes.items()}
    _write_text(staging / SUMMARY, dumps_json(data.summary))
    _write_text(staging / EXPERIMENT_TOML, tomli_w.dumps(raw))
    _write_text(staging / REPORT, data.report_md)

    files = {name: table_shas[name] if name in table_shas else sha256_file(staging / name) for name in DATA_FILES}
    files.update(input_files)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "run_id": run_id,
        "experiment": {"name": experiment.name, "file": experiment.path, "sha256": experiment.sha256},
        "seeds": data.seeds,
        "replications": experiment.replications,
        "arms": [arm.name for arm in experiment.arms],
        "versions": package_versions(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "git": git,
        "inputs": input_shas,
        "files": files,
        "started": iso_utc(data.started),
        "finished": iso_utc(data.finished),
        "status": data.status,
        "limit": data.limit,
    }
    _write_text(staging / MANIFEST, dumps_json(manifest))
    fsync_dir(staging)

    try:
        os.rename(staging, final)
    except OSError as exc:
        if final.exists():
            shutil.rmtree(staging, ignore_errors=True)
            raise BundleError(f"{final}: a bundle with this run id already exists") from exc
        raise
    fsync_dir(parent)
    return final


# --------------------------------------------------------------------------------------------------
# reading


@dataclass
class Bundle:
    """A result bundle on disk; the tables are read on first use."""

    path: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    _cache: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    @property
    def run_id(self) -> str:
        return str(self.manifest.get("run_id", self.path.name))

    @property
    def experiment_name(self) -> str:
        return str(self.manifest.get("experiment", {}).get("name", self.path.parent.name))

    @property
    def status(self) -> str:
        return str(self.manifest.get("status", "complete"))

    @property
    def limit(self) -> str | None:
        limit = self.manifest.get("limit")
        return None if limit is None else str(limit)

    def file(self, name: str) -> Path:
        """The path of one of the bundle's files."""
        return self.path / name

    def _table(self, name: str) -> pl.DataFrame:
        if name not in self._cache:
            try:
                self._cache[name] = pl.read_parquet(self.path / name)
            except (OSError, pl.exceptions.PolarsError) as exc:
                raise BundleError(f"{self.path / name}: cannot read: {exc}") from exc
        return self._cache[name]

    def tickets(self) -> pl.DataFrame:
        """tickets.parquet: one row per ticket × arm × replication."""
        return self._table(TICKETS)

    def events(self) -> pl.DataFrame:
        """events.parquet: the trace, one row per hop."""
        return self._table(EVENTS)

    def metrics(self) -> pl.DataFrame:
        """metrics.parquet: the long table arm, replication, metric, value."""
        return self._table(METRICS)

    def experiment_toml(self) -> str:
        """The resolved experiment as run (TOML text)."""
        try:
            return (self.path / EXPERIMENT_TOML).read_text(encoding="utf-8")
        except OSError as exc:
            raise BundleError(f"{self.path / EXPERIMENT_TOML}: cannot read: {exc}") from exc


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BundleError(f"{path}: cannot read the {what}: {exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: the {what} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BundleError(f"{path}: the {what} is not a JSON object")
    return doc


def read_bundle(path: Path, require_complete: bool = False) -> Bundle:
    """Open the bundle folder ``path``.

    Raises :class:`BundleError` (naming the path) when the folder does not exist or has no
    manifest.json, the manifest is of another format version, a data file is missing, or, with
    ``require_complete``, the run was aborted.
    """
    path = Path(path)
    if not path.exists():
        raise BundleError(f"{path}: no such bundle (the folder does not exist)")
    if not path.is_dir():
        raise BundleError(f"{path} is not a result bundle (not a directory)")
    if is_staging(path):
        raise BundleError(
            f"{path} is not a result bundle (an unfinished staging folder left by an interrupted write)"
        )
    if not (path / MANIFEST).is_file():
        raise BundleError(f"{path} is not a result bundle (no {MANIFEST})")
    manifest = _read_json(path / MANIFEST, "manifest")
    fmt = manifest.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise BundleError(f"{path}: {MANIFEST} has no valid format version (got {fmt!r})")
    if fmt > FORMAT:
        raise BundleError(
            f"{path} was written by a newer supportlab (format {fmt}), this one reads format {FORMAT}"
        )
    if fmt < 1:
        raise BundleError(f"{path}: unknown bundle format {fmt}, this supportlab reads format {FORMAT}")
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise BundleError(f"{path}: {MANIFEST} has no files table")
    expected = list(dict.fromkeys([*DATA_FILES, *listed]))
    missing = [name for name in expected if not (path / name).is_file()]
    if missing:
        raise BundleError(f"{path}: incomplete bundle, missing {', '.join(missing)}")
    status = manifest.get("status")
    if status not in STATUSES:
        raise BundleError(f"{path}: {MANIFEST} has an unknown status {status!r}")
    if require_complete and status != "complete":
        limit = manifest.get("limit")
        why = f" by the {limit} limit" if limit else ""
        raise BundleError(f"{path}: the run was aborted{why}; this needs a complete bundle")
    summary = _read_json(path / SUMMARY, "summary")
    return Bundle(path=path, manifest=manifest, summary=summary)


def verify_files(bundle: Bundle) -> list[str]:
    """Recompute the sha256 of every file the manifest lists; the problems found (empty = fine)."""
    problems: list[str] = []
    files = bundle.manifest.get("files")
    if not isinstance(files, dict):
        return [f"{bundle.path / MANIFEST}: no files table"]
    root = bundle.path.resolve()
    for name, expected in files.items():
        target = bundle.path / name
        if Path(name).is_absolute() or not target.resolve().is_relative_to(root):
            problems.append(f"{target}: listed in the manifest but outside the bundle")
            continue
        if not target.is_file():
            problems.append(f"{target}: missing")
            continue
        actual = sha256_file(target)
        if actual != expected:
            problems.append(f"{target}: sha256 is {actual}, the manifest says {expected}")
    return problems


# --------------------------------------------------------------------------------------------------
# comparing


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _first_difference(a: pl.Series, b: pl.Series) -> int | None:
    try:
        diff = a.ne_missing(b)
        hits = diff.arg_true()
        return int(hits[0]) if len(hits) else None
    except (pl.exceptions.PolarsError, TypeError):  # types polars cannot compare: compare in Python
        for i, (x, y) in enumerate(zip(a.to_list(), b.to_list(), strict=True)):
            if x != y and not (isinstance(x, float) and isinstance(y, float) and x != x and y != y):
                return i
        return None


def compare_tables(
    a: pl.DataFrame, b: pl.DataFrame, labels: tuple[str, str] = ("first", "second")
) -> str | None:
    """The first difference between two tables in words, or None when they are equal.

    Checked in order: the column names, their order, their types, the row count, then the values
    (the first differing row, and within it the first differing column). Nulls equal nulls and NaN
    equals NaN. ``labels`` name the two tables in the message.
    """
    la, lb = labels
    if a.columns != b.columns:
        only_a = [c for c in a.columns if c not in b.columns]
        only_b = [c for c in b.columns if c not in a.columns]
        if only_a or only_b:
            parts = []
            if only_a:
                parts.append(f"only in {la}: {', '.join(only_a)}")
            if only_b:
                parts.append(f"only in {lb}: {', '.join(only_b)}")
            return f"columns differ: {'; '.join(parts)}"
        return f"column order differs: {la} [{', '.join(a.columns)}], {lb} [{', '.join(b.columns)}]"
    for name in a.columns:
        if a.schema[name] != b.schema[name]:
            return f"column {name!r} type differs: {la} {a.schema[name]}, {lb} {b.schema[name]}"
    if a.height != b.height:
        return f"row count differs: {la} {a.height}, {lb} {b.height}"
    best: tuple[int, str] | None = None
    for name in a.columns:
        row = _first_difference(a[name], b[name])
        if row is not None and (best is None or row < best[0]):
            best = (row, name)
            if row == 0:
                break
    if best is None:
        return None
    row, name = best
    return f"row {row}, column {name!r}: {la} {_show(a[name][row])}, {lb} {_show(b[name][row])}"


def compare_bundles(original: Path, rerun: Path) -> list[str]:
    """Compare the parquet tables of two bundles byte for byte; the problems (empty = identical).

    For a table whose bytes differ, the message names the first difference in its values
    (:func:`compare_tables`). Raises :class:`BundleError` when either folder is not a bundle.
    """
    first = read_bundle(Path(original))
    second = read_bundle(Path(rerun))
    problems: list[str] = []
    for name in TABLES:
        sha_a = sha256_file(first.file(name))
        sha_b = sha256_file(second.file(name))
        if sha_a == sha_b:
            continue
        diff = compare_tables(first._table(name), second._table(name), labels=("original", "rerun"))
        if diff is None:
            va = first.manifest.get("versions", {})
            vb = second.manifest.get("versions", {})
            hint = ""
            if va.get("polars") != vb.get("polars"):
                hint = f" (polars {va.get('polars')} vs {vb.get('polars')})"
            diff = f"same values but different bytes{hint}"
        problems.append(f"{name}: {diff}")
    return problems


def iter_bundles(root: Path) -> Iterator[Path]:
    """Bundle folders below ``root`` (``<root>/<experiment>/<run_id>``), sorted, skipping staging
    folders and anything without a manifest."""
    root = Path(root)
    if not root.is_dir():
        return
    for experiment_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for run_dir in sorted(p for p in experiment_dir.iterdir() if p.is_dir()):
            if not run_dir.name.startswith(".") and (run_dir / MANIFEST).is_file():
                yield run_dir
