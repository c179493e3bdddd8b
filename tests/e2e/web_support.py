"""What the web tests share: an app over the demo data with the demo users, a fixed clock, and a
``WebClient`` that logs in through the form and posts with the session's CSRF token."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.bootstrap import build
from licensedesk.config import Settings
from licensedesk.entrypoints.api.app import create_app
from licensedesk.entrypoints.cli import DEMO_USERS
from licensedesk.services.demo import load_demo

JST = ZoneInfo("Asia/Tokyo")
WEB_T0 = datetime(2026, 6, 18, 10, tzinfo=JST)
PASSWORDS = {name: password for name, _role, _customer, password in DEMO_USERS}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class WebApp:
    app: Any
    clock: FixedClock
    svc: Any

    def client(self) -> WebClient:
        return WebClient(TestClient(self.app, follow_redirects=False))


class WebClient:
    """A browser-like client: cookies kept, redirects not followed unless asked."""

    def __init__(self, http: TestClient) -> None:
        self.http = http
        self.csrf = ""

    def login(self, name: str, password: str | None = None, **form: str) -> Any:
        page = self.http.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text)
        assert token, page.text
        answer = self.http.post("/login", data={"name": name, "password": password or PASSWORDS[name],
                                                "login_token": token.group(1), **form})
        if answer.status_code == 303:
            self.csrf = self.token_from(self.http.get(answer.headers["location"]).text)
        return answer

    @staticmethod
    def token_from(html: str) -> str:
        found = CSRF.search(html)
        return found.group(1) if found else ""

    def get(self, path: str, **kw: Any) -> Any:
        return self.http.get(path, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any) -> Any:
        body = dict(data or {})
        if csrf:
            body["csrf_token"] = self.csrf
        return self.http.post(path, data=body, **kw)


# Test-only argon2 parameters: verifying these hashes takes milliseconds (production hashes use the defaults;
# verification reads the parameters from the hash itself, so the login code under test is the real one).
_CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _seed(url: str) -> None:
    settings = Settings(database_url=url)
    engine = create_engine(url)
    upgrade(engine)
    svc = build(settings, engine)
    load_demo(svc, WEB_T0)
    with svc.uow() as uow:
        for name, role, customer, password in DEMO_USERS:
            uow.api.add_user(name, role, customer, _CHEAP.hash(password), WEB_T0)
        uow.commit()
    engine.dispose()


@cache
def _sqlite_template() -> Path:
    """The demo database built once per test process; each SQLite test gets a copy."""
    path = Path(tempfile.mkdtemp(prefix="ld_web_")) / "demo.sqlite3"
    _seed(f"sqlite+pysqlite:///{path}")
    return path


def make_web_app(url: str) -> WebApp:
    settings = Settings(database_url=url)
    if (target := settings.sqlite_path()) is not None:
        shutil.copyfile(_sqlite_template(), target)
    else:
        _seed(url)
    app = create_app(settings, run_scheduler=False)
    clock = FixedClock(WEB_T0)
    app.state.web.clock = clock
    app.state.api.clock = clock
    return WebApp(app, clock, app.state.services)
