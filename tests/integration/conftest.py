"""Integration fixtures: ``svc``, the services over a freshly migrated database of each back end (``db_url``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.bootstrap import uow_factory
from licensedesk.services.context import Services


@pytest.fixture
def svc(db_url: str) -> Services:
    """A test module that seeds more overrides this with ``def svc(svc)`` and adds its data."""
    engine = create_engine(db_url)
    upgrade(engine)
    return Services(uow=uow_factory(engine), zone=ZoneInfo("Asia/Tokyo"))
