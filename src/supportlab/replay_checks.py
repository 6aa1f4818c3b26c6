"""Validate and build a replayed workload: ``[workload] kind = "replay"`` and its ``[workload.replay]`` table.

The log is read (once per experiment, shared by the control and every variant) while the file is
validated, so ``supportlab validate`` reports a wrong column name or a log whose rows mostly fail to
parse exactly as ``supportlab run`` would. Channels come from ``[[workload.channels]]`` (name, SLA,
optional patience); intents are the values of the log's intent column (``[[workload.intents]]`` may
name their skills); arrivals, shares and handle times come from the log itself.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from supportlab import model, schema
from supportlab.checks import POSITIVE, PROBABILITY, Checker, Loc, Range, RawIssue
from supportlab.distributions import Dist
from supportlab.errors import ConfigError
from supportlab.replay import COLUMNS as LOG_COLUMNS
from supportlab.replay import STAFFING_ESTIMATES
from supportlab.staffing import DAY
from supportlab.units import show, type_name

if TYPE_CHECKING:
    from supportlab.scenario_checks import ParsedWorkload

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl"}
WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
PATIENCE_METHODS = ("kaplan-meier", "exponential")
#: the built-in segments a replayed column may not shadow
BUILTIN_SEGMENTS = ("all", "channel", "intent", "persona", "pool")
SAMPLE = Range("a share", "a number in (0, 1]", 0.0, 1.0, low_open=True)


def workload(c: Checker, t: dict[str, Any], loc: Loc) -> ParsedWorkload:
    """The replayed workload of a ``[workload]`` table whose ``kind`` is ``"replay"``."""
    from supportlab.scenario_checks import ParsedWorkload, intent_skill

    c.table(t, loc, schema.REPLAY_WORKLOAD)
    channel_items = c.named_tables(t.get("channels"), loc.key("channels"), schema.REPLAY_CHANNEL,
                                   "at least one [[workload.channels]] table")
    channels = [model.Channel(name=name, rates=(0.0,) * 24,
                              sla=c.duration(ct.get("sla"), cloc.key("sla"), positive=True),
                              patience=c.dist(ct["patience"], cloc.key("patience")) if "patience" in ct else None,
                              priority=c.integer(ct.get("priority"), cloc.key("priority")))
                for ct, cloc, name in channel_items]
    declared: list[tuple[dict[str, Any], Loc, str]] = []
    if "intents" in t:
        declared = c.named_tables(t["intents"], loc.key("intents"), schema.REPLAY_INTENT,
                                  "an array of [[workload.intents]] tables (or none: the log's values)")
    rloc = loc.key("replay")
    mark = c.mark()
    replay = _replay(c, t.get("replay"), rloc, [n for _, _, n in channel_items])
    broken = ParsedWorkload(model.Workload("replay", tuple(channels), ()), None, None)
    if replay is None or not c.clean_since(mark) or not channel_items or not all(n for _, _, n in channel_items):
        return broken
    log = _read(c, replay.source, rloc)
    if log is None:
        return broken
    table: pl.DataFrame = log.table
    names = [ch.name for ch in channels]
    _check_values(c, table, "channel", names, rloc.key("channel"), "[[workload.channels]]")
    values = sorted(table["intent"].unique().to_list())
    if declared:
        _check_values(c, table, "intent", [n for _, _, n in declared if n], rloc.key("intent"), "[[workload.intents]]")
    by_name = {name: (it, iloc) for it, iloc, name in declared if name}
    served = table.filter(pl.col("handle").is_not_null())
    all_handles = served["handle"].to_numpy()
    intents: list[tuple[model.Intent, Loc]] = []
    for name in values:
        it, iloc = by_name.get(name, ({}, loc.key("intents")))
        handles = served.filter(pl.col("intent") == name)["handle"].to_numpy()
        if handles.size == 0:
            handles = all_handles if all_handles.size else np.zeros(1)
        intents.append((model.Intent(
            name=name,
            share=float((table["intent"] == name).sum()) / max(table.height, 1),
            handle_time=Dist("empirical", values=_handle_values(handles)),
            skill=intent_skill(c, it, iloc, name),
            escalation=c.number(it.get("escalation", 0.0), iloc.key("escalation"), PROBABILITY),
            tier2_handle_time=c.dist(it["tier2_handle_time"], iloc.key("tier2_handle_time"))
            if "tier2_handle_time" in it else None,
            priority=c.integer(it.get("priority", 0), iloc.key("priority")),
        ), iloc))
    days = max(log.end / DAY, 1e-9)
    hours = ((table["arrival"] % DAY) // 3600).cast(pl.Int64)
    rated = []
    for ch in channels:
        counts = np.bincount(hours.filter(table["channel"] == ch.name).to_numpy(), minlength=24)[:24]
        rated.append(model.Channel(ch.name, tuple(float(n) / days / 3600.0 for n in counts), ch.sla, ch.patience,
                                   ch.priority))
    built = model.Workload("replay", tuple(rated), tuple(i for i, _ in intents),
                           replay=model.Replay(replay.source, replay.time_scale, replay.volume_scale,
                                               replay.patience, replay.staffing_interval,
                                               replay.staffing_estimate, log))
    return ParsedWorkload(built, names, intents)


#: an intent's logged handle times kept for drawing those the log does not state (abandoned tickets): all of
#: them up to this many, else this many evenly spaced order statistics (a 1/10,000 quantile grid)
MAX_HANDLE_VALUES = 10_000


def _handle_values(handles: np.ndarray) -> tuple[float, ...]:
    values = np.sort(handles)
    if values.size > MAX_HANDLE_VALUES:
        grid = (np.arange(MAX_HANDLE_VALUES) + 0.5) / MAX_HANDLE_VALUES
        values = values[np.minimum((grid * values.size).astype(np.int64), values.size - 1)]
    return tuple(values.tolist())


def _check_values(c: Checker, table: pl.DataFrame, column: str, names: list[str], loc: Loc, what: str) -> None:
    """Every value the log has in ``column`` is declared."""
    found = table[column].unique().to_list()
    unknown = sorted(v for v in found if v not in names)
    if unknown:
        shown = ", ".join(show(v) for v in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        c.add(loc, f"the log has {column} values {shown} that no {what} table names",
              f"one {what} table per value (known: {', '.join(names) or 'none'}), or a map onto them")


def _read(c: Checker, source: model.ReplaySource, loc: Loc) -> Any:
    """The log of ``source``, read once per experiment (None after recording the problem)."""
    from supportlab.replay import read_log

    cached = c.inputs.logs.get(source)
    if cached is None:
        try:
            cached = read_log(source, where="\0", key=loc.dotted())
        except ConfigError as exc:
            cached = exc
        c.inputs.logs[source] = cached
    if isinstance(cached, ConfigError):
        for problem in cached.problems:
            c.issues.append(_reader_issue(loc, problem.removeprefix("\0: "), source.format))
        return None
    c.inputs.use(source.path)
    return cached


#: one step of a dotted key as :meth:`Loc.dotted` writes it: ``.bare``, ``."quoted"`` or ``[index]``
_KEY_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\.("(?:[^"\\]|\\.)*")|\[(\d+)\]')


def _reader_issue(loc: Loc, text: str, fmt: str) -> RawIssue:
    """A problem the log reader wrote as ``<loc>[.sub.key]: what, expected ...``, kept word for word but
    located at its key with its parts, so a variant arm reports it under the ``set`` entry that caused it."""
    head = loc.dotted()
    if not text.startswith(head):
        return RawIssue(loc, text, "a log the mapping can read", raw=text)
    at, pos = loc, len(head)
    while (m := _KEY_STEP.match(text, pos)) is not None:
        bare, quoted, index = m.groups()
        at = at.item(int(index)) if index is not None else at.key(bare if bare is not None else json.loads(quoted))
        pos = m.end()
    if not text.startswith(": ", pos):
        return RawIssue(loc, text[len(head):].lstrip(": "), "a log the mapping can read", raw=text)
    what, sep, expected = text[pos + 2:].partition(", expected ")
    if not sep:  # the reader's message names no expectation (e.g. a file that polars cannot parse)
        expected = f"a readable {fmt} log" if at.parts[-1:] == ("path",) else "a log the mapping can read"
        text = f"{text}, expected {expected}"
    return RawIssue(at, what, expected, raw=text)


# ---------------------------------------------------------------------------------------------
# [workload.replay]


class _Parsed:
    def __init__(self, source: model.ReplaySource, time_scale: float, volume_scale: float, patience: str,
                 staffing_interval: float, staffing_estimate: str) -> None:
        self.source = source
        self.time_scale = time_scale
        self.volume_scale = volume_scale
        self.patience = patience
        self.staffing_interval = staffing_interval
        self.staffing_estimate = staffing_estimate


def _replay(c: Checker, node: Any, loc: Loc, channels: list[str]) -> _Parsed | None:
    t = c.table(node, loc, schema.REPLAY, expected="a [workload.replay] table")
    if t is None:
        return None
    path, fmt = _path(c, t, loc)
    kw: dict[str, Any] = {}
    if "timestamp" in t:
        if "date" in t or "time" in t:
            c.add(loc, "both timestamp and date/time given", "either timestamp, or date and time")
        kw["timestamp"], kw["timestamp_format"] = _column_with(c, t["timestamp"], loc.key("timestamp"), "format")
    elif "date" in t and "time" in t:
        kw["date"], kw["date_format"] = _column_with(c, t["date"], loc.key("date"), "format")
        kw["time"], kw["time_format"] = _column_with(c, t["time"], loc.key("time"), "format")
    else:
        missing = "time" if "date" in t else "date" if "time" in t else "timestamp"
        c.add(loc.key(missing), "missing key",
              'the arrival time: timestamp = "created_at", or date = "date" and time = "time_of_day"')
    for key in ("channel", "intent"):
        if key in t:
            kw[key] = _field(c, t[key], loc.key(key))
    if "channel" not in t and len(channels) == 1 and channels[0]:
        kw["channel"] = model.Field(value=channels[0])  # one channel: every row is on it
    elif "channel" not in t and len(channels) > 1:
        c.add(loc.key("channel"), f"missing key ({len(channels)} channels are declared)",
              'the column naming each ticket\'s channel, e.g. channel = "channel"')
    if "priority" in t:
        kw["priority"] = _field(c, t["priority"], loc.key("priority"))
        _check_priorities(c, t["priority"], loc.key("priority"))
    if "handle_time" in t:
        kw["handle_time"], handle_max = _column_with(c, t["handle_time"], loc.key("handle_time"), "max")
        if handle_max is not None:
            kw["handle_max"] = c.duration(handle_max, loc.key("handle_time").key("max"), positive=True)
    if "queue_time" in t:
        kw["queue_time"] = _column(c, t["queue_time"], loc.key("queue_time"))
    if "outcome" in t:
        kw.update(_outcome(c, t["outcome"], loc.key("outcome")))
    if "agent" in t:
        kw["agent"], kw["agent_missing"] = _agent(c, t["agent"], loc.key("agent"))
    if "segments" in t:
        kw["segments"] = _segments(c, t["segments"], loc.key("segments"))
    if "exclude" in t:
        kw["exclude"] = _exclude(c, t["exclude"], loc.key("exclude"))
    if "dates" in t:
        kw["dates"] = _dates(c, t["dates"], loc.key("dates"))
    if "weekdays" in t:
        kw["weekdays"] = _weekdays(c, t["weekdays"], loc.key("weekdays"))
    if "hours" in t:
        kw["hours"] = _hours(c, t["hours"], loc.key("hours"))
    kw["sample"] = c.number(t.get("sample"), loc.key("sample"), SAMPLE)
    kw["sample_seed"] = c.integer(t.get("sample_seed"), loc.key("sample_seed"), minimum=0)
    source = model.ReplaySource(path=path, format=fmt, **kw)
    return _Parsed(
        source,
        time_scale=c.number(t.get("time_scale"), loc.key("time_scale"), POSITIVE),
        volume_scale=c.number(t.get("volume_scale"), loc.key("volume_scale"), POSITIVE),
        patience=c.choice(t.get("patience"), loc.key("patience"), "a patience estimate", PATIENCE_METHODS),
        staffing_interval=c.duration(t.get("staffing_interval"), loc.key("staffing_interval"), positive=True),
        staffing_estimate=c.choice(t.get("staffing_estimate"), loc.key("staffing_estimate"), "a staffing estimate",
                                   STAFFING_ESTIMATES),
    )


def _path(c: Checker, t: dict[str, Any], loc: Loc) -> tuple[str, str]:
    raw = c.string(t.get("path"), loc.key("path"), 'a path, e.g. "data/calls.csv"')
    resolved = str((c.inputs.base_dir / raw).resolve()) if raw else ""
    fmt = ""
    if "format" in t:
        fmt = c.choice(t["format"], loc.key("format"), "a log format", ("csv", "tsv", "parquet", "jsonl"))
    elif raw:
        fmt = FORMATS.get(Path(raw).suffix.lower(), "")
        if not fmt:
            c.add(loc.key("format"), f"missing key (the extension of {show(raw)} does not tell the format)",
                  'one of "csv", "tsv", "parquet", "jsonl"')
    if isinstance(t.get("path"), str) and not raw.strip():
        c.add(loc.key("path"), f"{show(raw)} is not a path", 'the path of a log file, e.g. "data/calls.csv"')
    elif raw and not Path(resolved).is_file():
        c.add(loc.key("path"), f"{show(raw)} is not a file ({resolved})", "the path of a log file, relative to "
              "the experiment file")
    return resolved, fmt


def _column(c: Checker, value: Any, loc: Loc) -> str:
    return c.string(value, loc, "a column name")


def _column_with(c: Checker, value: Any, loc: Loc, extra: str) -> tuple[str, Any]:
    """A column name, or ``{ column = ..., <extra> = ... }``."""
    if isinstance(value, str):
        return value, None
    t = c.table(value, loc, schema.Table(keys={"column": schema.LEAF, extra: schema.LEAF},
                                         required={"column": "a column name"}),
                expected=f'a column name or a table {{ column = "...", {extra} = ... }}')
    if t is None:
        return "", None
    got = t.get(extra)
    if extra == "format" and got is not None:
        got = c.string(got, loc.key(extra), 'a strftime format, e.g. "%y%m%d"')
    return _column(c, t.get("column"), loc.key("column")), got


def _strings(c: Checker, node: Any, loc: Loc, expected: str) -> tuple[str, ...]:
    items = c.array(node, loc, expected) or []
    return tuple(_text(c, v, loc.item(i)) for i, v in enumerate(items))


def _text(c: Checker, value: Any, loc: Loc) -> str:
    """A raw cell value: a string, or an integer written as a number."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        c.add(loc, f"{show(value)} is {type_name(value)}", "a string (a value as written in the log)")
        return ""
    return str(value)


