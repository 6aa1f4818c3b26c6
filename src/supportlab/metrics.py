"""Metrics of one arm × replication, summaries across replications, and expectation checks.

:func:`compute` turns the tickets and legs tables of ONE arm × replication (see
``docs/ARCHITECTURE.md``) into a long table ``arm, replication, segment, segment_value, metric, value``.
Headline rows have ``segment = "all"`` and ``segment_value = ""``; drill-down rows have ``segment`` in
:data:`SEGMENTS`.

Conventions (DESIGN.md §3 names; times in seconds):

* Only tickets with ``measured == true`` count, except ``throughput``, ``utilization*`` and
  ``queue_length.*``, which measure the system over the window whatever the ticket's arrival time.
* Quantiles ``pNN`` use linear interpolation between order statistics (numpy's default method,
  polars ``interpolation="linear"``): ``p50`` of ``[1, 2, 3, 4]`` is 2.5.
* An undefined value (empty set: no bot, no escalation, no ticket in a segment, an empty window, no
  staffing) is NaN, never null, and never raises. ``tickets`` of an empty set is 0.
* Booleans that are null count as false (e.g. ``sla_met`` of an abandoned ticket).

Ticket-level definitions (the same function is applied to the whole table and to each segment):

* ``tickets``: measured tickets.
* ``first_response.*``: over tickets with a first reply (bot or agent).
* ``wait.*``: over tickets answered by an agent (non-null ``wait``, zeros included).
* ``resolution.*``: over resolved tickets (``outcome`` ``bot`` or ``resolved``).
* ``handle.*``: over tickets with a non-null ``handle``.
* ``abandon_rate``: share of ``outcome == "abandoned"`` among tickets offered to agents (``queued`` set).
* ``sla_attainment``: mean of ``sla_met`` over all measured tickets (abandoned/unserved = missed).
* ``fcr_rate``: share of ``fcr`` among resolved tickets.
* ``escalation_rate``: share of ``escalated`` among tickets answered by an agent (``start`` set);
  ``handoff.*`` and ``context_loss_rate`` over escalated tickets.
* ``routing_accuracy``: share of ``right_skill`` among tickets answered by an agent.
* ``bot_containment_rate``: share of ``contained`` among tickets that met the bot (``bot_reply`` set).
* ``bot_triage_accuracy``: among bot handoffs (met the bot, not contained), share whose
  ``routed_skill`` equals the intent's skill (``Intent.skill``; an unknown intent's skill is its name).
* ``csat.mean``: over tickets with a csat.

Window-level definitions (headline only), on the window ``[start, end)``:

* ``throughput``: tickets (measured or not) with ``resolved_at`` in the window, per hour of window.
* ``utilization.<pool>``: Σ over the pool's legs of ``load × |[start, end] ∩ window|`` (a leg without
  ``start`` is an abandoned wait and counts nothing; a null ``end`` runs to the window end; a null
  ``load`` counts as 1) divided by :func:`supportlab.staffing.staffed_seconds` of the pool.
  ``utilization``: the same sums over every pool of the scenario.
* ``queue_length.mean``: the exact time-average over the window of the number of legs waiting, each
  leg waiting on ``[queued, dequeued)`` (null ``dequeued`` = still waiting, to +inf);
  ``queue_length.max``: the largest level on ``[start, end)``, the level at ``start`` included. Changes
  at the same instant are netted first, so a zero-length wait never counts.

Window metrics are NaN when the window is empty (``end <= start``) and utilisation also when the
pool has no staffed time; otherwise no legs simply give 0.

Segments: ``channel``, ``intent``, ``persona`` and ``pool``, the latter being the first pool a ticket
was offered to (the ticket's ``pool``, i.e. its first agent answer, else for tickets never answered
the pool of their lowest-numbered leg, so abandoned and waiting tickets count where they queued;
tickets never offered to a pool, e.g. contained by the bot, are in no pool segment). Every
ticket-level metric is given per segment value; the values are those of the scenario plus any
others seen, sorted, so every arm × replication has the same rows (a value without tickets has
``tickets = 0`` and NaN elsewhere).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from supportlab.catalog import METRICS
from supportlab.errors import UsageError
from supportlab.model import Expectation, Scenario
from supportlab.staffing import staffed_seconds

NAN = float("nan")
#: the drill-down segments, in output order
SEGMENTS: tuple[str, ...] = ("channel", "intent", "persona", "pool")
#: quantile interpolation used for every ``pNN`` (numpy's default)
QUANTILE_METHOD = "linear"
#: metrics that describe the system over the window rather than tickets (headline only)
WINDOW_METRICS: tuple[str, ...] = ("throughput", "utilization", "queue_length.mean", "queue_length.max")
#: metrics computed per ticket set: on the whole table and on every segment value
TICKET_METRICS: tuple[str, ...] = tuple(n for n in METRICS if n not in WINDOW_METRICS)

SCHEMA: dict[str, Any] = {
    "arm": pl.String,
    "replication": pl.Int64,
    "segment": pl.String,
    "segment_value": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
}

_TICKET_FLOATS = ("arrival", "bot_reply", "queued", "start", "handoff", "resolved_at", "first_response",
                  "wait", "handle", "resolution", "csat")
_LEG_FLOATS = ("queued", "dequeued", "start", "end", "load")
_FIRST_POOL = "_first_pool"
_SORTED = "_sorted_"
_ALL = "_all"


@dataclass(frozen=True)
class Window:
    """The measurement window ``[start, end)``: warmup .. end of arrivals, in seconds."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


