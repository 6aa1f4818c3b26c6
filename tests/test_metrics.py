"""Metrics worked out by hand on a small tickets/legs table, the empty cases, summaries and speed."""

from __future__ import annotations

import math
import time

import numpy as np
import polars as pl
import pytest
from scipy import stats

from supportlab.catalog import METRICS
from supportlab.distributions import Dist
from supportlab.metrics import SCHEMA, SEGMENTS, TICKET_METRICS, Window, check_expectations, compute, summarize
from supportlab.model import Bot, Channel, Expectation, Intent, Persona, Pool, Scenario, Shift, System, Workload

NAN = float("nan")
EXP = Dist("exponential", mean=60.0)
SCENARIO = Scenario(
    workload=Workload(
        kind="generate",
        channels=(
            Channel("chat", rates=(0.1,) * 24, sla=60.0),
            Channel("email", rates=(0.01,) * 24, sla=600.0),
            Channel("phone", rates=(0.01,) * 24, sla=30.0),  # no tickets: an empty segment value
        ),
        intents=(Intent("billing", 0.6, EXP, skill="billing"), Intent("bug", 0.4, EXP, skill="tech")),
        personas=(Persona("calm", 0.5), Persona("impatient", 0.4), Persona("vip", 0.1)),
    ),
    system=System(
        routing="skills",
        pools=(
            Pool("tier1", ("billing",), agents=2, concurrency=(("chat", 2),)),
            # 1 agent on [0, 600), 2 on [600, 24 h): 500·1 + 500·2 = 1500 agent-seconds in the window
            Pool("specialists", ("tech",), tier=2, shifts=(Shift(0.0, 600.0, 1), Shift(600.0, 86_400.0, 2))),
        ),
        bot=Bot(channels=("chat",), containment=(("billing", 0.3),), triage_accuracy=0.9, latency=EXP),
    ),
)
WINDOW = Window(100.0, 1100.0)

TICKET_COLS = ["ticket", "channel", "intent", "persona", "measured", "bot_reply", "contained", "routed_skill",
               "queued", "start", "pool", "right_skill", "escalated", "handoff", "context_lost", "resolved_at",
               "outcome", "first_response", "wait", "handle", "resolution", "fcr", "sla_met", "csat"]
