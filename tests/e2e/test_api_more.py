"""The REST API's billing, volume-licensing and transfer endpoints over HTTP (in-process): bank deposits,
re-issue, credit and statements; agreements, enrollments, COCP and CICR; relationships and transfer plans.
Refusals answer their rule ID; customer users see only their own objects (404 otherwise)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from test_api import T0, Env, make_env, order, refused


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(f"sqlite+pysqlite:///{tmp_path / 'api.sqlite3'}")


def _invoice(env: Env, customer: str = "acme") -> dict:
    return env.get(f"/documents?customer={customer}&kind=invoice").json()["items"][-1]


# --- bank, credit, statement, re-issue ---------------------------------------------------------------------------

def test_bank_import_queue_and_manual_resolution(env: Env) -> None:
    order(env)
    invoice = _invoice(env)
    csv = f"date,amount,payer\n2026-06-20,{invoice['total']},ｶ)ｱｸﾒ\n2026-06-20,1000,ﾀﾞﾚｶ\n2026-06-21,500,ﾅﾆｶ\n"
    report = env.post("/bank/imports", {"csv": csv}, role="billing", key="imp-1").json()
    assert report["read"] == 3 and report["duplicates"] == 0 and len(report["unmatched"]) == 3
    again = env.post("/bank/imports", {"csv": csv}, role="billing").json()
    assert again["duplicates"] == 3 and again["unmatched"] == []  # a file imported twice adds nothing
    queue = env.get("/bank/deposits?status=unmatched", role="billing").json()
    assert queue["total"] == 3
    first, second, third = (d["id"] for d in queue["items"])
    matched = env.post(f"/bank/deposits/{first}/match", {"invoices": [invoice["number"]]}, role="billing").json()
    assert matched["status"] == "matched" and matched["documents"] == [invoice["number"]]
    assert env.get(f"/documents/{invoice['number']}").json()["status"] == "paid"
    refused(env.post(f"/bank/deposits/{first}/match", {"invoices": [invoice["number"]]}), 422, "DEPOSIT-RESOLVED")
    credited = env.post(f"/bank/deposits/{second}/credit", {"customer": "acme"}, role="billing").json()
    assert credited["status"] == "credited" and credited["credit_balance"] == 1000
    assert env.post(f"/bank/deposits/{third}/return", {"note": "not ours"}).json()["status"] == "returned"
    assert env.get("/bank/deposits?status=unmatched", role="billing").json()["total"] == 0
    refused(env.get("/bank/deposits/999", role="billing"), 404, "NOT-FOUND")
    refused(env.post("/bank/imports", {"csv": "2026-06-20,-5,X"}, role="billing"), 422, "DEPOSIT-FILE")


def test_credit_refund_apply_statement_and_reissue(env: Env) -> None:
    order(env)
    env.post("/bank/imports", {"csv": "2026-06-20,1000,ﾀﾞﾚｶ"}, role="billing")
    deposit = env.get("/bank/deposits", role="billing").json()["items"][0]["id"]
    env.post(f"/bank/deposits/{deposit}/credit", {"customer": "acme"}, role="billing")
    body = refused(env.post("/customers/acme/refund", {"amount": 2000}, role="billing", lang="ja"), 422,
                   "REFUND-EXCEEDS-CREDIT")
    assert "返金" in body["message"]
    account = env.post("/customers/acme/refund", {"amount": 400, "reference": "振込 0001"}, role="billing").json()
    assert account["credit_balance"] == 600 and [e["kind"] for e in account["entries"]] == ["deposit", "refund"]
    invoice = _invoice(env)
    applied = env.post(f"/documents/{invoice['number']}/apply-credit", {}, role="billing").json()
    assert applied["paid"] == 600 and applied["status"] == "issued"
    refused(env.post(f"/documents/{invoice['number']}/apply-credit", {}), 422, "CREDIT-INSUFFICIENT")
    env.clock.at = T0 + timedelta(days=60)
    statement = env.get("/customers/acme/statement", role="customer").json()
    assert statement["credit_balance"] == 0 and statement["open"] == invoice["total"] - 600
    assert statement["items"][0]["number"] == invoice["number"] and statement["as_of"] == "2026-08-17"
    assert env.get("/customers/acme/statement?as_of=2026-06-18").json()["items"][0]["days_past_due"] == 0
    for path in ("/customers/sakura/statement", "/customers/sakura/credit"):
        refused(env.get(path, role="customer"), 404, "NOT-FOUND")
    # re-issue: only after a void, once
    order(env, "s2", "sakura-t", 3)
    other = _invoice(env, "sakura")
    refused(env.post(f"/documents/{other['number']}/reissue"), 422, "DOC-NOT-VOID")
    env.post(f"/documents/{other['number']}/void", {"reason": "wrong address"}, role="billing")
    new = env.post(f"/documents/{other['number']}/reissue", role="billing", key="re-1")
    assert new.status_code == 201 and new.json()["replaces"] == other["number"]
    assert new.json()["total"] == other["total"] and new.json()["number"] != other["number"]
    refused(env.post(f"/documents/{other['number']}/reissue"), 422, "DOC-REISSUE")


# --- volume licensing --------------------------------------------------------------------------------------------

UNI = {"ref": "uni", "name": "学校法人みなと学園", "entity": "corporation", "country": "JP", "segment": "education"}


def test_agreement_enrollment_order_and_termination(env: Env) -> None:
    body = refused(env.post("/agreements", {"ref": "a0", "customer": "acme"}, lang="ja"), 409,
                   "VL-TERMINATE-QUALIFY")
    assert body["message"]
    assert env.post("/customers", UNI, role="sales").status_code == 201
    created = env.post("/agreements", {"ref": "a1", "customer": "uni", "program": "ees"}, role="sales")
    assert created.status_code == 201 and created.json()["status"] == "active"
    enrolled = env.post("/enrollments", {"ref": "e1", "agreement": "a1", "effective": "2026-06-18",
                                         "reseller": "R1", "term_years": 3}, role="sales").json()
    assert enrolled["no_order_termination_on"] and enrolled["end_date"]
    ordered = env.post("/enrollments/e1/orders", {"po": "PO-1", "product": "M365-A3", "online": True},
                       role="sales").json()
    assert "PO-1" in ordered["orders"] and ordered["first_order_on"] == "2026-06-18"
    refused(env.post("/enrollments", {"ref": "e2", "agreement": "a1", "effective": "2026-06-18",
                                      "reseller": "R1", "term_years": 2}), 409, "VL-TERM")
    assert env.post("/enrollments/e1/breach-notice", {"party": "institution"}).json()["breach"]["cure_by"]
    assert env.post("/enrollments/e1/cure").json()["breach"] is None
    assert [e["ref"] for e in env.get("/enrollments").json()["items"]] == ["e1"]
    assert env.get("/agreements/a1").json()["enrollments"] == ["e1"]
    refused(env.get("/agreements/a1", role="customer"), 404, "NOT-FOUND")  # acme's user: not its agreement
    assert env.get("/agreements", role="customer").json()["total"] == 0
    ended = env.post("/agreements/a1/disqualify", {"reason": "no longer a school"}, role="sales").json()
    assert ended["status"] != "active"
    assert env.get("/enrollments/e1").json()["status"] == "terminated"


def test_cicr_routes_and_decisions(env: Env) -> None:
    env.post("/customers", UNI)
    env.post("/agreements", {"ref": "a1", "customer": "uni"})
    applied = env.post("/cicr", {"ref": "R-1", "agreement": "a1", "role": "media_delivery", "change": "assign",
                                 "contact": {"name": "情報センター"}}, role="sales", key="c-1")
    assert applied.status_code == 201 and applied.json()["status"] == "queued"
    assert env.post("/cicr/R-1/decide", {"approved": True}).json()["status"] == "applied"
    assert env.get("/agreements/a1").json()["contacts"]["media_delivery"]["name"] == "情報センター"
    assert env.get("/cicr").json()["items"][0]["ref"] == "R-1"
    refused(env.get("/cicr/R-1", role="customer"), 404, "NOT-FOUND")
    refused(env.post("/cicr/NOPE/decide", {"approved": False}), 404, "NOT-FOUND")


def test_cocp_submit_duty_and_listing(env: Env) -> None:
    env.clock.at = T0.replace(year=2026, month=4, day=1)
    env.post("/customers", UNI)
    env.post("/agreements", {"ref": "a1", "customer": "uni"})
    env.post("/enrollments", {"ref": "e1", "agreement": "a1", "effective": "2026-04-01", "reseller": "R1",
                              "distributor": "D1", "term_years": 3})
    env.post("/enrollments/e1/orders", {"po": "PO-1", "product": "M365-A3", "online": True})
    env.clock.at = T0.replace(month=9, day=1)
    form = {"ref": "C-8003", "kind": "reseller", "enrollments": ["e1"], "new": {"reseller": "R2"},
            "current": {"reseller": "R1", "distributor": "D1"}, "notified_previous_on": "2026-08-24",
            "signatures": {"end_customer": "2026-08-25", "new_reseller": "2026-08-26", "distributor": "2026-08-27"},
            "ink_signed": True, "copies": 2}
    submitted = env.post("/cocp", form, role="sales")
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["duties"]["sign_30_days_before"]["due"] == "2026-08-25"
    env.clock.at = T0.replace(month=9, day=10)
    done = env.post("/cocp/C-8003/duties", {"duty": "settle_previous"}, role="sales").json()
    assert done["duties"]["settle_previous"]["done_on"] == "2026-09-10"
    refused(env.post("/cocp", {**form, "ref": "C-8004"}), 422, "COCP-PENDING")
    assert env.get("/cocp").json()["total"] == 1


# --- relationships and transfer plans ----------------------------------------------------------------------------

def test_relationship_request_accepted_by_the_customer(env: Env) -> None:
    sent = env.post("/relationships", {"ref": "rel-1", "tenant": "acme-t", "admin": "gdap", "gdap_days": 90},
                    role="sales")
    assert sent.status_code == 201 and sent.json()["status"] == "sent" and sent.json()["rule"] == "XFER-RELATIONSHIP"
    env.post("/relationships", {"ref": "rel-2", "tenant": "sakura-t"}, role="sales")
    mine = env.get("/relationships", role="customer").json()
    assert [r["ref"] for r in mine["items"]] == ["rel-1"]
    refused(env.get("/relationships/rel-2", role="customer"), 404, "NOT-FOUND")
    refused(env.post("/relationships/rel-2/accept", role="customer"), 404, "NOT-FOUND")
    accepted = env.post("/relationships/rel-1/accept", role="customer", key="acc-1").json()
    assert accepted["status"] == "accepted" and accepted["accepted_at"]
    assert env.get("/tenants/acme-t/delegated-admin", role="customer").json()["delegated_admin"]["kind"] == "gdap"
    revoked = env.post("/tenants/acme-t/revoke-delegated-admin", role="customer").json()
    assert revoked["delegated_admin"]["status"] == "revoked"
    refused(env.post("/tenants/acme-t/revoke-delegated-admin", role="customer"), 422, "NO-DELEGATED-ADMIN")
    refused(env.post("/relationships/rel-1/accept", role="billing"), 403, "AUTH-ROLE")
    env.clock.at = T0 + timedelta(days=120)
    refused(env.post("/relationships/rel-2/accept", role="sales"), 409, "XFER-RELATIONSHIP")


def test_outgoing_transfer_plan_turns_auto_renew_off(env: Env) -> None:
    order(env)
    plan = env.post("/transfer-plans", {"ref": "p1", "tenant": "acme-t", "direction": "outgoing",
                                        "to_partner": "OtherCo"}, role="sales")
    assert plan.status_code == 201, plan.text
    assert plan.json()["direction"] == "outgoing" and env.get("/subscriptions/s1").json()["auto_renew"] is False
    assert env.get("/transfer-plans/p1").json()["ref"] == "p1"
    assert env.get("/transfer-plans").json()["total"] == 1
    refused(env.post("/transfer-plans", {"ref": "p1", "tenant": "acme-t", "direction": "outgoing"}), 422,
            "DUPLICATE-REF")
    refused(env.get("/transfer-plans/p1", role="customer"), 403, "AUTH-ROLE")


def test_bank_credit_and_relationship_on_both_databases(db_url: str) -> None:
    env = make_env(db_url)
    order(env)
    invoice = _invoice(env)
    report = env.post("/bank/imports", {"csv": f"2026-06-20,{invoice['total'] + 100},ｶ)ｱｸﾒ"}, role="billing").json()
    deposit = report["unmatched"][0]["deposit"]
    env.post(f"/bank/deposits/{deposit}/match", {"invoices": [invoice["number"]]}, role="billing", key="m-1")
    assert env.get("/customers/acme/credit", role="customer").json()["credit_balance"] == 100  # the excess
    assert env.post("/customers/acme/refund", {"amount": 100}, role="billing").json()["credit_balance"] == 0
    env.post("/relationships", {"ref": "rel-1", "tenant": "acme-t"}, role="sales")
    assert env.post("/relationships/rel-1/accept", role="customer").json()["status"] == "accepted"
    env.engine.dispose()


# --- previews ----------------------------------------------------------------------------------------------------

def test_previews_show_the_charge_refund_or_refusal_and_change_nothing(env: Env) -> None:
    order(env)
    order(env, "s2", "sakura-t", 3)
    added = env.post("/subscriptions/s1/change-quantity/preview", {"quantity": 12}, role="customer").json()
    assert added["allowed"] and added["before"]["quantity"] == 10 and added["after"]["quantity"] == 12
    doc = added["documents"][0]
    assert doc["kind"] == "invoice" and doc["lines"][0]["explain"]["rule"] == "PRICE-ONE" and added["rules"] == [
        "PRICE-ONE"]
    confirmed = env.post("/subscriptions/s1/change-quantity", {"quantity": 12})
    assert confirmed.status_code == 200
    issued = _invoice(env)
    assert issued["total"] == doc["total"]  # the preview drafted exactly the invoice the change issued
    keys = {d["key"]: d for d in env.post("/subscriptions/s1/cancel/preview").json()["deadlines"]}
    assert keys["cancel_allowed_until"]["rule"] == "NCE-CANCEL-168H"
    assert keys["optout_deadline"]["rule"] == "TERM-RENEW-OPTOUT-30D" and keys["renews_on"]["at"] == "2027-06-18"
    assert keys["reduce_allowed_until"]["rule"] == "NCE-REDUCE-168H"
    refund = env.post("/subscriptions/s1/cancel/preview", role="customer").json()
    assert refund["allowed"] and refund["documents"][0]["kind"] == "credit_note" and refund["documents"][0]["total"] < 0
    assert env.get("/subscriptions/s1").json()["status"] == "active"  # a preview changes nothing
    env.clock.at = T0 + timedelta(hours=169)
    late = env.post("/subscriptions/s1/cancel/preview", role="customer", lang="ja").json()
    assert late["allowed"] is False and late["refusal"]["code"] == "NCE-CANCEL-168H" and "キャンセル期限" in late[
        "refusal"]["message"]
    reduce = env.post("/subscriptions/s1/change-quantity/preview", {"quantity": 5}).json()
    assert reduce["refusal"]["code"] == "NCE-REDUCE-168H"
    renewal = env.post("/subscriptions/s1/change-quantity/preview", {"quantity": 5, "at_renewal": True}).json()
    assert renewal["allowed"] and renewal["after"]["next_term_quantity"] == 5 and renewal["documents"] == []
    assert env.post("/subscriptions/s1/auto-renew/preview", {"enabled": False}).json()["allowed"] is True
    refused(env.post("/subscriptions/s2/cancel/preview", role="customer"), 404, "NOT-FOUND")
    refused(env.post("/subscriptions/nope/cancel/preview"), 404, "NOT-FOUND")


def test_request_handler_threads_come_from_the_settings(tmp_path: Path) -> None:
    """D-API-THREADS: LICENSEDESK_API_THREADS caps the threads that run the handlers, per server process."""
    import anyio.to_thread
    from fastapi.testclient import TestClient

    from licensedesk.config import Settings
    from licensedesk.entrypoints.api.app import create_app

    async def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    settings = Settings(database_url=f"sqlite+pysqlite:///{tmp_path / 'threads.sqlite3'}", api_threads=3)
    with TestClient(create_app(settings, run_scheduler=False)) as client:
        assert client.portal is not None and client.portal.call(tokens) == 3
    with pytest.raises(ValueError, match="api_threads"):
        Settings(api_threads=0)


def test_the_server_start_up_is_frozen_while_it_runs_and_handed_back_after(tmp_path: Path) -> None:
    """D-API-GC: full collections leave alone what start-up made; requests' cycles are still collected."""
    import gc
    import weakref

    from fastapi.testclient import TestClient

    from licensedesk.config import Settings
    from licensedesk.entrypoints.api.app import create_app, start_up_left_alone

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    assert gc.get_freeze_count() == 0
    settings = Settings(database_url=f"sqlite+pysqlite:///{tmp_path / 'gc.sqlite3'}")
    before = Cycle()
    with TestClient(create_app(settings, run_scheduler=False)) as client:
        assert gc.get_freeze_count() > 0
        assert client.get("/healthz").status_code == 200
        during = Cycle()
        made_during = weakref.ref(during)
        del during
        gc.collect()
        assert made_during() is None  # made after start-up: collected as usual
    assert gc.get_freeze_count() == 0
    left_before = weakref.ref(before)
    del before
    gc.collect()
    assert left_before() is None  # handed back when the server stopped

    gc.freeze()  # a process that froze objects itself keeps them frozen
    try:
        with start_up_left_alone():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
