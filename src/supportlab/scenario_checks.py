"""Validate and build the part of an experiment that an arm simulates: ``[workload]`` and ``[system]``.

Used for the control and, on each variant's overridden copy, for every variant arm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from supportlab import model, schema
from supportlab.checks import NON_NEGATIVE, POSITIVE, PROBABILITY, SENTIMENT, SHARE, Checker, Loc
from supportlab.staffing import DAY
from supportlab.units import show, type_name

ZEROS = (0.0,) * 24


@dataclass(frozen=True)
class ParsedWorkload:
    """The workload and what the system checks need from it (None: unknown because the part is broken)."""

    workload: model.Workload
    channels: list[str] | None
    intents: list[tuple[model.Intent, Loc]] | None

    def intent_names(self) -> list[str] | None:
        return None if self.intents is None else [i.name for i, _ in self.intents]


def scenario(c: Checker, root: dict[str, Any]) -> model.Scenario:
    """The scenario of a document (placeholders where ``c`` recorded problems)."""
    parsed = workload(c, root.get("workload"), Loc(("workload",)))
    return model.Scenario(parsed.workload, system(c, root.get("system"), Loc(("system",)), parsed))


# ---------------------------------------------------------------------------------------------
# [workload]


def workload(c: Checker, node: Any, loc: Loc) -> ParsedWorkload:
    broken = ParsedWorkload(model.Workload("generate", (), ()), None, None)
    if not isinstance(node, dict):
        c.table(node, loc)
        return broken
    kind = _kind(c, node.get("kind"), loc.key("kind"))
    if kind == "replay":
        from supportlab.replay_checks import workload as replay_workload

        return replay_workload(c, node, loc)
    if not kind:
        return broken
    t = c.table(node, loc, schema.WORKLOAD) or {}
    if "replay" in t:
        c.add(loc.key("replay"), 'a [workload.replay] table with kind = "generate"',
              'kind = "replay" to replay a log, or no [workload.replay] table')
    channel_items = c.named_tables(t.get("channels"), loc.key("channels"), schema.CHANNEL,
                                   "at least one [[workload.channels]] table")
    channels = [_channel(c, ct, cloc, name) for ct, cloc, name in channel_items]
    channel_names = _names(t.get("channels"), channel_items)
    intent_items = c.named_tables(t.get("intents"), loc.key("intents"), schema.INTENT,
                                  "at least one [[workload.intents]] table")
    intents = [(_intent(c, it, iloc, name), iloc) for it, iloc, name in intent_items]
    _check_shares(c, intent_items)
    personas: tuple[model.Persona, ...] = (model.DEFAULT_PERSONA,)
    if "personas" in t:
        persona_items = c.named_tables(t["personas"], loc.key("personas"), schema.PERSONA,
                                       "at least one [[workload.personas]] table (or none at all)")
        personas = tuple(_persona(c, pt, ploc, name) for pt, ploc, name in persona_items)
        _check_shares(c, persona_items)
    bursts = tuple(_burst(c, bt, bloc, channel_names)
                   for bt, bloc in c.tables(t.get("bursts"), loc.key("bursts"), schema.BURST,
                                            "an array of tables, e.g. [[workload.bursts]]"))
    built = model.Workload("generate", tuple(channels), tuple(i for i, _ in intents), personas, bursts)
    known_intents = intents if _names(t.get("intents"), intent_items) is not None else None
    return ParsedWorkload(built, channel_names, known_intents)


def _kind(c: Checker, value: Any, loc: Loc) -> str:
    if value in ("generate", "replay"):
        return str(value)
    if isinstance(value, str):
        c.add(loc, f"{show(value)} is not a workload kind", '"generate" or "replay"')
    else:
        c.add(loc, f"{show(value)} is {type_name(value)}", '"generate" or "replay"')
    return ""


def _names(node: Any, items: list[tuple[dict[str, Any], Loc, str]]) -> list[str] | None:
    """The item names, or None when the array or any name is broken (references cannot be checked)."""
    if not isinstance(node, list) or not node or len(items) != len(node) or not all(n for _, _, n in items):
        return None
    return [name for _, _, name in items]


def _check_shares(c: Checker, items: list[tuple[dict[str, Any], Loc, str]]) -> None:
    shares = [t.get("share") for t, _, _ in items]
    numbers = [float(s) for s in shares if isinstance(s, (int, float)) and not isinstance(s, bool)]
    if items and len(numbers) == len(shares) and all(SHARE.contains(s) for s in numbers):
        total = sum(numbers)
        if abs(total - 1.0) > 1e-6:
            c.add(items[-1][1].key("share"), f"shares sum to {total:.6g}", "1.0")


def _channel(c: Checker, t: dict[str, Any], loc: Loc, name: str) -> model.Channel:
    return model.Channel(
        name=name,
        rates=_arrivals(c, t.get("arrivals"), loc.key("arrivals")),
        sla=c.duration(t.get("sla"), loc.key("sla"), positive=True),
        patience=c.dist(t["patience"], loc.key("patience")) if "patience" in t else None,
        priority=c.integer(t.get("priority"), loc.key("priority")),
    )


def _arrivals(c: Checker, node: Any, loc: Loc) -> tuple[float, ...]:
    t = c.table(node, loc, schema.ARRIVALS, expected='a table, e.g. { rate = "240/h" }')
    if t is None:
        return ZEROS
    if ("rate" in t) == ("profile" in t):
        given = "both rate and profile given" if "rate" in t else "neither rate nor profile given"
        c.add(loc, given, 'exactly one of rate, profile, e.g. { rate = "240/h" }')
        return ZEROS
    if "rate" in t:
        return (c.rate(t["rate"], loc.key("rate")),) * 24
    return _profile(c, t["profile"], loc.key("profile"))


def _profile(c: Checker, node: Any, loc: Loc) -> tuple[float, ...]:
    items = c.array(node, loc, 'an array of 24 hour-of-day rates, e.g. ["20/h", "15/h", ...]')
    if items is None:
        return ZEROS
    if len(items) != 24:
        c.add(loc, f"{len(items)} rates given", "24 hour-of-day rates")
        return ZEROS
    mark = c.mark()
    rates = tuple(c.rate(v, loc.item(i), allow_zero=True) for i, v in enumerate(items))
    if c.clean_since(mark) and not any(rates):
        c.add(loc, "all 24 rates are zero", "at least one positive rate")
    return rates


def intent_skill(c: Checker, t: dict[str, Any], loc: Loc, name: str) -> str:
    """An intent table's ``skill`` (default: the intent's name); "" after reporting a bad one."""
    if "skill" not in t:
        return name
    skill = c.string(t["skill"], loc.key("skill"))
    if isinstance(t["skill"], str) and not skill.strip():
        c.add(loc.key("skill"), f"{show(skill)} is not a skill", "a non-empty string")
        return ""
    return skill


def _intent(c: Checker, t: dict[str, Any], loc: Loc, name: str) -> model.Intent:
    return model.Intent(
        name=name,
        share=c.number(t.get("share"), loc.key("share"), SHARE),
        handle_time=c.dist(t.get("handle_time"), loc.key("handle_time")),
        skill=intent_skill(c, t, loc, name),
        escalation=c.number(t.get("escalation"), loc.key("escalation"), PROBABILITY),
        tier2_handle_time=c.dist(t["tier2_handle_time"], loc.key("tier2_handle_time"))
        if "tier2_handle_time" in t else None,
        priority=c.integer(t.get("priority"), loc.key("priority")),
    )


def _persona(c: Checker, t: dict[str, Any], loc: Loc, name: str) -> model.Persona:
    return model.Persona(
        name=name,
        share=c.number(t.get("share"), loc.key("share"), SHARE),
        patience_factor=c.number(t.get("patience_factor"), loc.key("patience_factor"), POSITIVE),
        sentiment=c.number(t.get("sentiment"), loc.key("sentiment"), SENTIMENT),
        priority=c.integer(t.get("priority"), loc.key("priority")),
    )


def _burst(c: Checker, t: dict[str, Any], loc: Loc, channels: list[str] | None) -> model.Burst:
    names: tuple[str, ...] = ()
    if "channels" in t:
        items = c.array(t["channels"], loc.key("channels"), "an array of channel names") or []
        names = tuple(c.reference(v, loc.key("channels").item(i), "a channel", channels)
                      for i, v in enumerate(items))
    return model.Burst(
        start=c.duration(t.get("start"), loc.key("start")),
        duration=c.duration(t.get("duration"), loc.key("duration"), positive=True),
        multiplier=c.number(t.get("multiplier"), loc.key("multiplier"), POSITIVE),
        channels=names,
    )


# ---------------------------------------------------------------------------------------------
# [system]


def system(c: Checker, node: Any, loc: Loc, parsed: ParsedWorkload) -> model.System:
    t = c.table(node, loc, schema.SYSTEM) or {}
    routing = c.choice(t.get("routing"), loc.key("routing"), "a routing policy", sorted(model.ROUTING_POLICIES))
    mark = c.mark()
    pools = [_pool(c, pt, ploc, name, parsed)
             for pt, ploc, name in c.named_tables(t.get("pools"), loc.key("pools"), schema.POOL,
                                                  "at least one [[system.pools]] table")]
    if pools and c.clean_since(mark) and parsed.intents is not None:
        _check_skills(c, pools, parsed.intents, loc.key("pools"))
    from_log = [p.name for p in pools if p.staffing == "from-log"]
    if len(from_log) > 1:
        c.add(loc.key("pools"), f"{len(from_log)} pools ({', '.join(from_log)}) staffed from the log",
              'at most one pool with staffing = "from-log" (the log\'s agents are counted once)')
    head_start = None
    if "priority_head_start" in t:
        head_start = c.duration(t["priority_head_start"], loc.key("priority_head_start"))
        if routing and routing != "priority":
            c.add(loc.key("priority_head_start"),
                  f"{show(t['priority_head_start'])} is set with routing = {show(routing)}",
                  'routing = "priority" (or no priority_head_start)')
    return model.System(
        priority_head_start=head_start,
        routing=routing,
        pools=tuple(pools),
        bot=_bot(c, t["bot"], loc.key("bot"), parsed) if "bot" in t else None,
        kb=_kb(c, t["kb"], loc.key("kb")) if "kb" in t else None,
        escalation=_escalation(c, t["escalation"], loc.key("escalation")) if "escalation" in t else None,
        transfer_time=c.dist(t.get("transfer_time"), loc.key("transfer_time")),
    )


def _pool(c: Checker, t: dict[str, Any], loc: Loc, name: str, parsed: ParsedWorkload) -> model.Pool:
    skill_items = c.array(t.get("skills"), loc.key("skills"), 'an array of skills, e.g. ["billing"]', min_items=1)
    skills = tuple(c.string(v, loc.key("skills").item(i)) for i, v in enumerate(skill_items or []))
    ways = [k for k in ("agents", "shifts", "staffing") if k in t]
    if len(ways) != 1:
        neither = "none of agents, shifts, staffing given" if parsed.workload.kind == "replay" else \
            "neither agents nor shifts given"
        given = (neither if not ways else f"both {ways[0]} and {ways[1]} given"
                 if len(ways) == 2 else "agents, shifts and staffing given")
        c.add(loc, given, 'exactly one of agents, shifts, staffing = "from-log"' if parsed.workload.kind == "replay"
              else "exactly one of agents, shifts")
    concurrency = c.keyed(t.get("concurrency"), loc.key("concurrency"), "channel", parsed.channels)
    staffing, schedule = "", cast(tuple[tuple[float, int], ...], ())
    if "staffing" in t:
        staffing, schedule = _from_log(c, t["staffing"], loc.key("staffing"), parsed.workload)
    extra: tuple[model.Shift, ...] = ()
    if "extra_shifts" in t:
        extra = _shifts(c, t["extra_shifts"], loc.key("extra_shifts"))
    return model.Pool(
        staffing=staffing,
        schedule=schedule,
        extra_shifts=extra,
        name=name,
        skills=skills,
        tier=c.integer(t.get("tier"), loc.key("tier"), minimum=1),
        agents=c.integer(t["agents"], loc.key("agents"), minimum=1) if "agents" in t else None,
        shifts=_shifts(c, t["shifts"], loc.key("shifts")) if "shifts" in t else (),
        concurrency=tuple((k, c.integer(v, loc.key("concurrency").key(k), minimum=1))
                          for k, v in concurrency.items()),
    )


def _from_log(c: Checker, value: Any, loc: Loc, wl: model.Workload) -> tuple[str, tuple[tuple[float, int], ...]]:
    """``staffing = "from-log"``: the agents the replayed log shows working, interval by interval."""
    if value != "from-log":
        c.add(loc, f"{show(value)} is not a staffing source", '"from-log" (or agents = N, or shifts = [...])')
        return "", ()
    if wl.kind != "replay":
        c.add(loc, '"from-log" without a replayed log', '[workload] kind = "replay", or agents or shifts')
        return "", ()
    replay = wl.replay
    if replay is None or replay.log is None:  # the log could not be read: already reported
        return "from-log", ((0.0, 1),)
    if replay.staffing_estimate == "agents-seen" and replay.source.agent is None:
        c.add(loc, '"from-log" counting the agents seen but the log has no agent column',
              'workload.replay.agent = "<column naming the agent who served each ticket>", '
              'or staffing_estimate = "busy-when-queued"')
        return "from-log", ((0.0, 1),)
    from supportlab.errors import ConfigError
    from supportlab.replay import staffing_agents_seen, staffing_busy_when_queued

    if replay.staffing_estimate == "busy-when-queued" and replay.source.queue_time is None:
        c.add(loc, '"from-log" estimated from queued moments but the log has no queue-time column',
              'workload.replay.queue_time = "<column>", or staffing_estimate = "agents-seen"')
        return "from-log", ((0.0, 1),)
    table = replay.log.table
    if replay.staffing_estimate == "agents-seen" and table.filter(
            (table["outcome"] == "served") & table["agent"].is_not_null() & table["handle"].is_not_null()).height == 0:
        c.add(loc, f'"from-log" (agents-seen) but no served row of the log names an agent (column '
                   f'{show(replay.source.agent)})', "agents on served rows, not all empty or listed in agent.missing")
        return "from-log", ((0.0, 1),)
    estimate = staffing_busy_when_queued if replay.staffing_estimate == "busy-when-queued" else staffing_agents_seen
    try:
        steps = estimate(replay.log, replay.staffing_interval, where="\0")
    except ConfigError as exc:  # the estimate's own checks (normally caught above): never a traceback
        for problem in exc.problems:
            what, _, expected = problem.removeprefix("\0: ").partition(", expected ")
            c.add(loc, f'"from-log" cannot be estimated ({what})', expected or "a log the staffing can be read from")
        return "from-log", ((0.0, 1),)
    if not any(n for _, n in steps):
        c.add(loc, '"from-log" but no agent is seen serving in the log', "a log with agents on served rows")
    return "from-log", tuple((t / replay.time_scale, n) for t, n in steps)


def _shifts(c: Checker, node: Any, loc: Loc) -> tuple[model.Shift, ...]:
    mark = c.mark()
    shifts = tuple(_shift(c, t, sloc) for t, sloc in c.tables(
        node, loc, schema.SHIFT, 'an array of shifts, e.g. [{ start = "8h", end = "16h", agents = 5 }]',
        min_items=1))
    if shifts and c.clean_since(mark) and not any(s.agents for s in shifts):
        c.add(loc, "no agent on any shift", "at least one agent on some shift")
    return shifts


def _shift(c: Checker, t: dict[str, Any], loc: Loc) -> model.Shift:
    mark = c.mark()
    start = c.duration(t.get("start"), loc.key("start"))
    end = c.duration(t.get("end"), loc.key("end"), positive=True)
    agents = c.integer(t.get("agents"), loc.key("agents"), minimum=0)
    if c.clean_since(mark) and "start" in t and "end" in t:
        if start >= DAY:
            c.add(loc.key("start"), f"{show(t['start'])} is not a time of day", 'a duration >= 0 and < "24h"')
        elif end <= start:
            c.add(loc.key("end"), f"{show(t['end'])} is not after start ({show(t['start'])})",
                  'end > start (an overnight shift ends past "24h", e.g. "30h")')
        elif end > start + DAY:
            c.add(loc.key("end"), f"{show(t['end'])} is more than 24h after start ({show(t['start'])})",
                  "end <= start + 24h")
    return model.Shift(start, end, agents)


def _check_skills(c: Checker, pools: list[model.Pool], intents: list[tuple[model.Intent, Loc]], loc: Loc) -> None:
    """Every intent's skill is held by a tier-1 pool; escalating intents also need a tier >= 2 pool."""
    if not any(p.tier == 1 for p in pools):
        c.add(loc, "no pool has tier = 1", "at least one tier-1 pool")
        return
    tier1 = sorted({s for p in pools if p.tier == 1 for s in p.skills})
    higher = {s for p in pools if p.tier >= 2 for s in p.skills}
    for intent, iloc in intents:
        if not intent.skill:
            continue
        if intent.skill not in tier1:
            c.add(iloc.key("skill"), f"{show(intent.skill)} is a skill no tier-1 pool has",
                  "one of " + ", ".join(tier1))
        if intent.escalation > 0 and intent.skill not in higher:
            c.add(iloc.key("escalation"),
                  f"{show(intent.escalation)} sends tickets to tier 2 but no pool with tier >= 2 has skill "
                  f"{show(intent.skill)}", "such a pool, or escalation = 0")