TICKET_ROWS = [
    # t0: arrived before the warmup end (not measured), resolved inside the window
    (0, "chat", "billing", "calm", False, None, None, "billing", 50.0, 110.0, "tier1", True, False, None, None,
     150.0, "resolved", 60.0, 60.0, 40.0, 100.0, True, False, 4.0),
    # t1: contained by the bot
    (1, "chat", "billing", "calm", True, 202.0, True, None, None, None, None, None, False, None, None,
     202.0, "bot", 2.0, None, None, 2.0, True, True, 5.0),
    # t2: bot handoff to the right skill, answered by tier1
    (2, "chat", "billing", "impatient", True, 212.0, False, "billing", 212.0, 232.0, "tier1", True, False, None,
     None, 532.0, "resolved", 2.0, 20.0, 300.0, 322.0, True, True, 4.0),
    # t3: bot mis-triage (bug → billing), tier1 transfers it to specialists
    (3, "chat", "bug", "calm", True, 303.0, False, "billing", 303.0, 403.0, "tier1", False, False, None, None,
     800.0, "resolved", 3.0, 137.0, 360.0, 500.0, False, True, 3.0),
    # t4: email, straight to specialists
    (4, "email", "bug", "impatient", True, None, None, "tech", 400.0, 700.0, "specialists", True, False, None,
     None, 1000.0, "resolved", 300.0, 300.0, 300.0, 600.0, True, True, 4.0),
    # t5: escalated with context lost; tier 2 still busy at the end
    (5, "email", "billing", "calm", True, None, None, "billing", 500.0, 520.0, "tier1", True, True, 60.0, True,
     None, "unserved", 20.0, 40.0, 300.0, None, False, True, None),
    # t6: bot handoff, abandons in the tier1 queue
    (6, "chat", "billing", "impatient", True, 601.0, False, "billing", 601.0, None, None, None, False, None,
     None, None, "abandoned", 1.0, None, None, None, False, False, 1.0),
    # t7: bot handoff, still waiting at the end
    (7, "chat", "bug", "calm", True, 1002.0, False, "tech", 1002.0, None, None, None, False, None, None,
     None, "unserved", 2.0, None, None, None, False, False, None),
    # t8: zero wait, resolved after the window end
    (8, "email", "billing", "calm", True, None, None, "billing", 1050.0, 1050.0, "tier1", True, False, None,
     None, 1200.0, "resolved", 0.0, 0.0, 150.0, 150.0, True, True, 5.0),
    # t9: arrives after the window (not measured), waits forever
    (9, "email", "billing", "calm", False, None, None, "billing", 1150.0, None, None, None, False, None, None,
     None, "unserved", None, None, None, None, False, False, None),
]
LEG_COLS = ["ticket", "leg", "queued", "dequeued", "start", "end", "pool", "load"]
LEG_ROWS = [
    (0, 1, 50.0, 110.0, 110.0, 150.0, "tier1", 0.5),
    (2, 1, 212.0, 232.0, 232.0, 532.0, "tier1", 0.5),
    (3, 1, 303.0, 403.0, 403.0, 463.0, "tier1", 0.5),
    (3, 2, 463.0, 500.0, 500.0, 800.0, "specialists", 1.0),
    (4, 1, 400.0, 700.0, 700.0, 1000.0, "specialists", 1.0),
    (5, 1, 500.0, 520.0, 520.0, 820.0, "tier1", 1.0),
    (5, 3, 880.0, 900.0, 900.0, None, "specialists", 1.0),
    (6, 1, 601.0, 661.0, None, None, "tier1", 0.5),
    (7, 1, 1002.0, None, None, None, "specialists", 1.0),
    (8, 1, 1050.0, 1050.0, 1050.0, 1200.0, "tier1", 1.0),
    (9, 1, 1150.0, None, None, None, "tier1", 1.0),
]
_BOOLS = ("measured", "contained", "right_skill", "escalated", "context_lost", "fcr", "sla_met")
_STRS = ("channel", "intent", "persona", "routed_skill", "pool", "outcome")
TICKET_SCHEMA = {c: pl.Int64 if c == "ticket" else pl.Boolean if c in _BOOLS else pl.String if c in _STRS
                 else pl.Float64 for c in TICKET_COLS}
LEG_SCHEMA = {"ticket": pl.Int64, "leg": pl.Int64, "queued": pl.Float64, "dequeued": pl.Float64,
              "start": pl.Float64, "end": pl.Float64, "pool": pl.String, "load": pl.Float64}


