"""Reading a real ticket/call log into workload rows (supportlab.replay.read_log)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from supportlab.errors import ConfigError
from supportlab.model import Field, ReplaySource
from supportlab.replay import BadRows, ReplayLog, read_log, staffing_agents_seen

HERE = Path(__file__).parent
SLICE = HERE / "data" / "bank-slice.tsv"
FULL = HERE.parent / "experiments" / "data" / "anonymous-bank-1999-02.txt"
WHERE = "exp.toml"


def bank(path: Path = SLICE, **kw: object) -> ReplaySource:
    base: dict[str, object] = dict(
        path=str(path), format="tsv", date="date", date_format="%y%m%d", time="vru_entry",
        channel=Field(column="type"), handle_time="ser_time", queue_time="q_time",
        outcome="outcome", served=("AGENT",), abandoned=("HANG",), ignored=("PHANTOM",), agent="server",
    )
    base.update(kw)
    return ReplaySource(**base)  # type: ignore[arg-type]


def raw_rows(path: Path = SLICE) -> list[dict[str, str]]:
    """The log as the csv module reads it: an independent reference."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def seconds(clock: str) -> int:
    h, m, s = (int(x) for x in clock.split(":"))
    return h * 3600 + m * 60 + s


def yymmdd(text: str) -> dt.date:
    return dt.date(1900 + int(text[:2]), int(text[2:4]), int(text[4:]))


def accounted(log: ReplayLog) -> int:
    return log.kept + log.ignored + sum(log.excluded) + sum(log.filtered.values()) + sum(b.count for b in log.bad)


@pytest.fixture(scope="module")
def slice_log() -> ReplayLog:
    return read_log(bank(), where=WHERE)


@pytest.fixture(scope="module")
def reference() -> list[dict[str, str]]:
    return raw_rows()


# ---------------------------------------------------------------------------------------------
# the bank slice (Mon 990201, Fri 990205, Sun 990207)


def test_slice_file_is_the_three_days_of_the_original() -> None:
    original = FULL.read_bytes().split(b"\r\n")
    wanted = [line for line in original[1:] if line.split(b"\t")[5:6] in ([b"990201"], [b"990205"], [b"990207"])]
    assert SLICE.read_bytes() == b"\r\n".join([original[0], *wanted]) + b"\r\n"


