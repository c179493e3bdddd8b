"""Scenario actions (SCENARIOS.md format 1 and the fields added since), gathered from each capability.

Each capability module lists its ``ACTIONS`` (and optionally ``report(uow, scenario)`` for its own
report section); this package only collects them, so adding a capability is one line here.
"""

from __future__ import annotations

from . import agreements, core, documents, parties
from .base import ActionSpec, ReportSection, Run

MODULES = (core, parties, documents, agreements)

ACTIONS: dict[str, ActionSpec] = {spec.name: spec for module in MODULES for spec in module.ACTIONS}
REPORT_SECTIONS: list[ReportSection] = [m.report for m in MODULES if hasattr(m, "report")]

__all__ = ["ACTIONS", "REPORT_SECTIONS", "ActionSpec", "ReportSection", "Run"]
