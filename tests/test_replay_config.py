"""Configuring a replayed workload (``[workload] kind = "replay"``): what loads, and the exact message of every
kind of mistake in ``[workload.replay]``, its channels and intents, from-log pools and ``priority_head_start``.

The base file is the bank example (experiments/replay-anonymous-bank.toml) on ``tests/data/bank-slice.tsv``
(3 days of the real log: Monday 990201, Friday 990205, Sunday 990207) with 2 replications.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import problems, write

from supportlab.cli import main
from supportlab.experiment import load_experiment

DATA = Path(__file__).resolve().parent / "data"
LOG = DATA / "bank-slice.tsv"
COLUMNS = ", ".join(f'"{c}"' for c in LOG.read_text(encoding="utf-8").splitlines()[0].split("\t"))

PEAK_ARM = """\
[arms.peak_staff]                # two more agents in the busiest hours of every day
set = { "system.pools.agents.extra_shifts" = [{ start = "10h", end = "16h", agents = 2 }] }
"""

BASE = f"""\
[experiment]
name = "replay-bank-slice"
description = "Replay 3 days of a bank call centre (Sunday-Thursday, 07:00-24:00)"
hypothesis = "Two more agents from 10:00 to 16:00 cut the mean wait by at least a third"
seed = 19990201
replications = 2
crn = true

[objective]
metric = "wait.mean"
direction = "decrease"
min_effect = 0.33

[[guardrails]]
metric = "utilization"
max_degradation_abs = 0.15

[workload]
kind = "replay"

[[workload.channels]]
name = "phone"
sla = "20s"

[workload.replay]
path = '{LOG}'
format = "tsv"
date = {{ column = "date", format = "%y%m%d" }}
time = "vru_exit"
channel = {{ value = "phone" }}
intent = "type"
priority = {{ column = "priority", map = {{ "0" = "0", "1" = "0", "2" = "1" }} }}
handle_time = {{ column = "ser_time", max = "1h" }}
queue_time = "q_time"
outcome = {{ column = "outcome", served = ["AGENT"], abandoned = ["HANG"], ignored = ["PHANTOM"] }}
agent = {{ column = "server", missing = ["NO_SERVER"] }}
segments = {{ line = "vru+line" }}
exclude = [{{ outcome = "HANG", q_start = "0:00:00" }}]
weekdays = ["sun", "mon", "tue", "wed", "thu"]
hours = ["7h", "24h"]
patience = "kaplan-meier"
staffing_estimate = "busy-when-queued"
staffing_interval = "15m"

[system]
routing = "priority"
priority_head_start = "1.5m"

[[system.pools]]
name = "agents"
staffing = "from-log"
skills = ["PS", "PE", "IN", "NE", "NW", "TT"]

[arms.control]

{PEAK_ARM}"""

GENERATE = """\
[experiment]
name = "generated"
seed = 1
replications = 2
horizon = "8h"

[workload]
kind = "generate"

[[workload.channels]]
name = "phone"
arrivals = { rate = "60/h" }
sla = "20s"

[[workload.intents]]
name = "general"
share = 1.0
handle_time = { dist = "exponential", mean = "3m" }

[[system.pools]]
name = "agents"
staffing = "from-log"
skills = ["general"]