def test_date_and_time_of_day(slice_log: ReplayLog, reference: list[dict[str, str]]) -> None:
    log = slice_log
    used = {i + 1: r for i, r in enumerate(reference) if r["outcome"] != "PHANTOM"}
    assert log.rows == len(reference) == 3631
    assert log.kept == len(used) and accounted(log) == log.rows and not log.bad
    assert log.origin == dt.date(1999, 2, 1)
    assert log.end == 7 * 86_400.0
    t = log.table
    assert t.columns == ["row", "arrival", "date", "channel", "intent", "priority", "outcome", "queue_time", "handle",
                         "handle_clipped", "agent"]
    assert t.schema["row"] == pl.Int64 and t.schema["arrival"] == pl.Float64 and t.schema["date"] == pl.Date
    # counts per date and per hour of day, computed independently
    by_date = Counter(yymmdd(r["date"]) for r in used.values())
    assert dict(t.group_by("date").len().iter_rows()) == by_date
    by_hour = Counter(int(r["vru_entry"].split(":")[0]) for r in used.values())
    hours = ((t["arrival"] % 86_400) // 3600).cast(pl.Int64)
    assert dict(Counter(hours.to_list())) == by_hour
    # every arrival, exactly
    expected = {row: (yymmdd(r["date"]) - log.origin).days * 86_400.0 + seconds(r["vru_entry"])
                for row, r in used.items()}
    assert dict(zip(t["row"].to_list(), t["arrival"].to_list(), strict=True)) == expected
    # sorted by (arrival, row)
    assert t.select(pl.struct("arrival", "row")).to_series().is_sorted()
    assert t["arrival"].is_sorted() and t["arrival"].min() >= 0 and t["arrival"].max() < log.end
    first = t.filter(pl.col("row") == 1).row(0, named=True)
    assert first["arrival"] == 7 * 3600 + 2 * 60 + 47 and first["channel"] == "PS" and first["intent"] == "default"
    assert first["handle"] == 166.0 and first["queue_time"] == 0.0 and first["agent"] == "DORIT"


def test_outcomes(slice_log: ReplayLog, reference: list[dict[str, str]]) -> None:
    counts = Counter(r["outcome"] for r in reference)
    assert slice_log.ignored == counts["PHANTOM"] > 0
    outcomes = Counter(slice_log.table["outcome"].to_list())
    assert outcomes == {"served": counts["AGENT"], "abandoned": counts["HANG"]}
    abandoned = slice_log.table.filter(pl.col("outcome") == "abandoned")
    assert abandoned["handle"].null_count() == abandoned.height
    summary = slice_log.describe()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["ignored"] == counts["PHANTOM"] and summary["served"] == counts["AGENT"]


def test_no_outcome_column_means_every_row_served(reference: list[dict[str, str]]) -> None:
    log = read_log(bank(outcome=None, served=(), abandoned=(), ignored=()), where=WHERE)
    assert log.kept == len(reference) and log.ignored == 0
    assert set(log.table["outcome"]) == {"served"}


def test_exclude_rules_first_match_wins(reference: list[dict[str, str]]) -> None:
    never_queued = (("outcome", "HANG"), ("q_start", "0:00:00"))
    log = read_log(bank(exclude=(never_queued,)), where=WHERE)
    n = sum(r["outcome"] == "HANG" and r["q_start"] == "0:00:00" for r in reference)
    assert log.excluded == (n,) and n > 0
    assert accounted(log) == log.rows
    hang = sum(r["outcome"] == "HANG" for r in reference)
    both = read_log(bank(exclude=(never_queued, (("outcome", "HANG"),))), where=WHERE)
    assert both.excluded == (n, hang - n)
    assert "abandoned" not in set(both.table["outcome"])


def test_weekdays_filter(reference: list[dict[str, str]]) -> None:
    log = read_log(bank(weekdays=(1, 7)), where=WHERE)
    friday = sum(r["date"] == "990205" and r["outcome"] != "PHANTOM" for r in reference)
    assert log.filtered == {"dates": 0, "weekdays": friday, "hours": 0, "sample": 0} and friday > 0
    assert set(log.table["date"]) == {dt.date(1999, 2, 1), dt.date(1999, 2, 7)}
    assert accounted(log) == log.rows


def test_hours_filter(reference: list[dict[str, str]]) -> None:
    log = read_log(bank(hours=(7 * 3600.0, 86_400.0)), where=WHERE)
    early = sum(seconds(r["vru_entry"]) < 7 * 3600 and r["outcome"] != "PHANTOM" for r in reference)
    assert log.filtered["hours"] == early > 0
    assert ((log.table["arrival"] % 86_400) >= 7 * 3600).all()
    assert log.end == 7 * 86_400.0
    short = read_log(bank(hours=(7 * 3600.0, 18 * 3600.0)), where=WHERE)
    assert short.end == 6 * 86_400.0 + 18 * 3600.0
    assert ((short.table["arrival"] % 86_400) < 18 * 3600).all()


def test_dates_filter(reference: list[dict[str, str]]) -> None:
    log = read_log(bank(dates=("1999-02-02", "1999-02-07")), where=WHERE)
    monday = sum(r["date"] == "990201" and r["outcome"] != "PHANTOM" for r in reference)
    assert log.filtered["dates"] == monday
    assert log.origin == dt.date(1999, 2, 5) and log.end == 3 * 86_400.0
    assert log.table["arrival"].min() >= 0
    friday = read_log(bank(dates=("1999-02-05", "1999-02-05")), where=WHERE)
    assert set(friday.table["date"]) == {dt.date(1999, 2, 5)} and friday.end == 86_400.0


def test_filters_apply_in_order(reference: list[dict[str, str]]) -> None:
    log = read_log(bank(dates=("1999-02-01", "1999-02-05"), weekdays=(1, 2, 3, 4, 6, 7), hours=(8 * 3600.0, 86_400.0)),
                   where=WHERE)
    used = [r for r in reference if r["outcome"] != "PHANTOM"]
    assert log.filtered["dates"] == sum(r["date"] == "990207" for r in used)
    assert log.filtered["weekdays"] == sum(r["date"] == "990205" for r in used)
    assert log.filtered["hours"] == sum(r["date"] == "990201" and seconds(r["vru_entry"]) < 8 * 3600 for r in used)
    assert accounted(log) == log.rows


def test_sample() -> None:
    full = read_log(bank(), where=WHERE)
    a = read_log(bank(sample=0.3, sample_seed=1), where=WHERE)
    again = read_log(bank(sample=0.3, sample_seed=1), where=WHERE)
    other = read_log(bank(sample=0.3, sample_seed=2), where=WHERE)
    assert abs(a.kept - 0.3 * full.kept) < 5 * (full.kept * 0.3 * 0.7) ** 0.5
    assert a.filtered["sample"] == full.kept - a.kept and accounted(a) == a.rows
    assert_frame_equal(a.table, again.table)
    assert set(a.table["row"]) != set(other.table["row"])
    assert set(a.table["row"]) <= set(full.table["row"])
    # a row's draw does not depend on the other rows: filtering first keeps the same choice
    sunday = read_log(bank(sample=0.3, sample_seed=1, weekdays=(7,)), where=WHERE)
    assert set(sunday.table["row"]) == set(a.table.filter(pl.col("date") == dt.date(1999, 2, 7))["row"])


def test_handle_max_clips(reference: list[dict[str, str]]) -> None:
    log = read_log(bank(handle_max=600.0), where=WHERE)
    long = sum(r["outcome"] == "AGENT" and float(r["ser_time"]) > 600 for r in reference)
    assert int(log.table["handle_clipped"].sum()) == long > 0
    assert log.table["handle"].max() == 600.0
    assert (log.table.filter(pl.col("handle_clipped"))["handle"] == 600.0).all()
    assert int(read_log(bank(), where=WHERE).table["handle_clipped"].sum()) == 0


def test_agent_missing(slice_log: ReplayLog, reference: list[dict[str, str]]) -> None:
    log = read_log(bank(agent_missing=("NO_SERVER",)), where=WHERE)
    none = sum(r["server"] == "NO_SERVER" and r["outcome"] != "PHANTOM" for r in reference)
    assert log.table["agent"].null_count() == none > 0
    assert "NO_SERVER" in set(slice_log.table["agent"])
    assert "NO_SERVER" not in set(log.table["agent"].drop_nulls())
    # the row keeps its outcome
    assert Counter(log.table["outcome"]) == Counter(slice_log.table["outcome"])
    no_agent = read_log(bank(agent=None), where=WHERE)
    assert no_agent.table["agent"].null_count() == no_agent.kept


def test_segments_and_priority_map(reference: list[dict[str, str]]) -> None:
    log = read_log(bank(segments=(("line", "vru+line"), ("kind", "type")),
                        priority=Field(column="priority", map=(("2", "1"), ("0", "0"), ("1", "0")))), where=WHERE)
    assert log.table.columns[-2:] == ["line", "kind"]
    raw = {i + 1: r for i, r in enumerate(reference)}
    for row, line, kind, priority in log.table.select("row", "line", "kind", "priority").iter_rows():
        assert line == raw[row]["vru+line"] and kind == raw[row]["type"]
        assert priority == (1 if raw[row]["priority"] == "2" else 0)
    assert log.table.schema["priority"] == pl.Int64
    assert set(log.table["priority"]) == {0, 1}


def test_constant_fields_and_no_durations(reference: list[dict[str, str]]) -> None:
    log = read_log(bank(channel=Field(value="phone"), intent=Field(value="banking"), priority=Field(value="3"),
                        handle_time=None, queue_time=None), where=WHERE)
    t = log.table
    assert set(t["channel"]) == {"phone"} and set(t["intent"]) == {"banking"} and set(t["priority"]) == {3}
    assert t["handle"].null_count() == t["queue_time"].null_count() == t.height


# ---------------------------------------------------------------------------------------------
# small hand-written logs


ROWS = [  # created, channel, intent, priority, wait, handle, status, agent
    ("2024-03-01T08:15:00", "chat", "billing", "1", "12", "300", "solved", "ann"),
    ("2024-03-01 08:15:30.5", "email", "", "0", "0", "45.5", "solved", "bob"),
    ("2024-03-02T00:00:10Z", "chat", "login", "2", "30", "", "gave_up", ""),
    ("2024-03-01T23:59:59+02:00", "phone", "login", "0", "7.5", "60", "solved", "ann"),
    ("2024-03-03T10:00:00", "phone", "billing", "1", "0", "0", "test", "bob"),
]
HEADER = ("created", "channel", "intent", "priority", "wait", "handle", "status", "agent")


def write_delimited(path: Path, rows: list[tuple[str, ...]], sep: str = ",", header: tuple[str, ...] = HEADER) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter=sep, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def tickets(path: Path, fmt: str = "csv", **kw: object) -> ReplaySource:
    base: dict[str, object] = dict(
        path=str(path), format=fmt, timestamp="created", channel=Field(column="channel"),
        intent=Field(column="intent", default="other"), priority=Field(column="priority"), queue_time="wait",
        handle_time="handle", outcome="status", served=("solved",), abandoned=("gave_up",), ignored=("test",),
        agent="agent",
    )
    base.update(kw)
    return ReplaySource(**base)  # type: ignore[arg-type]


def test_csv_with_timestamps(tmp_path: Path) -> None:
    log = read_log(tickets(write_delimited(tmp_path / "t.csv", ROWS)), where=WHERE)
    assert (log.rows, log.kept, log.ignored, log.bad) == (5, 4, 1, ())
    assert log.origin == dt.date(2024, 3, 1) and log.end == 2 * 86_400.0
    t = log.table
    assert t["row"].to_list() == [1, 2, 4, 3]
    assert t["arrival"].to_list() == [8 * 3600 + 15 * 60, 8 * 3600 + 15 * 60 + 30.5, 86_399.0, 86_410.0]
    assert t["date"].to_list() == [dt.date(2024, 3, 1)] * 3 + [dt.date(2024, 3, 2)]
    assert t["intent"].to_list() == ["billing", "other", "login", "login"]
    assert t["outcome"].to_list() == ["served", "served", "served", "abandoned"]
    assert t["handle"].to_list() == [300.0, 45.5, 60.0, None]
    assert t["queue_time"].to_list() == [12.0, 0.0, 7.5, 30.0]
    assert t["agent"].to_list() == ["ann", "bob", "ann", None]
    assert t["priority"].to_list() == [1, 0, 0, 2]


def test_timestamp_format(tmp_path: Path) -> None:
    rows = [("01/03/2024 08:15", "chat", "a", "0", "1", "2", "solved", "x"),
            ("2024-03-01T08:15:00", "chat", "a", "0", "1", "2", "solved", "x")]
    src = tickets(write_delimited(tmp_path / "t.csv", rows * 3), timestamp_format="%d/%m/%Y %H:%M")
    log = read_log(src, where=WHERE)
    assert log.kept == 3 and log.table["arrival"].to_list() == [8 * 3600 + 15 * 60] * 3
    assert log.bad == (BadRows('timestamp: not a timestamp of format "%d/%m/%Y %H:%M"', 3, 2, "2024-03-01T08:15:00"),)


def test_formats_give_identical_tables(tmp_path: Path) -> None:
    src_csv = tickets(write_delimited(tmp_path / "t.csv", ROWS))
    src_tsv = tickets(write_delimited(tmp_path / "t.tsv", ROWS, sep="\t"), "tsv")
    frame = pl.DataFrame([dict(zip(HEADER, r, strict=True)) for r in ROWS])
    typed = frame.with_columns(pl.col("priority").cast(pl.Int64), pl.col("wait").cast(pl.Float64),
                               pl.when(pl.col("handle") != "").then(pl.col("handle")).cast(pl.Float64))
    typed.write_parquet(tmp_path / "t.parquet")
    src_parquet = tickets(tmp_path / "t.parquet", "parquet")
    with open(tmp_path / "t.jsonl", "w") as fh:
        for rec in typed.iter_rows(named=True):
            fh.write(json.dumps(rec) + "\n")
    src_jsonl = tickets(tmp_path / "t.jsonl", "jsonl")
    logs = [read_log(s, where=WHERE) for s in (src_csv, src_tsv, src_parquet, src_jsonl)]
    for other in logs[1:]:
        assert_frame_equal(logs[0].table, other.table)
        assert (other.origin, other.end, other.rows, other.ignored, other.bad) == (
            logs[0].origin, logs[0].end, logs[0].rows, logs[0].ignored, logs[0].bad)
    # a parquet datetime column reads like its ISO text
    stamped = typed.with_columns(pl.col("created").str.replace("Z|\\+02:00", "").str.replace("T", " ")
                                 .str.to_datetime("%Y-%m-%d %H:%M:%S%.f"))
    stamped.write_parquet(tmp_path / "ts.parquet")
    assert_frame_equal(read_log(tickets(tmp_path / "ts.parquet", "parquet"), where=WHERE).table, logs[0].table)


def test_times_of_day(tmp_path: Path) -> None:
    times = ["7:02", "07:02:03.5", "23:59:59", "0:00:00", "3600", "90.25", "24:00:00", "7:60", "7:5", "x", "-5",
             "86400", "1:02:03:04", "12:00", "12:00:00.000"]
    rows = [("2024-03-01", t, "solved") for t in times]
    path = write_delimited(tmp_path / "t.csv", rows, header=("day", "clock", "status"))
    log = read_log(ReplaySource(path=str(path), format="csv", date="day", time="clock"), where=WHERE)
    good = {1: 7 * 3600 + 120, 2: 7 * 3600 + 123.5, 3: 86_399.0, 4: 0.0, 5: 3600.0, 6: 90.25,
            14: 43_200.0, 15: 43_200.0}
    assert dict(log.table.select("row", "arrival").iter_rows()) == good
    (bad,) = log.bad
    assert bad.reason.startswith("time: not a time of day") and bad.count == 7
    assert (bad.first_row, bad.first_value) == (7, "24:00:00")


def test_bad_rows_counted_by_reason(tmp_path: Path) -> None:
    good = ("2024-03-01", "8:00", "chat", "billing", "1", "10", "100", "solved")
    rows = [good] * 12 + [
        ("2024-13-01", "8:00", "chat", "billing", "1", "10", "100", "solved"),   # 13: date
        ("2024-03-01", "8:00", "chat", "billing", "1", "10", "-4", "solved"),    # 14: handle
        ("01.03.2024", "8:00", "chat", "", "x", "10", "100", "solved"),          # 15: date (first failing field)
        ("2024-03-01", "8:00", "chat", "", "1", "10", "100", "solved"),          # 16: intent empty
        ("2024-03-01", "8:00", "chat", "billing", "1", "10", "", "abandoned"),   # 17: fine (abandoned)
        ("2024-03-01", "8:00", "chat", "billing", "1", "10", "", "solved"),      # 18: handle empty
        ("2024-03-01", "8:00", "chat", "billing", "high", "10", "5", "solved"),  # 19: priority
        ("2024-03-01", "8:00", "chat", "billing", "1", "10", "5", "transfer"),   # 20: outcome
        ("2024-03-01", "8:00", "chat", "billing", "1", "soon", "5", "solved"),   # 21: queue_time
        ("2024-03-01", "8:00", "chat", "billing", "1", "10", "5", "canceled"),   # 22: outcome
    ]
    header = ("day", "clock", "channel", "intent", "priority", "wait", "handle", "status")
    src = ReplaySource(path=str(write_delimited(tmp_path / "t.csv", rows, header=header)), format="csv", date="day",
                       time="clock", channel=Field(column="channel"), intent=Field(column="intent"),
                       priority=Field(column="priority"), queue_time="wait", handle_time="handle", outcome="status",
                       served=("solved",), abandoned=("gave_up", "abandoned"))
    log = read_log(src, where=WHERE)
    assert log.bad == (
        BadRows('date: not a date of format "%Y-%m-%d"', 2, 13, "2024-13-01"),
        BadRows("outcome: value not listed in served, abandoned or ignored", 2, 20, "transfer"),
        BadRows("handle_time: not a number of seconds >= 0", 1, 14, "-4"),
        BadRows("intent: empty value", 1, 16, ""),
        BadRows("handle_time: empty value (a served row)", 1, 18, ""),
        BadRows("priority: not an integer", 1, 19, "high"),
        BadRows("queue_time: not a number of seconds >= 0", 1, 21, "soon"),
    )
    assert log.kept == 13 and accounted(log) == log.rows == 22
    assert log.describe()["bad"][0] == {"reason": 'date: not a date of format "%Y-%m-%d"', "count": 2,
                                        "first_row": 13, "first_value": "2024-13-01"}
    # an exclude rule takes a row of an unknown outcome out before it counts as bad
    quiet = read_log(replace(src, exclude=((("status", "transfer"),),)), where=WHERE)
    assert quiet.excluded == (1,) and accounted(quiet) == quiet.rows
    assert BadRows("outcome: value not listed in served, abandoned or ignored", 1, 22, "canceled") in quiet.bad


def test_mostly_bad_log_is_refused(tmp_path: Path) -> None:
    rows = [(f"2024-03-0{i % 9 + 1}", "8:00", "solved") for i in range(10)]
    path = write_delimited(tmp_path / "t.csv", rows, header=("day", "clock", "status"))
    src = ReplaySource(path=str(path), format="csv", date="day", date_format="%y%m%d", time="clock")
    with pytest.raises(ConfigError) as err:
        read_log(src, where=WHERE, key="workload.replay")
    text = str(err.value)
    assert text.startswith("exp.toml: workload.replay: 10 of 10 rows cannot be read (first bad row 1, line 2: ")
    assert "date: not a date of format \"%y%m%d\", value '2024-03-01'" in text
    assert "check the column mapping" in text


def test_missing_column(tmp_path: Path) -> None:
    path = write_delimited(tmp_path / "t.csv", ROWS)
    with pytest.raises(ConfigError) as err:
        read_log(tickets(path, queue_time="q_tme", agent="who"), where=WHERE)
    cols = ", ".join(f'"{c}"' for c in HEADER)
    assert err.value.problems == [
        f'exp.toml: workload.replay.queue_time: column "q_tme" is not in {path}, expected one of {cols}',
        f'exp.toml: workload.replay.agent: column "who" is not in {path}, expected one of {cols}',
    ]


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^exp\.toml: workload\.replay\.path: cannot read .*nope\.csv: no such file"):
        read_log(tickets(tmp_path / "nope.csv"), where=WHERE)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ConfigError, match=r"workload\.replay\.path: .*empty\.csv is empty"):
        read_log(tickets(tmp_path / "empty.csv"), where=WHERE)
    with pytest.raises(ConfigError, match=r"workload\.replay\.path: .*header\.csv has no data rows \(only a header\)"):
        read_log(tickets(write_delimited(tmp_path / "header.csv", [])), where=WHERE)
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(ConfigError, match=r"workload\.replay\.path: cannot read .*bad\.parquet as parquet: "):
        read_log(tickets(tmp_path / "bad.parquet", "parquet"), where=WHERE)