# ---------------------------------------------------------------------------------------------------
# ticket-level metrics: one set of expressions, grouped by a constant (headline) or by a segment key


def _ticket_columns(skill: pl.Expr, routed_skill: pl.Expr) -> list[pl.Expr]:
    """One column per ticket metric source, null outside the metric's set of tickets.

    Shares are Boolean columns (a bit per ticket, not eight bytes): their mean is the share.

    Aggregating these with null-skipping counts, means and quantiles gives every ticket metric, the same
    way for the whole table and for each segment group (and much faster than per-group filters).
    """
    agent = pl.col("start").is_not_null()
    resolved = pl.col("outcome").is_in(["bot", "resolved"]).fill_null(False)
    escalated = pl.col("escalated").fill_null(False)
    met_bot = pl.col("bot_reply").is_not_null()
    contained = pl.col("contained").fill_null(False)

    def among(cond: pl.Expr, value: pl.Expr, name: str) -> pl.Expr:
        return pl.when(cond).then(value).alias(name)

    def flag(col: str | pl.Expr) -> pl.Expr:
        return (pl.col(col) if isinstance(col, str) else col).fill_null(False)

    return [
        pl.col("first_response").cast(pl.Float64).alias("first_response"),
        pl.col("wait").cast(pl.Float64).alias("wait"),
        among(resolved, pl.col("resolution").cast(pl.Float64), "resolution"),
        pl.col("handle").cast(pl.Float64).alias("handle"),
        among(pl.col("queued").is_not_null(), flag(pl.col("outcome") == "abandoned"), "abandon_rate"),
        flag("sla_met").alias("sla_attainment"),
        among(resolved, flag("fcr"), "fcr_rate"),
        among(agent, escalated, "escalation_rate"),
        among(escalated, pl.col("handoff").cast(pl.Float64), "handoff"),
        among(escalated, flag("context_lost"), "context_loss_rate"),
        among(agent, flag("right_skill"), "routing_accuracy"),
        among(met_bot, contained, "bot_containment_rate"),
        among(met_bot & ~contained, flag(routed_skill == skill), "bot_triage_accuracy"),
        pl.col("csat").cast(pl.Float64).alias("csat"),
    ]


def _quantile_of_sorted(values: pl.Expr, q: float) -> pl.Expr:
    """Linear-interpolation quantile (numpy's default) of a sorted list column; null when empty."""
    n = values.list.len().cast(pl.Float64)
    pos = (n - 1.0) * q
    lo = pos.floor()
    a = values.list.get(lo.cast(pl.Int64), null_on_oob=True)
    b = values.list.get(pos.ceil().cast(pl.Int64), null_on_oob=True)
    return pl.when(n > 0).then(a + (b - a) * (pos - lo))


