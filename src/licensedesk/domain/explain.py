"""The "why" of every amount, date and refusal: rule ID, inputs and formula, in Japanese and English."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Explanation:
    rule: str
    formula_en: str
    formula_ja: str
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "formula": {"en": self.formula_en, "ja": self.formula_ja},
            "inputs": {k: _plain(v) for k, v in self.inputs.items()},
        }


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value  # a datetime is a date too


def because(rule: str, en: str, ja: str | None = None, **inputs: Any) -> Explanation:
    """Shorthand: ``because("NCE-CANCEL-168H", "ordered_at + 168 h", ordered_at=…)``."""
    return Explanation(rule, en, ja or en, inputs)
