"""The shape of an experiment file: which keys each table allows, which are required, their defaults.

One tree, :data:`DOCUMENT`, serves three jobs of :mod:`supportlab.experiment`: unknown-key checks,
filling defaults (:func:`fill_defaults`) and resolving the dotted paths of arm overrides
(:func:`resolve_set_path`), plus :func:`changed_leaves` to count what an arm changes.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supportlab.distributions import KINDS as DIST_KINDS

#: parameters of each distribution kind (besides ``dist``)
DIST_PARAMS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "exponential": ("mean",),
    "lognormal": ("mean", "sd"),
    "gamma": ("mean", "sd"),
    "uniform": ("low", "high"),
    "empirical": ("values", "path", "column"),
}
assert set(DIST_PARAMS) == set(DIST_KINDS)


@dataclass(frozen=True)
class Leaf:
    """A value (or an array of values)."""


@dataclass(frozen=True)
class DistSpec:
    """A distribution table (``dist`` plus the parameters of its kind)."""


@dataclass(frozen=True)
class Table:
    keys: Mapping[str, Spec]
    #: required key → what is expected when it is missing
    required: Mapping[str, str] = field(default_factory=dict)
    #: key → default value (TOML value, filled in when the key is missing)
    defaults: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Array:
    """An array of tables; ``noun`` is set when the items are addressed by their ``name``."""

    item: Table
    noun: str = ""


@dataclass(frozen=True)
class Keyed:
    """A table whose keys name other things (``of``: "intent", "channel" or "metric")."""

    of: str
    value: Spec


Spec = Leaf | DistSpec | Table | Array | Keyed

LEAF = Leaf()
DIST = DistSpec()


def _fixed(value: str) -> dict[str, Any]:
    return {"dist": "fixed", "value": value}


_DIST_EXAMPLE = 'a distribution, e.g. { dist = "exponential", mean = "5m" }'

EXPERIMENT = Table(
    keys={k: LEAF for k in ("name", "description", "hypothesis", "seed", "replications", "horizon", "tickets",
                            "warmup", "crn")},
    required={"name": 'a slug, e.g. "launch-burst"', "seed": "an integer >= 0", "replications": "an integer >= 1"},
    defaults={"description": "", "hypothesis": "", "warmup": "0s", "crn": True},
)
OBJECTIVE = Table(
    keys={k: LEAF for k in ("metric", "direction", "min_effect", "min_effect_abs", "alpha")},
    required={"metric": "a canonical metric name", "direction": "one of decrease, increase"},
    defaults={"alpha": 0.05},
)
GUARDRAIL = Table(
    keys={k: LEAF for k in ("metric", "max_degradation", "max_degradation_abs")},
    required={"metric": "a canonical metric name"},
)
EXPECTATION = Table(keys={k: LEAF for k in ("min", "max", "arm", "within", "of")}, defaults={"arm": "control"})
LIMITS = Table(keys={"max_tickets": LEAF, "max_wall_time": LEAF})

ARRIVALS = Table(keys={"rate": LEAF, "profile": LEAF})
CHANNEL = Table(
    keys={"name": LEAF, "arrivals": ARRIVALS, "sla": LEAF, "patience": DIST,
          "priority": LEAF},
    required={"name": "a name", "arrivals": 'a table, e.g. { rate = "240/h" }',
              "sla": 'a first-response target, e.g. "60s"'},
    defaults={"priority": 0},
)
BURST = Table(
    keys={k: LEAF for k in ("start", "duration", "multiplier", "channels")},
    required={"start": 'a duration, e.g. "2h"', "duration": 'a duration > 0, e.g. "45m"',
              "multiplier": "a number > 0"},
)
INTENT = Table(
    keys={"name": LEAF, "share": LEAF, "handle_time": DIST, "skill": LEAF, "escalation": LEAF,
          "tier2_handle_time": DIST, "priority": LEAF},
    required={"name": "a name", "share": "a number in (0, 1]", "handle_time": _DIST_EXAMPLE},
    defaults={"escalation": 0.0, "priority": 0},
)
PERSONA = Table(
    keys={k: LEAF for k in ("name", "share", "patience_factor", "sentiment", "priority")},
    required={"name": "a name", "share": "a number in (0, 1]"},
    defaults={"patience_factor": 1.0, "sentiment": 0.0, "priority": 0},
)
#: ``[workload.replay]``: a column mapping is a column name or a table (see docs/REPLAY.md)
REPLAY_MAPPINGS = ("timestamp", "date", "time", "channel", "intent", "priority", "handle_time", "queue_time",
                   "outcome", "agent")
REPLAY = Table(
    keys={k: LEAF for k in ("path", "format", *REPLAY_MAPPINGS, "segments", "exclude", "dates", "weekdays",
                            "hours", "sample", "sample_seed", "time_scale", "volume_scale", "patience",
                            "staffing_interval", "staffing_estimate")},
    required={"path": 'the log file, e.g. "data/calls.csv" (relative to the experiment file)',
              "handle_time": 'the column of each served ticket\'s handle time in seconds, e.g. "handle_seconds"'},
    defaults={"sample": 1.0, "sample_seed": 0, "time_scale": 1.0, "volume_scale": 1.0, "patience": "kaplan-meier",
              "staffing_interval": "15m", "staffing_estimate": "busy-when-queued"},
)
WORKLOAD = Table(
    keys={"kind": LEAF, "channels": Array(CHANNEL, "channel"), "intents": Array(INTENT, "intent"),
          "personas": Array(PERSONA, "persona"), "bursts": Array(BURST), "replay": REPLAY},
    required={"channels": "at least one [[workload.channels]] table",
              "intents": "at least one [[workload.intents]] table"},
    defaults={"kind": "generate"},
)
#: what a replayed workload allows: arrivals, shares and handle times come from the log
REPLAY_CHANNEL = Table(
    keys={"name": LEAF, "sla": LEAF, "patience": DIST, "priority": LEAF},
    required={"name": "a name (a value of the log's channel column)",
              "sla": 'a first-response target, e.g. "60s"'},
    defaults={"priority": 0},
)
REPLAY_INTENT = Table(
    keys={"name": LEAF, "skill": LEAF, "escalation": LEAF, "tier2_handle_time": DIST, "priority": LEAF},
    required={"name": "a name (a value of the log's intent column)"},
    defaults={"escalation": 0.0, "priority": 0},
)
REPLAY_WORKLOAD = Table(
    keys={"kind": LEAF, "channels": Array(REPLAY_CHANNEL, "channel"), "intents": Array(REPLAY_INTENT, "intent"),
          "replay": REPLAY},
    required={"channels": "at least one [[workload.channels]] table (name and sla of each channel in the log)",
              "replay": "a [workload.replay] table"},
)

SHIFT = Table(
    keys={"start": LEAF, "end": LEAF, "agents": LEAF},
    required={"start": 'a time of day, e.g. "8h"', "end": 'a time of day, e.g. "16h"', "agents": "an integer >= 0"},
)
POOL = Table(
    keys={"name": LEAF, "agents": LEAF, "shifts": Array(SHIFT), "staffing": LEAF, "extra_shifts": LEAF,
          "skills": LEAF, "concurrency": Keyed("channel", LEAF), "tier": LEAF},
    required={"name": "a name", "skills": 'an array of skills, e.g. ["billing"]'},
    defaults={"tier": 1},
)
BOT = Table(
    keys={"channels": LEAF, "containment": Keyed("intent", LEAF), "triage_accuracy": LEAF, "latency": DIST},
    defaults={"containment": {}, "triage_accuracy": 1.0, "latency": _fixed("0s")},
)
OUTAGE = Table(keys={"start": LEAF, "duration": LEAF},
               required={"start": 'a duration, e.g. "3h"', "duration": 'a duration > 0, e.g. "20m"'})
FALLBACK = Table(keys={"hit_rate": LEAF, "latency": DIST}, required={"hit_rate": "a number in [0, 1]"},
                 defaults={"latency": _fixed("0s")})
KB = Table(
    keys={"hit_rate": LEAF, "latency": DIST, "time_saved": LEAF, "outages": Array(OUTAGE), "fallback": FALLBACK,
          "timeout": LEAF},
    required={"hit_rate": "a number in [0, 1]"},
    defaults={"latency": _fixed("0s"), "time_saved": 0.0, "outages": [], "timeout": "10s"},
)
ESCALATION = Table(
    keys={"handoff_latency": DIST, "context_preserved": LEAF, "rework": LEAF},
    defaults={"handoff_latency": _fixed("0s"), "context_preserved": 1.0, "rework": 0.0},
)
SYSTEM = Table(
    keys={"routing": LEAF, "pools": Array(POOL, "pool"), "bot": BOT, "kb": KB, "escalation": ESCALATION,
          "transfer_time": DIST, "priority_head_start": LEAF},
    required={"pools": "at least one [[system.pools]] table"},
    defaults={"routing": "skills", "transfer_time": _fixed("60s")},
)

#: a variant arm (the control arm must be empty)
ARM = Table(keys={"set": LEAF, "allow_multi": LEAF})

#: ``arms`` is checked by hand (its keys are arm names); ``diff`` is free-form
DOCUMENT = Table(
    keys={"experiment": EXPERIMENT, "objective": OBJECTIVE, "guardrails": Array(GUARDRAIL),
          "expect": Keyed("metric", EXPECTATION), "limits": LIMITS, "workload": WORKLOAD, "system": SYSTEM,
          "arms": LEAF, "diff": LEAF},
    required={"experiment": "an [experiment] table", "workload": "a [workload] table", "system": "a [system] table",
              "arms": "an [arms.control] table"},
)

#: the sections an arm may change
SCENARIO_SECTIONS = ("workload", "system")


def fill_defaults(node: Any, spec: Spec = DOCUMENT) -> None:
    """Fill missing keys that have a constant default, in place; parts of the wrong type are left alone."""
    if isinstance(spec, Table) and isinstance(node, dict):
        for key, default in spec.defaults.items():
            node.setdefault(key, copy.deepcopy(default))
        for key, value in node.items():
            sub = spec.keys.get(key)
            if sub is not None:
                fill_defaults(value, sub)
    elif isinstance(spec, Array) and isinstance(node, list):
        for item in node:
            fill_defaults(item, spec.item)
    elif isinstance(spec, Keyed) and isinstance(node, dict):
        for value in node.values():
            fill_defaults(value, spec.value)


def unknown_key_hint(key: str, allowed: list[str]) -> str:
    """``one of a, b, c (did you mean "b"?)`` for an unknown ``key``."""
    text = "one of " + ", ".join(allowed) if allowed else "no keys"
    close = difflib.get_close_matches(key, allowed, n=1)
    return text + (f' (did you mean "{close[0]}"?)' if close else "")


def item_name(item: Any) -> str | None:
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) else None


# ---------------------------------------------------------------------------------------------
# arm overrides: dotted paths through the document


@dataclass(frozen=True)
class Target:
    """Where a ``set`` path lands: ``container[key] = value``."""

    container: dict[str, Any] | list[Any]
    key: str | int

    def assign(self, value: Any) -> None:
        if isinstance(self.container, list):
            assert isinstance(self.key, int)
            self.container[self.key] = copy.deepcopy(value)
        else:
            self.container[str(self.key)] = copy.deepcopy(value)


class PathError(Exception):
    """A ``set`` path does not lead to a settable key; ``args`` = (what, expected)."""

    def __init__(self, what: str, expected: str) -> None:
        super().__init__(what, expected)
        self.what = what
        self.expected = expected


def resolve_set_path(doc: dict[str, Any], path: str) -> Target:
    """The place ``path`` (e.g. ``system.pools.tier1.agents``) addresses in ``doc``, or :class:`PathError`."""
    parts = path.split(".")
    if any(not p for p in parts):
        raise PathError(f'"{path}" is not a dotted path', 'keys separated by ".", e.g. "system.pools.tier1.agents"')
    if parts[0] not in SCENARIO_SECTIONS:
        raise PathError(f'"{parts[0]}" cannot be changed by an arm', 'a path starting with "workload." or "system."')
    node: Any = doc
    spec: Spec = DOCUMENT
    named_item = False
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        here = ".".join(parts[:i]) or "the document"
        if isinstance(node, dict) and isinstance(spec, (Table, Keyed, DistSpec)):
            if named_item and part == "name":
                raise PathError(f"{here}.name names the item and cannot be changed", "a path to another key")
            if part not in node:
                _check_new_key(doc, node, spec, part, here, last)
            if last or part not in node:
                return Target(node, part)
            node, spec, named_item = node[part], _child(spec, part), False
        elif isinstance(node, dict):
            # a table written where the schema takes any value (a replay column mapping such as
            # handle_time = { column = "ser_time", max = "1h" }): its existing keys can be set
            if part not in node:
                raise PathError(f'no key "{part}" in {here}', unknown_key_hint(part, sorted(node)))
            if last:
                return Target(node, part)
            node = node[part]
        elif isinstance(node, list):
            index = _list_index(node, spec, part, here)
            if last:
                return Target(node, index)
            named_item = isinstance(spec, Array) and bool(spec.noun)
            node, spec = node[index], spec.item if isinstance(spec, Array) else LEAF
        else:
            raise PathError(f"{here} is a value, not a table", f"a path that ends at {here}")
    raise AssertionError("unreachable")  # pragma: no cover


def _child(spec: Spec, key: str) -> Spec:
    if isinstance(spec, Table):
        return spec.keys.get(key, LEAF)
    if isinstance(spec, Keyed):
        return spec.value
    return LEAF


def _check_new_key(doc: dict[str, Any], node: dict[str, Any], spec: Spec, part: str, here: str, last: bool) -> None:
    if isinstance(spec, Keyed):
        names = _names_of(doc, spec.of)
        if part not in names:
            raise PathError(f'no {spec.of} named "{part}"', unknown_key_hint(part, names))
        if not last:
            raise PathError(f"{here}.{part} is not set", f'a path that ends at {here}.{part}')
        return
    allowed = _allowed_keys(node, spec)
    if part not in allowed:
        raise PathError(f'no key "{part}" in {here}', unknown_key_hint(part, allowed))
    if not last:
        raise PathError(f"{here} has no {part}", f'a path to an existing table (set "{here}.{part}" as a whole)')


def _allowed_keys(node: dict[str, Any], spec: Spec) -> list[str]:
    if isinstance(spec, Table):
        return sorted(spec.keys)
    kind = node.get("dist")
    params = DIST_PARAMS.get(kind, ()) if isinstance(kind, str) else ()
    return sorted(("dist", *params))


def _list_index(node: list[Any], spec: Spec, part: str, here: str) -> int:
    if isinstance(spec, Array) and spec.noun:
        names = [item_name(item) for item in node]
        if part not in names:
            known = [n for n in names if n is not None]
            raise PathError(f'no {spec.noun} named "{part}"', "one of " + ", ".join(known))
        return names.index(part)
    if part.isdigit() and int(part) < len(node):
        return int(part)
    span = f"an index from 0 to {len(node) - 1}" if node else "nothing (it is empty)"
    raise PathError(f'no item "{part}" in {here}', span)


def _names_of(doc: dict[str, Any], of: str) -> list[str]:
    plural = {"intent": "intents", "channel": "channels"}[of]
    workload = doc.get("workload")
    items = workload.get(plural) if isinstance(workload, dict) else None
    if not isinstance(items, list):
        return []
    return [n for n in (item_name(i) for i in items) if n is not None]


# ---------------------------------------------------------------------------------------------
# counting what an arm changes


def changed_leaves(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted paths (array items by name) of the values that differ between ``old`` and ``new``.

    Leaves are values and arrays of values; a part (table, array item) that only one side has counts
    as one change: adding patience or a bot is one change, whatever it holds.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        return _changed_parts(old, new, path)
    if _is_table_array(old) and _is_table_array(new):
        return _changed_parts(_keyed(old), _keyed(new), path)
    return [] if old == new and type(old) is type(new) else [path]


def _changed_parts(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    out: list[str] = []
    for key in [*old, *(k for k in new if k not in old)]:
        sub = f"{path}.{key}" if path else str(key)
        if key in old and key in new:
            out += changed_leaves(old[key], new[key], sub)
        else:
            out.append(sub)
    return out


def _keyed(items: list[Any]) -> dict[str, Any]:
    names = [item_name(i) for i in items]
    if all(n is not None for n in names) and len(set(names)) == len(names):
        return {str(n): i for n, i in zip(names, items, strict=True)}
    return {str(i): item for i, item in enumerate(items)}


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