_FIELD = schema.Table(keys={k: schema.LEAF for k in ("column", "value", "map", "default")})


def _field(c: Checker, value: Any, loc: Loc) -> model.Field:
    if isinstance(value, str):
        return model.Field(column=value)
    t = c.table(value, loc, _FIELD, expected='a column name, or a table { column = "...", map = { ... } } '
                                             'or { value = "..." }')
    if t is None:
        return model.Field()
    if ("column" in t) == ("value" in t):
        c.add(loc, "both column and value given" if "column" in t else "neither column nor value given",
              "exactly one of column, value")
    mapping = c.table(t.get("map"), loc.key("map"), expected='a table of raw value = mapped value') or {}
    return model.Field(
        column=_column(c, t["column"], loc.key("column")) if "column" in t else None,
        value=_text(c, t["value"], loc.key("value")) if "value" in t else None,
        map=tuple((str(k), _text(c, v, loc.key("map").key(str(k)))) for k, v in mapping.items()),
        default=_text(c, t["default"], loc.key("default")) if "default" in t else None,
    )


_INTEGER = re.compile(r"\s*[+-]?\d+(?:\.0*)?\s*")


def _check_priorities(c: Checker, node: Any, loc: Loc) -> None:
    """The priorities a ``priority`` table gives (value, default, the values of map) are integers."""
    if not isinstance(node, dict):
        return
    given = [(loc.key(k), node[k], False) for k in ("value", "default") if k in node]
    if isinstance(node.get("map"), dict):
        given += [(loc.key("map").key(str(k)), v, True) for k, v in node["map"].items()]
    for at, v, may_be_empty in given:
        if isinstance(v, str) and not _INTEGER.fullmatch(v) and not (may_be_empty and not v.strip()):
            c.add(at, f"{show(v)} is not an integer", "an integer priority (higher = more urgent), e.g. \"1\"")


