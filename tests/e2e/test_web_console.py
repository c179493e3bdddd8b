"""The staff console over HTTP (issue 7): every page for every staff role, the viewer's read-only 403s,
and each mutation through its form with CSRF — previews that change nothing, confirmations that run the
API's handlers and write the audit log with the console user as actor."""

from __future__ import annotations

import re

import pytest
from web_support import WebApp, WebClient

from licensedesk.entrypoints.api import audit

STAFF = ("admin", "sales", "billing", "viewer")
PAGES = ("/console", "/console/customers", "/console/customers?q=%E3%82%A2%E3%82%AF%E3%83%A1",
         "/console/customers/acme", "/console/tenants", "/console/subscriptions",
         "/console/subscriptions?status=active&preset=mca-nce&customer=acme", "/console/subscriptions/ACME-E3",
         "/console/documents", "/console/documents?kind=invoice&status=issued", "/console/payments")


def _first_invoice(client: WebClient, customer: str = "acme") -> str:
    found = re.search(r'/console/documents/(INV-[0-9-]+)"', client.get(f"/console/documents?customer={customer}").text)
    assert found
    return found.group(1)


def _audit(web_app: WebApp) -> list[dict[str, object]]:
    with web_app.svc.uow() as uow:
        return uow.api.audit_entries()


