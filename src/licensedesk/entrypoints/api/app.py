"""The web application: home page, health check and (in-process) scheduler. Grows with the web issue."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import text

from licensedesk.bootstrap import archive_files, build, issuer, pdf_renderer
from licensedesk.bootstrap_mail import delivery
from licensedesk.config import Settings
from licensedesk.services.archive import run as archive_run
from licensedesk.services.clock import SystemClock
from licensedesk.services.outbox import deliver_due
from licensedesk.services.scheduler import tick

log = logging.getLogger("licensedesk.scheduler")


def _templates() -> Environment:
    path = str(resources.files("licensedesk.entrypoints.web").joinpath("templates"))
    return Environment(loader=FileSystemLoader(path), autoescape=select_autoescape())


class Scheduler:
    """Runs the tick every ``interval`` seconds in a background thread (SQLite: in-process worker)."""

    def __init__(self, run: Any, interval: int) -> None:
        self.run, self.interval = run, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="licensedesk-scheduler", daemon=True)
        self.last: Any = None

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                self.last = self.run()
            except Exception:  # keep serving; the next tick retries (idempotent)
                log.exception("tick failed")
            self.stop.wait(self.interval)


def create_app(settings: Settings, *, run_scheduler: bool = True) -> FastAPI:
    from licensedesk.adapters.db.engine import create_engine

    engine = create_engine(settings.database_url)
    svc = build(settings, engine)
    clock = SystemClock()
    outbox = delivery(settings)
    files, renderer, reseller = archive_files(settings), pdf_renderer(settings), issuer(settings)

    def run_once() -> Any:
        now = clock.now()
        report = tick(svc, now)
        deliver_due(svc, outbox, now)  # after the tick's commits, same thread (one SQLite worker)
        archive_run(svc, now, files, renderer, reseller)  # 電子帳簿保存法: documents the tick issued
        return report

    scheduler = Scheduler(run_once, settings.scheduler_interval_seconds)
    templates = _templates()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_scheduler:
            scheduler.thread.start()
        yield
        scheduler.stop.set()

    app = FastAPI(title="licensedesk", version="0.1.0", lifespan=lifespan,
                  responses={400: {"description": "Malformed request body"}})

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, Any]:
        """Liveness and database reachability."""
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> str:
        with svc.uow() as uow:
            customers = uow.customers.list()
            subs = uow.subscriptions.all()
            docs = uow.documents.list()
            notices = uow.notices.list()
        return templates.get_template("home.html").render(
            settings=settings, customers=customers, subscriptions=subs, documents=docs, notices=notices[-20:],
            database=engine.dialect.name,
        )

    from .v1 import install_api

    install_api(app, svc, settings, clock)  # REST API /api/v1 (issue 7)
    app.state.services = svc
    app.state.scheduler = scheduler
    return app