_OUTCOME = schema.Table(keys={k: schema.LEAF for k in ("column", "served", "abandoned", "ignored")},
                        required={"column": "a column name"})


def _outcome(c: Checker, value: Any, loc: Loc) -> dict[str, Any]:
    t = c.table(value, loc, _OUTCOME, expected='a table { column = "outcome", served = [...], abandoned = [...] }')
    if t is None:
        return {}
    out: dict[str, Any] = {"outcome": _column(c, t.get("column"), loc.key("column"))}
    seen: dict[str, str] = {}
    for kind in ("served", "abandoned", "ignored"):
        values = _strings(c, t.get(kind), loc.key(kind), "an array of the column's values")
        for i, v in enumerate(values):
            if v in seen:
                c.add(loc.key(kind).item(i), f"{show(v)} is already listed in {seen[v]}", "each value in one list")
            seen[v] = kind
        out[kind] = values
    if not out["served"] and not out["abandoned"]:
        c.add(loc, "no served or abandoned values listed", 'e.g. served = ["AGENT"], abandoned = ["HANG"]')
    return out


def _agent(c: Checker, value: Any, loc: Loc) -> tuple[str, tuple[str, ...]]:
    if isinstance(value, str):
        return value, ()
    t = c.table(value, loc, schema.Table(keys={"column": schema.LEAF, "missing": schema.LEAF},
                                         required={"column": "a column name"}),
                expected='a column name or a table { column = "agent", missing = ["NO_AGENT"] }')
    if t is None:
        return "", ()
    return (_column(c, t.get("column"), loc.key("column")),
            _strings(c, t.get("missing"), loc.key("missing"), "an array of values meaning no agent"))


