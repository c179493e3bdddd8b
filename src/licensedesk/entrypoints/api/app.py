"""The web application: health check, REST API, web console/portal and the (in-process) scheduler."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy import text

from licensedesk.bootstrap import archive_files, build, issuer, pdf_renderer
from licensedesk.bootstrap_mail import delivery
from licensedesk.bootstrap_upstream import provisioner
from licensedesk.config import Settings
from licensedesk.services.archive import run as archive_run
from licensedesk.services.clock import SystemClock
from licensedesk.services.outbox import deliver_due
from licensedesk.services.provisioning import provision_due
from licensedesk.services.scheduler import tick

log = logging.getLogger("licensedesk.scheduler")


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


@contextmanager
def start_up_left_alone() -> Iterator[None]:
    """While the server runs, Python's cycle collector leaves alone what its start-up made (D-API-GC).

    A server process holds about 150,000 objects after start-up (the code, FastAPI's routes, SQLAlchemy's
    metadata), and every full collection walked them all: 106 and 117 ms, one in each of two processes during a
    12-second run of ``bench/api_orders.py`` (~440 orders/s), each stalling every request of its process and
    freeing nothing (seen with a ``gc.callbacks`` probe). ``gc.freeze`` moves them out of the collector's reach;
    what requests create is collected as before. A process that froze objects itself before is left as it is,
    and what is frozen here is handed back when the server stops (tests start many apps in one process).
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def create_app(settings: Settings, *, run_scheduler: bool = True) -> FastAPI:
    from licensedesk.adapters.db.engine import create_engine

    engine = create_engine(settings.database_url)
    svc = build(settings, engine)
    clock = SystemClock()
    outbox = delivery(settings)
    upstream = provisioner(settings)  # None: no Partner Center configured, jobs wait
    files, renderer, reseller = archive_files(settings), pdf_renderer(settings), issuer(settings)

    def run_once() -> Any:
        now = clock.now()
        report = tick(svc, now)
        if upstream is not None:
            provision_due(svc, upstream, now)  # buys upstream, activates, queues the activation mail …
        deliver_due(svc, outbox, now)  # after the tick's commits, same thread (one SQLite worker)
        archive_run(svc, now, files, renderer, reseller)  # 電子帳簿保存法: documents the tick issued
        return report

    scheduler = Scheduler(run_once, settings.scheduler_interval_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # handlers run in this many threads at most; the rest queue (D-API-THREADS)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        with start_up_left_alone():
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

    from .v1 import install_api

    install_api(app, svc, settings, clock)  # REST API /api/v1 (issue 7)
    from licensedesk.entrypoints.web import install_web

    install_web(app, svc, settings, clock)  # console /console, portal /portal, /login (issue 7)
    if settings.api_keepalive_requests:
        from .keepalive import SpreadKeepAlive

        app.add_middleware(SpreadKeepAlive, every=settings.api_keepalive_requests,
                           threads=settings.api_threads)
    app.state.services = svc
    app.state.scheduler = scheduler
    return app
