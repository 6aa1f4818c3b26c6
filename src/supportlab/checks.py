"""Validation primitives for experiment files: locations, collected problems, value checks.

A :class:`Checker` collects every problem of a document instead of stopping at the first one. Each
check takes a raw TOML value and its :class:`Loc`, records a problem when the value is bad and returns
a placeholder of the right type, so validators stay simple and typed; the loader refuses the
document whenever any problem was recorded, so placeholders never escape. A value of ``None`` means
"absent" (a required key that is missing was already reported by :meth:`Checker.table`).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportlab import catalog
from supportlab.distributions import KINDS as DIST_KINDS
from supportlab.distributions import Dist
from supportlab.errors import ConfigError
from supportlab.schema import DIST_PARAMS, Table, unknown_key_hint
from supportlab.units import parse_duration, parse_rate, show, toml_key, type_name

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
NAME_EXPECTED = 'letters, digits, "_" or "-" (no dots or spaces)'
SLUG_EXPECTED = 'lowercase letters, digits, ".", "_" or "-", starting with a letter or digit'
DIST_EXPECTED = 'a distribution, e.g. { dist = "exponential", mean = "5m" }'


@dataclass(frozen=True)
class Item:
    """An array item in a location: its index and, for named items, its name."""

    index: int
    name: str | None = None


Part = str | Item


@dataclass(frozen=True)
class Loc:
    """A key path in the document, e.g. ``workload.intents[2].share``."""

    parts: tuple[Part, ...] = ()

    def key(self, key: str) -> Loc:
        return Loc((*self.parts, key))

    def item(self, index: int, name: str | None = None) -> Loc:
        return Loc((*self.parts, Item(index, name)))

    def dotted(self) -> str:
        """As written in messages: items by index (``workload.intents[2].share``)."""
        text = ""
        for part in self.parts:
            if isinstance(part, Item):
                text += f"[{part.index}]"
            else:
                text += ("." if text else "") + toml_key(part)
        return text

    def named(self) -> tuple[str, ...]:
        """As addressed by arm ``set`` paths: named items by name, others by index."""
        return tuple(p if isinstance(p, str) else (p.name or str(p.index)) for p in self.parts)


@dataclass(frozen=True)
class Issue:
    loc: Loc
    what: str
    expected: str

    def text(self) -> str:
        return f"{self.loc.dotted()}: {self.what}, expected {self.expected}"


@dataclass(frozen=True)
class RawIssue(Issue):
    """A problem whose whole text (after the file name) was written elsewhere, e.g. by the log reader."""

    raw: str = ""

    def text(self) -> str:
        return self.raw


@dataclass(frozen=True)
class Range:
    """An interval of numbers with the words for messages."""

    desc: str
    expected: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def contains(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below


PROBABILITY = Range("a probability", "a number in [0, 1]", 0.0, 1.0)
SHARE = Range("a share", "a number in (0, 1]", 0.0, 1.0, low_open=True)
POSITIVE = Range("a positive number", "a number > 0", 0.0, low_open=True)
NON_NEGATIVE = Range("a non-negative number", "a number >= 0", 0.0)
SENTIMENT = Range("a sentiment", "a number in [-1, 1]", -1.0, 1.0)
ALPHA = Range("a significance level", "a number in (0, 1)", 0.0, 1.0, low_open=True, high_open=True)
ANY_NUMBER = Range("a finite number", "a number")


def one_of(value: str, options: Sequence[str]) -> str:
    """``one of a, b (did you mean "a"?)``; ``options`` in the order to show."""
    return unknown_key_hint(value, list(options))


@dataclass
class Inputs:
    """Input files read by the experiment (empirical distributions), each read once."""

    base_dir: Path
    #: resolved path → sha256, in first-use order
    used: dict[str, str] = field(default_factory=dict)
    _cache: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: replayed logs already read, by their :class:`supportlab.model.ReplaySource` (control and variants share them)
    logs: dict[Any, Any] = field(default_factory=dict)

    def use(self, resolved: str) -> str:
        """Record a file read by other means (a replayed log): hash it once, return its sha256."""
        if resolved not in self.used:
            digest = hashlib.sha256()
            with open(resolved, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            self.used[resolved] = digest.hexdigest()
        return self.used[resolved]

    def read(self, relative: str) -> tuple[str, str]:
        """(resolved path, text); raises OSError or UnicodeDecodeError."""
        resolved = str((self.base_dir / relative).resolve())
        if resolved not in self._cache:
            data = Path(resolved).read_bytes()
            self._cache[resolved] = (hashlib.sha256(data).hexdigest(), data.decode("utf-8-sig"))
        sha, text = self._cache[resolved]
        self.used.setdefault(resolved, sha)
        return resolved, text


class Checker:
    """Collects :class:`Issue` s; every check returns a placeholder when the value is bad."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self.issues: list[Issue] = []

    # -- recording -------------------------------------------------------------------------------

    def add(self, loc: Loc, what: str, expected: str) -> None:
        self.issues.append(Issue(loc, what, expected))

    def at(self, loc: Loc) -> Callable[[str, str], ConfigError]:
        """A :data:`supportlab.units.Where` that records the problem at ``loc``."""

        def where(what: str, expected: str) -> ConfigError:
            self.add(loc, what, expected)
            return ConfigError(f"{loc.dotted()}: {what}, expected {expected}")

        return where

    def mark(self) -> int:
        return len(self.issues)

    def clean_since(self, mark: int) -> bool:
        return len(self.issues) == mark

    # -- structure -------------------------------------------------------------------------------

    def table(self, node: Any, loc: Loc, spec: Table | None = None, *, expected: str = "a table"
              ) -> dict[str, Any] | None:
        """``node`` as a table (None if absent or not a table); reports unknown and missing keys of ``spec``."""
        if node is None:
            return None
        if not isinstance(node, dict):
            self.add(loc, f"{show(node)} is {type_name(node)}", expected)
            return None
        if spec is not None:
            allowed = sorted(spec.keys)
            for key in node:
                if key not in spec.keys:
                    self.add(loc.key(key), "unknown key", unknown_key_hint(key, allowed))
            for key, what in spec.required.items():
                if key not in node:
                    self.add(loc.key(key), "missing key", what)
        return node

    def array(self, node: Any, loc: Loc, expected: str, *, min_items: int = 0) -> list[Any] | None:
        """``node`` as an array with at least ``min_items`` items (None if absent or bad)."""
        if node is None:
            return None
        if not isinstance(node, list):
            self.add(loc, f"{show(node)} is {type_name(node)}", expected)
            return None
        if len(node) < min_items:
            self.add(loc, f"{show(node)} is empty", expected)
            return None
        return node

    def tables(self, node: Any, loc: Loc, spec: Table, expected: str, *, min_items: int = 0
               ) -> list[tuple[dict[str, Any], Loc]]:
        """The tables of an array of tables with their locations (items that are not tables are reported)."""
        items = self.array(node, loc, expected, min_items=min_items)
        out: list[tuple[dict[str, Any], Loc]] = []
        for i, item in enumerate(items or []):
            t = self.table(item, loc.item(i), spec)
            if t is not None:
                out.append((t, loc.item(i)))
        return out

    def named_tables(self, node: Any, loc: Loc, spec: Table, expected: str, *, min_items: int = 1
                     ) -> list[tuple[dict[str, Any], Loc, str]]:
        """As :meth:`tables` for items with a unique ``name``: (table, location, name or "" if bad)."""
        items = self.array(node, loc, expected, min_items=min_items)
        out: list[tuple[dict[str, Any], Loc, str]] = []
        first: dict[str, Loc] = {}
        for i, item in enumerate(items or []):
            raw_name = item.get("name") if isinstance(item, dict) else None
            item_loc = loc.item(i, raw_name if isinstance(raw_name, str) else None)
            t = self.table(item, item_loc, spec)
            if t is None:
                continue
            name = self.name(t.get("name"), item_loc.key("name"))
            if name in first:
                self.add(item_loc.key("name"), f"{show(name)} is already the name of {first[name].dotted()}",
                         "a unique name")
                name = ""
            elif name:
                first[name] = item_loc
            out.append((t, item_loc, name))
        return out

    # -- values ----------------------------------------------------------------------------------

    def integer(self, value: Any, loc: Loc, minimum: int | None = None, maximum: int | None = None) -> int:
        placeholder = minimum if minimum is not None else 0
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        if value is None:
            return placeholder
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(loc, f"{show(value)} is {type_name(value)}", expected)
            return placeholder
        if minimum is not None and value < minimum:
            desc = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, expected)
            self.add(loc, f"{show(value)} is not {desc}", expected)
            return placeholder
        if maximum is not None and value > maximum:
            bounds = f"an integer from {minimum} to {maximum:,}" if minimum is not None else f"at most {maximum:,}"
            self.add(loc, f"{show(value)} is more than supportlab runs at once", bounds)
            return placeholder
        return value

    def number(self, value: Any, loc: Loc, rng: Range) -> float:
        if value is None:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(loc, f"{show(value)} is {type_name(value)}", rng.expected)
            return 0.0
        if not (math.isfinite(value) and rng.contains(value)):
            self.add(loc, f"{show(value)} is not {rng.desc}", rng.expected)
            return 0.0
        return float(value)

    def boolean(self, value: Any, loc: Loc) -> bool:
        if value is not None and not isinstance(value, bool):
            self.add(loc, f"{show(value)} is {type_name(value)}", "true or false")
            return False
        return bool(value)

    def string(self, value: Any, loc: Loc, expected: str = "a string") -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            self.add(loc, f"{show(value)} is {type_name(value)}", expected)
            return ""
        return value

    def _pattern(self, value: Any, loc: Loc, pattern: re.Pattern[str], desc: str, expected: str) -> str:
        text = self.string(value, loc, f"{desc}: {expected}")
        if text and not pattern.fullmatch(text):
            self.add(loc, f"{show(text)} is not {desc}", expected)
            return ""
        return text

    def name(self, value: Any, loc: Loc) -> str:
        return self._pattern(value, loc, NAME_RE, "a name", NAME_EXPECTED)

    def slug(self, value: Any, loc: Loc) -> str:
        return self._pattern(value, loc, SLUG_RE, "a slug", SLUG_EXPECTED)

    def choice(self, value: Any, loc: Loc, noun: str, options: Sequence[str]) -> str:
        """One of ``options`` (shown in the given order); "" when bad."""
        text = self.string(value, loc, "one of " + ", ".join(options))
        if text and text not in options:
            self.add(loc, f"{show(text)} is not {noun}", one_of(text, options))
            return ""
        return text

    def reference(self, value: Any, loc: Loc, noun: str, names: Sequence[str] | None) -> str:
        """The name of a known thing (``names`` None: the things are unknown, only the type is checked)."""
        if names is None:
            return self.string(value, loc)
        return self.choice(value, loc, noun, names)

    def keyed(self, node: Any, loc: Loc, noun: str, names: Sequence[str] | None) -> dict[str, Any]:
        """A table whose keys are names of known things (e.g. channel → concurrency)."""
        t = self.table(node, loc) or {}
        for key in t:
            if names is not None and key not in names:
                self.add(loc.key(key), f"unknown {noun}", one_of(key, names))
        return t

    def duration(self, value: Any, loc: Loc, *, positive: bool = False) -> float:
        if value is None:
            return 0.0
        try:
            return parse_duration(value, self.at(loc), positive=positive)
        except ConfigError:
            return 0.0

    def rate(self, value: Any, loc: Loc, *, allow_zero: bool = False) -> float:
        if value is None:
            return 0.0
        try:
            return parse_rate(value, self.at(loc), allow_zero=allow_zero)
        except ConfigError:
            return 0.0

    def metric(self, value: Any, loc: Loc, pools: Sequence[str]) -> str:
        text = self.string(value, loc, "a canonical metric name")
        if text and catalog.metric_info(text, tuple(pools)) is None:
            self.add(loc, f"{show(text)} is not a metric", metric_hint(text, pools))
            return ""
        return text

    def metric_amount(self, value: Any, loc: Loc, metric: str, rng: Range = NON_NEGATIVE) -> float:
        """A number in the metric's unit: durations for time metrics, plain numbers otherwise."""
        if catalog.is_time_metric(metric):
            return self.duration(value, loc)
        return self.number(value, loc, rng)

    # -- distributions ---------------------------------------------------------------------------

    def dist(self, value: Any, loc: Loc) -> Dist:
        placeholder = Dist("fixed", value=0.0)
        t = self.table(value, loc, expected=DIST_EXPECTED)
        if t is None:
            return placeholder
        if "dist" not in t:
            self.add(loc.key("dist"), "missing key", "one of " + ", ".join(sorted(DIST_KINDS)))
            return placeholder
        kind = self.choice(t["dist"], loc.key("dist"), "a distribution", sorted(DIST_KINDS))
        if not kind:
            return placeholder
        allowed = sorted(("dist", *DIST_PARAMS[kind]))
        for key in t:
            if key not in allowed:
                self.add(loc.key(key), "unknown key", unknown_key_hint(key, allowed))
        mark = self.mark()
        dist = self._dist_of_kind(kind, t, loc)
        return dist if self.clean_since(mark) else placeholder

    def _param(self, t: dict[str, Any], key: str, loc: Loc, *, positive: bool = False) -> float:
        if key not in t:
            self.add(loc.key(key), "missing key", f"a duration {'>' if positive else '>='} 0, e.g. \"5m\"")
            return 0.0
        return self.duration(t[key], loc.key(key), positive=positive)

    def _dist_of_kind(self, kind: str, t: dict[str, Any], loc: Loc) -> Dist:
        if kind == "fixed":
            return Dist("fixed", value=self._param(t, "value", loc))
        if kind == "exponential":
            return Dist("exponential", mean=self._param(t, "mean", loc, positive=True))
        if kind in ("lognormal", "gamma"):
            return Dist(kind, mean=self._param(t, "mean", loc, positive=True), sd=self._param(t, "sd", loc))
        if kind == "uniform":
            low, high = self._param(t, "low", loc), self._param(t, "high", loc)
            if "low" in t and "high" in t and high < low:
                self.add(loc.key("high"), f"{show(t['high'])} is less than low ({show(t['low'])})", "high >= low")
            return Dist("uniform", low=low, high=high)
        return self._empirical(t, loc)

    def _empirical(self, t: dict[str, Any], loc: Loc) -> Dist:
        if ("values" in t) == ("path" in t):
            given = "both values and path given" if "values" in t else "neither values nor path given"
            self.add(loc, given, 'exactly one: values = [...] or path = "file.csv"')
            return Dist("empirical", values=(0.0,))
        if "values" in t:
            if "column" in t:
                self.add(loc.key("column"), "column without path", 'path = "file.csv" (or no column)')
            items = self.array(t["values"], loc.key("values"), "an array of durations", min_items=1) or []
            values = [self.duration(v, loc.key("values").item(i)) for i, v in enumerate(items)]
            return Dist("empirical", values=tuple(sorted(values)) or (0.0,))
        path = self.string(t["path"], loc.key("path"), 'a CSV file path, e.g. "handle.csv"')
        column = self.string(t["column"], loc.key("column")) if "column" in t else None
        values = self._csv_values(path, column, loc) if path else []
        return Dist("empirical", values=tuple(sorted(values)) or (0.0,), source=path)

    def _csv_values(self, path: str, column: str | None, loc: Loc) -> list[float]:
        try:
            _, text = self.inputs.read(path)
        except FileNotFoundError:
            self.add(loc.key("path"), f"{show(path)} was not found", "a CSV file relative to the experiment file")
            return []
        except (OSError, UnicodeDecodeError) as exc:
            self.add(loc.key("path"), f"{show(path)} cannot be read ({exc})", "a UTF-8 CSV file")
            return []
        reader = csv.reader(io.StringIO(text))
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
        index = self._csv_column(rows, path, column, loc)
        if index is None:
            return []
        return self._csv_numbers(rows, index, path, loc)

    def _csv_column(self, rows: list[tuple[int, list[str]]], path: str, column: str | None, loc: Loc
                    ) -> int | None:
        """The column to read; drops the header line from ``rows``."""
        header = [cell.strip() for cell in rows[0][1]] if rows else []
        if column is not None:
            if column not in header:
                self.add(loc.key("column"), f"{show(column)} is not a column of {show(path)}", one_of(column, header))
                return None
            del rows[0]
            return header.index(column)
        if len(header) > 1:
            self.add(loc.key("path"), f"{show(path)} has {len(header)} columns", "one column (or a column key)")
            return None
        if rows and _float(header[0]) is None:
            del rows[0]  # a header line
        return 0

    def _csv_numbers(self, rows: list[tuple[int, list[str]]], index: int, path: str, loc: Loc) -> list[float]:
        values: list[float] = []
        for line, row in rows:
            cell = row[index].strip() if index < len(row) else ""
            x = _float(cell)
            if x is None or x < 0:
                self.add(loc.key("path"), f"{show(cell)} on line {line} of {show(path)} is not a number of seconds",
                         "a number >= 0")
                return []
            values.append(x)
        if not values:
            self.add(loc.key("path"), f"{show(path)} has no values", "at least one number of seconds")
        return values


def metric_hint(name: str, pools: Sequence[str]) -> str:
    names = [*catalog.METRICS, *(f"utilization.{p}" for p in pools)]
    close = difflib.get_close_matches(name, names, n=1)
    return "a canonical metric name" + (f' (did you mean "{close[0]}"?)' if close else "")


def _float(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None
