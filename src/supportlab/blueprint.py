"""The blueprint log: an append-only, hash-chained JSON-lines record of every run, verdict and decision.

One entry per line (DESIGN.md §5)::

    {"seq": 1, "ts": "2026-12-04T19:30:12Z", "kind": "run", "experiment": "launch-burst",
     "run_id": "20261204T193012Z-3fa9c1", "data": {...}, "prev": "000…0", "hash": "…"}

``hash`` is the sha256 of the canonical JSON (:func:`canonical_json`) of the entry without ``hash``;
``prev`` is the ``hash`` of the previous line (64 zeros for the first). Each line is the canonical
JSON of the full entry plus ``"\\n"``.

Concurrency: :func:`append` takes an exclusive ``fcntl.flock`` on the log file itself (opened
``"a+b"``; no sibling lock file), reads only the tail of the file to find the last entry, writes
the new line with ONE ``os.write`` and fsyncs before unlocking, so any number of processes may
append at once. :func:`read` and :func:`verify` take a shared lock, so they never see a line that
is being written. A torn last line (left by a crash: no trailing newline, or not valid JSON) is
moved aside to ``<log>.torn-<UTC stamp>-<pid>`` before the next append; complete lines are never
rewritten.

This module is a library: it prints nothing and raises only :class:`LogError` (a
:class:`~supportlab.errors.SupportlabError`) and ``ValueError``/``TypeError`` for programming errors.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from supportlab.bundle import fsync_dir, iso_utc, json_safe, read_bundle, verify_files
from supportlab.errors import BundleError, SupportlabError

LOG_ENV = "SUPPORTLAB_LOG"
DEFAULT_LOG = "blueprint.jsonl"

KINDS = ("run", "compare", "decision", "diff", "probe", "baseline")
#: ``prev`` of the first entry
GENESIS = "0" * 64
#: the keys of an entry, in no particular order (lines are written with sorted keys)
FIELDS = ("seq", "ts", "kind", "experiment", "run_id", "data", "prev", "hash")

#: metrics shown in a run's table after its objective and guardrails, when present
HEADLINE_METRICS = ("wait.mean", "abandon_rate", "sla_attainment", "csat.mean")

_BLOCK = 64 * 1024
_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_HEX_RE = re.compile(r"^[0-9a-f]{64}$")


class LogError(SupportlabError):
    """The blueprint log cannot be read or appended to (the message names the file and line)."""


# --------------------------------------------------------------------------------------------------
# entries


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is, NaN refused: the text that is hashed and written."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(body: dict[str, Any]) -> str:
    """The sha256 hex of the canonical JSON of ``body`` without its ``hash`` key."""
    without = {k: v for k, v in body.items() if k != "hash"}
    return hashlib.sha256(canonical_json(without).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One line of the log."""

    seq: int
    ts: str
    kind: str
    experiment: str
    run_id: str | None
    data: dict[str, Any]
    prev: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "kind": self.kind,
            "experiment": self.experiment,
            "run_id": self.run_id,
            "data": self.data,
            "prev": self.prev,
            "hash": self.hash,
        }

    def line(self) -> bytes:
        """The bytes of this entry's line, newline included."""
        return (canonical_json(self.to_dict()) + "\n").encode("utf-8")


@dataclass(frozen=True)
class AppendResult:
    entry: Entry
    #: e.g. a torn last line that was moved aside (the message names the side file)
    warnings: list[str]


