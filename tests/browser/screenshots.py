"""Screenshots of the main pages for the README: ``scripts/screenshots`` runs this module.

It serves the demo app (browser_server.py), drives Debian's Chromium (1280x800, Japanese) and writes
one PNG per entry of ``SHOTS`` into docs/screenshots/. Add pages by adding entries (the portal's too).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from browser_server import CHROMIUM, serve
from playwright.sync_api import sync_playwright

PASSWORDS = {"admin": "demo-admin", "sales": "demo-sales", "billing": "demo-billing", "viewer": "demo-viewer",
             "acme": "demo-acme"}


def _seat_preview(page: Any) -> None:
    page.get_by_label("数量", exact=False).fill("30")
    page.get_by_role("button", name="プレビュー").click()
    page.locator("#preview .card").wait_for()


def _order_preview(page: Any) -> None:
    page.locator("select[name=tenant]").select_option("acme-tenant")
    page.locator("select[name=offer]").select_option("M365-BUSINESS-STANDARD")
    page.locator("select[name=billing]").select_option("annual")
    page.locator("select[name=policy]").select_option("annual-prepaid")
    page.locator("input[name=quantity]").fill("10")
    page.locator("input[name=ref]").fill("ACME-BS-1")
    page.get_by_role("button", name="プレビュー").click()
    page.locator("#preview .card").wait_for()


def _upload_statement(page: Any) -> None:
    """Two deposits: one the bank file names unclearly (queued for a person), one nobody owes."""
    statement = "日付,金額,振込依頼人\n2026-06-18,149435,ｱｸﾒ ｼﾃﾝ\n2026-06-18,5000,ﾀﾞﾚｶｼﾗﾅｲ\n".encode("cp932")
    page.locator("input[name=statement]").set_input_files(
        {"name": "deposits.csv", "mimeType": "text/csv", "buffer": statement})
    page.get_by_role("button", name="取り込む").click()
    page.locator(".flash").wait_for()


def _first_invoice(page: Any) -> None:
    page.get_by_role("link", name="INV-2026-000001").first.click()
    page.wait_for_load_state()


# (file name, user, path, what to do on the page before the shot)
SHOTS: list[tuple[str, str | None, str, Callable[[Any], None] | None]] = [
    ("login", None, "/login", None),
    ("console-dashboard", "sales", "/console", None),
    ("console-calendar", "sales", "/console/calendar", None),
    ("console-charts", "billing", "/console/charts", None),
    ("console-customers", "sales", "/console/customers", None),
    ("console-customer", "sales", "/console/customers/acme", None),
    ("console-subscriptions", "sales", "/console/subscriptions", None),
    ("console-subscription", "sales", "/console/subscriptions/ACME-E3", None),
    ("console-seat-change-preview", "sales", "/console/subscriptions/ACME-E3/change/quantity", _seat_preview),
    ("console-order-preview", "sales", "/console/orders/new", _order_preview),
    ("console-documents", "billing", "/console/documents", None),
    ("console-document", "billing", "/console/documents", _first_invoice),
    ("console-payments", "billing", "/console/payments", _upload_statement),
    ("console-reconciliation", "billing", "/console/reconciliation", None),
    ("console-outbox", "billing", "/console/outbox", None),
]


def _login(page: Any, name: str) -> None:
    page.goto("/login")
    page.get_by_label("ユーザー名").fill(name)
    page.get_by_label("パスワード").fill(PASSWORDS[name])
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/console**" if name != "acme" else "**/portal**")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ld_shots_") as tmp, serve(Path(tmp)) as base_url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        sessions: dict[str | None, Any] = {}
        for name, user, path, action in SHOTS:
            if user not in sessions:
                context = browser.new_context(base_url=base_url, locale="ja-JP",
                                              viewport={"width": 1280, "height": 800})
                sessions[user] = context.new_page()
                if user is not None:
                    _login(sessions[user], user)
            page = sessions[user]
            page.goto(path)
            if action is not None:
                action(page)
            page.screenshot(path=str(out / f"{name}.png"))
            print(f"wrote {out / f'{name}.png'}")
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
