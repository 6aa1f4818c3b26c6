"""Read a real ticket or call log into clean workload rows (the reading half of ``kind = "replay"``).

:func:`read_log` turns the file named by a :class:`supportlab.model.ReplaySource` into a
:class:`ReplayLog`: one row per kept ticket with its arrival time (seconds from midnight of the earliest
kept date), channel, intent, priority, outcome, queue and handle times, agent and drill-down segments.
Every data row of the file ends in exactly one bucket, so nothing is dropped silently::

    rows == kept + ignored + sum(excluded) + sum(filtered.values()) + sum(bad.count)

The pipeline, all of it one lazy polars query over string columns (vectorised, no per-row Python):

1. **read** - ``scan_csv`` (csv/tsv, every column a string), ``scan_parquet`` or ``scan_ndjson`` (the
   selected columns cast to strings); only the mapped columns are read, a 1-based ``row`` number is
   added. A mapped column the file lacks, a missing, unreadable or empty file is a :class:`ConfigError`.
   Null cells are read as empty strings, so csv and parquet/jsonl logs behave the same; a tsv file has
   no quoting (a ``"`` is an ordinary character).
2. **outcome** - a raw value listed in ``ignored`` is *ignored* (e.g. a phantom call); ``served`` and
   ``abandoned`` values give the outcome. Without an outcome column every row is served.
3. **exclude** - a row matching every (column, raw value) pair of a rule is *excluded* under the first
   such rule. An outcome value listed nowhere makes the row *bad*, but only after the exclude rules
   (so a rule can drop rows of an unknown outcome on purpose).
4. **parse** - arrival (a ``timestamp``, or a ``date`` plus a ``time`` of day), channel, intent,
   priority (constant, or a column through ``map`` with ``default`` for empty cells), queue time and
   handle time (numbers of seconds ``>= 0``; a handle time only for served rows, truncated at
   ``handle_max``). A row failing any of them is *bad*, counted once under the first failing field.
   Bad rows are grouped by a reason that does not contain the value (:class:`BadRows` keeps the first
   row and value of each reason).
5. **filter** - dates, weekdays, hours of the day, then a seeded Bernoulli sample (one uniform per
   data row, drawn for every row in row order, so whether a row is kept does not depend on the others).
6. **clock** - ``origin`` is the earliest kept date; ``arrival = (date - origin) days + time of day``;
   the table is sorted by (arrival, row).
7. **sanity** - a log where more than half of the rows not ignored or excluded are bad is refused (the
   mapping is most likely wrong), and so are filters that leave no row.

:func:`staffing_agents_seen` turns the agents seen working in the log into an absolute staffing step
function (``staffing = "from-log"``).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from supportlab.errors import ConfigError
from supportlab.model import Field, ReplaySource
from supportlab.units import toml_key

__all__ = ["BadRows", "ReplayLog", "read_log", "staffing_busy_when_queued", "staffing_agents_seen"]

DAY = 86_400.0
FORMATS = ("csv", "tsv", "parquet", "jsonl")
FILTERS = ("dates", "weekdays", "hours", "sample")
#: the table's own columns (a segment may not take one of these names)
COLUMNS = ("row", "arrival", "date", "channel", "intent", "priority", "outcome", "queue_time", "handle",
           "handle_clipped", "agent")
DEFAULT_DATE_FORMAT = "%Y-%m-%d"

#: H:MM, H:MM:SS or H:MM:SS.fff (one or two digit hours)
_CLOCK = r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d(?:\.\d+)?))?$"
#: a plain non-negative number of seconds
_SECONDS = r"^(?:\d+(?:\.\d*)?|\.\d+)$"
#: a UTC designator or offset after the time of an ISO timestamp (dropped: the wall-clock time is kept)
_ISO_OFFSET = r"(:\d{2}(?:\.\d+)?)(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"
_ISO_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M")

_TIME_REASON = "time: not a time of day (H:MM, H:MM:SS, H:MM:SS.fff or seconds since midnight, below 24 h)"
_NUMBER_REASON = "not a number of seconds >= 0"


@dataclass(frozen=True)
class BadRows:
    """Rows that could not be read, for one reason."""

    #: what is wrong, without the value (e.g. ``date: not a date of format "%y%m%d"``)
    reason: str
    count: int
    #: 1-based data row number of the first such row (its line is ``first_row + 1`` in a csv/tsv with a header)
    first_row: int
    #: the raw cell value of that first row
    first_value: str


@dataclass(frozen=True, eq=False)
class ReplayLog:
    """A log as read: the kept rows plus where every other row went.

    ``table`` columns: ``row`` Int64 (1-based data row), ``arrival`` Float64 (seconds from ``origin``),
    ``date`` Date, ``channel``, ``intent`` String, ``priority`` Int64, ``outcome`` String (``"served"`` |
    ``"abandoned"``), ``queue_time`` Float64 (null without a queue-time column), ``handle`` Float64 (null
    for abandoned rows and without a handle-time column), ``handle_clipped`` Boolean, ``agent`` String
    (null when unknown), then one String column per segment. Sorted by (arrival, row).

    Equality is identity (the table is a DataFrame).
    """

    table: pl.DataFrame
    #: t = 0 is midnight at the start of this date (the earliest kept date)
    origin: dt.date
    #: end of the replayed span, seconds from ``origin``: the end of the last kept date, or of its hours window
    end: float
    #: data rows in the file
    rows: int
    kept: int
    #: rows whose outcome is listed in ``source.ignored``
    ignored: int
    #: rows left out by each ``source.exclude`` rule, in order
    excluded: tuple[int, ...]
    #: rows left out by each filter: "dates", "weekdays", "hours", "sample"
    filtered: dict[str, int]
    #: rows that could not be read, by reason, most frequent first
    bad: tuple[BadRows, ...]
    #: the mapping the log was read with (None when built by hand)
    source: ReplaySource | None = None

    def headline(self) -> str:
        """One line on how the log was read, e.g. for ``supportlab validate``."""
        bad = sum(b.count for b in self.bad)
        text = f"{self.kept:,} of {self.rows:,} rows replayed"
        left = [(self.ignored, "ignored"), (sum(self.excluded), "excluded"), (sum(self.filtered.values()), "filtered")]
        text += "".join(f", {n:,} {what}" for n, what in left if n)
        if bad:
            worst = self.bad[0]
            text += f", {bad:,} unreadable (most: {worst.count:,} × {worst.reason}; first row {worst.first_row})"
        return text

    def describe(self) -> dict[str, object]:
        """A JSON-friendly summary of how the log was read."""
        outcomes = self.table["outcome"]
        return {
            "rows": self.rows,
            "kept": self.kept,
            "served": int((outcomes == "served").sum()),
            "abandoned": int((outcomes == "abandoned").sum()),
            "ignored": self.ignored,
            "excluded": list(self.excluded),
            "filtered": dict(self.filtered),
            "bad": [asdict(b) for b in self.bad],
            "origin": self.origin.isoformat(),
            "end": self.end,
        }


# ---------------------------------------------------------------------------------------------
# reading


def read_log(source: ReplaySource, *, where: str, key: str = "workload.replay") -> ReplayLog:
    """Read the log of ``source`` (see the module docstring); problems are ``{where}: {key}...`` ConfigErrors."""
    _check_source(source, where, key)
    lf, columns = _scan(source, where, key)
    wanted = _mapped_columns(source)
    missing = [(k, c) for k, c in wanted if c not in columns]
    if missing:
        shown = ", ".join(f'"{c}"' for c in columns)
        raise ConfigError([f'{where}: {key}.{k}: column "{c}" is not in {source.path}, expected one of {shown}'
                           for k, c in missing])
    names: dict[str, str] = {}  # source column -> internal name (so no source name clashes with ours)
    for _, c in wanted:
        names.setdefault(c, f"_c{len(names)}")
    lf = lf.with_row_index("_row", offset=1).select(
        pl.col("_row").cast(pl.Int64).alias("row"),
        *[pl.col(c).cast(pl.String).fill_null("").alias(alias) for c, alias in names.items()],
    )
    query = _classify(lf, source, names)
    try:
        df = query.collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ConfigError(f"{where}: {key}.path: cannot read {source.path} as {source.format}: "
                          f"{_first_line(exc)}") from exc
    if df.height == 0:
        raise ConfigError(f"{where}: {key}.path: {source.path} has no data rows"
                          + (" (only a header)" if source.format in ("csv", "tsv") else "")
                          + ", expected a log with at least one row")
    status = _sample(df, source)
    return _assemble(df, status, source, where, key)


def _check_source(source: ReplaySource, where: str, key: str) -> None:
    """Problems of the mapping itself (normally caught earlier, when the experiment file is checked)."""
    problems: list[str] = []

    def add(sub: str, what: str) -> None:
        problems.append(f"{where}: {key}.{sub}: {what}")

    if source.format not in FORMATS:
        add("format", f'"{source.format}" is not a log format, expected one of {", ".join(FORMATS)}')
    if source.timestamp is not None:
        if source.date is not None or source.time is not None:
            add("timestamp", "both timestamp and date/time given, expected either timestamp, or date and time")
    elif source.date is None or source.time is None:
        add("time" if source.date is not None else "date" if source.time is not None else "timestamp",
            "missing, expected the arrival time: a timestamp column, or a date and a time column")
    fields = [("channel", source.channel), ("intent", source.intent)]
    if source.priority is not None:
        fields.append(("priority", source.priority))
    for name, f in fields:
        if (f.column is None) == (f.value is None):
            add(name, ("both column and value given" if f.column is not None else "neither column nor value given")
                + ", expected exactly one of column, value")
    if source.priority is not None and source.priority.column is None and source.priority.value is not None:
        if _integer(source.priority.value) is None:
            add("priority.value", f'"{source.priority.value}" is not an integer, expected an integer priority')
    if source.handle_max is not None and not (source.handle_max > 0):
        add("handle_time.max", f"{source.handle_max} is not positive, expected a number of seconds > 0")
    for i, rule in enumerate(source.exclude):
        if not rule:
            add(f"exclude[{i}]", "an empty rule, expected at least one column = value")
    if source.dates is not None:
        try:
            first, last = (dt.date.fromisoformat(d) for d in source.dates)
            if last < first:
                add("dates", f"{last} is before {first}, expected the last date >= the first")
        except ValueError:
            add("dates", f"{list(source.dates)} are not ISO dates, expected two dates like 1999-02-01")
    bad_days = [d for d in source.weekdays if d not in range(1, 8)]
    if bad_days:
        add("weekdays", f"{bad_days} are not weekdays, expected ISO weekday numbers (1 = Monday .. 7 = Sunday)")
    if source.hours is not None:
        start, stop = source.hours
        if not (0 <= start < stop <= DAY):
            add("hours", f"[{start}, {stop}) is not a time-of-day window, expected 0 <= start < end <= 86400")
    if not (0 < source.sample <= 1):
        add("sample", f"{source.sample} is not a share, expected a number in (0, 1]")
    segment_names = [n for n, _ in source.segments]
    for name in segment_names:
        if name in COLUMNS or segment_names.count(name) > 1:
            add(f"segments.{toml_key(name)}", ("the name of a column of the table" if name in COLUMNS
                else "a segment name given twice") + ", expected another name")
    if problems:
        raise ConfigError(problems)


def _integer(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _mapped_columns(source: ReplaySource) -> list[tuple[str, str]]:
    """(mapping key, source column) of every column the mapping reads, in mapping order."""
    out: list[tuple[str, str]] = []
    for k in ("timestamp", "date", "time"):
        col = getattr(source, k)
        if col is not None:
            out.append((k, col))
    for k, f in (("channel", source.channel), ("intent", source.intent), ("priority", source.priority)):
        if f is not None and f.column is not None:
            out.append((k, f.column))
    for k in ("queue_time", "handle_time"):
        col = getattr(source, k)
        if col is not None:
            out.append((k, col))
    if source.outcome is not None:
        out.append(("outcome.column", source.outcome))
    if source.agent is not None:
        out.append(("agent", source.agent))
    out.extend((f"segments.{toml_key(name)}", col) for name, col in source.segments)
    for i, rule in enumerate(source.exclude):
        out.extend((f"exclude[{i}].{toml_key(col)}", col) for col, _ in rule)
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _scan(source: ReplaySource, where: str, key: str) -> tuple[pl.LazyFrame, list[str]]:
    """The lazy scan of the file and its column names."""
    path = source.path
    here = f"{where}: {key}.path"
    if not os.path.exists(path):
        raise ConfigError(f"{here}: cannot read {path}: no such file")
    if os.path.isdir(path):
        raise ConfigError(f"{here}: cannot read {path}: it is a directory, expected a log file")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{here}: cannot read {path}: permission denied")
    if os.path.getsize(path) == 0:
        raise ConfigError(f"{here}: {path} is empty, expected a log with a header and data rows"
                          if source.format in ("csv", "tsv") else f"{here}: {path} is empty, expected a log")
    try:
        if source.format == "csv":
            lf = pl.scan_csv(path, infer_schema=False, empty_string_is_null=False, glob=False)
        elif source.format == "tsv":  # tab-separated values have no quoting: a stray quote is just a character
            lf = pl.scan_csv(path, separator="\t", quote_char=None, infer_schema=False, empty_string_is_null=False,
                             glob=False)
        elif source.format == "parquet":
            lf = pl.scan_parquet(path, glob=False)
        else:
            # every row is looked at for the column names (a key may first appear late in the file)
            names = pl.scan_ndjson(path, infer_schema_length=None).collect_schema().names()
            wanted = {c for _, c in _mapped_columns(source) if c in names}
            lf = pl.scan_ndjson(path, infer_schema_length=None,
                                schema_overrides={c: pl.String for c in wanted})
        columns = lf.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ConfigError(f"{here}: cannot read {path} as {source.format}: {_first_line(exc)}") from exc
    return lf, columns


# ---------------------------------------------------------------------------------------------
# the per-row expressions (every raw cell is a string, never null)


def _empty(e: pl.Expr) -> pl.Expr:
    return e.str.strip_chars() == ""


def _time_of_day(raw: pl.Expr) -> pl.Expr:
    """Seconds since midnight of ``H:MM[:SS[.fff]]`` or a plain number of seconds; null when not a time < 24 h."""
    s = raw.str.strip_chars()
    parts = s.str.extract_groups(_CLOCK)
    hours = parts.struct.field("1").cast(pl.Float64)
    minutes = parts.struct.field("2").cast(pl.Float64)
    seconds = parts.struct.field("3").cast(pl.Float64).fill_null(0.0)
    clock = hours * 3600.0 + minutes * 60.0 + seconds
    number = pl.when(s.str.contains(_SECONDS)).then(s.cast(pl.Float64, strict=False))
    value = pl.coalesce(clock, number)
    return pl.when(value < DAY).then(value)


def _timestamp(raw: pl.Expr, fmt: str | None) -> pl.Expr:
    """A Datetime, null when the cell is not a timestamp (ISO 8601 when ``fmt`` is None).

    An ISO UTC designator or offset (``Z``, ``+02:00``) is dropped: the wall-clock time as written is kept,
    which is what the hour-of-day pattern of a call centre follows. (An explicit ``fmt`` with ``%z`` gives
    polars' UTC times instead.)
    """
    s = raw.str.strip_chars()
    if fmt is not None:
        return s.str.strptime(pl.Datetime("us"), fmt, strict=False)
    s = s.str.replace(_ISO_OFFSET, "${1}").str.replace("T", " ", literal=True)
    return pl.coalesce([s.str.strptime(pl.Datetime("us"), f, strict=False) for f in _ISO_FORMATS])


def _seconds_of_day(ts: pl.Expr) -> pl.Expr:
    return (ts.dt.hour().cast(pl.Float64) * 3600.0 + ts.dt.minute().cast(pl.Float64) * 60.0
            + ts.dt.second().cast(pl.Float64) + ts.dt.microsecond().cast(pl.Float64) / 1e6)


def _field(f: Field, col: pl.Expr | None) -> pl.Expr:
    """The mapped value of a channel/intent/priority field; an empty string when empty and without default."""
    if col is None:
        return pl.lit(f.value if f.value is not None else (f.default or ""), dtype=pl.String)
    mapped = col.replace(dict(f.map)) if f.map else col
    if f.default is not None:
        mapped = pl.when(_empty(mapped)).then(pl.lit(f.default, dtype=pl.String)).otherwise(mapped)
    return mapped


def _int_value(s: pl.Expr) -> pl.Expr:
    """An integer, also from an integral number like ``2.0`` (as a float column of a parquet log reads)."""
    s = s.str.strip_chars()
    as_int = s.cast(pl.Int64, strict=False)
    as_float = s.cast(pl.Float64, strict=False)
    integral = as_float.is_finite() & (as_float == as_float.floor()) & (as_float.abs() < 2.0**53)
    return pl.coalesce(as_int, pl.when(integral).then(as_float.cast(pl.Int64)))


def _duration(s: pl.Expr) -> pl.Expr:
    """A number of seconds >= 0, null otherwise."""
    v = s.str.strip_chars().cast(pl.Float64, strict=False)
    return pl.when(v.is_finite() & (v >= 0)).then(v)


def _classify(lf: pl.LazyFrame, source: ReplaySource, names: dict[str, str]) -> pl.LazyFrame:
    """Every row with its parsed values and ``_status``: ignored, excluded, bad, a filter name, or kept.

    Built in stages (parse once into columns, then check and classify), so no parse runs twice.
    """

    def col(column: str) -> pl.Expr:
        return pl.col(names[column])

    parsed: dict[str, pl.Expr] = {}  # stage 1: every value parsed once
    checks: list[tuple[pl.Expr, str, pl.Expr]] = []  # stage 2: (row is bad, reason, raw value), in order

    # 2. outcome
    if source.outcome is not None:
        out = col(source.outcome)
        parsed["_ignored"] = out.is_in(list(source.ignored)) if source.ignored else pl.lit(False)
        served = out.is_in(list(source.served)) if source.served else pl.lit(False)
        abandoned = out.is_in(list(source.abandoned)) if source.abandoned else pl.lit(False)
        parsed["_outcome"] = pl.when(served).then(pl.lit("served")).when(abandoned).then(pl.lit("abandoned"))
        checks.append((pl.col("_outcome").is_null(), "outcome: value not listed in served, abandoned or ignored", out))
    else:
        parsed["_ignored"] = pl.lit(False)
        parsed["_outcome"] = pl.lit("served")
    is_served = pl.col("_outcome") == "served"

    # 3. exclude rules (first matching rule wins)
    excluded: pl.Expr = pl.lit(None, dtype=pl.Int32)
    for k in reversed(range(len(source.exclude))):
        match = pl.all_horizontal([col(c) == v for c, v in source.exclude[k]])
        excluded = pl.when(match).then(pl.lit(k, dtype=pl.Int32)).otherwise(excluded)
    parsed["_excluded"] = excluded

    # 4. parse: arrival
    if source.timestamp is not None:
        raw_ts = col(source.timestamp)
        parsed["_ts"] = _timestamp(raw_ts, source.timestamp_format)
        what = (f'not a timestamp of format "{source.timestamp_format}"' if source.timestamp_format is not None
                else "not an ISO 8601 timestamp (date and time of day)")
        checks += [(_empty(raw_ts), "timestamp: empty value", raw_ts),
                   (pl.col("_ts").is_null(), f"timestamp: {what}", raw_ts)]
    else:
        assert source.date is not None and source.time is not None
        raw_time, raw_date = col(source.time), col(source.date)
        fmt = source.date_format or DEFAULT_DATE_FORMAT
        if source.time_format is None:
            parsed["_tod"] = _time_of_day(raw_time)
            time_reason = _TIME_REASON
        else:
            tod = raw_time.str.strip_chars().str.strptime(pl.Time, source.time_format, strict=False)
            parsed["_tod"] = tod.cast(pl.Int64).cast(pl.Float64) / 1e9  # nanoseconds since midnight
            time_reason = f'time: not a time of day of format "{source.time_format}"'
        parsed["_date"] = raw_date.str.strip_chars().str.strptime(pl.Date, fmt, strict=False)
        checks += [(_empty(raw_time), "time: empty value", raw_time),
                   (pl.col("_tod").is_null(), time_reason, raw_time),
                   (_empty(raw_date), "date: empty value", raw_date),
                   (pl.col("_date").is_null(), f'date: not a date of format "{fmt}"', raw_date)]

    # channel, intent, priority
    for name, f in (("channel", source.channel), ("intent", source.intent)):
        raw = col(f.column) if f.column is not None else None
        parsed[f"_{name}"] = _field(f, raw)
        if raw is not None:
            checks.append((_empty(pl.col(f"_{name}")), f"{name}: empty value", raw))
    if source.priority is None:
        parsed["_priority"] = pl.lit(0, dtype=pl.Int64)
    elif source.priority.column is None:
        parsed["_priority"] = pl.lit(_integer(source.priority.value or "") or 0, dtype=pl.Int64)
    else:
        raw = col(source.priority.column)
        parsed["_priority_mapped"] = _field(source.priority, raw)
        parsed["_priority"] = _int_value(_field(source.priority, raw))
        checks += [(_empty(pl.col("_priority_mapped")), "priority: empty value", raw),
                   (pl.col("_priority").is_null(), "priority: not an integer", raw)]

    # durations
    if source.queue_time is not None:
        raw = col(source.queue_time)
        parsed["_queue"] = _duration(raw)
        checks += [(_empty(raw), "queue_time: empty value", raw),
                   (pl.col("_queue").is_null(), f"queue_time: {_NUMBER_REASON}", raw)]
    else:
        parsed["_queue"] = pl.lit(None, dtype=pl.Float64)
    if source.handle_time is not None:
        raw = col(source.handle_time)
        parsed["_handle_raw"] = _duration(raw)
        checks += [(is_served & _empty(raw), "handle_time: empty value (a served row)", raw),
                   (is_served & pl.col("_handle_raw").is_null(), f"handle_time: {_NUMBER_REASON}", raw)]
    else:
        parsed["_handle_raw"] = pl.lit(None, dtype=pl.Float64)

    if source.agent is not None:
        raw = col(source.agent)
        missing = _empty(raw)
        if source.agent_missing:
            missing = missing | raw.is_in(list(source.agent_missing))
        parsed["_agent"] = pl.when(~missing).then(raw)
    else:
        parsed["_agent"] = pl.lit(None, dtype=pl.String)
    for i, (_, c) in enumerate(source.segments):
        parsed[f"_seg{i}"] = pl.when(~_empty(col(c))).then(col(c))

    # stage 2: the first failing check, the clock, the handle time
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    value: pl.Expr = pl.lit(None, dtype=pl.String)
    for cond, text, raw in reversed(checks):
        reason = pl.when(cond).then(pl.lit(text)).otherwise(reason)
        value = pl.when(cond).then(raw).otherwise(value)
    second: dict[str, pl.Expr] = {"_reason": reason, "_value": value}
    if source.timestamp is not None:
        second["_date"] = pl.col("_ts").dt.date()
        second["_tod"] = _seconds_of_day(pl.col("_ts"))
    handle = pl.col("_handle_raw")
    if source.handle_max is not None:
        second["_clipped"] = is_served & (handle > source.handle_max).fill_null(False)
        handle = pl.when(handle > source.handle_max).then(pl.lit(source.handle_max)).otherwise(handle)
    else:
        second["_clipped"] = pl.lit(False)
    second["_handle"] = pl.when(is_served).then(handle)

    # 5. filters (on parsed rows only); the sample is drawn after collecting
    status = (pl.when(pl.col("_ignored")).then(pl.lit("ignored"))
              .when(pl.col("_excluded").is_not_null()).then(pl.lit("excluded"))
              .when(pl.col("_reason").is_not_null()).then(pl.lit("bad")))
    day = pl.col("_date")
    if source.dates is not None:
        first, last = (dt.date.fromisoformat(d) for d in source.dates)
        status = status.when((day < first) | (day > last)).then(pl.lit("dates"))
    if source.weekdays:
        status = status.when(~day.dt.weekday().is_in(list(source.weekdays))).then(pl.lit("weekdays"))
    if source.hours is not None:
        start, stop = source.hours
        status = status.when((pl.col("_tod") < start) | (pl.col("_tod") >= stop)).then(pl.lit("hours"))

    keep = ["row", "_status", "_excluded", "_reason", "_value", "_date", "_tod", "_channel", "_intent", "_priority",
            "_outcome", "_queue", "_handle", "_clipped", "_agent", *[f"_seg{i}" for i in range(len(source.segments))]]
    return (lf.with_columns(**parsed)
            .with_columns(**second)
            .with_columns(status.otherwise(pl.lit("kept")).alias("_status"))
            .select(keep))


def _sample(df: pl.DataFrame, source: ReplaySource) -> pl.Series:
    """``_status`` with the seeded sample applied: one uniform per data row, in row order."""
    status = df["_status"]
    if source.sample >= 1.0:
        return status
    rng = np.random.default_rng(np.random.SeedSequence(source.sample_seed))
    uniforms = rng.random(df.height)
    rows = df["row"].to_numpy()
    dropped = pl.Series(uniforms[rows - 1] >= source.sample)
    return pl.select(pl.when((status == "kept") & dropped).then(pl.lit("sample")).otherwise(status)).to_series()


def _assemble(df: pl.DataFrame, status: pl.Series, source: ReplaySource, where: str, key: str) -> ReplayLog:
    df = df.with_columns(status.alias("_status"))
    counts = dict(df.group_by("_status").len().iter_rows())
    rows = df.height
    ignored = int(counts.get("ignored", 0))
    per_rule = dict(df.filter(pl.col("_status") == "excluded").group_by("_excluded").len().iter_rows())
    excluded = tuple(int(per_rule.get(k, 0)) for k in range(len(source.exclude)))
    filtered = {name: int(counts.get(name, 0)) for name in FILTERS}
    bad = _bad_rows(df.filter(pl.col("_status") == "bad"))
    n_bad = sum(b.count for b in bad)
    readable = rows - ignored - sum(excluded)
    if n_bad > readable / 2:
        first = min(bad, key=lambda b: b.first_row)
        line = f", line {first.first_row + 1}" if source.format in ("csv", "tsv") else ""
        raise ConfigError(f"{where}: {key}: {n_bad:,} of {readable:,} rows cannot be read (first bad row "
                          f"{first.first_row}{line}: {first.reason}, value {first.first_value!r}), expected a log "
                          "whose rows mostly parse — check the column mapping")
    kept = df.filter(pl.col("_status") == "kept")
    if kept.height == 0:
        left = ", ".join(f"{n:,} by {name}" for name, n in filtered.items() if n)
        raise ConfigError(f"{where}: {key}: no row of {source.path} is left to replay ({rows:,} rows: {ignored:,} "
                          f"ignored, {sum(excluded):,} excluded, {n_bad:,} bad, filtered {left or 'none'}), "
                          "expected filters (dates, weekdays, hours, sample) that keep some rows")
    origin: dt.date = kept["_date"].min()  # type: ignore[assignment]
    last: dt.date = kept["_date"].max()  # type: ignore[assignment]
    days = (last - origin).days
    end = days * DAY + (source.hours[1] if source.hours is not None else DAY)
    origin_days = (origin - dt.date(1970, 1, 1)).days
    table = kept.select(
        pl.col("row"),
        ((pl.col("_date").cast(pl.Int64) - origin_days).cast(pl.Float64) * DAY + pl.col("_tod")).alias("arrival"),
        pl.col("_date").alias("date"),
        pl.col("_channel").alias("channel"),
        pl.col("_intent").alias("intent"),
        pl.col("_priority").alias("priority"),
        pl.col("_outcome").alias("outcome"),
        pl.col("_queue").alias("queue_time"),
        pl.col("_handle").alias("handle"),
        pl.col("_clipped").alias("handle_clipped"),
        pl.col("_agent").alias("agent"),
        *[pl.col(f"_seg{i}").alias(name) for i, (name, _) in enumerate(source.segments)],
    ).sort("arrival", "row")
    return ReplayLog(table=table, origin=origin, end=float(end), rows=rows, kept=table.height, ignored=ignored,
                     excluded=excluded, filtered=filtered, bad=bad, source=source)


def _bad_rows(bad: pl.DataFrame) -> tuple[BadRows, ...]:
    if bad.height == 0:
        return ()
    groups = (bad.sort("row")
              .group_by("_reason")
              .agg(pl.len().alias("count"), pl.col("row").first().alias("first_row"),
                   pl.col("_value").first().alias("first_value"))
              .sort(["count", "first_row"], descending=[True, False]))
    return tuple(BadRows(reason=r, count=int(n), first_row=int(first), first_value=v or "")
                 for r, n, first, v in groups.iter_rows())


# ---------------------------------------------------------------------------------------------
# staffing


def staffing_agents_seen(log: ReplayLog, interval: float, *, where: str = "",
                      key: str = "workload.replay") -> tuple[tuple[float, int], ...]:
    """The agents seen working, as an absolute step function over ``[0, log.end)``.

    Interval ``k`` is ``[k * interval, (k + 1) * interval)`` (the last one ends at ``log.end``); its level is
    the number of distinct agents with a served row whose service ``[arrival + queue_time, + handle]``
    overlaps it by a positive length (a zero-length service at ``t`` counts in the interval holding ``t``).
    Returns ``((0.0, n0), (t1, n1), ...)`` with equal neighbours merged, ending with ``(log.end, 0)``.
    """
    prefix = f"{where}: " if where else ""
    if not (interval > 0 and math.isfinite(interval)):
        raise ConfigError(f"{prefix}{key}.staffing_interval: {interval} is not a positive number of seconds")
    table = log.table
    if log.source is not None and log.source.agent is None:
        raise ConfigError(f'{prefix}{key}.agent: missing, staffing = "from-log" needs the agent column of the log '
                          "(the agents seen working)")
    agents = table.filter((pl.col("outcome") == "served") & pl.col("agent").is_not_null()
                          & pl.col("handle").is_not_null())
    if agents.height == 0:
        raise ConfigError(f'{prefix}{key}.agent: no served row names an agent, staffing = "from-log" needs an '
                          "agent column with agents in it (not all empty or listed as missing)")
    n_intervals = max(1, math.ceil(log.end / interval))
    start = pl.col("arrival") + pl.col("queue_time").fill_null(0.0)
    stop = start + pl.col("handle")
    first = (start / interval).floor().cast(pl.Int64)
    last = pl.when(stop > start).then((stop / interval).ceil().cast(pl.Int64) - 1).otherwise(first)
    pairs = (agents.select(pl.col("agent"), first.alias("k0"), last.clip(upper_bound=n_intervals - 1).alias("k1"))
             .filter(pl.col("k0") <= pl.col("k1"))
             .select(pl.col("agent"), pl.int_ranges(pl.col("k0"), pl.col("k1") + 1).alias("k"))
             .explode("k"))
    per = pairs.group_by("k").agg(pl.col("agent").n_unique().alias("n"))
    levels = np.zeros(n_intervals, dtype=np.int64)
    levels[per["k"].to_numpy()] = per["n"].to_numpy()
    steps: list[tuple[float, int]] = []
    for k, n in enumerate(levels.tolist()):
        if not steps or steps[-1][1] != n:
            steps.append((float(k * interval), int(n)))
    if steps[-1][1] != 0:
        steps.append((float(log.end), 0))
    return tuple(steps)


#: how ``staffing = "from-log"`` reads the agents from the log (``[workload.replay] staffing_estimate``)
STAFFING_ESTIMATES = ("busy-when-queued", "agents-seen")


def staffing_busy_when_queued(log: ReplayLog, interval: float, *, where: str = "",
                              key: str = "workload.replay") -> tuple[tuple[float, int], ...]:
    """The agents available to answer calls, read from the log's own congestion, as an absolute step function.

    Work conservation: while any ticket waits, every agent available to answer one is busy. So over the
    moments of interval ``k`` when the log shows a queue, the number of tickets in service *is* the number
    of agents answering; their time-average ``a_k`` is the interval's effective staffing. An interval
    without any queue gets the most tickets it ever had in service at once (fewer agents would have made
    someone wait). A fractional ``a_k = n + f`` is kept exact on average: ``n + 1`` agents for the first
    share ``f`` of the interval, ``n`` for the rest.

    Unlike :func:`staffing_agents_seen` (every agent who served a ticket in the interval, counted for all of
    it: an upper bound that ignores after-call work, breaks and part-interval shifts), this measures
    agents as the simulator models them: answering or free to answer. It needs a queue-time column.
    Its known bias is the other way: queues form most when fewer agents are answering, so averaging only
    over queued moments leans low.
    """
    prefix = f"{where}: " if where else ""
    if not (interval > 0 and math.isfinite(interval)):
        raise ConfigError(f"{prefix}{key}.staffing_interval: {interval} is not a positive number of seconds")
    if log.source is not None and log.source.queue_time is None:
        raise ConfigError(f'{prefix}{key}.queue_time: missing, staffing_estimate = "busy-when-queued" needs the '
                          'time each ticket waited (or staffing_estimate = "agents-seen")')
    t = log.table
    arrival = t["arrival"].to_numpy()
    wait = t["queue_time"].cast(pl.Float64).fill_null(0.0).to_numpy()
    served = (t["outcome"] == "served").to_numpy() & t["handle"].is_not_null().to_numpy()
    start = (arrival + wait)[served]
    stop = start + t["handle"].to_numpy()[served]
    queued = wait > 0
    n_intervals = max(1, math.ceil(log.end / interval))
    bounds = np.arange(n_intervals + 1, dtype=np.float64) * interval
    # one step function per quantity: (time, +1/-1) changes, plus the interval bounds as zero changes
    times = np.concatenate([start, stop, arrival[queued], (arrival + wait)[queued], bounds])
    d_busy = np.concatenate([np.ones(len(start)), -np.ones(len(stop)), np.zeros(2 * int(queued.sum())),
                             np.zeros(len(bounds))])
    d_queue = np.concatenate([np.zeros(len(start) + len(stop)), np.ones(int(queued.sum())),
                              -np.ones(int(queued.sum())), np.zeros(len(bounds))])
    order = np.argsort(times, kind="stable")
    times, busy, queue = times[order], np.cumsum(d_busy[order]), np.cumsum(d_queue[order])
    width = np.diff(times, append=times[-1])
    # levels hold from one change to the next; only segments inside [0, end) of positive width count
    keep = (width > 0) & (times >= 0) & (times < bounds[-1])
    k = np.minimum((times[keep] // interval).astype(np.int64), n_intervals - 1)
    b, w, q = busy[keep], width[keep], queue[keep] > 0
    queued_time = np.bincount(k[q], weights=w[q], minlength=n_intervals)
    busy_queued = np.bincount(k[q], weights=(b * w)[q], minlength=n_intervals)
    peak = np.zeros(n_intervals)
    np.maximum.at(peak, k, b)
    level = np.where(queued_time > 0, busy_queued / np.maximum(queued_time, 1e-300), peak)
    steps: list[tuple[float, int]] = []

    def put(at: float, n: int) -> None:
        if not steps or steps[-1][1] != n:
            steps.append((at, n))

    for j, a in enumerate(level.tolist()):
        whole = math.floor(a + 1e-9)
        frac = a - whole if a - whole > 1e-9 else 0.0
        if frac:
            put(j * interval, whole + 1)
            put(j * interval + frac * min(interval, log.end - j * interval), whole)
        else:
            put(j * interval, whole)
    if not steps or steps[-1][1] != 0:
        steps.append((float(log.end), 0))
    return tuple(steps)