def _entry_problem(obj: Any) -> str | None:
    """Why ``obj`` (parsed JSON) is not a well-formed entry, or None."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    missing = [k for k in FIELDS if k not in obj]
    if missing:
        return f"missing {', '.join(repr(k) for k in missing)}"
    extra = sorted(k for k in obj if k not in FIELDS)
    if extra:
        return f"unexpected {', '.join(repr(k) for k in extra)}"
    seq = obj["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return f"seq {seq!r} is not a positive integer"
    if not isinstance(obj["ts"], str) or not _TS_RE.match(obj["ts"]):
        return f"ts {obj['ts']!r} is not a UTC time like 2026-12-04T19:30:12Z"
    if obj["kind"] not in KINDS:
        return f"unknown kind {obj['kind']!r}"
    if not isinstance(obj["experiment"], str):
        return "experiment is not a string"
    if obj["run_id"] is not None and not isinstance(obj["run_id"], str):
        return "run_id is neither a string nor null"
    if not isinstance(obj["data"], dict):
        return "data is not a JSON object"
    for key in ("prev", "hash"):
        if not isinstance(obj[key], str) or not _HEX_RE.match(obj[key]):
            return f"{key} is not a 64-digit sha256 hex"
    return None


def _load(raw: bytes) -> Any:
    """The JSON value of one line's bytes; raises ValueError when it is not valid JSON."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("not valid JSON") from exc


