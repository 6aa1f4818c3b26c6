"""Durations, rates and how values are shown in messages."""

from __future__ import annotations

import math

import pytest

from supportlab.errors import ConfigError
from supportlab.units import parse_duration, parse_rate, show, type_name

WHERE = "x.toml: a.b"
DURATION_HINT = 'e.g. "45s", "5m", "1.5h" or a number of seconds'


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("800ms", 0.8),
        ("45s", 45.0),
        ("5m", 300.0),
        ("5min", 300.0),
        ("1.5h", 5400.0),
        ("2d", 172800.0),
        ("0s", 0.0),
        (" 10 s ", 10.0),
        ("1_000ms", 1.0),
        (".5h", 1800.0),
        ("1e3s", 1000.0),
        ("+2m", 120.0),
        (0, 0.0),
        (45, 45.0),
        (2.5, 2.5),
    ],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value, WHERE) == pytest.approx(seconds)
    assert isinstance(parse_duration(value, WHERE), float)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5x", f'"5x" is not a duration, expected {DURATION_HINT}'),
        ("45", f'"45" is not a duration, expected {DURATION_HINT}'),
        ("", f'"" is not a duration, expected {DURATION_HINT}'),
        ("1__0s", f'"1__0s" is not a duration, expected {DURATION_HINT}'),
        ("5 m s", f'"5 m s" is not a duration, expected {DURATION_HINT}'),
        ("1e999s", f'"1e999s" is not a duration, expected {DURATION_HINT}'),
        (math.inf, f"inf is not a duration, expected {DURATION_HINT}"),
        (math.nan, f"nan is not a duration, expected {DURATION_HINT}"),
        (True, f"true is a boolean, expected a duration, {DURATION_HINT}"),
        ([1], f"[1] is an array, expected a duration, {DURATION_HINT}"),
        ({"a": 1}, f"{{ a = 1 }} is a table, expected a duration, {DURATION_HINT}"),
        (-1, "-1 is negative, expected a duration >= 0"),
        ("-5m", '"-5m" is negative, expected a duration >= 0'),
    ],
)
def test_parse_duration_refuses(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(value, WHERE)
    assert str(info.value) == f"{WHERE}: {message}"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0s", '"0s" is not a positive duration, expected a duration > 0'),
        (0, "0 is not a positive duration, expected a duration > 0"),
        (-2.5, "-2.5 is negative, expected a duration > 0"),
    ],
)
def test_parse_duration_positive(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(value, WHERE, positive=True)
    assert str(info.value) == f"{WHERE}: {message}"
    assert parse_duration("1ms", WHERE, positive=True) == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("value", "per_second"),
    [
        ("1/s", 1.0),
        ("30/min", 0.5),
        ("240/h", 240 / 3600),
        ("1_200/h", 1200 / 3600),
        ("86400/d", 1.0),
        ("2.5/s", 2.5),
        (" 60 / h ", 60 / 3600),
    ],
)
def test_parse_rate(value: str, per_second: float) -> None:
    assert parse_rate(value, WHERE) == pytest.approx(per_second)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5/h", '"-5/h" is not a positive rate, expected e.g. "240/h"'),
        ("0/h", '"0/h" is not a positive rate, expected e.g. "240/h"'),
        ("240/hour", '"240/hour" is not a positive rate, expected e.g. "240/h"'),
        ("240/m", '"240/m" is not a positive rate, expected e.g. "240/h"'),
        ("240", '"240" is not a positive rate, expected e.g. "240/h"'),
        ("/h", '"/h" is not a positive rate, expected e.g. "240/h"'),
        ("1__0/h", '"1__0/h" is not a positive rate, expected e.g. "240/h"'),
        (240, '240 is an integer, expected a rate, e.g. "240/h"'),
        (2.5, '2.5 is a float, expected a rate, e.g. "240/h"'),
        (False, 'false is a boolean, expected a rate, e.g. "240/h"'),
    ],
)
def test_parse_rate_refuses(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rate(value, WHERE)
    assert str(info.value) == f"{WHERE}: {message}"


def test_parse_rate_allow_zero() -> None:
    assert parse_rate("0/h", WHERE, allow_zero=True) == 0.0
    with pytest.raises(ConfigError) as info:
        parse_rate("-1/h", WHERE, allow_zero=True)
    assert str(info.value) == f'{WHERE}: "-1/h" is not a rate >= 0, expected e.g. "240/h" or "0/h"'


def test_where_callable_builds_the_error() -> None:
    seen: list[tuple[str, str]] = []

    def where(what: str, expected: str) -> ConfigError:
        seen.append((what, expected))
        return ConfigError(f"custom: {what} / {expected}")

    with pytest.raises(ConfigError, match=r"^custom: "):
        parse_rate("x", where)
    assert seen == [('"x" is not a positive rate', 'e.g. "240/h"')]


@pytest.mark.parametrize(
    ("value", "shown", "kind"),
    [
        ("a\"b", '"a\\"b"', "a string"),
        (True, "true", "a boolean"),
        (3, "3", "an integer"),
        (0.5, "0.5", "a float"),
        ([1, "x"], '[1, "x"]', "an array"),
        ({"a.b": 1, "c": [2]}, '{ "a.b" = 1, c = [2] }', "a table"),
        ({}, "{}", "a table"),
    ],
)
def test_show_and_type_name(value: object, shown: str, kind: str) -> None:
    assert show(value) == shown
    assert type_name(value) == kind


def test_show_shortens_long_values() -> None:
    text = show(list(range(100)))
    assert len(text) == 60
    assert text.endswith("...")