@pytest.mark.parametrize("role", STAFF)
def test_every_console_page_opens_for_every_staff_role(web_app_sqlite: WebApp, role: str) -> None:
    client = web_app_sqlite.client()
    client.login(role)
    for path in [*PAGES, f"/console/documents/{_first_invoice(client)}"]:
        page = client.get(path)
        assert page.status_code == 200, (role, path)
        assert 'lang="ja"' in page.text
    pdf = client.get(f"/console/documents/{_first_invoice(client)}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_customer_search_and_the_detail_show_what_belongs_to_the_customer(web_app_sqlite: WebApp) -> None:
    client = web_app_sqlite.client()
    client.login("viewer")
    found = client.get("/console/customers?q=アクメ").text
    assert "株式会社アクメ" in found and "sakura" not in found
    detail = client.get("/console/customers/acme").text
    assert "acme-tenant" in detail and "ACME-E3" in detail and "INV-" in detail
    assert client.get("/console/customers/nobody").status_code == 404


def test_the_subscription_page_explains_every_date_and_amount(web_app_sqlite: WebApp) -> None:
    client = web_app_sqlite.client()
    client.login("viewer")
    page = client.get("/console/subscriptions/ACME-E3").text
    for rule in ("TERM-RENEW-AUTO", "NCE-CANCEL-168H", "TERM-RENEW-OPTOUT-30D"):
        assert rule in page
    assert "期間終了日" in page and "add_months" in page
    client.get("/lang/en?next=/console")
    english = client.get("/console/subscriptions/ACME-E3").text
    assert "Why these dates" in english and "opt-out deadline" in english


def test_the_viewer_reads_but_every_change_answers_403(web_app_sqlite: WebApp) -> None:
    client = web_app_sqlite.client()
    client.login("viewer")
    number = _first_invoice(client)
    assert "/change/quantity" not in client.get("/console/subscriptions/ACME-E3").text  # no buttons shown
    for path, form in (("/console/subscriptions/ACME-E3/change/quantity/preview", {"quantity": "30"}),
                       ("/console/subscriptions/ACME-E3/change/quantity", {"quantity": "30"}),
                       ("/console/orders/preview", {}), ("/console/orders", {}),
                       (f"/console/documents/{number}/pay", {}), (f"/console/documents/{number}/void", {"reason": "x"}),
                       (f"/console/documents/{number}/reissue", {}), ("/console/payments/1/match", {})):
        answer = client.post(path, form)
        assert answer.status_code == 403, path
    assert client.get("/console/subscriptions/ACME-E3/change/quantity").status_code == 403
    assert client.get("/console/orders/new").status_code == 403
    assert _audit(web_app_sqlite) == []


def test_sales_may_not_touch_documents_nor_billing_subscriptions(web_app_sqlite: WebApp) -> None:
    sales, billing = web_app_sqlite.client(), web_app_sqlite.client()
    sales.login("sales")
    billing.login("billing")
    assert sales.post(f"/console/documents/{_first_invoice(sales)}/pay").status_code == 403
    assert billing.post("/console/subscriptions/ACME-E3/change/quantity", {"quantity": "30"}).status_code == 403


def test_a_seat_change_previews_the_charge_then_confirm_does_it_and_audits_it(web_app: WebApp) -> None:
    client = web_app.client()
    client.login("sales")
    with web_app.svc.uow() as uow:
        documents_before = len(uow.documents.list())
    preview = client.post("/console/subscriptions/ACME-E3/change/quantity/preview", {"quantity": "30"})
    assert preview.status_code == 200
    assert "この変更で起きること" in preview.text and "追加" in preview.text and "PRICE-ONE" in preview.text
    with web_app.svc.uow() as uow:  # the preview changed nothing
        assert uow.subscriptions.get("ACME-E3").quantity == 25
        assert len(uow.documents.list()) == documents_before
    assert _audit(web_app) == []

    done = client.post("/console/subscriptions/ACME-E3/change/quantity", {"quantity": "30"})
    assert done.status_code == 303 and done.headers["location"] == "/console/subscriptions/ACME-E3"
    assert "席数の変更" in client.get(done.headers["location"]).text  # the flash message
    with web_app.svc.uow() as uow:
        assert uow.subscriptions.get("ACME-E3").quantity == 30
        assert len(uow.documents.list()) == documents_before + 1
    [entry] = _audit(web_app)
    assert (entry["actor"], entry["action"], entry["target"]) == ("sales", "subscription.change-quantity",
                                                                 "subscription:ACME-E3")
    assert entry["before"]["quantity"] == 25 and entry["after"]["quantity"] == 30
    assert audit.verify(web_app.svc)["ok"]


def test_a_refused_change_names_its_rule_and_changes_nothing(web_app_sqlite: WebApp) -> None:
    client = web_app_sqlite.client()
    client.login("sales")
    refused = client.post("/console/subscriptions/ACME-E3/change/quantity/preview", {"quantity": "20"})
    assert "この変更はできません" in refused.text and "NCE-REDUCE-168H" in refused.text
    assert "確定する" not in refused.text
    forced = client.post("/console/subscriptions/ACME-E3/change/quantity", {"quantity": "20"})
    assert forced.status_code == 303
    assert "NCE-REDUCE-168H" in client.get(forced.headers["location"]).text
    bad = client.post("/console/subscriptions/ACME-E3/change/quantity/preview", {"quantity": "lots"})
    assert "INVALID-INPUT" in bad.text
    assert _audit(web_app_sqlite) == []


def test_renewal_quantity_then_auto_renew_off_then_cancel_preview(web_app_sqlite: WebApp) -> None:
    client = web_app_sqlite.client()
    client.login("sales")
    assert client.post("/console/subscriptions/ACME-E3/change/renewal-quantity", {"quantity": "10"}).status_code == 303
    with web_app_sqlite.svc.uow() as uow:
        assert uow.subscriptions.get("ACME-E3").next_term_quantity == 10
    preview = client.post("/console/subscriptions/ACME-E3/change/auto-renew/preview", {})
    assert "自動更新" in preview.text and "False" in preview.text
    assert client.post("/console/subscriptions/ACME-E3/change/auto-renew", {}).status_code == 303
    with web_app_sqlite.svc.uow() as uow:
        assert uow.subscriptions.get("ACME-E3").auto_renew is False
    cancel = client.post("/console/subscriptions/ACME-E3/change/cancel/preview", {})
    assert "NCE-CANCEL-168H" in cancel.text  # ordered 40 days ago: the 168-hour window is closed
    assert [e["action"] for e in _audit(web_app_sqlite)] == ["subscription.change-quantity", "subscription.auto-renew"]


def test_an_annual_prepaid_order_paid_in_the_console_starts_provisioning(web_app: WebApp) -> None:
    """Issue 8 builds on this: the order waits for payment, the payment recorded here provisions it."""
    client = web_app.client()
    client.login("admin")
    order = {"ref": "ACME-BS-1", "tenant": "acme-tenant", "offer": "M365-BUSINESS-STANDARD", "term": "P1Y",
             "billing": "annual", "quantity": "10", "policy": "annual-prepaid", "auto_renew": ""}
    preview = client.post("/console/orders/preview", order)
    assert preview.status_code == 200 and "確定する" in preview.text and "請求書" in preview.text
    with web_app.svc.uow() as uow:
        assert uow.subscriptions.get("ACME-BS-1") is None
    placed = client.post("/console/orders", order)
    assert placed.headers["location"] == "/console/subscriptions/ACME-BS-1"
    with web_app.svc.uow() as uow:
        assert uow.subscriptions.get("ACME-BS-1").status.value == "pending_payment"
        [invoice] = [d for d in uow.documents.list("acme") if any(
            line["subscription_ref"] == "ACME-BS-1" for line in d["lines"])]
    paid = client.post(f"/console/documents/{invoice['number']}/pay", {"amount": ""})
    assert paid.status_code == 303
    with web_app.svc.uow() as uow:
        assert uow.subscriptions.get("ACME-BS-1").status.value == "provisioning"
        assert uow.documents.get(invoice["number"])["status"] == "paid"
    assert [e["action"] for e in _audit(web_app)] == ["subscription.order", "document.pay"]


def test_an_order_for_an_unknown_offer_is_refused_in_the_preview(web_app_sqlite: WebApp) -> None:
    client = web_app_sqlite.client()
    client.login("sales")
    refused = client.post("/console/orders/preview", {"ref": "X-1", "tenant": "acme-tenant", "offer": "NOPE",
                                                      "term": "P1Y", "billing": "monthly", "quantity": "1"})
    assert "CATALOG-UNKNOWN-OFFER" in refused.text


def test_billing_voids_and_reissues_a_document(web_app_sqlite: WebApp) -> None:
    client = web_app_sqlite.client()
    client.login("billing")
    number = _first_invoice(client, "sakura")
    assert client.post(f"/console/documents/{number}/void", {"reason": ""}).status_code == 303  # refused: no reason
    assert "INVALID-INPUT" in client.get(f"/console/documents/{number}").text
    client.post(f"/console/documents/{number}/void", {"reason": "宛名の誤り"})
    page = client.get(f"/console/documents/{number}").text
    assert "取消" in page and "宛名の誤り" in page
    again = client.post(f"/console/documents/{number}/reissue")
    new = again.headers["location"].rsplit("/", 1)[1]
    assert new != number and number in client.get(again.headers["location"]).text
    assert [e["action"] for e in _audit(web_app_sqlite)] == ["document.void", "document.reissue"]


def test_a_bank_statement_upload_queues_what_it_cannot_match_and_a_person_matches_it(web_app: WebApp) -> None:
    client = web_app.client()
    client.login("billing")
    with web_app.svc.uow() as uow:
        invoice = uow.billing.open_invoices("acme")[0]
    csv = f"日付,金額,振込依頼人\n2026-06-18,{invoice['total']},ﾀﾞﾚｶｼﾗﾅｲ\n".encode("cp932")
    uploaded = client.http.post("/console/payments/import", data={"csrf_token": client.csrf},
                                files={"statement": ("deposits.csv", csv, "text/csv")})
    assert uploaded.status_code == 303
    queue = client.get("/console/payments").text
    assert "1 件を読み込みました" in queue and "ﾀﾞﾚｶｼﾗﾅｲ" in queue
    deposit = int(re.search(r'/console/payments/(\d+)/match', queue).group(1))
    matched = client.post(f"/console/payments/{deposit}/match", {"invoice": invoice["number"]})
    assert matched.status_code == 303
    assert "消し込みました" in client.get("/console/payments").text
    with web_app.svc.uow() as uow:
        assert uow.documents.get(invoice["number"])["status"] == "paid"
    assert [e["action"] for e in _audit(web_app)] == ["bank.import", "deposit.match"]
    bad = client.http.post("/console/payments/import", data={"csrf_token": client.csrf},
                           files={"statement": ("bad.csv", b"2026-99-01,1,X\n", "text/csv")})
    assert "[DEPOSIT-FILE] 1行目: 日付ではありません" in client.get(bad.headers["location"]).text
    assert len(_audit(web_app)) == 2  # the refused file left no trace


def test_malformed_and_unknown_requests_answer_pages_not_json(web_app_sqlite: WebApp) -> None:
    client = web_app_sqlite.client()
    client.login("billing")
    malformed = client.post("/console/payments/not-a-number/match", {"invoice": "x"})
    assert malformed.status_code == 422 and "<html" in malformed.text and "INVALID-INPUT" in malformed.text
    assert client.get("/console/no-such-page").status_code == 404
    sales = web_app_sqlite.client()
    sales.login("sales")
    assert sales.get("/console/subscriptions/ACME-E3/change/explode").status_code == 404


def test_sales_sets_the_customers_mail_language_and_the_viewer_may_not(web_app: WebApp) -> None:
    from licensedesk.services import preferences

    viewer, sales = web_app.client(), web_app.client()
    viewer.login("viewer")
    sales.login("sales")
    page = sales.get("/console/customers/acme").text
    assert 'id="mail-language"' in page and '<option value="ja" selected>' in page
    assert viewer.post("/console/customers/acme/mail-language", {"language": "en"}).status_code == 403
    assert sales.post("/console/customers/acme/mail-language", {"language": "en"}, csrf=False).status_code == 403
    done = sales.post("/console/customers/acme/mail-language", {"language": "en"})
    assert done.status_code == 303 and done.headers["location"] == "/console/customers/acme"
    assert preferences.mail_language(web_app.svc, "acme") == "en"
    assert '<option value="en" selected>' in sales.get("/console/customers/acme").text
    [entry] = [e for e in _audit(web_app) if e["action"] == "customer.mail_language"]
    assert (entry["actor"], entry["before"], entry["after"]) == ("sales", {"mail_language": "ja"},
                                                                 {"mail_language": "en"})
    refused = sales.post("/console/customers/acme/mail-language", {"language": "fr"})
    assert refused.status_code == 422 and "MAIL-LANGUAGE" in refused.text
    assert sales.post("/console/customers/nobody/mail-language", {"language": "en"}).status_code == 404
    assert preferences.mail_language(web_app.svc, "acme") == "en"  # the refusals changed nothing