def _seq_of(obj: Any) -> int | None:
    seq = obj.get("seq") if isinstance(obj, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _where(number: int, obj: Any) -> str:
    seq = _seq_of(obj)
    return f"line {number}" if seq is None else f"line {number} (seq {seq})"


def _parse_line(raw: bytes, number: int) -> tuple[Entry | None, str | None]:
    """``(entry, None)`` or ``(None, "line N[ (seq S)]: problem")`` for one line's bytes."""
    try:
        obj = _load(raw)
    except ValueError:
        return None, f"line {number}: not valid JSON"
    problem = _entry_problem(obj)
    if problem is not None:
        return None, f"{_where(number, obj)}: not a blueprint entry ({problem})"
    return Entry(**{k: obj[k] for k in FIELDS}), None


# --------------------------------------------------------------------------------------------------
# where the log is


def log_path(option: str | Path | None) -> Path:
    """The log file: ``--log PATH`` if given, else ``$SUPPORTLAB_LOG`` if set and non-empty, else
    ``./blueprint.jsonl``."""
    if option is not None and str(option) != "":
        return Path(option)
    env = os.environ.get(LOG_ENV, "")
    if env:
        return Path(env)
    return Path(DEFAULT_LOG)


# --------------------------------------------------------------------------------------------------
# appending


def _rfind_newline(fd: int, before: int) -> int:
    """The offset of the last ``\\n`` strictly before ``before``, or -1; reads backwards in blocks."""
    end = before
    while end > 0:
        start = max(0, end - _BLOCK)
        chunk = os.pread(fd, end - start, start)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return start + i
        end = start
    return -1


def _read_range(fd: int, start: int, end: int) -> bytes:
    parts: list[bytes] = []
    pos = start
    while pos < end:
        chunk = os.pread(fd, min(end - pos, 1 << 20), pos)
        if not chunk:
            break
        parts.append(chunk)
        pos += len(chunk)
    return b"".join(parts)


def _write_side_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new ``<log>.torn-<UTC stamp>-<pid>[-n]`` file, fsync'd; its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = f"{path.name}.torn-{stamp}-{os.getpid()}"
    n = 1
    while True:
        side = path.with_name(base if n == 1 else f"{base}-{n}")
        try:
            fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            n += 1
            continue
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(side.parent)
        return side


def _tail(fd: int, path: Path) -> tuple[Entry | None, int, bytes]:
    """``(last entry or None, end of the last good line, torn bytes after it)``.

    The torn line is the unterminated fragment after the last newline if there is one, else the
    last line if it does not parse. Raises :class:`LogError` when the entry before the torn line
    (or, with no torn line, the last line and the one before it) does not parse: the log is damaged
    inside, not just at its end, and is left alone.
    """
    size = os.fstat(fd).st_size
    good_end = _rfind_newline(fd, size) + 1  # 0 when there is no newline at all
    # an unterminated fragment is the torn line; otherwise the last line is torn if it does not parse
    attempts = 1 if good_end < size else 2
    for _attempt in range(attempts):
        if good_end == 0:
            return None, 0, _read_range(fd, 0, size)
        start = _rfind_newline(fd, good_end - 1) + 1
        try:
            obj = _load(_read_range(fd, start, good_end - 1))
            problem = _entry_problem(obj)
        except ValueError as exc:
            problem = str(exc)
        if problem is None:
            return Entry(**{k: obj[k] for k in FIELDS}), good_end, _read_range(fd, good_end, size)
        good_end = start
    raise LogError(
        f"{path}: the entry before the torn last line is damaged too ({problem}); "
        f"not appending: run `supportlab blueprint verify`"
    )


def append(
    path: Path,
    kind: str,
    experiment: str,
    run_id: str | None,
    data: dict[str, Any],
    *,
    now: datetime | None = None,
) -> AppendResult:
    """Append one entry to the log at ``path`` (created, with its parent folders, if missing).

    ``data`` goes through :func:`supportlab.bundle.json_safe` (NaN → null, numpy scalars → numbers).
    ``now`` (default: the current time; naive = UTC) gives ``ts``. Safe when several processes
    append at once (see the module docstring). A torn last line is moved to a side file first; the
    returned warnings name it. Raises ``ValueError`` for an unknown kind, :class:`LogError` when the
    log cannot be written or its last entry is unreadable.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not isinstance(experiment, str) or not experiment:
        raise ValueError(f"experiment must be a non-empty string, got {experiment!r}")
    if run_id is not None and not isinstance(run_id, str):
        raise ValueError(f"run_id must be a string or None, got {run_id!r}")
    if not isinstance(data, dict):
        raise TypeError(f"data must be a dict, got {type(data).__name__}")
    ts = iso_utc(now if now is not None else datetime.now(UTC))
    safe_data = json_safe(data)

    path = Path(path)
    warnings: list[str] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as f:
            fd = f.fileno()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                last, good_end, torn = _tail(fd, path)
                if torn:
                    side = _write_side_file(path, torn)
                    os.ftruncate(fd, good_end)
                    os.fsync(fd)
                    warnings.append(
                        f"{path}: the last line was torn (an interrupted write); its {len(torn)} bytes "
                        f"were moved to {side} and the log continues after seq {last.seq if last else 0}"
                    )
                body: dict[str, Any] = {
                    "seq": 1 if last is None else last.seq + 1,
                    "ts": ts,
                    "kind": kind,
                    "experiment": experiment,
                    "run_id": run_id,
                    "data": safe_data,
                    "prev": GENESIS if last is None else last.hash,
                }
                entry = Entry(**body, hash=entry_hash(body))
                line = entry.line()
                written = os.write(fd, line)  # O_APPEND: lands at the end, in one call
                if written != len(line):
                    # a short write on a regular file means a full disk: undo it, never leave a torn line
                    os.ftruncate(fd, good_end)
                    raise LogError(f"{path}: short write ({written} of {len(line)} bytes); the entry was not added")
                os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError as exc:
        raise LogError(f"{path}: cannot append to the blueprint log: {exc}") from exc
    return AppendResult(entry=entry, warnings=warnings)


# --------------------------------------------------------------------------------------------------
# reading and verifying


@contextmanager
def _shared(path: Path) -> Iterator[bytes | None]:
    """The bytes of the log under a shared lock; None when the file does not exist."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        yield None
        return
    except OSError as exc:
        raise LogError(f"{path}: cannot read the blueprint log: {exc}") from exc
    with f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH)
            content = f.read()
        except OSError as exc:
            raise LogError(f"{path}: cannot read the blueprint log: {exc}") from exc
        finally:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            except OSError:
                pass
        yield content


def _lines(content: bytes) -> list[tuple[int, bytes, bool]]:
    """``(line number, bytes without newline, terminated)`` for every line of the file."""
    pieces = content.split(b"\n")
    out = [(i + 1, raw, True) for i, raw in enumerate(pieces[:-1])]
    if pieces[-1]:
        out.append((len(pieces), pieces[-1], False))
    return out


