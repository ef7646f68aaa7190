"""Validation declared once, on the field: one validator for every dataclass a user fills in
(configs, energy models, sweep specs); no torch import.

A field states its constraints in its own definition::

    @dataclass
    class Train:
        steps: int = spec(1200, ge=1)                    # an int >= 1
        lr: float = spec(2e-3, gt=0)                     # a finite float > 0
        mode: Literal["hybrid", "ann", "snn"] = "hybrid"  # one of these strings
        neuron: str = spec("lif", choices=NEURONS.names)  # choices may be a callable (a registry)
        tiers: tuple = spec(convert=parse_tiers)         # required (no default); custom rule

:func:`build` makes an instance from a mapping (a TOML table), :func:`check` validates an existing
instance and :func:`field_value` one value of one field. The rules, by declared type:

- ``bool``: only ``True``/``False`` (``2`` or ``"yes"`` is an error, not truthy);
- ``int``: an int, or an integral float (``2.0`` becomes ``2``); never a bool;
- ``float``: an int or a float (stored as float); never a bool; always finite (NaN, ±inf are errors);
- ``str``: only a string; ``Literal[...]`` and ``choices``: one of the listed values;
- ``list``/``tuple``/``dict`` (optionally ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``): that
  container (a list is accepted for a tuple), each item checked against ``X``;
- a dataclass type: a mapping (built recursively) or an instance (checked recursively);
- bounds ``ge``/``gt``/``le``/``lt`` on numbers; ``convert`` last (a function that returns the
  normalised value or raises ``ValueError`` whose message is the rule).

Mappings with a key that is no field are errors naming the valid keys; a field without a default
is required. Every error is one line of the caller's ``AshbenchError`` subclass naming the key,
the value and the rule: ``invalid model.timesteps=0; it must be >= 1``,
``invalid model.mode='x'; valid values: hybrid, ann, snn``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import operator
from dataclasses import MISSING
from typing import Any, Callable, Iterable, Literal, get_args, get_origin, get_type_hints

from ashbench.errors import AshbenchError

_KEY = "ashbench.schema"
_BOUNDS = (("ge", operator.ge, ">="), ("gt", operator.gt, ">"), ("le", operator.le, "<="), ("lt", operator.lt, "<"))


@dataclasses.dataclass(frozen=True)
class Rule:
    """What one field accepts beyond its type.

    ``ge``/``gt``/``le``/``lt``: bounds (value >= ge, > gt, <= le, < lt; ``None`` = no bound);
    ``choices``: the valid values, or a function returning them (read at validation time, so a
    registry can grow); ``convert``: applied last, returns the normalised value or raises
    ``ValueError(rule)``."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: Iterable | Callable[[], Iterable] | None = None
    convert: Callable[[Any], Any] | None = None


def spec(default=MISSING, *, ge=None, gt=None, le=None, lt=None, choices=None, convert=None):
    """A dataclass field with constraints; ``default`` omitted = required. A mutable (unhashable)
    default, e.g. a list, dict or dataclass instance, is copied for each instance."""
    rule = Rule(ge, gt, le, lt, choices, convert)
    if type(default).__hash__ is None:
        return dataclasses.field(default_factory=functools.partial(copy.deepcopy, default), metadata={_KEY: rule})
    return dataclasses.field(default=default, metadata={_KEY: rule})


def non_empty(value):
    """A ``convert`` rule: the value unchanged, or ValueError when it is empty."""
    if not value:
        raise ValueError("it must not be empty")
    return value


class _Invalid(Exception):
    """A rule broken inside the type check; ``rule`` None means 'not of the declared type'."""

    def __init__(self, rule: str | None = None):
        super().__init__(rule)
        self.rule = rule


def build(cls: type, data: dict, error: type[AshbenchError], where: str = "", *, source: str = ""):
    """An instance of dataclass ``cls`` from ``data`` (keys named ``where.key`` in messages; a
    ``source``, e.g. a file, prefixes them). Raises ``error`` (one line) on an unknown or missing
    key or an invalid value."""
    if not isinstance(data, dict):
        _fail(error, source, f"invalid {where or cls.__name__}={_shown(data)}; it needs a dict")
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in known:
            _fail(error, source, f"unknown key {_label(where, key)!r}; valid keys: {', '.join(sorted(known))}")
    for name, f in known.items():
        if name not in data and f.default is MISSING and f.default_factory is MISSING:
            _fail(error, source, f"missing required key {_label(where, name)!r}")
    return cls(**{k: field_value(cls, k, v, error, where, source=source) for k, v in data.items()})