def _bot(c: Checker, node: Any, loc: Loc, parsed: ParsedWorkload) -> model.Bot:
    t = c.table(node, loc, schema.BOT) or {}
    channels: tuple[str, ...] = ()
    if "channels" in t:
        items = c.array(t["channels"], loc.key("channels"),
                        "an array of channel names (leave channels out for all channels)", min_items=1) or []
        channels = tuple(c.reference(v, loc.key("channels").item(i), "a channel", parsed.channels)
                         for i, v in enumerate(items))
    containment = c.keyed(t.get("containment"), loc.key("containment"), "intent", parsed.intent_names())
    return model.Bot(
        channels=channels,
        containment=tuple((k, c.number(v, loc.key("containment").key(k), PROBABILITY))
                          for k, v in containment.items()),
        triage_accuracy=c.number(t.get("triage_accuracy"), loc.key("triage_accuracy"), PROBABILITY),
        latency=c.dist(t.get("latency"), loc.key("latency")),
    )


def _kb(c: Checker, node: Any, loc: Loc) -> model.KB:
    t = c.table(node, loc, schema.KB) or {}
    outages = tuple(
        model.Outage(c.duration(o.get("start"), oloc.key("start")),
                     c.duration(o.get("duration"), oloc.key("duration"), positive=True))
        for o, oloc in c.tables(t.get("outages"), loc.key("outages"), schema.OUTAGE,
                                'an array of outages, e.g. [{ start = "3h", duration = "20m" }]'))
    return model.KB(
        hit_rate=c.number(t.get("hit_rate"), loc.key("hit_rate"), PROBABILITY),
        latency=c.dist(t.get("latency"), loc.key("latency")),
        time_saved=c.number(t.get("time_saved"), loc.key("time_saved"), PROBABILITY),
        outages=outages,
        fallback=_fallback(c, t["fallback"], loc.key("fallback")) if "fallback" in t else None,
        timeout=c.duration(t.get("timeout"), loc.key("timeout")),
    )


def _fallback(c: Checker, node: Any, loc: Loc) -> model.KBFallback:
    t = c.table(node, loc, schema.FALLBACK) or {}
    return model.KBFallback(c.number(t.get("hit_rate"), loc.key("hit_rate"), PROBABILITY),
                            c.dist(t.get("latency"), loc.key("latency")))


def _escalation(c: Checker, node: Any, loc: Loc) -> model.Escalation:
    t = c.table(node, loc, schema.ESCALATION) or {}
    return model.Escalation(
        handoff_latency=c.dist(t.get("handoff_latency"), loc.key("handoff_latency")),
        context_preserved=c.number(t.get("context_preserved"), loc.key("context_preserved"), PROBABILITY),
        rework=c.number(t.get("rework"), loc.key("rework"), NON_NEGATIVE),
    )