def read(path: Path) -> list[Entry]:
    """All entries in file order; a missing file gives ``[]``.

    Raises :class:`LogError` naming the first line that is not a well-formed entry (a torn last
    line included). Does not check the chain: that is :func:`verify`.
    """
    path = Path(path)
    with _shared(path) as content:
        if content is None:
            return []
    entries: list[Entry] = []
    for number, raw, terminated in _lines(content):
        entry, problem = _parse_line(raw, number)
        if entry is None:
            torn = "" if terminated else " (a torn last line: no newline)"
            raise LogError(f"{path}: {problem}{torn}")
        entries.append(entry)
    return entries


def _resolve_bundle(given: str, log: Path) -> Path | None:
    """The bundle folder a run entry points at: as given (relative to the current directory),
    else relative to the log's folder; None when neither exists."""
    p = Path(given)
    candidates = [p] if p.is_absolute() else [p, log.parent / p]
    for c in candidates:
        if c.exists():
            return c
    return None


def _bundle_problems(where: str, given: str, log: Path) -> list[str]:
    folder = _resolve_bundle(given, log)
    if folder is None:
        return []  # archived or moved: not a problem of the log
    try:
        bundle = read_bundle(folder)
    except BundleError as exc:
        return [f"{where}: bundle {given}: {exc}"]
    prefix = f"{bundle.path}{os.sep}"
    out = []
    for problem in verify_files(bundle):
        short = problem[len(prefix) :] if problem.startswith(prefix) else problem
        out.append(f"{where}: bundle {given}: {short}")
    return out


def verify(path: Path, *, check_bundles: bool = True) -> list[str]:
    """Every problem of the log at ``path``, in file order; ``[]`` when the chain holds.

    Each problem names its line (and seq when the line parses): hash mismatches, lines that are not
    entries, seq jumps or steps back (deleted or reordered lines), a ``prev`` that is not the hash of
    the line before, a torn last line, and — with ``check_bundles`` — sha256 mismatches of the files
    of ``run`` entries' bundles that still exist (a bundle folder that is gone is not a problem).
    After a break the check re-synchronises on the next line. A missing log gives ``[]``.
    """
    path = Path(path)
    with _shared(path) as content:
        if content is None:
            return []
    problems: list[str] = []
    last: tuple[int, str] | None = None  # (seq, hash) of the previous line; None at the start
    known = True  # whether the previous line had a seq and hash (else this line's links cannot be checked)
    for number, raw, terminated in _lines(content):
        if not terminated:
            problems.append(
                f"line {number}: torn last line (no newline: an interrupted write; the next append moves it aside)"
            )
            break
        try:
            obj = _load(raw)
        except ValueError:
            problems.append(f"line {number}: not valid JSON")
            known = False
            continue
        where = _where(number, obj)
        problem = _entry_problem(obj)
        if problem is not None:
            problems.append(f"{where}: not a blueprint entry ({problem})")
        seq = _seq_of(obj)
        if seq is None or not isinstance(obj.get("hash"), str) or not isinstance(obj.get("prev"), str):
            known = False  # no links to follow
            continue
        if entry_hash(obj) != obj["hash"]:
            problems.append(f"{where}: hash mismatch")
        if known:
            if last is None:
                if seq != 1:
                    problems.append(f"{where}: the first entry has seq {seq}, expected 1")
                if obj["prev"] != GENESIS:
                    problems.append(f"{where}: the first entry's prev is not 64 zeros")
            else:
                last_seq, last_hash = last
                expected = last_seq + 1
                if seq > expected:
                    problems.append(f"{where}: seq jumps from {last_seq} to {seq}, expected {expected}")
                elif seq < expected:
                    problems.append(f"{where}: seq goes back from {last_seq} to {seq}, expected {expected}")
                if obj["prev"] != last_hash:
                    problems.append(f"{where}: prev does not match the hash of seq {last_seq}")
        last, known = (seq, obj["hash"]), True
        bundle = obj["data"].get("bundle") if problem is None else None
        if check_bundles and obj.get("kind") == "run" and isinstance(bundle, str) and bundle:
            problems.extend(_bundle_problems(where, bundle, path))
    return problems