def frames(ticket_rows: list[tuple] = TICKET_ROWS,
           leg_rows: list[tuple] = LEG_ROWS) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tickets and legs tables of arm "control", replication 3."""
    ids = [pl.lit("control").alias("arm"), pl.lit(3, dtype=pl.Int64).alias("replication")]
    tickets = pl.DataFrame(ticket_rows, schema=TICKET_SCHEMA, orient="row").select(*ids, pl.all())
    legs = pl.DataFrame(leg_rows, schema=LEG_SCHEMA, orient="row").select(*ids, pl.all())
    return tickets, legs


def as_dict(table: pl.DataFrame, segment: str = "all", value: str = "") -> dict[str, float]:
    rows = table.filter((pl.col("segment") == segment) & (pl.col("segment_value") == value))
    return dict(zip(rows["metric"].to_list(), rows["value"].to_list(), strict=True))


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return compute(*frames(), SCENARIO, WINDOW)


# Every headline value, worked out by hand from the rows above (see the comments in the test).
HEADLINE = {
    "tickets": 8.0,
    "throughput": 18.0,  # t0, t1, t2, t3, t4 resolved in [100, 1100): 5 per 1000 s
    # first responses of t1..t8: [0, 1, 2, 2, 2, 3, 20, 300]
    "first_response.mean": 41.25, "first_response.p50": 2.0, "first_response.p90": 104.0,
    "first_response.p95": 202.0, "first_response.p99": 280.4,
    # waits of agent-answered t2, t3, t4, t5, t8: [0, 20, 40, 137, 300]
    "wait.mean": 99.4, "wait.p50": 40.0, "wait.p90": 234.8, "wait.p95": 267.4, "wait.p99": 293.48,
    # resolutions of t1, t2, t3, t4, t8: [2, 150, 322, 500, 600]
    "resolution.mean": 314.8, "resolution.p50": 322.0, "resolution.p90": 560.0, "resolution.p95": 580.0,
    # handles of t2, t3, t4, t5, t8: [150, 300, 300, 300, 360]
    "handle.mean": 282.0, "handle.p50": 300.0, "handle.p95": 348.0,
    "abandon_rate": 1 / 7,  # t6 among the 7 queued tickets t2..t8
    "sla_attainment": 0.75,  # t6 (abandoned) and t7 (unserved) missed
    "fcr_rate": 0.8,  # t3 transferred, among the 5 resolved
    "escalation_rate": 0.2,  # t5 among agent-answered t2, t3, t4, t5, t8
    "handoff.mean": 60.0, "handoff.p95": 60.0, "context_loss_rate": 1.0,
    "routing_accuracy": 0.8,  # t3 wrong
    "bot_containment_rate": 0.2,  # t1 among t1, t2, t3, t6, t7
    "bot_triage_accuracy": 0.75,  # t3 sent to billing, bug's skill is tech
    # tier1: t0 40·.5 + t2 300·.5 + t3 60·.5 + t5 300 + t8 50 (to the window end) = 550 of 2000
    # specialists: t3 300 + t4 300 + t5 tier-2 200 (null end → window end) = 800 of 1500
    "utilization": 1350 / 3500, "utilization.tier1": 0.275, "utilization.specialists": 800 / 1500,
    # waits inside the window: 10 (t0 from 100) + 20 + 100 + 37 + 300 + 20 + 20 + 60 + 98 (t7 from 1002) = 665
    "queue_length.mean": 0.665, "queue_length.max": 2.0,  # at 500 t3 leaves as t5 joins: still 2
    "csat.mean": 22 / 6,
}


def test_headline_values_by_hand(table: pl.DataFrame) -> None:
    got = as_dict(table)
    assert got.keys() == HEADLINE.keys()
    for name, expected in HEADLINE.items():
        assert got[name] == pytest.approx(expected, rel=1e-12, abs=1e-12), name


def test_schema_ids_and_row_order(table: pl.DataFrame) -> None:
    assert dict(table.schema) == SCHEMA
    assert table["arm"].unique().to_list() == ["control"]
    assert table["replication"].unique().to_list() == [3]
    head = table.filter(pl.col("segment") == "all")
    order = list(METRICS)
    i = order.index("utilization")
    order[i + 1:i + 1] = ["utilization.tier1", "utilization.specialists"]
    assert head["metric"].to_list() == order
    assert set(head["segment_value"].to_list()) == {""}
    assert table["segment"].unique(maintain_order=True).to_list() == ["all", *SEGMENTS]
    seg = table.filter(pl.col("segment") == "channel")
    assert seg["segment_value"].unique(maintain_order=True).to_list() == ["chat", "email", "phone"]
    assert seg.filter(pl.col("segment_value") == "chat")["metric"].to_list() == list(TICKET_METRICS)
    pools = table.filter(pl.col("segment") == "pool")["segment_value"].unique(maintain_order=True).to_list()
    assert pools == ["specialists", "tier1"]
    assert compute(*frames(), SCENARIO, WINDOW).equals(table)  # deterministic


def test_segments_by_hand(table: pl.DataFrame) -> None:
    chat, email = as_dict(table, "channel", "chat"), as_dict(table, "channel", "email")
    assert (chat["tickets"], email["tickets"]) == (5.0, 3.0)
    assert chat["abandon_rate"] == 0.25 and email["abandon_rate"] == 0.0
    assert chat["wait.mean"] == 78.5  # t2 20, t3 137
    assert email["sla_attainment"] == 1.0 and chat["sla_attainment"] == 0.6
    assert chat["bot_containment_rate"] == 0.2 and math.isnan(email["bot_containment_rate"])
    billing, bug = as_dict(table, "intent", "billing"), as_dict(table, "intent", "bug")
    assert (billing["tickets"], bug["tickets"]) == (5.0, 3.0)
    assert bug["routing_accuracy"] == 0.5 and billing["escalation_rate"] == pytest.approx(1 / 3)
    assert bug["bot_triage_accuracy"] == 0.5 and billing["bot_triage_accuracy"] == 1.0
    calm, impatient = as_dict(table, "persona", "calm"), as_dict(table, "persona", "impatient")
    assert impatient["csat.mean"] == 3.0 and calm["csat.mean"] == pytest.approx(13 / 3)
    # pool = first pool offered to: t6 (abandoned) and t7 (waiting) come from the legs; t1 has none
    tier1, spec = as_dict(table, "pool", "tier1"), as_dict(table, "pool", "specialists")
    assert (tier1["tickets"], spec["tickets"]) == (5.0, 2.0)
    assert tier1["abandon_rate"] == 0.2 and spec["abandon_rate"] == 0.0
    assert tier1["handle.mean"] == 277.5 and spec["wait.mean"] == 300.0


def test_empty_segment_value_is_zero_tickets_and_nan(table: pl.DataFrame) -> None:
    for segment, value in (("channel", "phone"), ("persona", "vip")):
        got = as_dict(table, segment, value)
        assert got["tickets"] == 0.0
        assert all(math.isnan(v) for k, v in got.items() if k != "tickets"), (segment, value)
    assert table["value"].null_count() == 0


@pytest.mark.parametrize("segment", ["channel", "intent", "persona"])
def test_segments_match_headline_of_the_subset(table: pl.DataFrame, segment: str) -> None:
    tickets, legs = frames()
    for value in tickets.filter(pl.col("measured"))[segment].unique().to_list():
        sub = compute(tickets.filter(pl.col(segment) == value), legs, SCENARIO, WINDOW)
        whole, part = as_dict(sub), as_dict(table, segment, value)
        for name in TICKET_METRICS:
            assert whole[name] == pytest.approx(part[name], nan_ok=True), (segment, value, name)


def test_no_bot_no_escalation_no_tickets_gives_nan_never_raises() -> None:
    keep = (0, 4, 8)  # no bot, no escalation
    tickets, legs = frames([r for r in TICKET_ROWS if r[0] in keep], [r for r in LEG_ROWS if r[0] in keep])
    got = as_dict(compute(tickets, legs, SCENARIO, WINDOW))
    undefined = ("bot_containment_rate", "bot_triage_accuracy", "handoff.mean", "handoff.p95", "context_loss_rate")
    for name in undefined:
        assert math.isnan(got[name]), name
    assert got["tickets"] == 2.0 and got["escalation_rate"] == 0.0

    empty = compute(*frames([], []), SCENARIO, WINDOW, arm="b", replication=1)
    got = as_dict(empty)
    assert empty["arm"].unique().to_list() == ["b"] and empty["replication"].unique().to_list() == [1]
    assert got["tickets"] == 0.0 and got["throughput"] == 0.0
    assert got["utilization"] == 0.0 and got["queue_length.mean"] == 0.0 and got["queue_length.max"] == 0.0
    assert all(math.isnan(got[n]) for n in TICKET_METRICS if n != "tickets")
    assert empty["value"].null_count() == 0

    degenerate = as_dict(compute(*frames(), SCENARIO, Window(500.0, 500.0)))
    for name in ("throughput", "utilization", "utilization.tier1", "queue_length.mean", "queue_length.max"):
        assert math.isnan(degenerate[name]), name


def test_nan_read_as_missing() -> None:
    tickets, legs = frames()
    a = compute(tickets, legs, SCENARIO, WINDOW)
    tickets = tickets.with_columns(pl.col("bot_reply", "handoff", "csat", "wait").fill_null(NAN))
    legs = legs.with_columns(pl.col("dequeued", "start", "end").fill_null(NAN))
    assert compute(tickets, legs, SCENARIO, WINDOW).equals(a)


def queue(intervals: list[tuple[float, float | None]], window: Window) -> tuple[float, float]:
    legs = pl.DataFrame({"ticket": range(len(intervals)), "leg": [1] * len(intervals),
                         "queued": [q for q, _ in intervals], "dequeued": [d for _, d in intervals],
                         "start": [None] * len(intervals), "end": [None] * len(intervals),
                         "pool": ["tier1"] * len(intervals), "load": [1.0] * len(intervals)},
                        schema=LEG_SCHEMA)
    got = as_dict(compute(frames([], [])[0], legs, SCENARIO, window, arm="a", replication=0))
    return got["queue_length.mean"], got["queue_length.max"]


def test_queue_length_step_function() -> None:
    # level 2 at the window start, then 1, then 0: max taken at the start; (30 + 40) / 80
    assert queue([(0.0, 50.0), (10.0, 60.0)], Window(20.0, 100.0)) == (0.875, 2.0)
    # ends exactly at the start / starts exactly at the end: outside the half-open window
    assert queue([(0.0, 20.0), (100.0, None)], Window(20.0, 100.0)) == (0.0, 0.0)
    # simultaneous leave + join nets to no change (max 1, not a transient 2); zero-length waits ignored
    assert queue([(30.0, 40.0), (40.0, 50.0), (45.0, 45.0)], Window(20.0, 100.0)) == (0.25, 1.0)
    # still waiting at the end runs to the window end; three overlapping
    assert queue([(30.0, None), (40.0, 60.0), (50.0, 70.0)], Window(20.0, 100.0)) == ((70 + 20 + 20) / 80, 3.0)


def test_utilization_with_shifts_across_days() -> None:
    # specialists: 1 agent on [0, 600) and 2 on [600, 86400), repeated daily; window spans midnight
    day = 86_400.0
    window = Window(day - 100.0, day + 700.0)  # 100·2 + 600·1 + 100·2 = 1000 agent-seconds
    legs = pl.DataFrame([(1, 1, day - 300.0, day - 200.0, day - 200.0, day + 300.0, "specialists", 1.0),
                         (2, 1, day, day, day, None, "specialists", 0.5)], schema=LEG_SCHEMA, orient="row")
    got = as_dict(compute(frames([], [])[0], legs, SCENARIO, window, arm="a", replication=0))
    assert got["utilization.specialists"] == pytest.approx((400 + 0.5 * 700) / 1000)
    assert got["utilization.tier1"] == 0.0
    assert got["utilization"] == pytest.approx(750 / (1000 + 2 * 800))


@pytest.mark.parametrize("sizes", [(1, 2, 0), (7, 50, 333)])
def test_quantiles_match_numpy_linear(sizes: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(sum(sizes))
    rows = []
    for channel, n in zip(("chat", "email", "phone"), sizes, strict=True):
        for w in rng.exponential(100.0, n).round(1):  # rounding makes ties
            rows.append((len(rows), channel, "billing", "calm", True, None, None, "billing", 0.0, float(w), "tier1",
                         True, False, None, None, float(w) + 5.0, "resolved", float(w), float(w), 5.0,
                         float(w) + 5.0, True, True, 3.0))
    table = compute(frames(rows, [])[0], frames([], [])[1], SCENARIO, WINDOW)
    waits = {c: np.array([r[18] for r in rows if r[1] == c]) for c in ("chat", "email", "phone")}
    waits[""] = np.array([r[18] for r in rows])
    for channel, values in waits.items():
        got = as_dict(table, "channel" if channel else "all", channel)
        for stat in ("p50", "p90", "p95", "p99"):
            expected = np.quantile(values, int(stat[1:]) / 100) if values.size else NAN
            assert got[f"wait.{stat}"] == pytest.approx(expected, rel=1e-12, nan_ok=True), (channel, stat)
        assert got["tickets"] == values.size


def long_table() -> pl.DataFrame:
    rows = []
    values = {"wait.mean": [40.0, 44.0, 39.0, 45.5], "tickets": [100.0, 100.0, 100.0, 100.0],
              "handoff.mean": [60.0, NAN, 70.0, 65.0]}
    for arm, shift in (("control", 0.0), ("variant", -5.0)):
        for rep in (3, 1, 0, 2):  # out of order on purpose
            for metric, vals in values.items():
                rows.append((arm, rep, "all", "", metric, vals[rep] + shift))
            rows.append((arm, rep, "channel", "chat", "wait.mean", 999.0))  # ignored
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def test_summarize_against_scipy() -> None:
    summary = summarize(long_table(), confidence=0.9)
    assert list(summary) == ["control", "variant"]
    assert list(summary["control"]) == ["wait.mean", "tickets", "handoff.mean"]
    w = summary["control"]["wait.mean"]
    vals = [40.0, 44.0, 39.0, 45.5]
    assert w["replications"] == vals
    assert w["mean"] == pytest.approx(np.mean(vals))
    lo, hi = stats.t.interval(0.9, 3, loc=np.mean(vals), scale=stats.sem(vals))
    assert w["ci"] == pytest.approx([lo, hi])
    assert summary["variant"]["wait.mean"]["replications"] == [v - 5 for v in vals]
    assert summary["control"]["tickets"] == {"mean": 100.0, "ci": [100.0, 100.0], "replications": [100.0] * 4}
    h = summary["control"]["handoff.mean"]
    assert h == {"mean": 65.0, "ci": None, "replications": [60.0, None, 70.0, 65.0]}
    assert all(type(v) is float for v in w["ci"] + w["replications"] + [w["mean"]])


def test_summarize_single_replication_and_real_tables() -> None:
    one = summarize(long_table().filter(pl.col("replication") == 2))
    assert one["control"]["wait.mean"] == {"mean": 39.0, "ci": None, "replications": [39.0]}
    one_rep = compute(*frames(), SCENARIO, WINDOW)
    both = pl.concat([one_rep, one_rep.with_columns(pl.lit(4, dtype=pl.Int64).alias("replication"))])
    s = summarize(both)["control"]
    assert s["utilization.tier1"] == {"mean": 0.275, "ci": [0.275, 0.275], "replications": [0.275, 0.275]}
    assert len(s) == len(METRICS) + 2


def test_check_expectations() -> None:
    arms = summarize(long_table())
    exps = [Expectation("wait.mean", max=50.0), Expectation("wait.mean", min=42.0, arm="variant"),
            Expectation("tickets", min=100.0, max=100.0), Expectation("handoff.mean", min=0.0, arm="nope"),
            Expectation("missing", min=0.0)]
    got = check_expectations(arms, exps)
    assert got == [
        {"metric": "wait.mean", "arm": "control", "max": 50.0, "value": 42.125, "met": True},
        {"metric": "wait.mean", "arm": "variant", "min": 42.0, "value": 37.125, "met": False},
        {"metric": "tickets", "arm": "control", "min": 100.0, "max": 100.0, "value": 100.0, "met": True},
        {"metric": "handoff.mean", "arm": "nope", "min": 0.0, "value": None, "met": False},
        {"metric": "missing", "arm": "control", "min": 0.0, "value": None, "met": False},
    ]
    # the summary.json shape {arm: {"metrics": {...}}} is accepted too
    assert check_expectations({a: {"metrics": m} for a, m in arms.items()}, exps) == got


def test_million_tickets_is_fast() -> None:
    n = 1_000_000
    rng = np.random.default_rng(7)
    arrival = np.sort(rng.uniform(0.0, 36_000.0, n))
    wait = rng.exponential(30.0, n)
    handle = rng.exponential(300.0, n)
    abandoned = rng.random(n) < 0.05
    contained = rng.random(n) < 0.2
    queued = np.where(contained, np.nan, arrival + 2.0)
    start = np.where(abandoned | contained, np.nan, queued + wait)
    end = start + handle
    channel = np.array(["chat", "email", "phone"])[rng.integers(0, 3, n)]
    tickets = pl.DataFrame({
        "arm": "control", "replication": 0, "ticket": np.arange(n), "channel": channel,
        "intent": np.array(["billing", "bug"])[rng.integers(0, 2, n)],
        "persona": np.array(["calm", "impatient", "vip"])[rng.integers(0, 3, n)],
        "measured": arrival >= 1800.0, "bot_reply": arrival + 2.0, "contained": contained,
        "routed_skill": np.where(contained, None, "billing"), "queued": queued, "start": start,
        "pool": np.where(np.isnan(start), None, "tier1"), "right_skill": rng.random(n) < 0.9,
        "escalated": rng.random(n) < 0.1, "handoff": rng.exponential(60.0, n), "context_lost": rng.random(n) < 0.2,
        "resolved_at": np.where(abandoned & ~contained, np.nan, np.where(contained, arrival + 2.0, end)),
        "outcome": np.where(contained, "bot", np.where(abandoned, "abandoned", "resolved")),
        "first_response": np.full(n, 2.0), "wait": np.where(np.isnan(start), np.nan, wait),
        "handle": np.where(np.isnan(start), np.nan, handle), "resolution": rng.exponential(400.0, n),
        "fcr": rng.random(n) < 0.8, "sla_met": rng.random(n) < 0.8, "csat": rng.uniform(1.0, 5.0, n),
    })
    leg_rows = ~contained
    legs = pl.DataFrame({
        "arm": "control", "replication": 0, "ticket": np.arange(n)[leg_rows], "leg": 1,
        "queued": queued[leg_rows], "dequeued": np.where(abandoned, queued + wait, start)[leg_rows],
        "start": start[leg_rows], "end": end[leg_rows], "pool": "tier1", "load": 0.5,
    })
    began = time.perf_counter()
    out = compute(tickets, legs, SCENARIO, Window(1800.0, 36_000.0))
    elapsed = time.perf_counter() - began
    assert elapsed < 5.0, elapsed
    got = as_dict(out)
    assert got["tickets"] == pytest.approx(n * (1 - 1800 / 36_000), rel=0.01)
    assert got["bot_containment_rate"] == pytest.approx(0.2, abs=0.005)
    assert got["abandon_rate"] == pytest.approx(0.05, abs=0.002)


def test_relative_expectations() -> None:
    arms = summarize(long_table())  # wait.mean: control 42.125, variant 37.125
    got = check_expectations(arms, [Expectation("wait.mean", within=0.15, of="control", arm="variant"),
                                    Expectation("wait.mean", within=0.1, of="control", arm="variant"),
                                    Expectation("wait.mean", within=0.5, of="nope")])
    assert got == [
        {"metric": "wait.mean", "arm": "variant", "within": 0.15, "of": "control", "reference": 42.125,
         "value": 37.125, "met": True},  # |37.125 - 42.125| = 5 <= 6.32
        {"metric": "wait.mean", "arm": "variant", "within": 0.1, "of": "control", "reference": 42.125,
         "value": 37.125, "met": False},  # 5 > 4.21
        {"metric": "wait.mean", "arm": "control", "within": 0.5, "of": "nope", "reference": None,
         "value": 42.125, "met": False},
    ]
