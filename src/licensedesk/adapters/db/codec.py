"""Domain dataclasses ↔ JSON-ready values, driven by their type hints (for aggregates stored as JSON state).

Handles dataclasses, enums, dates, instants, lists, tuples, dicts (enum, int or str keys) and
optionals. Fields named in ``TRANSIENT`` (what an aggregate recorded but has not handed over yet)
are never stored.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")
TRANSIENT = frozenset({"events", "notices"})
_HINTS: dict[type, dict[str, Any]] = {}


def dump(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: dump(getattr(value, f.name)) for f in fields(value) if f.name not in TRANSIENT}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k.value if isinstance(k, Enum) else k): dump(v) for k, v in value.items()}
    return value


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def load(tp: Any, data: Any) -> Any:
    if data is None or tp is Any:
        return data
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return load(next(a for a in args if a is not type(None)), data)
    if isinstance(tp, type) and is_dataclass(tp):
        hints = _hints(tp)
        return tp(**{f.name: load(hints[f.name], data[f.name]) for f in fields(tp)
                     if f.init and f.name in data and f.name not in TRANSIENT})
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    if tp is date:
        return date.fromisoformat(data)
    if origin is tuple:
        return tuple(load(args[0], v) for v in data)
    if origin in (list, Sequence):
        return [load(args[0], v) for v in data]
    if origin in (dict, Mapping):
        key_type, value_type = args
        return {(int(k) if key_type is int else load(key_type, k)): load(value_type, v) for k, v in data.items()}
    return data


def load_as(cls: type[T], data: Any) -> T:
    loaded: T = load(cls, data)
    return loaded
