"""The customer portal over HTTP (in-process), as the demo customer ``acme``: contracts and their deadlines
with rule IDs, seat changes and cancellation previewed then confirmed (the preview is what the change then
issues), auto-renew, invoices and PDFs, relationship acceptance; CSRF; another customer's objects answer 404."""

from __future__ import annotations

import re
from datetime import timedelta

from web_support import WEB_T0, WebApp, WebClient

from licensedesk.services import subscriptions, transfers


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _acme(web_app: WebApp) -> WebClient:
    client = web_app.client()
    assert client.login("acme").status_code == 303
    return client


def _invoices(web_app: WebApp, customer: str = "acme") -> list[dict]:
    with web_app.svc.uow() as uow:
        return uow.documents.list(customer)


def test_contracts_show_seats_price_auto_renew_and_each_deadline_with_its_rule(web_app: WebApp) -> None:
    client = _acme(web_app)
    page = client.get("/portal")
    assert page.status_code == 200 and 'lang="ja"' in page.text
    shown = _text(page.text)
    assert "ご契約一覧" in shown and "ACME-E3" in shown and "SAKURA-BB" not in shown  # only its own
    assert "Microsoft 365 E3" in shown and "5,434 円" in shown and "有効" in shown
    for label, rule in (("キャンセル期限", "NCE-CANCEL-168H"), ("自動更新停止の期限: 2027-04-08", "TERM-RENEW-OPTOUT-30D"),
                        ("数量削減の期限", "NCE-REDUCE-168H"), ("更新日: 2027-05-09", "TERM-RENEW-AUTO")):
        assert label in shown and rule in shown
    detail = _text(client.get("/portal/contracts/ACME-E3").text)
    assert "2027-05-08 − 30 日 = 2027-04-08" in detail  # the formula of the opt-out deadline


def test_add_seats_preview_then_confirm_issues_exactly_the_previewed_invoice(web_app: WebApp) -> None:
    client = _acme(web_app)
    preview = client.get("/portal/contracts/ACME-E3/preview?change=seats&quantity=30")
    shown = _text(preview.text)
    assert preview.status_code == 200 and "数量を 25 から 30 に変更" in shown and "この変更はできます" in shown
    assert "PRICE-ONE" in shown and "合計 20,916 円" in shown
    assert client.get("/portal/contracts/ACME-E3").text.count('id="seats">25') == 1  # nothing changed yet
    before = {d["number"] for d in _invoices(web_app)}
    done = client.post("/portal/contracts/ACME-E3/confirm", {"change": "seats", "quantity": "30"})
    assert done.status_code == 303 and done.headers["location"] == "/portal/contracts/ACME-E3"
    page = client.get("/portal/contracts/ACME-E3")
    assert "数量を変更しました" in page.text and 'id="seats">30' in page.text
    new = [d for d in _invoices(web_app) if d["number"] not in before]
    assert len(new) == 1 and new[0]["total"] == 20_916
    with web_app.svc.uow() as uow:
        entries = uow.api.audit_entries()
    assert entries[-1]["actor"] == "acme" and entries[-1]["action"] == "subscription.change-quantity"
    # the seats just added may be removed within 168 hours: the preview shows the refund
    refund = _text(client.get("/portal/contracts/ACME-E3/preview?change=seats&quantity=27").text)
    assert "返還請求書が発行されます" in refund and "NCE-REDUCE-168H" in refund


