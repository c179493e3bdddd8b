"""The two settings a simulation reads: the business calendar and the default policy.

``licensedesk simulate`` runs on a fresh in-memory database and needs nothing else from the
configuration. Building the full ``Settings`` imports pydantic-settings and python-dotenv and validates
every field: about 0.1 s of CPU of a command whose goal is 1 s (issue #3, D-CLI-SIMULATE-SETTINGS).
They are read here as ``Settings`` reads them: ``LICENSEDESK_`` + the field name in any case, the
environment before the ``.env`` file of the current directory (tests/unit/test_config_simulation.py
compares the two). ``config.py`` takes its defaults from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from licensedesk.domain.calendar import BusinessCalendar, YearEndClosure

PREFIX = "LICENSEDESK_"
ENV_FILE = ".env"
DEFAULT_YEAR_END_CLOSURE = "12-29..01-03"  # company closure, e.g. 12-29..01-03, or "none"
DEFAULT_POLICY = "mca-nce"


@dataclass(frozen=True)
class SimulationSettings:
    business_calendar: BusinessCalendar
    default_policy: str


def simulation_settings(environ: Mapping[str, str] = os.environ, env_file: Path = Path(ENV_FILE)
                        ) -> SimulationSettings:
    """The settings from ``environ`` and ``env_file``; a malformed year-end closure raises ``ValueError``."""
    values = _dotenv(env_file)
    values.update({key.lower(): value for key, value in environ.items()})
    closure = values.get(f"{PREFIX}year_end_closure".lower(), DEFAULT_YEAR_END_CLOSURE)
    return SimulationSettings(business_calendar=BusinessCalendar(closure=YearEndClosure.parse(closure)),
                              default_policy=values.get(f"{PREFIX}default_policy".lower(), DEFAULT_POLICY))


def _dotenv(path: Path) -> dict[str, str]:
    if not (path.is_file() or path.is_fifo()):
        return {}
    from dotenv import dotenv_values  # only when there is a .env file (≈ 40 ms to import)

    return {key.lower(): value for key, value in dotenv_values(path, encoding="utf-8").items() if value is not None}
