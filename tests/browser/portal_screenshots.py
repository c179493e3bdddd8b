"""Screenshots of the customer portal for the README (1280x800, Japanese), as the demo customer ``acme``.

Reuses the console's screenshot runner (``screenshots.py``: the demo app, Debian's Chromium) with the
portal's pages; a reseller relationship request is sent first so the acceptance page has one to show.

    .venv/bin/python tests/browser/portal_screenshots.py [docs/screenshots]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import browser_server
import screenshots


def _seats_preview(page: Any) -> None:
    form = page.locator("#seats-form")
    form.get_by_label("数量").fill("30")
    form.get_by_role("button", name="内容を確認する").click()
    page.locator("#preview").wait_for()


def _cancel_refused(page: Any) -> None:
    page.locator("#cancel-form").get_by_role("button", name="内容を確認する").click()
    page.locator("#refusal").wait_for()


def _first_invoice(page: Any) -> None:
    page.locator("#documents tbody tr").first.get_by_role("link").first.click()
    page.wait_for_load_state()


SHOTS: list[tuple[str, str | None, str, Callable[[Any], None] | None]] = [
    ("portal-contracts", "acme", "/portal", None),
    ("portal-contract", "acme", "/portal/contracts/ACME-E3", None),
    ("portal-seats-preview", "acme", "/portal/contracts/ACME-E3", _seats_preview),
    ("portal-cancel-refused", "acme", "/portal/contracts/ACME-E3", _cancel_refused),
    ("portal-invoices", "acme", "/portal/invoices", None),
    ("portal-invoice", "acme", "/portal/invoices", _first_invoice),
    ("portal-relationships", "acme", "/portal/relationships", None),
]


def _with_relationship_request(serve: Callable[[Path], Any]) -> Callable[[Path], Any]:
    @contextmanager
    def wrapped(directory: Path) -> Iterator[str]:
        with serve(directory) as url:
            from licensedesk.adapters.db.engine import create_engine
            from licensedesk.bootstrap import build
            from licensedesk.config import Settings
            from licensedesk.services.transfers import request_relationship

            db = f"sqlite+pysqlite:///{directory / 'browser.sqlite3'}"
            engine = create_engine(db)
            request_relationship(build(Settings(database_url=db), engine), datetime.now().astimezone(),
                                 ref="REL-2026-001", tenant="acme-tenant", admin="gdap", gdap_days=730)
            engine.dispose()
            yield url

    return wrapped


def main(out: Path) -> None:
    screenshots.SHOTS = SHOTS
    screenshots.serve = _with_relationship_request(browser_server.serve)
    screenshots.main(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