def test_reduction_and_cancellation_outside_their_window_show_the_refusal_and_its_rule(web_app: WebApp) -> None:
    client = _acme(web_app)
    reduce = client.get("/portal/contracts/ACME-E3/preview?change=seats&quantity=20")
    shown = _text(reduce.text)
    assert "この変更はできません" in shown and "NCE-REDUCE-168H" in shown and "確定する" not in shown
    cancel = _text(client.get("/portal/contracts/ACME-E3/preview?change=cancel").text)
    assert "NCE-CANCEL-168H" in cancel and "キャンセル期限（2026-05-16T10:00:00+09:00）を過ぎています" in cancel
    # confirming anyway (a forged or stale form) is refused by the handler, and nothing changes
    answer = client.post("/portal/contracts/ACME-E3/confirm", {"change": "cancel"})
    assert answer.status_code == 303
    page = client.get("/portal/contracts/ACME-E3").text
    assert "NCE-CANCEL-168H" in page and "有効" in page
    # the renewal quantity can be lowered instead (TERM-REDUCE-1M)
    renewal = _text(client.get("/portal/contracts/ACME-E3/preview?change=renewal&quantity=20").text)
    assert "次の契約期間の数量を 20 に予約" in renewal and "発行される請求書はありません" in renewal
    client.post("/portal/contracts/ACME-E3/confirm", {"change": "renewal", "quantity": "20"})
    assert 'id="seats">25 → 20' in client.get("/portal/contracts/ACME-E3").text


def test_cancel_within_the_window_previews_the_refund_then_issues_it(web_app: WebApp) -> None:
    subscriptions.order(web_app.svc, WEB_T0 - timedelta(hours=2), ref="ACME-NEW", tenant="acme-tenant",
                        offer="M365-E3", term="P1Y", billing="monthly", quantity=5)
    client = _acme(web_app)
    preview = _text(client.get("/portal/contracts/ACME-NEW/preview?change=cancel").text)
    assert "ご契約を解約" in preview and "返還請求書が発行されます" in preview and "NCE-CANCEL-168H" in preview
    total = re.search(r"合計 (−?-?[\d,]+) 円", preview)
    assert total is not None
    client.post("/portal/contracts/ACME-NEW/confirm", {"change": "cancel"})
    assert "解約済み" in client.get("/portal/contracts/ACME-NEW").text
    notes = [d for d in _invoices(web_app) if d["kind"] == "credit_note"]
    assert len(notes) == 1 and f"{notes[0]['total']:,}" == total.group(1).replace("−", "-")


def test_auto_renew_toggle_shows_the_optout_deadline_and_is_refused_after_it(web_app: WebApp) -> None:
    client = _acme(web_app)
    preview = _text(client.get("/portal/contracts/ACME-E3/preview?change=auto_renew&enabled=false").text)
    assert "自動更新を停止する" in preview and "自動更新停止の期限: 2027-04-08" in preview
    client.post("/portal/contracts/ACME-E3/confirm", {"change": "auto_renew", "enabled": "false"})
    page = client.get("/portal/contracts/ACME-E3").text
    assert 'id="auto-renew">なし' in page and "契約満了日" in page
    client.post("/portal/contracts/ACME-E3/confirm", {"change": "auto_renew", "enabled": "true"})
    web_app.clock.at = WEB_T0.replace(year=2027, month=4, day=9)
    client = _acme(web_app)  # the session of 2026 has expired
    late = _text(client.get("/portal/contracts/ACME-E3/preview?change=auto_renew&enabled=false").text)
    assert "この変更はできません" in late and "TERM-RENEW-OPTOUT-30D" in late