def check(obj, error: type[AshbenchError], where: str = "", *, source: str = ""):
    """``obj`` (a dataclass instance) after checking every field; raises ``error`` (one line)."""
    for f in dataclasses.fields(obj):
        field_value(type(obj), f.name, getattr(obj, f.name), error, where, source=source)
    return obj


def field_value(cls: type, name: str, value, error: type[AshbenchError], where: str = "", *, source: str = ""):
    """``value`` normalised for field ``name`` of ``cls`` (``2.0`` -> ``2`` for an int), or
    ``error`` (one line) naming ``where.name``, the value and the broken rule."""
    label, tp = _label(where, name), field_types(cls)[name]
    if dataclasses.is_dataclass(tp):
        return _nested(tp, value, error, label, source)
    shown = value  # in messages: the value as given, or the normalised number (0 -> 0.0 for a float)
    try:
        value = _conform(tp, value)
        shown = value if isinstance(value, (int, float)) else shown
        return _apply_rule(_rules(cls)[name], tp, value)
    except _Invalid as exc:
        _fail(error, source, f"invalid {label}={_shown(shown)}; {exc.rule or 'it needs a ' + type_name(tp)}")


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """Field name -> declared type (string annotations resolved)."""
    return get_type_hints(cls)


def type_name(tp) -> str:
    """How a declared type reads in messages: 'int', 'list of str', 'dict of list'."""
    args = [a for a in get_args(tp) if a is not Ellipsis]
    origin = get_origin(tp) or tp
    name = getattr(origin, "__name__", str(origin))
    return f"{name} of {type_name(args[-1])}" if args and origin in (list, tuple, dict) else name


def _nested(tp: type, value, error, label: str, source: str):
    if isinstance(value, tp):
        return check(value, error, label, source=source)
    return build(tp, value, error, label, source=source)


@functools.cache
def _rules(cls: type) -> dict[str, Rule]:
    return {f.name: f.metadata.get(_KEY, Rule()) for f in dataclasses.fields(cls)}


def _apply_rule(rule: Rule, tp, value):
    choices = _choices(rule, tp)
    if choices is not None and not any(value == c and type(value) is type(c) for c in choices):
        raise _Invalid(f"valid values: {', '.join(map(str, choices))}")
    for attr, compare, sign in _BOUNDS:
        bound = getattr(rule, attr)
        if bound is not None and not compare(value, bound):
            raise _Invalid(f"it must be {sign} {bound}")
    return _converted(rule, value)


def _choices(rule: Rule, tp) -> list | None:
    if get_origin(tp) is Literal:
        return list(get_args(tp))
    if rule.choices is None:
        return None
    return list(rule.choices() if callable(rule.choices) else rule.choices)


def _converted(rule: Rule, value):
    if rule.convert is None:
        return value
    try:
        return rule.convert(value)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


def _conform(tp, value):
    """``value`` as type ``tp``; _Invalid when it is not one."""
    origin = get_origin(tp) or tp
    if origin is Literal or tp is Any:
        return value
    if origin in _SCALARS:
        return _SCALARS[origin](value)
    if origin in (list, tuple) and isinstance(value, (list, tuple)):
        return origin(_items(origin, get_args(tp), value))
    if origin is dict and isinstance(value, dict):
        item = get_args(tp)[1] if get_args(tp) else Any
        return {_conform(str, k): _conform(item, v) for k, v in value.items()}
    if isinstance(origin, type) and origin not in (list, tuple, dict) and isinstance(value, origin):
        return value
    raise _Invalid()


def _items(origin: type, args: tuple, value) -> list:
    if origin is list or args[-1:] == (Ellipsis,):
        item = args[0] if args else Any
        return [_conform(item, v) for v in value]
    if args and len(args) != len(value):
        raise _Invalid()
    return [_conform(a, v) for a, v in zip(args, value)] if args else list(value)


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    raise _Invalid()


def _as_int(value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _Invalid()


def _as_float(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid()
    if not math.isfinite(value):
        raise _Invalid("it must be finite")
    return float(value)


def _as_str(value) -> str:
    if isinstance(value, str):
        return value
    raise _Invalid()


_SCALARS = {bool: _as_bool, int: _as_int, float: _as_float, str: _as_str}


def _label(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(error: type[AshbenchError], source: str, message: str):
    raise error(f"{source}: {message}" if source else message)