def _segments(c: Checker, node: Any, loc: Loc) -> tuple[tuple[str, str], ...]:
    t = c.table(node, loc, expected='a table of segment name = column, e.g. { region = "region" }') or {}
    out = []
    for name, column in t.items():
        if name in BUILTIN_SEGMENTS:
            c.add(loc.key(name), f"{show(name)} is a built-in segment", "another name")
            continue
        if name in LOG_COLUMNS:
            c.add(loc.key(name), f"{show(name)} is a column of every replayed log",
                  "another name (not one of " + ", ".join(LOG_COLUMNS) + ")")
            continue
        out.append((c.name(name, loc.key(name)), _column(c, column, loc.key(name))))
    return tuple(out)


def _exclude(c: Checker, node: Any, loc: Loc) -> tuple[tuple[tuple[str, str], ...], ...]:
    items = c.array(node, loc, 'an array of tables of column = value, e.g. [{ outcome = "TEST" }]') or []
    rules = []
    for i, item in enumerate(items):
        t = c.table(item, loc.item(i), expected="a table of column = value")
        if t is None:
            continue
        if not t:
            c.add(loc.item(i), "{} is empty", "at least one column = value")
        rules.append(tuple((str(k), _text(c, v, loc.item(i).key(str(k)))) for k, v in t.items()))
    return tuple(rules)