def test_filters_that_leave_nothing(tmp_path: Path) -> None:
    src = tickets(write_delimited(tmp_path / "t.csv", ROWS), dates=("2025-01-01", "2025-01-31"))
    with pytest.raises(ConfigError, match=r"no row of .* is left to replay .*filtered 4 by dates"):
        read_log(src, where=WHERE)


# ---------------------------------------------------------------------------------------------
# staffing seen in the log


def test_staffing_agents_seen(tmp_path: Path) -> None:
    rows = [  # time, wait, handle, status, agent -> service
        ("0:00:00", "0", "300", "solved", "ann"),    # [0, 300)            -> interval 0
        ("0:05:10", "0", "10", "solved", "ann"),     # [310, 320) again    -> interval 0, counted once
        ("0:01:40", "200", "700", "solved", "bob"),  # [300, 1000)         -> intervals 0, 1
        ("0:20:00", "0", "0", "solved", "ann"),      # zero length at 1200 -> interval 2
        ("0:25:00", "30", "", "gave_up", "cid"),     # abandoned: no service
        ("0:30:00", "0", "600", "solved", "bob"),    # [1800, 2400)        -> interval 3 only
        ("0:30:00", "0", "600", "solved", "-"),      # no agent
        ("0:41:40", "0", "1000", "solved", "cid"),   # [2500, 3500)        -> interval 4 (cut at the end, 3000)
    ]
    path = write_delimited(tmp_path / "t.csv", [("2024-03-01", *r) for r in rows],
                           header=("day", "clock", "wait", "handle", "status", "agent"))
    src = ReplaySource(path=str(path), format="csv", date="day", time="clock", queue_time="wait", handle_time="handle",
                       outcome="status", served=("solved",), abandoned=("gave_up",), agent="agent",
                       agent_missing=("-",), hours=(0.0, 3000.0))
    log = read_log(src, where=WHERE)
    assert log.end == 3000.0
    assert staffing_agents_seen(log, 600.0, where=WHERE) == ((0.0, 2), (600.0, 1), (3000.0, 0))
    assert staffing_agents_seen(log, 1000.0, where=WHERE) == ((0.0, 2), (3000.0, 0))  # equal levels merged
    whole = read_log(replace(src, hours=None), where=WHERE)
    assert whole.end == 86_400.0
    assert staffing_agents_seen(whole, 600.0, where=WHERE) == ((0.0, 2), (600.0, 1), (3600.0, 0))
    with pytest.raises(ConfigError, match=r'workload\.replay\.agent: .*staffing = "from-log" needs'):
        staffing_agents_seen(read_log(replace(src, agent=None, agent_missing=()), where=WHERE), 600.0, where=WHERE)