def filter_entries(
    entries: Iterable[Entry], *, experiment: str | None = None, kind: str | None = None
) -> list[Entry]:
    """The entries of one experiment and/or one kind, order kept."""
    return [
        e
        for e in entries
        if (experiment is None or e.experiment == experiment) and (kind is None or e.kind == kind)
    ]


# --------------------------------------------------------------------------------------------------
# rendering


def _num(x: Any) -> str:
    """3 significant digits (whole numbers from 1000 up); "–" for null."""
    if x is None or isinstance(x, bool) or not isinstance(x, (int, float)):
        return "–"
    if abs(x) >= 1000:
        return f"{x:.0f}"
    return f"{x:.3g}"


def _pct(x: Any) -> str:
    return "–" if not isinstance(x, (int, float)) or isinstance(x, bool) else f"{x * 100:.3g}%"


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def _arm_order(arms: dict[str, Any]) -> list[str]:
    """``control`` first, then the other arms in their stored order."""
    return sorted(arms, key=lambda a: a != "control")


def _objective_text(obj: dict[str, Any]) -> str:
    text = f"{obj.get('direction', 'decrease')} `{obj.get('metric')}`"
    if obj.get("min_effect") is not None:
        text += f" by at least {_pct(obj['min_effect'])}"
    elif obj.get("min_effect_abs") is not None:
        text += f" by at least {_num(obj['min_effect_abs'])} (absolute)"
    if obj.get("alpha") is not None:
        text += f" (alpha {_num(obj['alpha'])})"
    return text


def _guardrail_text(g: dict[str, Any]) -> str:
    text = f"`{g.get('metric')}` may not degrade"
    if g.get("max_degradation") is not None:
        return f"{text} more than {_pct(g['max_degradation'])}"
    if g.get("max_degradation_abs") is not None:
        return f"{text} more than {_num(g['max_degradation_abs'])} (absolute)"
    return text


def _headline(data: dict[str, Any]) -> list[str]:
    wanted: list[str] = []
    obj = data.get("objective")
    if isinstance(obj, dict) and isinstance(obj.get("metric"), str):
        wanted.append(obj["metric"])
    for g in data.get("guardrails") or []:
        if isinstance(g, dict) and isinstance(g.get("metric"), str):
            wanted.append(g["metric"])
    wanted.extend(HEADLINE_METRICS)
    arms = data.get("arms") or {}
    present = {m for arm in arms.values() if isinstance(arm, dict) for m in (arm.get("metrics") or {})}
    return [m for m in dict.fromkeys(wanted) if m in present]


def _cell(stat: Any) -> str:
    if not isinstance(stat, dict):
        return "–"
    text = _num(stat.get("mean"))
    ci = stat.get("ci")
    if isinstance(ci, list) and len(ci) == 2:
        text += f" [{_num(ci[0])}, {_num(ci[1])}]"
    return text