def _pair(c: Checker, node: Any, loc: Loc, noun: str, expected: str, expected_two: str) -> list[Any] | None:
    """An array of exactly two items (None after reporting anything else)."""
    items = c.array(node, loc, expected)
    if items is None:
        return None
    if len(items) != 2:
        c.add(loc, f"{show(items)} has {len(items)} {noun}{'' if len(items) == 1 else 's'}", expected_two)
        return None
    return items


def _dates(c: Checker, node: Any, loc: Loc) -> tuple[str, str] | None:
    items = _pair(c, node, loc, "date", 'two ISO dates, e.g. ["1999-02-01", "1999-02-28"] (inclusive)',
                  'two ISO dates, first and last (inclusive), e.g. ["1999-02-01", "1999-02-28"]')
    if items is None:
        return None
    parsed = []
    for i, v in enumerate(items):
        try:
            parsed.append(dt.date.fromisoformat(v if isinstance(v, str) else v.isoformat()))
        except (ValueError, AttributeError):
            c.add(loc.item(i), f"{show(v)} is not a date", 'an ISO date, e.g. "1999-02-01"')
    if len(parsed) == 2 and parsed[1] < parsed[0]:
        c.add(loc.item(1), f"{show(items[1])} is before the first date ({show(items[0])})",
              "the last date >= the first")
    return (parsed[0].isoformat(), parsed[1].isoformat()) if len(parsed) == 2 else None


