"""config_simulation reads the two settings ``licensedesk simulate`` needs as ``Settings`` reads them."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from licensedesk.config import Settings
from licensedesk.config_simulation import simulation_settings

DAYS = [date(2026, 12, d) for d in range(24, 32)] + [date(2027, 1, d) for d in range(1, 8)]


def closed(calendar: object) -> list[bool]:
    return [not calendar.is_business_day(d) for d in DAYS]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("environ", "dotenv"), [
    ({}, None),
    ({"LICENSEDESK_YEAR_END_CLOSURE": "none", "LICENSEDESK_DEFAULT_POLICY": "annual-prepaid"}, None),
    ({"licensedesk_year_end_closure": "12-30..01-04"}, None),  # any case, as pydantic-settings
    ({}, "LICENSEDESK_YEAR_END_CLOSURE=12-28..01-05\nLICENSEDESK_DEFAULT_POLICY='monthly-prorated'\n"),
    ({"LICENSEDESK_DEFAULT_POLICY": "mca-nce"}, "LICENSEDESK_DEFAULT_POLICY=annual-prepaid\n"),  # env first
])
def test_reads_what_settings_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str],
                                   dotenv: str | None) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.upper().startswith("LICENSEDESK_")]:
        monkeypatch.delenv(key)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    full, light = Settings(), simulation_settings()
    assert light.default_policy == full.default_policy
    assert closed(light.business_calendar) == closed(full.business_calendar)


def test_malformed_closure_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="year-end closure"):
        simulation_settings({"LICENSEDESK_YEAR_END_CLOSURE": "soon"}, tmp_path / ".env")