# ---------------------------------------------------------------------------------------------
# the whole month, against the facts published with it


def test_full_bank_file_matches_published_facts() -> None:
    log = read_log(bank(FULL, handle_max=3600.0), where=WHERE)
    assert (log.rows, log.ignored, log.bad, log.kept) == (33_344, 278, (), 33_344 - 278)
    assert log.origin == dt.date(1999, 2, 1) and log.end == 28 * 86_400.0
    t = log.table
    assert Counter(t["outcome"]) == {"served": 27_162, "abandoned": 5_904}
    served = t.filter((pl.col("outcome") == "served") & (pl.col("handle") > 0) & ~pl.col("handle_clipped"))["handle"]
    assert served.mean() == pytest.approx(176.5, abs=0.05) and served.median() == 107.0
    # calls that never queued have q_start = 0:00:00: an exclude rule leaves the queued ones
    never_queued = ((("q_start", "0:00:00"),),)
    entered = read_log(bank(FULL, outcome=None, served=(), abandoned=(), ignored=(), exclude=never_queued),
                       where=WHERE)
    assert entered.rows - entered.excluded[0] == entered.kept == 18_336
    queued = read_log(bank(FULL, exclude=never_queued), where=WHERE).table
    assert (queued["outcome"] == "abandoned").mean() == pytest.approx(0.2195, abs=5e-5)
    assert queued.filter(pl.col("outcome") == "served")["queue_time"].mean() == pytest.approx(78.6, abs=0.05)


def test_time_of_day_with_a_format(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("day,clock\n2026-03-02,09:15 AM\n2026-03-02,01:30 PM\n2026-03-03,12:00 AM\n"
                                      "2026-03-03,13:00 PM\n")
    source = ReplaySource(path=str(tmp_path / "log.csv"), format="csv", date="day", time="clock",
                          time_format="%I:%M %p")
    log = read_log(source, where="x")
    assert log.table["arrival"].to_list() == [9 * 3600 + 15 * 60, 13.5 * 3600, 86_400.0]
    assert [(b.count, b.first_row, b.first_value) for b in log.bad] == [(1, 4, "13:00 PM")]
    assert log.bad[0].reason == 'time: not a time of day of format "%I:%M %p"'
