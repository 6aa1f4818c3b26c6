"""The canonical metric names of DESIGN.md §3: unit, and which direction is better.

Used to validate metric names in experiment files (objective, guardrails, expectations) and, later,
by ``diff`` to know whether a move is a regression.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    name: str
    #: "seconds", "ratio" (0..1), "count", "per_hour", "score" (1..5), "length"
    unit: str
    #: "lower" or "higher" is better
    better: str
    description: str


def _family(prefix: str, stats: tuple[str, ...], unit: str, better: str, what: str) -> list[MetricInfo]:
    return [MetricInfo(f"{prefix}.{s}", unit, better, f"{what} ({s})") for s in stats]


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in [
        MetricInfo("tickets", "count", "higher", "tickets measured"),
        MetricInfo("throughput", "per_hour", "higher", "tickets resolved per hour"),
        *_family("first_response", ("mean", "p50", "p90", "p95", "p99"), "seconds", "lower",
                 "arrival to the first reply (bot or agent)"),
        *_family("wait", ("mean", "p50", "p90", "p95", "p99"), "seconds", "lower",
                 "time in agent queues of tickets answered by an agent"),
        *_family("resolution", ("mean", "p50", "p90", "p95"), "seconds", "lower", "arrival to resolution"),
        *_family("handle", ("mean", "p50", "p95"), "seconds", "lower", "agent handling time"),
        MetricInfo("abandon_rate", "ratio", "lower", "abandoned / tickets offered to agents"),
        MetricInfo("sla_attainment", "ratio", "higher", "share of tickets answered within the channel SLA"),
        MetricInfo("fcr_rate", "ratio", "higher", "share of resolved tickets resolved on first contact"),
        MetricInfo("escalation_rate", "ratio", "lower", "share of agent-handled tickets escalated"),
        *_family("handoff", ("mean", "p95"), "seconds", "lower", "escalation handoff latency"),
        MetricInfo("context_loss_rate", "ratio", "lower", "share of escalations that lost context"),
        MetricInfo("routing_accuracy", "ratio", "higher",
                   "share of agent-handled tickets first routed to a pool with the right skill"),
        MetricInfo("bot_containment_rate", "ratio", "higher", "share of bot-handled tickets the bot resolved"),
        MetricInfo("bot_triage_accuracy", "ratio", "higher", "share of bot handoffs routed to the right skill"),
        MetricInfo("utilization", "ratio", "higher", "busy share of agent capacity"),
        MetricInfo("queue_length.mean", "length", "lower", "time-average agent-queue length"),
        MetricInfo("queue_length.max", "length", "lower", "maximum agent-queue length"),
        MetricInfo("csat.mean", "score", "higher", "modelled satisfaction, 1-5"),
    ]
}


#: the control-arm metrics a run entry keeps and a probe checks (each adds the objective's and guardrails')
HEADLINE = ("first_response.p95", "wait.mean", "abandon_rate", "sla_attainment", "utilization", "csat.mean")


def metric_info(name: str, pools: tuple[str, ...] = ()) -> MetricInfo | None:
    """The info of a canonical metric name, including ``utilization.<pool>`` for known pools."""
    if name in METRICS:
        return METRICS[name]
    if name.startswith("utilization.") and name.split(".", 1)[1] in pools:
        return MetricInfo(name, "ratio", "higher", f"busy share of pool {name.split('.', 1)[1]}")
    return None


def is_time_metric(name: str) -> bool:
    info = METRICS.get(name)
    return info is not None and info.unit == "seconds"
