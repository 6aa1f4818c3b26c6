"""Durations and rates as written in experiment files, and how bad values are shown in messages.

Durations are strings with a unit (``"800ms"``, ``"45s"``, ``"5m"``, ``"1.5h"``, ``"2d"``; ``"5min"`` is
accepted too) or bare numbers of seconds. Rates are strings ``"N/s"``, ``"N/min"``, ``"N/h"``, ``"N/d"``.
Numbers may use underscores between digits (``"1_200/h"``).

Errors are :class:`~supportlab.errors.ConfigError` with the standard message form
``<where>: <value> is not <what>, expected <what>``. ``where`` is either the message prefix
(``"x.toml: workload.channels[0].sla"``) or a :data:`Where` callable that turns the two halves of the
message into the error to raise (the experiment loader uses it to collect problems).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import Any

from supportlab.errors import ConfigError

#: builds the error for ``what`` went wrong and what was ``expected``
Where = Callable[[str, str], ConfigError]

DURATION_UNITS: dict[str, float] = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
RATE_UNITS: dict[str, float] = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}

_NUMBER = r"[+-]?(?:\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?"
_DURATION_RE = re.compile(rf"\s*({_NUMBER})\s*(ms|min|s|m|h|d)\s*")
_RATE_RE = re.compile(rf"\s*({_NUMBER})\s*/\s*(min|s|h|d)\s*")

DURATION_EXAMPLES = 'e.g. "45s", "5m", "1.5h" or a number of seconds'
RATE_EXAMPLE = 'e.g. "240/h"'

_MAX_SHOWN = 60


def parse_duration(value: object, where: str | Where, *, positive: bool = False) -> float:
    """Seconds of a duration; ``positive`` refuses zero. Refuses booleans, negatives and garbage."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _error(where, f"{show(value)} is {type_name(value)}", f"a duration, {DURATION_EXAMPLES}")
    if isinstance(value, str):
        m = _DURATION_RE.fullmatch(value)
        if m is None:
            raise _error(where, f"{show(value)} is not a duration", DURATION_EXAMPLES)
        seconds = _number(m.group(1)) * DURATION_UNITS[m.group(2)]
    else:
        seconds = float(value)
    if not math.isfinite(seconds):
        raise _error(where, f"{show(value)} is not a duration", DURATION_EXAMPLES)
    if seconds < 0:
        raise _error(where, f"{show(value)} is negative", f"a duration {'>' if positive else '>='} 0")
    if positive and seconds == 0:
        raise _error(where, f"{show(value)} is not a positive duration", "a duration > 0")
    return seconds


def parse_rate(value: object, where: str | Where, *, allow_zero: bool = False) -> float:
    """Arrivals per second of a rate string such as ``"240/h"``; ``allow_zero`` accepts ``"0/h"``."""
    if not isinstance(value, str):
        raise _error(where, f"{show(value)} is {type_name(value)}", f"a rate, {RATE_EXAMPLE}")
    m = _RATE_RE.fullmatch(value)
    per_second = _number(m.group(1)) / RATE_UNITS[m.group(2)] if m else math.nan
    if allow_zero:
        if not (math.isfinite(per_second) and per_second >= 0):
            raise _error(where, f"{show(value)} is not a rate >= 0", f'{RATE_EXAMPLE} or "0/h"')
    elif not (math.isfinite(per_second) and per_second > 0):
        raise _error(where, f"{show(value)} is not a positive rate", RATE_EXAMPLE)
    return per_second


def show(value: object) -> str:
    """A value as it would be written in TOML, shortened for messages."""
    text = _toml_like(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def type_name(value: object) -> str:
    """``"a string"``, ``"an integer"``, ...: the TOML type of a value, with its article."""
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
        (dt.datetime, "a date-time"),
        (dt.date, "a date"),
        (dt.time, "a time"),
    ]
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


def _error(where: str | Where, what: str, expected: str) -> ConfigError:
    if isinstance(where, str):
        return ConfigError(f"{where}: {what}, expected {expected}")
    return where(what, expected)


def _number(text: str) -> float:
    return float(text.replace("_", ""))


def _toml_like(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_like(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k)} = {_toml_like(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def toml_key(key: Any) -> str:
    """A key as TOML writes it: bare when it can be, quoted otherwise."""
    text = str(key)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else json.dumps(text, ensure_ascii=False)