def _ticket_aggs() -> tuple[list[pl.Expr], list[pl.Expr]]:
    """(aggregations, then per-group projections) giving :data:`TICKET_METRICS` over :func:`_ticket_columns`.

    Counts and means are plain aggregations. For quantiles each family's non-null values are sorted
    once per group into a list and every ``pNN`` is read from it: several times faster than one
    polars ``quantile`` aggregation per statistic, and numpy's linear method (up to rounding).
    """
    aggs: list[pl.Expr] = []
    post: list[pl.Expr] = []
    sorted_families: set[str] = set()
    for name in TICKET_METRICS:
        if name == "tickets":
            aggs.append(pl.len().cast(pl.Float64).alias(name))
        elif "." not in name:  # a share: the mean of a 0/1 column
            aggs.append(pl.col(name).mean().alias(name))
        else:
            prefix, stat = name.split(".", 1)
            if stat == "mean":
                aggs.append(pl.col(prefix).mean().alias(name))
                continue
            if prefix not in sorted_families:
                sorted_families.add(prefix)
                aggs.append(pl.col(prefix).drop_nulls().sort().alias(_SORTED + prefix))
            post.append(_quantile_of_sorted(pl.col(_SORTED + prefix), int(stat[1:]) / 100).alias(name))
    return aggs, post


def _nan_to_null(frame: pl.DataFrame, cols: Iterable[str]) -> pl.DataFrame:
    """Float columns with NaN read as null (producers may use either for "missing")."""
    present = [c for c in cols if c in frame.columns and frame.schema[c].is_float()]
    return frame.with_columns(pl.col(c).fill_nan(None) for c in present) if present else frame


def _prepare_tickets(tickets: pl.DataFrame, legs: pl.DataFrame, scenario: Scenario,
                     extra: Iterable[str] = ()) -> pl.DataFrame:
    """Measured tickets reduced to the segment keys and the :func:`_ticket_columns`.

    The ``pool`` key is the first pool the ticket was offered to: its ``pool`` (first agent answer),
    else, for tickets never answered, the pool of its lowest-numbered leg.
    """
    skills = {i.name: i.skill for i in scenario.workload.intents}
    # lazily: only the columns the metrics read are filtered and materialised; the segment keys keep
    # their type (names are compared as strings only for the bot triage check)
    floats = [c for c in _TICKET_FLOATS if c in tickets.columns and tickets.schema[c].is_float()]
    lf = tickets.lazy().filter(pl.col("measured").fill_null(False)).with_columns(pl.col(floats).fill_nan(None))
    intent = pl.col("intent").cast(pl.String)
    skill = intent.replace_strict(skills, default=intent, return_dtype=pl.String)
    m = lf.select(
        "ticket", "channel", "intent", "persona", "pool", *extra,
        *_ticket_columns(skill, pl.col("routed_skill").cast(pl.String)),
    ).collect()  # fmt: skip
    unanswered = m.filter(pl.col("pool").is_null())["ticket"]
    if legs.height and unanswered.len():
        first = (
            legs.filter(pl.col("ticket").is_in(unanswered.implode()) & pl.col("pool").is_not_null())
            .sort("ticket", "leg")
            .unique("ticket", keep="first", maintain_order=True)
            .select("ticket", pl.col("pool").cast(pl.String).alias(_FIRST_POOL))
        )
        m = m.join(first, on="ticket", how="left", maintain_order="left")
        m = m.with_columns(pl.coalesce("pool", _FIRST_POOL).alias("pool")).drop(_FIRST_POOL)
    return m


def _single_value(m: pl.DataFrame, key: str) -> str | None:
    """The key's value when every row has that one (non-null) value, else None."""
    if m.height == 0:
        return None
    col = m[key]
    if col.null_count() or col.n_unique() != 1:
        return None
    return str(col[0])


