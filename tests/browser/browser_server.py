"""The real app served by uvicorn in a thread, on a free port, over a fresh SQLite database with the demo
data and the demo users: what the browser tests and ``scripts/screenshots`` drive."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import uvicorn
from argon2 import PasswordHasher

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.bootstrap import build
from licensedesk.config import Settings
from licensedesk.entrypoints.api.app import create_app
from licensedesk.entrypoints.cli import DEMO_USERS
from licensedesk.services.demo import load_demo

CHROMIUM = "/usr/bin/chromium"
# Test-only argon2 parameters (fast to verify); the login code is the real one.
_CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, now: datetime) -> None:
    settings = Settings(database_url=url)
    engine = create_engine(url)
    upgrade(engine)
    svc = build(settings, engine)
    load_demo(svc, now)
    with svc.uow() as uow:
        for name, role, customer, password in DEMO_USERS:
            uow.api.add_user(name, role, customer, _CHEAP.hash(password), now)
        uow.commit()
    engine.dispose()


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Yield the base URL of the demo app, running until the block ends."""
    url = f"sqlite+pysqlite:///{directory / 'browser.sqlite3'}"
    seed(url, datetime.now().astimezone())
    app = create_app(Settings(database_url=url, mail_outbox_dir=str(directory / "mail")), run_scheduler=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
