"""Reading a scenario file (SCENARIOS.md, format 1) into checked steps; malformed → ``ScenarioError``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .actions import ACTIONS


class ScenarioError(Exception):
    """The file is malformed (exit code 2); the message names the step and field."""


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, as people count
    action: str
    fields: Mapping[str, Any]
    at: datetime | None = None
    advance_to: datetime | None = None


@dataclass
class Scenario:
    name: str
    start: datetime
    zone: ZoneInfo
    policy: str | None
    catalog: list[Mapping[str, Any]] | None
    steps: list[Step]
    expect: dict[str, Any] = field(default_factory=dict)


def _instant(value: Any, where: str, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day, tzinfo=zone)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ScenarioError(f"{where}: not an ISO 8601 instant: {value!r}") from None
    else:
        raise ScenarioError(f"{where}: expected an instant like 2026-06-18T10:00:00+09:00, got {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def parse(data: Any) -> Scenario:
    if not isinstance(data, Mapping):
        raise ScenarioError("the file must be a mapping with format, start and steps")
    unknown = sorted(set(data) - {"format", "name", "start", "timezone", "policy", "catalog", "steps", "expect"},
                     key=str)
    if unknown:
        raise ScenarioError(f"unknown top-level field {unknown[0]!r}")
    if data.get("format") != 1:
        raise ScenarioError(f"field 'format': only format 1 is understood, got {data.get('format')!r}")
    try:
        zone = ZoneInfo(str(data.get("timezone") or "Asia/Tokyo"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ScenarioError(f"field 'timezone': unknown time zone {data.get('timezone')!r}") from None
    if "start" not in data:
        raise ScenarioError("field 'start' is required")
    start = _instant(data["start"], "field 'start'", zone)
    catalog = data.get("catalog")
    if catalog is not None and (not isinstance(catalog, list) or not all(isinstance(o, Mapping) for o in catalog)):
        raise ScenarioError("field 'catalog' must be a list of offers")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list):
        raise ScenarioError("field 'steps' must be a list")
    expect = data.get("expect") or {}
    if not isinstance(expect, Mapping):
        raise ScenarioError("field 'expect' must be a mapping from report paths to values")
    steps = _steps(raw_steps, start, zone)
    _check_references(steps)
    policy = data.get("policy")
    return Scenario(str(data.get("name") or ""), start, zone, None if policy is None else str(policy), catalog,
                    steps, {str(k): v for k, v in expect.items()})


def _steps(raw_steps: list[Any], start: datetime, zone: ZoneInfo) -> list[Step]:
    steps: list[Step] = []
    clock = start
    for i, raw in enumerate(raw_steps, start=1):
        where = f"step {i}"
        if not isinstance(raw, Mapping):
            raise ScenarioError(f"{where}: must be a mapping with one action")
        at = _instant(raw["at"], f"{where} field 'at'", zone) if "at" in raw else None
        actions = [k for k in raw if k != "at"]
        if len(actions) != 1:
            raise ScenarioError(f"{where}: needs exactly one action, found {actions or 'none'}")
        action = str(actions[0])
        if at is not None:
            if at < clock:
                raise ScenarioError(f"{where} field 'at': {at.isoformat()} is before the clock {clock.isoformat()}")
            clock = at
        if action == "advance":
            target = _instant(raw[action], f"{where} field 'advance'", zone)
            if target < clock:
                raise ScenarioError(f"{where} field 'advance': {target.isoformat()} is before the clock")
            clock = target
            steps.append(Step(i, action, {}, at, target))
            continue
        if action not in ACTIONS:
            raise ScenarioError(f"{where}: unknown action {action!r}")
        fields = raw[action]
        if not isinstance(fields, Mapping):
            raise ScenarioError(f"{where} '{action}': fields must be a mapping")
        required, optional = ACTIONS[action].required, ACTIONS[action].optional
        missing = sorted(required - set(fields))
        if missing:
            raise ScenarioError(f"{where} '{action}': field {missing[0]!r} is required")
        extra = sorted(set(fields) - required - optional, key=str)
        if extra:
            raise ScenarioError(f"{where} '{action}': unknown field {extra[0]!r}")
        _check_types(where, action, fields)
        steps.append(Step(i, action, dict(fields), at))
    return steps


def _check_types(where: str, action: str, fields: Mapping[str, Any]) -> None:
    spec = ACTIONS[action]
    for key in spec.integers:
        if key in fields and (isinstance(fields[key], bool) or not isinstance(fields[key], int)):
            raise ScenarioError(f"{where} '{action}': field {key!r} must be a whole number")
    for key in spec.booleans:
        if key in fields and not isinstance(fields[key], bool):
            raise ScenarioError(f"{where} '{action}': field {key!r} must be true or false")
    if action == "order" and "align" in fields and fields["align"] != "calendar_month":
        raise ScenarioError(f"{where} 'order': field 'align' must be 'calendar_month'")
    if action == "order" and "align" in fields and "align_with" in fields:
        raise ScenarioError(f"{where} 'order': give either 'align' or 'align_with', not both")
    for key in ("ref", "customer", "tenant", "subscription", "offer", "name", "domain", "country"):
        if key in fields and not isinstance(fields[key], str | int):
            raise ScenarioError(f"{where} '{action}': field {key!r} must be text")


def _check_references(steps: list[Step]) -> None:
    """A ref that no step ever tries to create makes the file malformed (SCENARIOS.md)."""
    created: dict[str, set[str]] = {"customer": set(), "tenant": set(), "subscription": set()}
    for step in steps:
        kind = ACTIONS[step.action].creates if step.action in ACTIONS else None
        if kind:
            created.setdefault(kind, set()).add(str(step.fields["ref"]))
    for step in steps:
        references = ACTIONS[step.action].references if step.action in ACTIONS else {}
        for fld, kind in references.items():
            if fld in step.fields and str(step.fields[fld]) not in created.get(kind, set()):
                raise ScenarioError(f"step {step.number} '{step.action}': field {fld!r} names {kind} "
                                    f"{step.fields[fld]!r}, which no step creates")
