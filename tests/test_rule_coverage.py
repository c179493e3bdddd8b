"""Every rule the engine implements is exercised by at least one scenario file that cites it."""

from __future__ import annotations

from pathlib import Path

import pytest

from licensedesk.domain.rules import RULES

SCENARIOS = Path(__file__).parent / "scenarios"
ENGINE_RULES = [  # issue 3: RULES.md §4–§5, PRICE-ONE, PRICE-LOCK-12M, and the ordering rules the presets use
    "TERM-RENEW-AUTO", "TERM-RENEW-OPTOUT-30D", "TERM-RENEW-EDU-GOV", "TERM-REDUCE-1M", "TERM-MIN-1Y",
    "TERM-NO-FREQ-CHANGE", "BILL-PRORATE-DAILY", "BILL-NO-PRORATE", "BILL-RENEWAL-INVOICE", "BILL-NONPAY-STOP",
    "NCE-CANCEL-168H", "NCE-REDUCE-168H", "COTERM", "LIFE-RETAIN-60D", "LIFE-EXPIRED-30D", "LIFE-NO-REFUND-CANCEL",
    "PRICE-ONE", "PRICE-LOCK-12M", "ORD-TRIAL", "ORD-PAY-FIRST", "ORD-FLOW",
    "ELIG-CORP", "ELIG-DOMESTIC", "TEN-ORG-ACCOUNT", "TEN-REGION",
]


def _comments() -> dict[str, str]:
    return {p.name: "\n".join(line for line in p.read_text(encoding="utf-8").splitlines()
                              if line.lstrip().startswith("#"))
            for p in SCENARIOS.glob("*.yaml")}


@pytest.mark.parametrize("rule", ENGINE_RULES)
def test_rule_has_a_scenario(rule: str) -> None:
    assert rule in RULES
    citing = [name for name, text in _comments().items() if rule in text]
    assert citing, f"no scenario in tests/scenarios cites {rule}"