def _group_metrics(m: pl.DataFrame, key: str, known: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """(sorted key values, values × :data:`TICKET_METRICS` matrix) of the ticket metrics per key value.

    Key values in ``known`` without tickets get ``tickets = 0`` and NaN elsewhere; null keys are dropped.
    """
    aggs, post = _ticket_aggs()
    wide = m.filter(pl.col(key).is_not_null()).group_by(key).agg(aggs).with_columns(post)
    wide = wide.with_columns(pl.col(key).cast(pl.String))
    values = sorted(set(known) | set(wide[key].to_list()))
    full = pl.DataFrame({key: values}, schema={key: pl.String}).join(wide, on=key, how="left")
    full = full.with_columns(pl.col("tickets").fill_null(0.0))
    return values, full.select(pl.col(list(TICKET_METRICS)).cast(pl.Float64).fill_null(NAN)).to_numpy()


def _headline_metrics(m: pl.DataFrame) -> np.ndarray:
    """The 1 × :data:`TICKET_METRICS` matrix of the whole table.

    The same numbers as :func:`_group_metrics` over one constant key, with the quantiles taken by
    numpy (linear interpolation, O(n) selection) instead of a sort per family: the headline is
    computed on every run, often over a million tickets.
    """
    aggs = [a for a in _ticket_aggs()[0] if not a.meta.output_name().startswith(_SORTED)]
    row: dict[str, Any] = m.select(aggs).row(0, named=True)
    families: dict[str, list[str]] = {}
    for name in TICKET_METRICS:
        if name not in row:
            families.setdefault(name.split(".", 1)[0], []).append(name)
    for prefix, names in families.items():
        data = m[prefix].drop_nulls().cast(pl.Float64).to_numpy()
        qs = [int(n.split(".", 1)[1][1:]) / 100 for n in names]
        found = np.quantile(data, qs).tolist() if data.size else [None] * len(qs)
        row.update(zip(names, found, strict=True))
    return np.asarray([[NAN if row[n] is None else float(row[n]) for n in TICKET_METRICS]], dtype=np.float64)


# ---------------------------------------------------------------------------------------------------
# window-level metrics


def _busy_seconds(legs: pl.DataFrame, window: Window) -> dict[str, float]:
    """Load-weighted agent-seconds busy inside the window, per pool."""
    if legs.height == 0:
        return {}
    lo = pl.max_horizontal(pl.col("start"), pl.lit(window.start))
    hi = pl.min_horizontal(pl.col("end").fill_null(window.end), pl.lit(window.end))
    busy = ((hi - lo).clip(lower_bound=0.0) * pl.col("load").fill_null(1.0)).sum()
    per_pool = (
        legs.filter(pl.col("start").is_not_null() & pl.col("pool").is_not_null())
        .group_by(pl.col("pool").cast(pl.String))
        .agg(busy.alias("busy"))
    )
    return dict(zip(per_pool["pool"].to_list(), per_pool["busy"].to_list(), strict=True))


def _utilization(legs: pl.DataFrame, scenario: Scenario, window: Window) -> list[tuple[str, float]]:
    """``utilization`` then ``utilization.<pool>`` in scenario pool order."""
    busy = _busy_seconds(legs, window)
    pools = scenario.system.pools
    staffed = [staffed_seconds(p, window.start, window.end) if window.length > 0 else 0.0 for p in pools]
    used = [busy.get(p.name, 0.0) for p in pools]

    def ratio(num: float, den: float) -> float:
        return num / den if den > 0 else NAN

    rows = [("utilization", ratio(sum(used), sum(staffed)))]
    rows += [(f"utilization.{p.name}", ratio(u, s)) for p, u, s in zip(pools, used, staffed, strict=True)]
    return rows


def _queue_length(legs: pl.DataFrame, window: Window) -> tuple[float, float]:
    """(time-average, maximum) number of legs waiting in agent queues over the window."""
    a, b = window.start, window.end
    if not b > a:
        return NAN, NAN
    if legs.height == 0:
        return 0.0, 0.0
    w = legs.select(
        pl.col("queued").cast(pl.Float64).fill_nan(None),
        pl.col("dequeued").cast(pl.Float64).fill_nan(None).fill_null(math.inf),
    ).drop_nulls("queued")
    q = np.clip(w["queued"].to_numpy(), a, b)
    d = np.clip(w["dequeued"].to_numpy(), a, b)
    keep = d > q  # waits outside the window, and zero-length waits, change nothing
    times = np.concatenate([q[keep], d[keep]])
    if times.size == 0:
        return 0.0, 0.0
    n = int(keep.sum())
    deltas = np.concatenate([np.ones(n, dtype=np.int64), -np.ones(n, dtype=np.int64)])
    order = np.argsort(times)  # ties need no order: levels are read after the last change of an instant
    t = times[order]
    level = np.cumsum(deltas[order])
    last = np.empty(t.size, dtype=bool)  # the last change at each instant: its level holds until the next
    last[:-1] = t[1:] != t[:-1]
    last[-1] = True
    t, level = t[last], level[last]
    widths = np.diff(t, append=b)
    return float(np.dot(level, widths)) / (b - a), float(max(int(level.max()), 0))


def _throughput(tickets: pl.DataFrame, window: Window) -> float:
    """Resolutions inside the window (any ticket) per hour of window."""
    if not window.length > 0:
        return NAN
    done = tickets.select(
        pl.col("resolved_at").is_between(window.start, window.end, closed="left").fill_null(False).sum()
    ).item()
    return float(done) / (window.length / 3600.0)


# ---------------------------------------------------------------------------------------------------
# public API


def _ids(tickets: pl.DataFrame, legs: pl.DataFrame) -> tuple[str, int]:
    for frame in (tickets, legs):
        if frame.height and "arm" in frame.columns and "replication" in frame.columns:
            return str(frame["arm"][0]), int(frame["replication"][0])
    return "", 0


def compute(tickets: pl.DataFrame, legs: pl.DataFrame, scenario: Scenario, window: Window, *,
            arm: str | None = None, replication: int | None = None,
            extra_segments: Mapping[str, list[str]] | None = None) -> pl.DataFrame:
    """The metrics of one arm × replication as a long table (see the module docstring).

    ``arm`` and ``replication`` are copied from the frames (first row); pass them explicitly when
    both frames may be empty. Rows: the headline (``segment == "all"``) in catalog order with
    ``utilization.<pool>`` after ``utilization`` (scenario pool order), then each segment of
    :data:`SEGMENTS` with its values sorted and, per value, :data:`TICKET_METRICS` in catalog order,
    then the ``extra_segments`` (replayed columns of the tickets table: name → every value) likewise.
    """
    extra_segments = dict(extra_segments or {})
    found_arm, found_rep = _ids(tickets, legs)
    arm = found_arm if arm is None else arm
    replication = found_rep if replication is None else replication
    legs = _nan_to_null(legs, _LEG_FLOATS)
    m = _prepare_tickets(tickets, legs, scenario, list(extra_segments))

    head_table = _headline_metrics(m)
    head = dict(zip(TICKET_METRICS, head_table[0].tolist(), strict=True))
    window_values: dict[str, float] = {"throughput": _throughput(_nan_to_null(tickets, ("resolved_at",)), window)}
    util = _utilization(legs, scenario, window)
    window_values["queue_length.mean"], window_values["queue_length.max"] = _queue_length(legs, window)
    metrics: list[str] = []
    values: list[float] = []
    for name in METRICS:
        if name == "utilization":
            metrics += [n for n, _ in util]
            values += [v for _, v in util]
        else:
            metrics.append(name)
            v = window_values[name] if name in window_values else head[name]
            values.append(NAN if v is None else float(v))
    segments = ["all"] * len(metrics)
    seg_values = [""] * len(metrics)
    value_arr = [np.asarray(values, dtype=np.float64)]

    w = scenario.workload
    known = {
        "channel": [c.name for c in w.channels],
        "intent": [i.name for i in w.intents],
        "persona": [p.name for p in w.personas],
        "pool": [p.name for p in scenario.system.pools],
        **extra_segments,
    }
    for segment in (*SEGMENTS, *extra_segments):
        only = _single_value(m, segment)
        if only is not None and set(known[segment]) <= {only}:
            # every measured ticket has the same value: the segment's metrics are the headline's
            keys, table = [only], head_table
        else:
            keys, table = _group_metrics(m, segment, known[segment])
        segments += [segment] * table.size
        seg_values += [k for k in keys for _ in TICKET_METRICS]
        metrics += list(TICKET_METRICS) * len(keys)
        value_arr.append(table.reshape(-1))

    n = len(metrics)
    return pl.DataFrame(
        {
            "arm": [arm] * n,
            "replication": [replication] * n,
            "segment": segments,
            "segment_value": seg_values,
            "metric": metrics,
            "value": np.concatenate(value_arr),
        },
        schema=SCHEMA,
    )


def _json_float(x: float | None) -> float | None:
    """``x`` as a Python float, or None when missing or not finite (JSON has no NaN)."""
    return float(x) if x is not None and math.isfinite(x) else None


def _ci(values: list[float], confidence: float) -> list[float] | None:
    """Student-t interval of the mean across replications; None for n < 2 or any undefined value."""
    if len(values) < 2 or not all(math.isfinite(v) for v in values):
        return None
    arr = np.asarray(values, dtype=np.float64)
    if np.all(arr == arr[0]):
        return [float(arr[0]), float(arr[0])]
    mean = float(arr.mean())
    sem = float(arr.std(ddof=1)) / math.sqrt(arr.size)
    from scipy import special  # the Student-t quantile; scipy.stats itself is slow to import

    half = float(special.stdtrit(arr.size - 1, 0.5 + confidence / 2)) * sem
    return [mean - half, mean + half]


def summarize(metrics: pl.DataFrame, confidence: float = 0.95) -> dict[str, dict[str, dict[str, Any]]]:
    """Per arm and headline metric: mean, Student-t confidence interval and per-replication values.

    Returns ``{arm: {metric: {"mean": m, "ci": [lo, hi] | None, "replications": [v_r0, v_r1, ...]}}}``
    from the ``segment == "all"`` rows (all rows if the table has no ``segment`` column). Arms and
    metrics keep their order of first appearance; replications are ordered by replication index.
    ``mean`` is the mean of the defined (finite) replication values, None when there are none;
    ``ci`` is None with fewer than 2 replications or when any replication is undefined, and
    ``[m, m]`` when all values are equal. Non-finite floats become None (JSON-ready).
    """
    if not 0.0 < confidence < 1.0:
        raise UsageError(f"confidence: {confidence!r}, expected a number strictly between 0 and 1")
    if "segment" in metrics.columns:
        metrics = metrics.filter(pl.col("segment") == "all")
    cols = ["arm", "replication", "metric", "value"]
    rows = metrics.select(cols).with_columns(pl.col("value").cast(pl.Float64).fill_null(NAN))
    collected: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for arm, rep, metric, value in rows.iter_rows():
        collected.setdefault(arm, {}).setdefault(metric, []).append((int(rep), float(value)))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for arm, per_metric in collected.items():
        out[arm] = {}
        for metric, pairs in per_metric.items():
            vals = [v for _, v in sorted(pairs, key=lambda p: p[0])]
            finite = [v for v in vals if math.isfinite(v)]
            ci = _ci(vals, confidence)
            mean: float | None = None
            if finite:  # equal values give that value exactly, not a rounded np.mean
                mean = finite[0] if all(v == finite[0] for v in finite) else float(np.mean(finite))
            out[arm][metric] = {
                "mean": _json_float(mean),
                "ci": ci,
                "replications": [_json_float(v) for v in vals],
            }
    return out


def check_expectations(
    summary_arms: Mapping[str, Any], expectations: Iterable[Expectation]
) -> list[dict[str, Any]]:
    """Judge ``[expect]`` ranges against the arm means of :func:`summarize`.

    ``summary_arms`` is ``{arm: {metric: {"mean": ...}}}`` (the output of :func:`summarize`) or the
    ``summary.json`` shape ``{arm: {"metrics": {metric: {...}}}}``. Each item is
    ``{"metric", "arm", "min"?, "max"?, "value", "met"}`` (bounds only when set); ``value`` is the
    arm mean (None when the arm or metric is missing or undefined, and then ``met`` is False);
    bounds are inclusive. A relative expectation gives ``{"metric", "arm", "within", "of", "reference",
    "value", "met"}``: met when ``|value - reference| <= within × |reference|`` (``reference`` is the mean
    of arm ``of``).
    """

    def mean(arm: str, metric: str) -> float | None:
        arm_entry = summary_arms.get(arm) or {}
        if isinstance(arm_entry.get("metrics"), Mapping):
            arm_entry = arm_entry["metrics"]
        stat = arm_entry.get(metric)
        return _json_float(stat.get("mean")) if isinstance(stat, Mapping) else None

    out: list[dict[str, Any]] = []
    for exp in expectations:
        value = mean(exp.arm, exp.metric)
        item: dict[str, Any] = {"metric": exp.metric, "arm": exp.arm}
        if exp.within is not None and exp.of is not None:
            ref = mean(exp.of, exp.metric)
            item.update(within=exp.within, of=exp.of, reference=ref, value=value,
                        met=value is not None and ref is not None and abs(value - ref) <= exp.within * abs(ref))
            out.append(item)
            continue
        if exp.min is not None:
            item["min"] = exp.min
        if exp.max is not None:
            item["max"] = exp.max
        met = value is not None and (exp.min is None or value >= exp.min) and (exp.max is None or value <= exp.max)
        item["value"] = value
        item["met"] = met
        out.append(item)
    return out
