"""Composition root: settings → engine → unit of work → services. Importing this module does nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from licensedesk.adapters.db.engine import create_engine, create_schema
from licensedesk.adapters.db.uow import SqlUnitOfWork
from licensedesk.domain.invoice_sheet import Issuer
from licensedesk.services.context import Services
from licensedesk.services.ports import DocumentRenderer, UnitOfWork
from licensedesk.services.ports_archive import ArchiveFiles
from licensedesk.services.scenario import Scenario

if TYPE_CHECKING:  # pydantic-settings is not imported by `licensedesk simulate` (config_simulation.py)
    from licensedesk.config import Settings
    from licensedesk.config_simulation import SimulationSettings


def uow_factory(engine: Engine, *, queue_mail: bool = True) -> Callable[[], UnitOfWork]:
    return lambda: SqlUnitOfWork(engine, queue_mail=queue_mail)


def build(settings: Settings, engine: Engine | None = None) -> Services:
    engine = engine or create_engine(settings.database_url)
    return Services(uow=uow_factory(engine), zone=settings.zone, calendar=settings.business_calendar,
                    default_policy=settings.default_policy)


def simulation_services(settings: Settings | SimulationSettings) -> Callable[[Scenario], Services]:
    """A fresh, isolated in-memory database per scenario, in the scenario's time zone."""

    def make(scenario: Scenario) -> Services:
        engine = create_engine("sqlite+pysqlite:///:memory:")
        create_schema(engine)
        return Services(uow=uow_factory(engine, queue_mail=False), zone=scenario.zone,
                        calendar=settings.business_calendar,
                        default_policy=scenario.policy or settings.default_policy)

    return make


def issuer(settings: Settings) -> Issuer:
    """The reseller as printed on qualified invoices (適格請求書)."""
    return Issuer(settings.reseller_name, settings.reseller_address, settings.reseller_registration_number,
                  settings.reseller_bank)


def pdf_renderer(settings: Settings) -> DocumentRenderer:
    from licensedesk.adapters.pdf.invoice import PdfRenderer  # reportlab is imported only when printing

    return PdfRenderer(settings.pdf_font_path)


def archive_files(settings: Settings) -> ArchiveFiles:
    from licensedesk.adapters.archive.files import DirectoryArchive

    return DirectoryArchive(settings.archive_dir)
