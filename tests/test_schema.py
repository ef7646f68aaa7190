"""The field-declared validator (ashbench.schema): types, bounds, choices, unknown and missing keys."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

import pytest

from ashbench.errors import ConfigError
from ashbench.schema import build, check, field_value, non_empty, spec

NAMES = ["a", "b"]  # grown by a test: callable choices are read at validation time


@dataclass
class Section:
    count: int = spec(1, ge=1)
    rate: float = spec(0.5, gt=0, le=1)
    flag: bool = False
    label: str = ""
    mode: Literal["x", "y"] = "x"
    pick: str = spec("a", choices=lambda: NAMES)
    items: list[str] = spec(["p"], convert=non_empty)
    table: dict = spec({})
    pair: tuple = ()


@dataclass
class Needs:
    size: int = spec(ge=0)  # required: no default
    inner: Section = spec(Section())


def _error(data: dict) -> str:
    with pytest.raises(ConfigError) as info:
        build(Section, data, ConfigError, "s")
    assert "\n" not in str(info.value)
    return str(info.value)


def test_defaults_and_valid_values_build():
    # every declared default is valid; ints become floats in float fields, lists become tuples
    assert build(Section, {}, ConfigError) == Section()
    built = build(Section, {"rate": 1, "pair": [1, 2], "flag": True, "pick": "b"}, ConfigError)
    assert (built.rate, type(built.rate), built.pair, built.flag) == (1.0, float, (1, 2), True)


def test_unknown_key_names_the_valid_keys():
    # one line: the key (with its section) and every valid key, sorted
    assert _error({"colour": 1}) == ("unknown key 's.colour'; valid keys: count, flag, items, label, mode, pair, pick, "
                                     "rate, table")


def test_missing_required_key():
    with pytest.raises(ConfigError, match="^missing required key 'size'$"):
        build(Needs, {}, ConfigError)


@pytest.mark.parametrize("value", [2, 1, 0, "true", None])
def test_bool_accepts_only_real_booleans(value):
    # 2 (or 1, "true") is not silently True
    assert _error({"flag": value}) == f"invalid s.flag={value!r}; it needs a bool"


@pytest.mark.parametrize("value,expected", [(3, 3), (2.0, 2)])
def test_int_accepts_ints_and_integral_floats(value, expected):
    # 2.0 -> 2 (an int)
    result = field_value(Section, "count", value, ConfigError)
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", [2.5, True, "3", float("inf"), float("nan")])
def test_int_rejects_fractions_bools_strings_and_non_finite(value):
    assert _error({"count": value}) == f"invalid s.count={value!r}; it needs a int"


@pytest.mark.parametrize("value", [True, "0.5", None, [0.5]])
def test_float_rejects_bools_and_non_numbers(value):
    assert _error({"rate": value}) == f"invalid s.rate={value!r}; it needs a float"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_float_must_be_finite(value):
    # NaN would pass every >= bound (all comparisons with NaN are False); inf is no energy or rate
    assert _error({"rate": value}) == f"invalid s.rate={value!r}; it must be finite"


@pytest.mark.parametrize("key,value,message", [
    ("count", 0, "invalid s.count=0; it must be >= 1"),
    ("rate", 0, "invalid s.rate=0.0; it must be > 0"),  # the value shown is the normalised float
    ("rate", 1.5, "invalid s.rate=1.5; it must be <= 1"),
])
def test_bounds(key, value, message):
    assert _error({key: value}) == message


def test_str_fields_take_only_strings():
    assert _error({"label": 5}) == "invalid s.label=5; it needs a str"


def test_literal_choices():
    assert _error({"mode": "z"}) == "invalid s.mode='z'; valid values: x, y"


def test_callable_choices_are_read_at_validation_time(monkeypatch):
    assert _error({"pick": "c"}) == "invalid s.pick='c'; valid values: a, b"
    monkeypatch.setattr(sys.modules[__name__], "NAMES", ["a", "b", "c"])
    assert build(Section, {"pick": "c"}, ConfigError).pick == "c"  # a registry grew: "c" is now valid


@pytest.mark.parametrize("key,value,message", [
    ("items", "p", "invalid s.items='p'; it needs a list of str"),  # container type
    ("items", ["p", 1], "invalid s.items=['p', 1]; it needs a list of str"),  # item type
    ("items", [], "invalid s.items=[]; it must not be empty"),  # convert rule
    ("table", [1], "invalid s.table=[1]; it needs a dict"),
    ("pair", {"a": 1}, "invalid s.pair={'a': 1}; it needs a tuple"),
])
def test_containers(key, value, message):
    assert _error({key: value}) == message


def test_nested_dataclasses_are_built_and_checked_with_dotted_keys():
    # a nested mapping is built recursively; its keys read "inner.count"
    assert build(Needs, {"size": 0, "inner": {"count": 2}}, ConfigError).inner.count == 2
    with pytest.raises(ConfigError, match=r"^invalid inner\.count=0; it must be >= 1$"):
        build(Needs, {"size": 0, "inner": {"count": 0}}, ConfigError)


def test_check_validates_an_existing_instance_and_source_prefixes_messages():
    bad = Section(rate=float("nan"))
    with pytest.raises(ConfigError, match=r"^f\.toml: invalid s\.rate=nan; it must be finite$"):
        check(bad, ConfigError, "s", source="f.toml")
    assert check(Section(), ConfigError) == Section()


def test_schema_does_not_import_torch():
    code = "import sys, ashbench.schema; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