def test_invoices_list_detail_and_pdf(web_app: WebApp) -> None:
    client = _acme(web_app)
    number = _invoices(web_app)[0]["number"]
    listing = client.get("/portal/invoices")
    assert listing.status_code == 200 and number in listing.text and "請求書・返還請求書" in listing.text
    detail = _text(client.get(f"/portal/invoices/{number}").text)
    assert "請求書 " + number in detail and 'class="rule"' in client.get(f"/portal/invoices/{number}").text
    pdf = client.get(f"/portal/invoices/{number}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content[:4] == b"%PDF"


def test_another_customers_objects_answer_404(web_app_sqlite: WebApp) -> None:
    client = _acme(web_app_sqlite)
    theirs = _invoices(web_app_sqlite, "sakura")[0]["number"]
    for path in ("/portal/contracts/SAKURA-BB", "/portal/contracts/SAKURA-BB/preview?change=cancel",
                 f"/portal/invoices/{theirs}", f"/portal/invoices/{theirs}/pdf", "/portal/contracts/NOPE"):
        assert client.get(path).status_code == 404, path
    answer = client.post("/portal/contracts/SAKURA-BB/confirm", {"change": "cancel"})
    assert answer.status_code == 404
    with web_app_sqlite.svc.uow() as uow:
        sub = uow.subscriptions.get("SAKURA-BB")
    assert sub is not None and sub.status.value == "active"


def test_confirm_needs_the_csrf_token(web_app_sqlite: WebApp) -> None:
    client = _acme(web_app_sqlite)
    answer = client.post("/portal/contracts/ACME-E3/confirm", {"change": "seats", "quantity": "30"}, csrf=False)
    assert answer.status_code == 403 and "CSRF" in answer.text
    assert 'id="seats">25' in client.get("/portal/contracts/ACME-E3").text


def test_staff_cannot_use_the_portal_and_anonymous_users_are_sent_to_login(web_app_sqlite: WebApp) -> None:
    staff = web_app_sqlite.client()
    staff.login("sales")
    assert staff.get("/portal/invoices").status_code == 403
    anonymous = web_app_sqlite.client()
    assert anonymous.get("/portal/contracts/ACME-E3").headers["location"].startswith("/login?next=")


def test_relationship_request_accepted_in_the_portal(web_app: WebApp) -> None:
    svc = web_app.svc
    transfers.request_relationship(svc, WEB_T0, ref="REL-1", tenant="acme-tenant", admin="gdap", gdap_days=90)
    transfers.request_relationship(svc, WEB_T0, ref="REL-2", tenant="sakura-tenant")
    transfers.request_relationship(svc, WEB_T0 - timedelta(days=100), ref="REL-OLD", tenant="acme-tenant")
    client = _acme(web_app)
    page = _text(client.get("/portal/relationships").text)
    assert "REL-1" in page and "REL-OLD" in page and "REL-2" not in page and "XFER-RELATIONSHIP" in page
    assert client.post("/portal/relationships/REL-2/accept").status_code == 404
    done = client.post("/portal/relationships/REL-1/accept")
    assert done.status_code == 303
    assert "販売店関係を承認しました" in client.get("/portal/relationships").text
    with svc.uow() as uow:
        accepted = uow.parties.relationships.get("REL-1")
        other = uow.parties.relationships.get("REL-2")
    assert accepted is not None and accepted.status.value == "accepted"
    assert other is not None and other.status.value == "sent"
    client.post("/portal/relationships/REL-OLD/accept")  # past its 90 days: refused with the rule
    assert "XFER-RELATIONSHIP" in client.get("/portal/relationships").text
    with svc.uow() as uow:
        old = uow.parties.relationships.get("REL-OLD")
    assert old is not None and old.status.value != "accepted"


def test_the_portal_in_english(web_app_sqlite: WebApp) -> None:
    client = _acme(web_app_sqlite)
    client.get("/lang/en?next=/portal")
    page = _text(client.get("/portal").text)
    assert "Your contracts" in page and "Turn auto-renew off by: 2027-04-08" in page
    preview = _text(client.get("/portal/contracts/ACME-E3/preview?change=cancel").text)
    assert "This change is not possible" in preview and "cancellation window closed" in preview


def test_portal_words_exist_in_both_languages() -> None:
    from licensedesk.entrypoints.web import portal_words

    assert set(portal_words.JA) == set(portal_words.EN)


def test_audit_chain_stays_valid_after_portal_changes(web_app_sqlite: WebApp) -> None:
    from licensedesk.entrypoints.api import audit

    client = _acme(web_app_sqlite)
    client.post("/portal/contracts/ACME-E3/confirm", {"change": "seats", "quantity": "28"})
    client.post("/portal/contracts/ACME-E3/confirm", {"change": "auto_renew", "enabled": "false"})
    assert audit.verify(web_app_sqlite.svc)["ok"] is True
    with web_app_sqlite.svc.uow() as uow:
        actions = [(e["actor"], e["action"]) for e in uow.api.audit_entries()]
    assert actions[-2:] == [("acme", "subscription.change-quantity"), ("acme", "subscription.auto-renew")]
