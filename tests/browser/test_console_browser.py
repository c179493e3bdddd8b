"""The staff's main journeys in a real browser, in Japanese (issue 7): log in, find a customer, open a
subscription, preview and confirm a seat change (htmx), download an invoice PDF; a POST without the CSRF
token is refused; repeated wrong passwords are throttled."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect


def login(page: Any, name: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("ユーザー名").fill(name)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()


def test_sales_changes_seats_with_a_preview_and_downloads_the_invoice(page: Any, tmp_path: Path) -> None:
    login(page, "sales", "demo-sales")
    expect(page).to_have_url(re.compile(r"/console$"))
    expect(page.get_by_role("heading", name="今日の対応事項")).to_be_visible()

    page.get_by_role("navigation").get_by_role("link", name="お客様").click()
    page.get_by_label("検索（コード・名称・カナ・法人番号）").fill("アクメ")
    expect(page.locator("#results")).not_to_contain_text("sakura")  # htmx live search
    page.get_by_role("link", name="acme", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("株式会社アクメ"))).to_be_visible()

    page.get_by_role("link", name="ACME-E3").first.click()
    expect(page.get_by_text("TERM-RENEW-AUTO")).to_be_visible()  # why the term ends when it does
    page.get_by_role("link", name="席数の変更（即時）").click()
    page.get_by_label(re.compile("数量")).fill("30")
    page.get_by_role("button", name="プレビュー").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("この変更で起きること")
    expect(preview).to_contain_text("PRICE-ONE")  # the prorated charge and its rule
    expect(page).to_have_url(re.compile(r"/change/quantity$"))  # htmx swapped the preview in place
    preview.get_by_role("button", name="確定する").click()
    expect(page.locator(".flash.ok")).to_contain_text("席数の変更（即時） を行いました")
    expect(page.locator("dl.facts")).to_contain_text("30")

    page.get_by_role("navigation").get_by_role("link", name="請求書").click()
    page.get_by_role("link", name=re.compile(r"^INV-")).first.click()
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF をダウンロード").click()
    saved = tmp_path / "invoice.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")


def test_a_post_without_the_csrf_token_is_refused(page: Any) -> None:
    login(page, "admin", "demo-admin")
    expect(page).to_have_url(re.compile(r"/console$"))
    status = page.evaluate("""async () => {
        const body = new URLSearchParams({quantity: "99"});
        const answer = await fetch("/console/subscriptions/ACME-E3/change/quantity", {method: "POST", body});
        return answer.status;
    }""")
    assert status == 403
    page.goto("/console/subscriptions/ACME-E3")
    expect(page.locator("dl.facts")).not_to_contain_text("99")


def test_wrong_passwords_are_throttled(page: Any) -> None:
    for _ in range(5):
        login(page, "billing", "wrong-password")
        expect(page.get_by_role("alert")).to_contain_text("ユーザー名またはパスワードが正しくありません")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        login(page, "billing", "demo-billing")
    assert answer.value.status == 429
    expect(page.get_by_role("alert")).to_contain_text("一時的にログインできません")