[arms.control]
"""

INTENTS = ("IN", "NE", "NW", "PE", "PS", "TT")


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new, 1)


def replay_key(line: str) -> str:
    """``BASE`` with one more line in ``[workload.replay]``."""
    return edit('staffing_interval = "15m"\n', f'staffing_interval = "15m"\n{line}\n')


def declared_intents(skills: dict[str, str] | None = None, names: tuple[str, ...] = INTENTS) -> str:
    """``BASE`` with a ``[[workload.intents]]`` table per name (and the given skills)."""
    tables = "".join(f'[[workload.intents]]\nname = "{n}"\n'
                     + (f'skill = "{skills[n]}"\n' if skills and n in skills else "") + "\n" for n in names)
    return edit("[workload.replay]\n", tables + "[workload.replay]\n")


def slice_column(name: str) -> set[str]:
    with LOG.open(newline="", encoding="utf-8") as fh:
        return {row[name] for row in csv.DictReader(fh, delimiter="\t")}


# ---------------------------------------------------------------------------------------------
# 1. the base file


def test_base_file_loads(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, BASE))
    assert [a.name for a in exp.arms] == ["control", "peak_staff"]
    assert exp.replications == 2 and exp.horizon is None and exp.tickets is None
    wl = exp.control.scenario.workload
    assert wl.kind == "replay"
    assert [i.name for i in wl.intents] == sorted(slice_column("type")) == list(INTENTS)
    assert [i.skill for i in wl.intents] == list(INTENTS)
    assert sum(i.share for i in wl.intents) == pytest.approx(1.0)
    assert [c.name for c in wl.channels] == ["phone"]
    assert wl.channels[0].sla == 20.0
    assert wl.replay is not None and wl.replay.log is not None
    assert wl.replay.source.path == str(LOG)
    assert (wl.replay.time_scale, wl.replay.volume_scale) == (1.0, 1.0)
    assert (wl.replay.patience, wl.replay.staffing_estimate, wl.replay.staffing_interval) == (
        "kaplan-meier", "busy-when-queued", 900.0)
    (pool,) = exp.control.scenario.system.pools
    assert pool.staffing == "from-log"
    assert pool.schedule and pool.schedule[-1][1] == 0
    assert max(n for _, n in pool.schedule) > 0
    assert [t for t, _ in pool.schedule] == sorted(t for t, _ in pool.schedule)
    assert exp.inputs == ((str(LOG), hashlib.sha256(LOG.read_bytes()).hexdigest()),)
    variant = exp.arm("peak_staff")
    assert variant.scenario.system.pools[0].extra_shifts[0].agents == 2
    assert variant.scenario.workload.replay is not None
    assert variant.scenario.workload.replay.log is wl.replay.log  # the log is read once for every arm


def test_relative_path_is_resolved_against_the_experiment_file(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "logs").mkdir()
    shutil.copy(LOG, tmp_path / "logs" / "calls.tsv")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # not the directory the path is relative to
    text = edit(f"path = '{LOG}'\nformat = \"tsv\"\n", 'path = "logs/calls.tsv"\n')  # the extension tells the format
    exp = load_experiment(write(tmp_path, text))
    resolved = (tmp_path / "logs" / "calls.tsv").resolve()
    replay = exp.control.scenario.workload.replay
    assert replay is not None and replay.source.path == str(resolved) and replay.source.format == "tsv"
    assert exp.inputs == ((str(resolved), hashlib.sha256(LOG.read_bytes()).hexdigest()),)


# ---------------------------------------------------------------------------------------------
# 2. the log file


def test_missing_path(tmp_path: Path) -> None:
    assert problems(tmp_path, edit(f"path = '{LOG}'\n", "")) == [
        'workload.replay.path: missing key, expected the log file, e.g. "data/calls.csv" (relative to the '
        "experiment file)",
    ]


def test_path_that_does_not_exist(tmp_path: Path) -> None:
    assert problems(tmp_path, edit(f"path = '{LOG}'", 'path = "nope.tsv"')) == [
        f'workload.replay.path: "nope.tsv" is not a file ({(tmp_path / "nope.tsv").resolve()}), expected the '
        "path of a log file, relative to the experiment file",
    ]


def test_empty_path(tmp_path: Path) -> None:
    assert problems(tmp_path, edit(f"path = '{LOG}'", 'path = ""')) == [
        'workload.replay.path: "" is not a path, expected the path of a log file, e.g. "data/calls.csv"',
    ]


def test_unknown_extension_without_format(tmp_path: Path) -> None:
    shutil.copy(LOG, tmp_path / "calls.dat")
    assert problems(tmp_path, edit(f"path = '{LOG}'\nformat = \"tsv\"\n", 'path = "calls.dat"\n')) == [
        'workload.replay.format: missing key (the extension of "calls.dat" does not tell the format), '
        'expected one of "csv", "tsv", "parquet", "jsonl"',
    ]


def test_unknown_extension_with_format_loads(tmp_path: Path) -> None:
    shutil.copy(LOG, tmp_path / "calls.dat")
    exp = load_experiment(write(tmp_path, edit(f"path = '{LOG}'", 'path = "calls.dat"')))
    assert exp.control.scenario.workload.replay is not None


def test_bad_format(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('format = "tsv"', 'format = "xlsx"')) == [
        'workload.replay.format: "xlsx" is not a log format, expected one of csv, tsv, parquet, jsonl',
    ]


# ---------------------------------------------------------------------------------------------
# 3. the arrival time

ARRIVAL = 'date = { column = "date", format = "%y%m%d" }\ntime = "vru_exit"\n'
ARRIVAL_EXPECTED = 'expected the arrival time: timestamp = "created_at", or date = "date" and time = "time_of_day"'


def test_neither_timestamp_nor_date_and_time(tmp_path: Path) -> None:
    assert problems(tmp_path, edit(ARRIVAL, "")) == [f"workload.replay.timestamp: missing key, {ARRIVAL_EXPECTED}"]


def test_date_without_time(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('time = "vru_exit"\n', "")) == [
        f"workload.replay.time: missing key, {ARRIVAL_EXPECTED}",
    ]


def test_timestamp_with_date(tmp_path: Path) -> None:
    assert problems(tmp_path, edit(ARRIVAL, ARRIVAL + 'timestamp = "vru_entry"\n')) == [
        "workload.replay: both timestamp and date/time given, expected either timestamp, or date and time",
    ]


# ---------------------------------------------------------------------------------------------
# 4. filters and the knobs of the replay

HOURS = 'hours = ["7h", "24h"]'


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('"sun", "mon"', '"funday", "mon"',
     'workload.replay.weekdays[0]: "funday" is not a weekday, expected one of mon, tue, wed, thu, fri, sat, sun'),
    (HOURS, 'hours = ["10h", "7h"]', 'workload.replay.hours[1]: "7h" is not after "10h", expected end > start'),
    (HOURS, 'hours = ["7h", "25h"]',
     'workload.replay.hours: ["7h", "25h"] is not within a day, expected times from "0h" to "24h"'),
    (HOURS, 'hours = ["7h"]',
     'workload.replay.hours: ["7h"] has 1 value, expected two times of day [start, end), e.g. ["7h", "24h"]'),
    (HOURS, 'hours = ["7h", "12h", "24h"]',
     'workload.replay.hours: ["7h", "12h", "24h"] has 3 values, expected two times of day [start, end), '
     'e.g. ["7h", "24h"]'),
    (HOURS, HOURS + '\ndates = ["1999/02/01", "1999-02-07"]',
     'workload.replay.dates[0]: "1999/02/01" is not a date, expected an ISO date, e.g. "1999-02-01"'),
    (HOURS, HOURS + '\ndates = ["1999-02-07", "1999-02-01"]',
     'workload.replay.dates[1]: "1999-02-01" is before the first date ("1999-02-07"), expected the last date '
     ">= the first"),
    (HOURS, HOURS + '\ndates = ["1999-02-01"]',
     'workload.replay.dates: ["1999-02-01"] has 1 date, expected two ISO dates, first and last (inclusive), '
     'e.g. ["1999-02-01", "1999-02-28"]'),
    (HOURS, HOURS + "\nsample = 0", "workload.replay.sample: 0 is not a share, expected a number in (0, 1]"),
    (HOURS, HOURS + "\nsample = 1.5", "workload.replay.sample: 1.5 is not a share, expected a number in (0, 1]"),
    (HOURS, HOURS + "\ntime_scale = 0",
     "workload.replay.time_scale: 0 is not a positive number, expected a number > 0"),
    (HOURS, HOURS + "\nvolume_scale = -1",
     "workload.replay.volume_scale: -1 is not a positive number, expected a number > 0"),
    ('patience = "kaplan-meier"', 'patience = "weibull"',
     'workload.replay.patience: "weibull" is not a patience estimate, expected one of kaplan-meier, exponential'),
    ('staffing_estimate = "busy-when-queued"', 'staffing_estimate = "guess"',
     'workload.replay.staffing_estimate: "guess" is not a staffing estimate, expected one of busy-when-queued, '
     "agents-seen"),
    ('staffing_interval = "15m"', 'staffing_interval = "0s"',
     'workload.replay.staffing_interval: "0s" is not a positive duration, expected a duration > 0'),
])
def test_bad_filter_or_knob(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert problems(tmp_path, edit(old, new)) == [expected]


def test_iso_dates_as_toml_dates_are_accepted(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, edit(HOURS, HOURS + "\ndates = [1999-02-01, 1999-02-06]")))
    replay = exp.control.scenario.workload.replay
    assert replay is not None and replay.source.dates == ("1999-02-01", "1999-02-06")
    assert replay.log.origin.isoformat() == "1999-02-01" and replay.log.end == 86400.0  # only Monday is left


def test_filters_that_leave_no_row(tmp_path: Path) -> None:
    assert problems(tmp_path, edit(HOURS, 'hours = ["1h", "2h"]')) == [
        f"workload.replay: no row of {LOG} is left to replay (3,631 rows: 30 ignored, 158 excluded, 0 bad, filtered "
        "463 by weekdays, 2,980 by hours), expected filters (dates, weekdays, hours, sample) that keep some rows",
    ]


# ---------------------------------------------------------------------------------------------
# 5. outcome, channel, priority and segment mappings

OUTCOME = 'outcome = { column = "outcome", served = ["AGENT"], abandoned = ["HANG"], ignored = ["PHANTOM"] }'


@pytest.mark.parametrize(("new", "expected"), [
    ('outcome = { served = ["AGENT"], abandoned = ["HANG"], ignored = ["PHANTOM"] }',
     "workload.replay.outcome.column: missing key, expected a column name"),
    ('outcome = { column = "outcome", served = ["AGENT"], abandoned = ["HANG", "AGENT"] }',
     'workload.replay.outcome.abandoned[1]: "AGENT" is already listed in served, expected each value in one list'),
    ('outcome = { column = "outcome", ignored = ["PHANTOM"] }',
     'workload.replay.outcome: no served or abandoned values listed, expected e.g. served = ["AGENT"], '
     'abandoned = ["HANG"]'),
])
def test_bad_outcome_table(tmp_path: Path, new: str, expected: str) -> None:
    assert problems(tmp_path, edit(OUTCOME, new)) == [expected]


def test_channel_with_column_and_value(tmp_path: Path) -> None:
    text = edit('channel = { value = "phone" }', 'channel = { column = "vru+line", value = "phone" }')
    assert problems(tmp_path, text) == [
        "workload.replay.channel: both column and value given, expected exactly one of column, value",
    ]


def test_segment_named_like_a_built_in_segment(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('segments = { line = "vru+line" }', 'segments = { channel = "vru+line" }')) == [
        'workload.replay.segments.channel: "channel" is a built-in segment, expected another name',
    ]


def test_segment_named_like_a_column_of_the_replayed_table(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('segments = { line = "vru+line" }', 'segments = { agent = "vru+line" }')) == [
        'workload.replay.segments.agent: "agent" is a column of every replayed log, expected another name (not one '
        "of row, arrival, date, channel, intent, priority, outcome, queue_time, handle, handle_clipped, agent)",
    ]


@pytest.mark.parametrize(("new", "expected"), [
    ('priority = { value = "high" }',
     'workload.replay.priority.value: "high" is not an integer, expected an integer priority (higher = more '
     'urgent), e.g. "1"'),
    ('priority = { column = "priority", map = { "0" = "0", "1" = "0", "2" = "urgent" } }',
     'workload.replay.priority.map.2: "urgent" is not an integer, expected an integer priority (higher = more '
     'urgent), e.g. "1"'),
])
def test_priority_that_is_not_an_integer(tmp_path: Path, new: str, expected: str) -> None:
    old = 'priority = { column = "priority", map = { "0" = "0", "1" = "0", "2" = "1" } }'
    assert problems(tmp_path, edit(old, new)) == [expected]


# ---------------------------------------------------------------------------------------------
# 6.-8. what only the log itself can tell


def test_column_the_log_lacks_lists_the_columns(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('queue_time = "q_time"', 'queue_time = "q_tme"')) == [
        f'workload.replay.queue_time: column "q_tme" is not in {LOG}, expected one of {COLUMNS}',
    ]


def test_columns_the_log_lacks_are_each_named(tmp_path: Path) -> None:
    text = edit('queue_time = "q_time"', 'queue_time = "q_tme"', edit('intent = "type"', 'intent = "kind"'))
    assert problems(tmp_path, text) == [
        f'workload.replay.intent: column "kind" is not in {LOG}, expected one of {COLUMNS}',
        f'workload.replay.queue_time: column "q_tme" is not in {LOG}, expected one of {COLUMNS}',
    ]


def test_mapping_that_fails_most_rows_names_the_first_bad_row(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('format = "%y%m%d"', 'format = "%Y-%m-%d"')) == [
        'workload.replay: 3,443 of 3,443 rows cannot be read (first bad row 1, line 2: date: not a date of format '
        "\"%Y-%m-%d\", value '990201'), expected a log whose rows mostly parse — check the column mapping",
    ]


def test_undeclared_channel_values_are_listed(tmp_path: Path) -> None:
    lines = sorted(slice_column("vru+line"))
    shown = ", ".join(f'"{v}"' for v in lines[:5])
    assert problems(tmp_path, edit('channel = { value = "phone" }', 'channel = "vru+line"')) == [
        f"workload.replay.channel: the log has channel values {shown} and {len(lines) - 5} more that no "
        "[[workload.channels]] table names, expected one [[workload.channels]] table per value (known: phone), "
        "or a map onto them",
    ]


def test_no_channel_table_is_one_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('[[workload.channels]]\nname = "phone"\nsla = "20s"\n', "")) == [
        "workload.channels: missing key, expected at least one [[workload.channels]] table (name and sla of each "
        "channel in the log)",
    ]


# ---------------------------------------------------------------------------------------------
# 9. declared intents


def test_intents_declared_for_some_log_values(tmp_path: Path) -> None:
    assert problems(tmp_path, declared_intents(names=("PS", "NW"))) == [
        'workload.replay.intent: the log has intent values "IN", "NE", "PE", "TT" that no [[workload.intents]] '
        "table names, expected one [[workload.intents]] table per value (known: PS, NW), or a map onto them",
    ]


def test_declared_intents_name_their_skills(tmp_path: Path) -> None:
    text = edit('skills = ["PS", "PE", "IN", "NE", "NW", "TT"]', 'skills = ["retail", "PE", "IN", "NE", "NW", "TT"]',
                declared_intents({"PS": "retail"}))
    exp = load_experiment(write(tmp_path, text))
    assert {i.name: i.skill for i in exp.control.scenario.workload.intents}["PS"] == "retail"


def test_declared_intent_skill_no_pool_has(tmp_path: Path) -> None:
    assert problems(tmp_path, declared_intents({"PS": "retail"})) == [
        'workload.intents[4].skill: "retail" is a skill no tier-1 pool has, expected one of IN, NE, NW, PE, PS, TT',
    ]


def test_replayed_intent_keeps_generate_only_keys_out(tmp_path: Path) -> None:
    text = edit('name = "PS"\n', 'name = "PS"\nshare = 0.5\n', declared_intents())
    assert problems(tmp_path, text) == [
        "workload.intents[4].share: unknown key, expected one of escalation, name, priority, skill, tier2_handle_time",
    ]


# ---------------------------------------------------------------------------------------------
# 10. pools


def test_from_log_staffing_without_a_replayed_log(tmp_path: Path) -> None:
    assert problems(tmp_path, GENERATE) == [
        'system.pools[0].staffing: "from-log" without a replayed log, expected [workload] kind = "replay", or '
        "agents or shifts",
    ]


def test_unknown_staffing_source(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('staffing = "from-log"', 'staffing = "rostered"')) == [
        'system.pools[0].staffing: "rostered" is not a staffing source, expected "from-log" (or agents = N, or '
        "shifts = [...])",
    ]


def test_from_log_without_an_agent_column(tmp_path: Path) -> None:
    no_agent = edit('agent = { column = "server", missing = ["NO_SERVER"] }\n', "")
    assert problems(tmp_path, edit('"busy-when-queued"', '"agents-seen"', no_agent)) == [
        'system.pools[0].staffing: "from-log" counting the agents seen but the log has no agent column, expected '
        'workload.replay.agent = "<column naming the agent who served each ticket>", '
        'or staffing_estimate = "busy-when-queued"',
    ]
    # reading the staffing from the log's congestion needs no agent names
    (pool,) = load_experiment(write(tmp_path, no_agent)).control.scenario.system.pools
    assert max(n for _, n in pool.schedule) > 0


def test_busy_when_queued_without_a_queue_time_column(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('queue_time = "q_time"\n', "")) == [
        'system.pools[0].staffing: "from-log" estimated from queued moments but the log has no queue-time column, '
        'expected workload.replay.queue_time = "<column>", or staffing_estimate = "agents-seen"',
    ]


def test_agents_seen_without_a_queue_time_column_loads(tmp_path: Path) -> None:
    text = edit('queue_time = "q_time"\n', "", edit('"busy-when-queued"', '"agents-seen"'))
    (pool,) = load_experiment(write(tmp_path, text)).control.scenario.system.pools
    assert pool.schedule[-1][1] == 0 and max(n for _, n in pool.schedule) > 0


def test_agents_seen_when_no_served_row_names_an_agent(tmp_path: Path) -> None:
    text = edit('missing = ["NO_SERVER"]', f"missing = [{', '.join(repr(a) for a in sorted(slice_column('server')))}]",
                edit('"busy-when-queued"', '"agents-seen"'))
    assert problems(tmp_path, text) == [
        'system.pools[0].staffing: "from-log" (agents-seen) but no served row of the log names an agent (column '
        '"server"), expected agents on served rows, not all empty or listed in agent.missing',
    ]


def test_agents_and_staffing_both_given(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('staffing = "from-log"', 'staffing = "from-log"\nagents = 10')) == [
        "system.pools[0]: both agents and staffing given, expected exactly one of agents, shifts, "
        'staffing = "from-log"',
    ]


def test_no_staffing_at_all(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('staffing = "from-log"\n', "")) == [
        'system.pools[0]: none of agents, shifts, staffing given, expected exactly one of agents, shifts, '
        'staffing = "from-log"',
    ]


BAD_SHIFT = '[{ start = "16h", end = "10h", agents = 2 }]'
SHIFT_EXPECTED = 'expected end > start (an overnight shift ends past "24h", e.g. "30h")'


def test_extra_shift_that_ends_before_it_starts(tmp_path: Path) -> None:
    text = edit(PEAK_ARM, "", edit('staffing = "from-log"', f'staffing = "from-log"\nextra_shifts = {BAD_SHIFT}'))
    assert problems(tmp_path, text) == [
        f'system.pools[0].extra_shifts[0].end: "10h" is not after start ("16h"), {SHIFT_EXPECTED}',
    ]


def test_extra_shift_of_a_variant_is_reported_under_its_set_key(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('"10h", end = "16h"', '"16h", end = "10h"')) == [
        'arms.peak_staff.set."system.pools.agents.extra_shifts": system.pools[0].extra_shifts[0].end: "10h" is not '
        f'after start ("16h"), {SHIFT_EXPECTED}',
    ]


# ---------------------------------------------------------------------------------------------
# 11. priority_head_start


def test_priority_head_start_needs_priority_routing(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('routing = "priority"', 'routing = "skills"')) == [
        'system.priority_head_start: "1.5m" is set with routing = "skills", expected routing = "priority" (or no '
        "priority_head_start)",
    ]


def test_priority_head_start_is_stored_in_seconds(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, BASE))
    assert exp.control.scenario.system.routing == "priority"
    assert exp.control.scenario.system.priority_head_start == 90.0
    plain = load_experiment(write(tmp_path, edit('priority_head_start = "1.5m"\n', ""), "plain.toml"))
    assert plain.control.scenario.system.priority_head_start is None


def test_negative_priority_head_start(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('"1.5m"', '"-1m"')) == [
        'system.priority_head_start: "-1m" is negative, expected a duration >= 0',
    ]


# ---------------------------------------------------------------------------------------------
# 12. variants


def test_variant_scaling_the_volume_is_one_change(tmp_path: Path) -> None:
    text = edit(PEAK_ARM, '[arms.double]\nset = { "workload.replay.volume_scale" = 2.0 }\n')
    exp = load_experiment(write(tmp_path, text))
    arm = exp.arm("double")
    assert arm.changes == (("workload.replay.volume_scale", 2.0),)
    replay = arm.scenario.workload.replay
    assert replay is not None and replay.volume_scale == 2.0
    control = exp.control.scenario.workload.replay
    assert control is not None and control.volume_scale == 1.0
    assert replay.log is control.log
    assert arm.scenario.system.pools == exp.control.scenario.system.pools


def test_variant_with_a_bad_volume_scale_is_reported_under_its_set_key(tmp_path: Path) -> None:
    text = edit(PEAK_ARM, '[arms.double]\nset = { "workload.replay.volume_scale" = 0 }\n')
    assert problems(tmp_path, text) == [
        'arms.double.set."workload.replay.volume_scale": 0 is not a positive number, expected a number > 0',
    ]


def test_variant_whose_log_cannot_be_read_is_reported_under_its_set_key(tmp_path: Path) -> None:
    text = edit(PEAK_ARM, '[arms.typo]\nset = { "workload.replay.queue_time" = "q_tme" }\n')
    assert problems(tmp_path, text) == [
        f'arms.typo.set."workload.replay.queue_time": column "q_tme" is not in {LOG}, expected one of {COLUMNS}',
    ]


def test_variant_that_breaks_priority_routing(tmp_path: Path) -> None:
    text = edit(PEAK_ARM, '[arms.skills]\nset = { "system.routing" = "skills" }\n')
    assert problems(tmp_path, text) == [
        'arms.skills.set."system.routing": system.priority_head_start: "1.5m" is set with routing = "skills", '
        'expected routing = "priority" (or no priority_head_start)',
    ]


# ---------------------------------------------------------------------------------------------
# 13. the command line

BROKEN = edit('queue_time = "q_time"', 'queue_time = "q_tme"')


def test_cli_validate_accepts_the_base_file(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, BASE)
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert exc.value.code in (0, None), err
    assert out.startswith(f"{path}: ok (replay-bank-slice: 2 arms, variants: peak_staff)")


def test_cli_validate_broken_replay_exits_2_without_a_traceback(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, BROKEN)
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == ""
    assert err.strip() == (f'ConfigError: {path}: workload.replay.queue_time: column "q_tme" is not in {LOG}, '
                           f"expected one of {COLUMNS}")


def test_cli_subprocess_validate_broken_replay(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    done = subprocess.run([sys.executable, "-m", "supportlab", "validate", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (f'ConfigError: {path}: workload.replay.queue_time: column "q_tme" is not in '
                                   f"{LOG}, expected one of {COLUMNS}")


def test_hours_as_bare_numbers_are_caught(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('hours = ["7h", "24h"]', "hours = [7, 24]")) == [
        'workload.replay.hours: [7, 24] are seconds after midnight (bare numbers are seconds), expected durations '
        'with a unit, e.g. ["7h", "24h"]']
