"""What a scenario action is: its fields, what it refers to and creates, and the handler it calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from licensedesk.services.clock import SimulatedClock
from licensedesk.services.context import Services
from licensedesk.services.ports import UnitOfWork


@dataclass
class Run:
    """A scenario run in progress: services on the fresh database, the clock, what was created or refused."""

    svc: Services
    clock: SimulatedClock
    default_policy: str | None
    explain: bool = False
    refused: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, ref) → rule ID of the refusal
    created: set[tuple[str, str]] = field(default_factory=set)
    rejections: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ActionSpec:
    name: str
    required: frozenset[str]
    optional: frozenset[str]
    handler: Callable[[Run, Mapping[str, Any]], Any]
    references: Mapping[str, str] = field(default_factory=dict)  # field → kind of thing it names
    creates: str | None = None  # kind of thing the action creates under fields["ref"]
    integers: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()


def action(name: str, required: str, optional: str, handler: Callable[[Run, Mapping[str, Any]], Any], *,
           references: Mapping[str, str] | None = None, creates: str | None = None, integers: str = "",
           booleans: str = "") -> ActionSpec:
    """Shorthand: field names as space-separated words."""
    return ActionSpec(name, frozenset(required.split()), frozenset(optional.split()), handler, references or {},
                      creates, frozenset(integers.split()), frozenset(booleans.split()))


ReportSection = Callable[[UnitOfWork, Any], Mapping[str, Any]]
