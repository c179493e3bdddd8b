"""The customer's main journey in a real browser, in Japanese (issue 7): the demo customer logs in, sees its
contracts and their deadlines, adds seats after a price preview, confirms, finds the new invoice and
downloads its PDF; a cancellation outside the window shows the refusal and its rule before anything is done;
another customer's contract does not exist for it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect


def login_as_acme(page: Any) -> None:
    page.goto("/login")
    page.get_by_label("ユーザー名").fill("acme")
    page.get_by_label("パスワード").fill("demo-acme")
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(re.compile(r"/portal$"))


def test_customer_adds_seats_with_a_price_preview_and_downloads_the_invoice(page: Any, tmp_path: Path) -> None:
    login_as_acme(page)
    expect(page.get_by_role("heading", name="ご契約一覧")).to_be_visible()
    contracts = page.locator("#contracts")
    expect(contracts).to_contain_text("ACME-E3")
    expect(contracts).not_to_contain_text("SAKURA-BB")
    expect(contracts).to_contain_text("TERM-RENEW-OPTOUT-30D")  # the opt-out deadline with its rule

    page.get_by_role("link", name="ACME-E3").click()
    expect(page.get_by_role("heading", name="ご契約 ACME-E3")).to_be_visible()
    seats = int(page.locator("#seats").inner_text().split()[0])
    form = page.locator("#seats-form")
    form.get_by_label("数量").fill(str(seats + 3))
    form.get_by_role("button", name="内容を確認する").click()

    expect(page.get_by_role("heading", name="変更内容の確認")).to_be_visible()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("この変更はできます")
    expect(preview).to_contain_text("PRICE-ONE")  # the prorated charge and its rule
    total = page.locator("#preview-total").inner_text()
    assert re.fullmatch(r"[\d,]+ 円", total), total
    expect(page.locator("#seats")).to_have_count(0)  # nothing changed yet: we are on the preview page
    page.get_by_role("button", name="確定する").click()

    expect(page.locator(".flash.ok")).to_contain_text("数量を変更しました")
    expect(page.locator("#seats")).to_have_text(str(seats + 3))

    page.get_by_role("navigation").get_by_role("link", name="請求書").click()
    expect(page.get_by_role("heading", name="請求書・返還請求書")).to_be_visible()
    newest = page.locator("#documents tbody tr").first
    expect(newest).to_contain_text(total)  # the invoice issued is the one previewed
    newest.get_by_role("link", name=re.compile(r"^INV-")).click()
    with page.expect_download() as download:
        page.locator("#pdf").click()
    saved = tmp_path / "invoice.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")


def test_cancellation_outside_the_window_shows_the_rule_before_anything_is_done(page: Any) -> None:
    login_as_acme(page)
    page.goto("/portal/contracts/ACME-E3")
    page.locator("#cancel-form").get_by_role("button", name="内容を確認する").click()
    refusal = page.locator("#refusal")
    expect(refusal).to_contain_text("この変更はできません")
    expect(refusal).to_contain_text("NCE-CANCEL-168H")
    expect(page.get_by_role("button", name="確定する")).to_have_count(0)


def test_another_customers_contract_does_not_exist_for_the_customer(page: Any) -> None:
    login_as_acme(page)
    answer = page.goto("/portal/contracts/SAKURA-BB")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="見つかりません")).to_be_visible()