def _run_lines(e: Entry) -> list[str]:
    d = e.data
    details = [str(d.get("status", "?"))]
    if d.get("limit"):
        details[0] += f" by the {d['limit']} limit"
    if d.get("replications") is not None:
        details.append(f"{d['replications']} replications")
    if d.get("seed") is not None:
        details.append(f"seed {d['seed']}")
    head = f"- {e.ts} **run**{_rid(e)} ({', '.join(details)})"
    raw_arms = d.get("arms")
    arms: dict[str, Any] = raw_arms if isinstance(raw_arms, dict) else {}
    metrics = _headline(d)
    if not arms or not metrics:
        return [head]
    order = _arm_order(arms)
    lines = [head, "", "  | metric | " + " | ".join(f"`{a}`" for a in order) + " |"]
    lines.append("  |---|" + "---|" * len(order))
    for m in metrics:
        cells = [_cell(((arms[a] or {}).get("metrics") or {}).get(m)) for a in order]
        lines.append(f"  | `{m}` | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _rid(e: Entry) -> str:
    return f" {e.run_id}" if e.run_id else ""


def _compare_lines(e: Entry) -> list[str]:
    parts = []
    for v in e.data.get("variants") or []:
        if not isinstance(v, dict):
            continue
        text = f"`{v.get('arm')}` **{v.get('verdict')}**"
        reasons = v.get("reasons") or []
        if reasons:
            text += f" — {reasons[0]}"
        parts.append(text)
    return [f"- {e.ts} **compare**{_rid(e)}: " + ("; ".join(parts) if parts else "no variants")]


def _decision_lines(e: Entry) -> list[str]:
    d = e.data
    text = f"- {e.ts} **decision**{_rid(e)} by {d.get('by', '?')}: **{d.get('action', '?')}**"
    if d.get("note"):
        text += f" — {d['note']}"
    return [text, *(f"  - {item}" for item in d.get("items") or [])]


def _other_lines(e: Entry) -> list[str]:
    return [f"- {e.ts} **{e.kind}**{_rid(e)}: `{canonical_json(e.data)}`"]


def _experiment_header(run: Entry) -> list[str]:
    d = run.data
    out: list[str] = []
    if d.get("description"):
        out += [str(d["description"]).strip(), ""]
    if d.get("hypothesis"):
        out += [f"**Hypothesis:** {str(d['hypothesis']).strip()}", ""]
    if isinstance(d.get("objective"), dict):
        out += [f"**Objective:** {_objective_text(d['objective'])}", ""]
    guards = [g for g in d.get("guardrails") or [] if isinstance(g, dict)]
    if guards:
        out += ["**Guardrails:** " + "; ".join(_guardrail_text(g) for g in guards), ""]
    raw_arms = d.get("arms")
    arms: dict[str, Any] = raw_arms if isinstance(raw_arms, dict) else {}
    variants = [a for a in _arm_order(arms) if a != "control"]
    if not variants:
        out += ["**Variants:** none (a measurement run of the control arm)", ""]
    else:
        out += ["**Variants:**", ""]
        for a in variants:
            changes = (arms[a] or {}).get("changes") or {}
            shown = ", ".join(f"`{p} = {_value(v)}`" for p, v in changes.items()) or "no changes"
            out.append(f"- `{a}`: {shown}")
        out.append("")
    return out


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def render(entries: list[Entry]) -> str:
    """The living Markdown document of the log: open action items, then one section per experiment
    (in order of first appearance) with its latest description, objective, guardrails and variants
    and its full history. Deterministic: the same entries give the same text."""
    experiments = list(dict.fromkeys(e.experiment for e in entries))
    out = ["# Blueprint", ""]
    if not entries:
        out += ["No entries yet.", ""]
    else:
        out += [
            f"{_plural(len(entries), 'entry', 'entries')}, "
            f"{_plural(len(experiments), 'experiment', 'experiments')}, last entry {entries[-1].ts}.",
            "",
        ]
    out += ["## Open action items", ""]
    items: list[str] = []
    for name in experiments:
        decisions = [e for e in entries if e.experiment == name and e.kind == "decision"]
        if decisions:
            d = decisions[-1]
            for item in d.data.get("items") or []:
                items.append(
                    f"- [ ] {item} — {name}, decided {d.ts} by {d.data.get('by', '?')} ({d.data.get('action', '?')})"
                )
    out += (items or ["None."]) + [""]
    for name in experiments:
        mine = [e for e in entries if e.experiment == name]
        out += [f"## {name}", ""]
        runs = [e for e in mine if e.kind == "run"]
        if runs:
            out += _experiment_header(runs[-1])
        out += ["### History", ""]
        history: list[str] = []
        for e in mine:
            if e.kind == "run":
                lines = _run_lines(e)
            elif e.kind == "compare":
                lines = _compare_lines(e)
            elif e.kind == "decision":
                lines = _decision_lines(e)
            else:
                lines = _other_lines(e)
            history += lines
        # a run's table ends with a blank line; avoid doubled blank lines
        for line in history:
            if line == "" and out and out[-1] == "":
                continue
            out.append(line)
        if out[-1] != "":
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
