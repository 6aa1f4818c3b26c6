"""Load an experiment file: read → parse → fill defaults → validate everything → build :mod:`model` objects.

Every problem of a file is collected and reported at once, one per line in file order, in the form
``<file>: <dotted.key.path>: <what is wrong>, expected <what>``. Variant arms are the control's
workload and system with the arm's ``set`` overrides applied; each variant is validated like the
control, and a problem its overrides cause is reported under the ``set`` entry that caused it
(``x.toml: arms.fewer.set."system.pools.agents.agents": 0 is not a positive integer, expected an
integer >= 1``).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from supportlab import catalog, model, observed, schema
from supportlab.checks import (
    ALPHA,
    ANY_NUMBER,
    NON_NEGATIVE,
    Checker,
    Inputs,
    Issue,
    Item,
    Loc,
    metric_hint,
)
from supportlab.errors import ConfigError
from supportlab.scenario_checks import scenario
from supportlab.units import show

__all__ = ["load_experiment", "load_text", "starter_text"]

_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = re.compile(r"\s*\(at end of document\)\s*$")
ROOT = Loc()


def load_experiment(path: str | Path, *, seed: int | None = None, replications: int | None = None
                    ) -> model.Experiment:
    """Read, validate and build the experiment in ``path``; ``seed``/``replications`` override the file's.

    Raises :class:`ConfigError` listing every problem found.
    """
    where = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a directory, expected a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read ({exc.strerror}), expected a readable TOML file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text, expected a UTF-8 TOML file") from None
    sha = hashlib.sha256(data).hexdigest()
    return _load(text, where, sha, Path(path).parent, seed, replications)


def load_text(text: str, path: str, *, seed: int | None = None,
              replications: int | None = None, base_dir: str | Path | None = None) -> model.Experiment:
    """As :func:`load_experiment` for TOML ``text``; ``path`` names it in messages, and relative input
    files are looked up in ``base_dir`` (default: the directory of ``path``)."""
    base = Path(base_dir) if base_dir is not None else Path(path).parent
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _load(text, path, sha, base, seed, replications)


def starter_text() -> str:
    """The commented starter experiment that ``supportlab init`` writes."""
    return resources.files("supportlab").joinpath("templates/starter.toml").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# the steps


def _load(text: str, path: str, sha: str, base_dir: Path, seed: int | None, replications: int | None
          ) -> model.Experiment:
    doc = _parse(text, path)
    _apply_overrides(doc, seed, replications)
    schema.fill_defaults(doc)
    checker = Checker(Inputs(base_dir))
    experiment = _build(checker, doc, path)
    if checker.issues:
        raise ConfigError(_render(checker.issues, doc, path))
    return dataclasses.replace(experiment, raw=copy.deepcopy(doc), sha256=sha,
                               inputs=tuple(checker.inputs.used.items()))


def _parse(text: str, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column, message = _syntax_position(exc, text)
        raise ConfigError(f"{path}: line {line}, column {column}: TOML syntax error: {message}") from None


def _syntax_position(exc: tomllib.TOMLDecodeError, text: str) -> tuple[int, int, str]:
    lineno, colno = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    if isinstance(lineno, int) and isinstance(colno, int):  # Python >= 3.14
        return lineno, colno, str(getattr(exc, "msg", exc))
    message = str(exc)
    m = _AT.search(message)
    if m:
        return int(m.group(1)), int(m.group(2)), message[: m.start()]
    # "at end of document": point just past the last character
    return text.count("\n") + 1, len(text) - (text.rfind("\n") + 1) + 1, _AT_END.sub("", message)


#: guards against a typo that would exhaust memory before any limit could act (one replication of 50 million
#: tickets needs tens of GiB; 100,000 replications is far beyond any honest experiment)
MAX_REPLICATIONS = 100_000
MAX_TICKETS = 50_000_000


def _apply_overrides(doc: dict[str, Any], seed: int | None, replications: int | None) -> None:
    problems = []
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        problems.append(f"--seed: {show(seed)} is not a non-negative integer, expected an integer >= 0")
    if replications is not None and (isinstance(replications, bool) or not isinstance(replications, int)
                                     or replications < 1):
        problems.append(f"--replications: {show(replications)} is not a positive integer, expected an integer >= 1")
    elif replications is not None and replications > MAX_REPLICATIONS:
        problems.append(f"--replications: {replications} is more than supportlab runs at once, "
                        f"expected an integer from 1 to {MAX_REPLICATIONS:,}")
    if problems:
        raise ConfigError(problems)
    if seed is None and replications is None:
        return
    section = doc.setdefault("experiment", {})
    if isinstance(section, dict):
        if seed is not None:
            section["seed"] = seed
        if replications is not None:
            section["replications"] = replications


def _render(issues: list[Issue], doc: dict[str, Any], path: str) -> list[str]:
    """One line per problem, in file order, without repeats."""
    ordered = sorted(issues, key=lambda issue: _position(doc, issue.loc))
    return list(dict.fromkeys(f"{path}: {issue.text()}" for issue in ordered))


def _position(doc: dict[str, Any], loc: Loc) -> tuple[int, ...]:
    """Where ``loc`` is in the document (keys in the order they were written; missing keys last)."""
    node: Any = doc
    out: list[int] = []
    for part in loc.parts:
        if isinstance(part, Item):
            out.append(part.index)
            node = node[part.index] if isinstance(node, list) and part.index < len(node) else None
        elif isinstance(node, dict) and part in node:
            out.append(list(node).index(part))
            node = node[part]
        else:
            out.append(len(node) if isinstance(node, dict) else 0)
            node = None
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# the document


def _build(c: Checker, doc: dict[str, Any], path: str) -> model.Experiment:
    root = c.table(doc, ROOT, schema.DOCUMENT) or {}
    wl = root.get("workload")
    # a replay needs neither horizon nor tickets; a misspelt kind is reported once, under workload.kind
    replay = isinstance(wl, dict) and wl.get("kind", "generate") != "generate"
    head = _head(c, root.get("experiment"), ROOT.key("experiment"), replay)
    control = scenario(c, root)
    pools = tuple(p.name for p in control.system.pools if p.name)
    objective = _objective(c, root["objective"], ROOT.key("objective"), pools) if "objective" in root else None
    guardrails = _guardrails(c, root.get("guardrails"), ROOT.key("guardrails"), pools)
    limits = _limits(c, root.get("limits"), ROOT.key("limits"))
    c.table(root.get("diff"), ROOT.key("diff"), expected='a table of metric = tolerance, e.g. { "wait.mean" = "5%" }')
    arms = _arms(c, root, control)
    arm_names = ["control", *(a for a in root["arms"] if a != "control")] if isinstance(root.get("arms"), dict) \
        else ["control"]
    references = [*arm_names, observed.ARM] if observed.comparable(control) else arm_names
    expectations = _expectations(c, root.get("expect"), ROOT.key("expect"), pools, arm_names, references)
    return model.Experiment(
        path=path, arms=arms, objective=objective, guardrails=guardrails, expectations=expectations,
        limits=limits, **head,
    )


def _head(c: Checker, node: Any, loc: Loc, replay: bool) -> dict[str, Any]:
    """The [experiment] table as keyword arguments of :class:`model.Experiment`.

    A replayed workload needs neither horizon nor tickets (the log's span is replayed); either one
    then cuts the replay short.
    """
    t = c.table(node, loc, schema.EXPERIMENT) or {}
    has_horizon, has_tickets = "horizon" in t, "tickets" in t
    if has_horizon and has_tickets:
        c.add(loc, "both horizon and tickets given", "exactly one of horizon, tickets")
    elif isinstance(node, dict) and not has_horizon and not has_tickets and not replay:
        c.add(loc, "neither horizon nor tickets given", 'exactly one of horizon, tickets, e.g. horizon = "8h"')
    horizon = c.duration(t["horizon"], loc.key("horizon"), positive=True) if has_horizon else None
    tickets = c.integer(t["tickets"], loc.key("tickets"), minimum=1, maximum=MAX_TICKETS) if has_tickets else None
    mark = c.mark()
    warmup = c.duration(t.get("warmup"), loc.key("warmup"))
    if horizon and c.clean_since(mark) and warmup >= horizon:
        c.add(loc.key("warmup"), f"{show(t['warmup'])} is not shorter than horizon ({show(t['horizon'])})",
              "warmup < horizon")
    return {
        "name": c.slug(t.get("name"), loc.key("name")),
        "seed": c.integer(t.get("seed"), loc.key("seed"), minimum=0),
        "replications": c.integer(t.get("replications"), loc.key("replications"), minimum=1,
                                  maximum=MAX_REPLICATIONS),
        "horizon": horizon,
        "tickets": tickets,
        "warmup": warmup,
        "crn": c.boolean(t.get("crn"), loc.key("crn")),
        "description": c.string(t.get("description"), loc.key("description")),
        "hypothesis": c.string(t.get("hypothesis"), loc.key("hypothesis")),
    }


def _objective(c: Checker, node: Any, loc: Loc, pools: Sequence[str]) -> model.Objective:
    t = c.table(node, loc, schema.OBJECTIVE) or {}
    metric = c.metric(t.get("metric"), loc.key("metric"), pools)
    direction = c.choice(t.get("direction"), loc.key("direction"), "a direction", ("decrease", "increase"))
    if "min_effect" in t and "min_effect_abs" in t:
        c.add(loc, "both min_effect and min_effect_abs given", "at most one of min_effect, min_effect_abs")
    min_effect = c.number(t["min_effect"], loc.key("min_effect"), NON_NEGATIVE) if "min_effect" in t else None
    min_effect_abs = (c.metric_amount(t["min_effect_abs"], loc.key("min_effect_abs"), metric)
                      if "min_effect_abs" in t else None)
    alpha = c.number(t.get("alpha"), loc.key("alpha"), ALPHA)
    return model.Objective(metric, direction, min_effect, min_effect_abs, alpha)


def _guardrails(c: Checker, node: Any, loc: Loc, pools: Sequence[str]) -> tuple[model.Guardrail, ...]:
    out = []
    for t, gloc in c.tables(node, loc, schema.GUARDRAIL, 'an array of tables, e.g. [[guardrails]]'):
        metric = c.metric(t.get("metric"), gloc.key("metric"), pools)
        relative, absolute = "max_degradation" in t, "max_degradation_abs" in t
        if relative == absolute:
            given = "both max_degradation and max_degradation_abs" if relative else \
                "neither max_degradation nor max_degradation_abs"
            c.add(gloc, f"{given} given", "exactly one of max_degradation, max_degradation_abs")
        rel = c.number(t["max_degradation"], gloc.key("max_degradation"), NON_NEGATIVE) if relative else None
        abs_ = c.metric_amount(t["max_degradation_abs"], gloc.key("max_degradation_abs"), metric) if absolute else None
        out.append(model.Guardrail(metric, rel, abs_))
    return tuple(out)


def _expectations(c: Checker, node: Any, loc: Loc, pools: Sequence[str], arms: Sequence[str],
                  references: Sequence[str]) -> tuple[model.Expectation, ...]:
    """``[expect]``: each metric's range (``min``/``max``), or ``within`` a share of another arm's value
    (``of``: a variant, control, or a replay's ``observed`` arm)."""
    t = c.table(node, loc, expected='a table of metric = { min = ..., max = ... }') or {}
    out = []
    for metric, body in t.items():
        mloc = loc.key(metric)
        if catalog.metric_info(metric, tuple(pools)) is None:
            c.add(mloc, "unknown metric", metric_hint(metric, pools))
            continue
        e = c.table(body, mloc, schema.EXPECTATION, expected="a table, e.g. { min = 0.8 }")
        if e is None:
            continue
        arm = c.choice(e.get("arm"), mloc.key("arm"), "an arm", arms)
        if "within" in e or "of" in e:
            out.append(_relative_expectation(c, e, mloc, metric, arm, references))
            continue
        if "min" not in e and "max" not in e:
            c.add(mloc, "neither min nor max given", "min and/or max (or within = a share and of = an arm)")
        mark = c.mark()
        low = c.metric_amount(e["min"], mloc.key("min"), metric, ANY_NUMBER) if "min" in e else None
        high = c.metric_amount(e["max"], mloc.key("max"), metric, ANY_NUMBER) if "max" in e else None
        if low is not None and high is not None and c.clean_since(mark) and high < low:
            c.add(mloc.key("max"), f"{show(e['max'])} is less than min ({show(e['min'])})", "max >= min")
        out.append(model.Expectation(metric, low, high, arm))
    return tuple(out)


def _relative_expectation(c: Checker, e: dict[str, Any], loc: Loc, metric: str, arm: str,
                          references: Sequence[str]) -> model.Expectation:
    for key in ("within", "of"):
        if key not in e:
            c.add(loc.key(key), "missing key", 'within = a share (0.15 = 15%) and of = an arm, e.g. "observed"')
    for key in ("min", "max"):
        if key in e:
            c.add(loc.key(key), "given with within/of", "either min/max, or within and of")
    within = c.number(e["within"], loc.key("within"), NON_NEGATIVE) if "within" in e else None
    of = c.choice(e["of"], loc.key("of"), "an arm", references) if "of" in e else None
    if of is not None and of == arm:
        c.add(loc.key("of"), f"{show(of)} is the arm the expectation is about", "another arm")
    return model.Expectation(metric, arm=arm, within=within, of=of)


def _limits(c: Checker, node: Any, loc: Loc) -> model.Limits:
    t = c.table(node, loc, schema.LIMITS) or {}
    max_tickets = c.integer(t["max_tickets"], loc.key("max_tickets"), minimum=1) if "max_tickets" in t else None
    max_wall = c.duration(t["max_wall_time"], loc.key("max_wall_time"), positive=True) \
        if "max_wall_time" in t else None
    return model.Limits(max_tickets, max_wall)


# ---------------------------------------------------------------------------------------------
# arms


def _arms(c: Checker, root: dict[str, Any], control: model.Scenario) -> tuple[model.Arm, ...]:
    loc = ROOT.key("arms")
    t = c.table(root.get("arms"), loc, expected="a table of arms, e.g. [arms.control]")
    arms = [model.Arm("control", (), control)]
    if t is None:
        return tuple(arms)
    if "control" not in t:
        c.add(loc.key("control"), "missing key", "an empty [arms.control] table")
    else:
        _control_arm(c, t["control"], loc.key("control"))
    base = {key: root.get(key) for key in schema.SCENARIO_SECTIONS}
    control_issues = {issue.text() for issue in c.issues}
    replay = control.workload.kind == "replay"
    for name, body in t.items():
        if replay and name == "observed":
            c.add(loc.key(name), '"observed" is the replayed log\'s own arm', "another name for a variant")
            continue
        if name != "control":
            c.slug(name, loc.key(name))
            arm = _variant(c, name, body, loc.key(name), base, control_issues)
            if arm is not None:
                arms.append(arm)
    return tuple(arms)


def _control_arm(c: Checker, node: Any, loc: Loc) -> None:
    t = c.table(node, loc, expected="an empty table")
    for key in t or {}:
        c.add(loc.key(key), "unknown key", "an empty [arms.control] table (the control arm changes nothing)")


def _variant(c: Checker, name: str, node: Any, loc: Loc, base: dict[str, Any], control_issues: set[str]
             ) -> model.Arm | None:
    t = c.table(node, loc, schema.ARM)
    if t is None:
        return None
    allow_multi = c.boolean(t.get("allow_multi"), loc.key("allow_multi"))
    sets = c.table(t.get("set", {}), loc.key("set"),
                   expected='a table of "dotted.path" = value, e.g. { "system.pools.tier1.agents" = 11 }')
    if sets is None:
        return None
    doc = copy.deepcopy(base)
    mark = c.mark()
    for path, value in sets.items():
        try:
            schema.resolve_set_path(doc, path).assign(value)
        except schema.PathError as exc:
            c.add(loc.key("set").key(path), exc.what, exc.expected)
    if not c.clean_since(mark):
        return None
    schema.fill_defaults(doc)
    variant_checker = Checker(c.inputs)
    built = scenario(variant_checker, doc)
    for issue in variant_checker.issues:
        if issue.text() not in control_issues:
            _report_in_arm(c, issue, loc.key("set"), list(sets))
    changed = schema.changed_leaves(base, doc)
    if len(changed) > 1 and not allow_multi:
        c.add(loc.key("set"), f"changes {len(changed)} values ({', '.join(sorted(changed))})",
              "exactly one (or allow_multi = true)")
    return model.Arm(name, tuple(sets.items()), built, allow_multi)


def _report_in_arm(c: Checker, issue: Issue, set_loc: Loc, paths: list[str]) -> None:
    """Report a problem of a variant's document under the ``set`` entry that caused it."""
    where = issue.loc.named()
    related = [p for p in paths if _prefix(tuple(p.split(".")), where) or _prefix(where, tuple(p.split(".")))]
    path = max(related, key=len) if related else (paths[0] if len(paths) == 1 else None)
    if path is None:
        c.add(set_loc, f"{issue.loc.dotted()}: {issue.what}", issue.expected)
        return
    same = tuple(path.split(".")) == where
    what = issue.what if same else f"{issue.loc.dotted()}: {issue.what}"
    c.add(set_loc.key(path), what, issue.expected)


def _prefix(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return long[: len(short)] == short
