"""The server's first pages over HTTP (in-process ASGI client)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.bootstrap import build
from licensedesk.config import Settings
from licensedesk.entrypoints.api.app import create_app
from licensedesk.services.demo import load_demo


def test_health_and_home_page_lead_to_the_japanese_login(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+pysqlite:///{tmp_path / 'web.sqlite3'}")
    engine = create_engine(settings.database_url)
    upgrade(engine)
    load_demo(build(settings, engine), datetime.now().astimezone())
    with TestClient(create_app(settings, run_scheduler=False)) as client:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok", "database": "sqlite"}
        home = client.get("/", follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == "/login"
        login = client.get("/login")
        assert login.status_code == 200 and "ログイン" in login.text and settings.reseller_name in login.text