def _weekdays(c: Checker, node: Any, loc: Loc) -> tuple[int, ...]:
    items = c.array(node, loc, 'an array of weekdays, e.g. ["sun", "mon", "tue", "wed", "thu"]', min_items=1) or []
    out = []
    for i, v in enumerate(items):
        key = v[:3].lower() if isinstance(v, str) else None
        if key not in WEEKDAYS or len(v) not in (3, len(_FULL[key])) or v.lower() != _FULL[key][: len(v)]:
            c.add(loc.item(i), f"{show(v)} is not a weekday", "one of " + ", ".join(WEEKDAYS))
            continue
        out.append(WEEKDAYS[key])
    return tuple(sorted(set(out)))


_FULL = {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday",
         "sat": "saturday", "sun": "sunday"}


def _hours(c: Checker, node: Any, loc: Loc) -> tuple[float, float] | None:
    items = _pair(c, node, loc, "value", 'a time-of-day window [start, end), e.g. ["7h", "24h"]',
                  'two times of day [start, end), e.g. ["7h", "24h"]')
    if items is None:
        return None
    mark = c.mark()
    start = c.duration(items[0], loc.item(0))
    end = c.duration(items[1], loc.item(1), positive=True)
    if c.clean_since(mark):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items) and end <= 24:
            c.add(loc, f"{show(items)} are seconds after midnight (bare numbers are seconds)",
                  f'durations with a unit, e.g. ["{show(items[0])}h", "{show(items[1])}h"]')
        elif start >= DAY or end > DAY:
            c.add(loc, f"[{show(items[0])}, {show(items[1])}] is not within a day", 'times from "0h" to "24h"')
        elif end <= start:
            c.add(loc.item(1), f"{show(items[1])} is not after {show(items[0])}", "end > start")
    return (start, end)


