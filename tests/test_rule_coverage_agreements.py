"""Every volume licensing rule (issue 6) is exercised by at least one scenario file that cites it."""

from __future__ import annotations

from pathlib import Path

import pytest

from licensedesk.domain.rules import RULES

SCENARIOS = Path(__file__).parent / "scenarios"
VL_RULES = [  # RULES.md §7, §8, PRICE-SELECT-*, PRICE-OV-*, OPEN-ACTIVATION-START
    "VL-TERM", "VL-NOTICE-60D", "VL-TERMINATE-BREACH", "VL-TERMINATE-QUALIFY", "VL-TERMINATE-NO-ORDER",
    "VL-AGREEMENT-END", "CICR-FIELDS", "CICR-CHANNEL", "COCP-ANYTIME", "COCP-LEAD-30D", "COCP-FORM-KIND",
    "COCP-EFFECTIVE", "COCP-SIGNERS", "COCP-MATCH", "COCP-ORDERS", "COCP-DUTIES", "DEV-MANAGED",
    "PRICE-SELECT-LEVEL", "PRICE-SELECT-MIN", "PRICE-OV-MIN", "PRICE-OV-ORGWIDE", "OPEN-ACTIVATION-START",
]


def _named_after(rule: str) -> list[str]:
    """Scenario files named after the rule (``vl-notice-60d-….yaml``) that cite it in a comment."""
    prefix = rule.lower() + "-"
    found = []
    for path in SCENARIOS.glob(f"{prefix}*.yaml"):
        comments = [line for line in path.read_text(encoding="utf-8").splitlines() if line.lstrip().startswith("#")]
        if any(rule in line for line in comments):
            found.append(path.name)
    return found


@pytest.mark.parametrize("rule", VL_RULES)
def test_rule_has_a_scenario_named_after_it(rule: str) -> None:
    assert rule in RULES
    assert _named_after(rule), f"no tests/scenarios/{rule.lower()}-*.yaml citing {rule}"
