"""Every scenario file in tests/scenarios runs through `simulate` and all its expectations hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from licensedesk.bootstrap import simulation_services
from licensedesk.config import Settings
from licensedesk.domain.rules import RULES
from licensedesk.services.scenario import parse
from licensedesk.services.simulate import simulate

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))
CITATION = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*\b|POLICIES\.md §\d|SCENARIOS\.md")


def test_there_are_scenarios() -> None:
    assert SCENARIOS, "tests/scenarios holds no scenario files"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    cited = [m for m in CITATION.findall(comments) if m in RULES or m.startswith(("POLICIES", "SCENARIOS"))]
    assert cited, f"{path.name}: cite the rule ID(s) (RULES.md) or POLICIES.md section it covers in a comment"
    scenario = parse(yaml.safe_load(text))
    assert scenario.expect, f"{path.name}: a scenario without expectations checks nothing"
    report = simulate(scenario, simulation_services(Settings()))
    assert report["expect"]["failed"] == 0, yaml.safe_dump(report["expect"]["failures"], allow_unicode=True)
    assert report["expect"]["passed"] == len(scenario.expect)
