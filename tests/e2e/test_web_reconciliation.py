"""/console/reconciliation: provisioning jobs with the ORD-FLOW SLA, retrying a failed purchase (billing role,
audited), and every mismatch with Partner Center (the simulator, in process)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from fastapi.testclient import TestClient
from web_support import WEB_T0, WebApp

from licensedesk.adapters.partner_center.client import PartnerCenterClient, RetryPolicy, StaticToken
from licensedesk.adapters.partner_center.simulator import Fault, Simulator
from licensedesk.services import provisioning


def _upstream(web_app: WebApp) -> tuple[Simulator, provisioning.Provisioner]:
    sim = Simulator(clock=lambda: WEB_T0.astimezone(UTC))
    client = PartnerCenterClient("http://testserver", StaticToken(), retry=RetryPolicy(sleep=lambda s: None),
                                 http=TestClient(sim.app(), base_url="http://testserver/v1"))
    web_app.app.state.partner_center = client
    return sim, provisioning.Provisioner(upstream=client)


def test_without_upstream_the_page_says_so(web_app_sqlite: WebApp) -> None:
    web_app_sqlite.app.state.partner_center = None
    browser = web_app_sqlite.client()
    browser.login("viewer")
    page = browser.get("/console/reconciliation")
    assert page.status_code == 200 and "LICENSEDESK_UPSTREAM_URL" in page.text


def test_failed_jobs_are_retried_by_billing_and_mismatches_listed(web_app: WebApp) -> None:
    sim, prov = _upstream(web_app)
    sim.state.faults.append(Fault("POST", r"/carts$", 400, times=99))
    report = provisioning.provision_due(web_app.svc, prov, WEB_T0)
    assert report.failed and not report.done
    job = provisioning.jobs(web_app.svc)[0]
    viewer = web_app.client()
    viewer.login("viewer")
    page = viewer.get("/console/reconciliation")
    assert page.status_code == 200 and job["subscription_ref"] in page.text and "400" in page.text
    assert f'/jobs/{job["id"]}/retry' not in page.text  # read-only: no button
    assert viewer.post(f'/console/reconciliation/jobs/{job["id"]}/retry').status_code == 403
    billing = web_app.client()
    billing.login("billing")
    assert f'/jobs/{job["id"]}/retry' in billing.get("/console/reconciliation").text
    done = billing.post(f'/console/reconciliation/jobs/{job["id"]}/retry')
    assert done.status_code == 303
    assert provisioning.jobs(web_app.svc)[0]["status"] == "pending"
    again = billing.post(f'/console/reconciliation/jobs/{job["id"]}/retry')  # not failed any more: refused
    assert again.status_code == 303 and "UPSTREAM-NOT-FAILED" in billing.get("/console/reconciliation").text
    sim.state.faults.clear()
    assert job["subscription_ref"] in provisioning.provision_due(web_app.svc, prov, WEB_T0).done
    ref = job["subscription_ref"]
    link = _link(web_app, ref)
    prov.upstream.update_subscription(link["customer_id"], link["subscription_id"], {"quantity": 999})
    page = billing.get("/console/reconciliation")
    row = next(line for line in page.text.splitlines() if f">{ref}<" in line and "quantity" in line)
    assert "999" in row


def _link(web_app: WebApp, ref: str) -> dict[str, Any]:
    with web_app.svc.uow() as uow:
        return next(link for link in uow.upstream.subscription_links() if link["subscription_ref"] == ref)


def test_an_order_paid_in_the_console_is_provisioned_and_announced(web_app_sqlite: WebApp) -> None:
    from licensedesk.services import outbox, parties
    from licensedesk.services import subscriptions as subs

    web_app = web_app_sqlite
    sim, prov = _upstream(web_app)
    provisioning.provision_due(web_app.svc, prov, WEB_T0)  # the demo's own orders first
    parties.register_customer(web_app.svc, WEB_T0, ref="kita", name="北製作所株式会社", entity="corporation",
                              country="JP", contacts=[{"name": "北", "email": "kita@kita.co.jp", "role": "billing"}])
    parties.register_tenant(web_app.svc, WEB_T0, ref="t-kita", customer="kita", domain="kita.onmicrosoft.com",
                            country="JP")
    subs.order(web_app.svc, WEB_T0, ref="KITA-BS", tenant="t-kita", offer="M365-BUSINESS-STANDARD", term="P1Y",
               billing="annual", quantity=5, policy="annual-prepaid")
    with web_app.svc.uow() as uow:
        [invoice] = [d for d in uow.documents.list("kita")]
    billing = web_app.client()
    billing.login("billing")
    assert billing.post(f'/console/documents/{invoice["number"]}/pay').status_code == 303
    assert provisioning.provision_due(web_app.svc, prov, WEB_T0).done == ["KITA-BS"]
    with web_app.svc.uow() as uow:
        sub = uow.subscriptions.get("KITA-BS")
    assert sub is not None and sub.status.value == "active"
    kinds = {(m["kind"], m["recipient"]) for m in outbox.messages(web_app.svc) if m["customer_ref"] == "kita"}
    assert {("activation", "kita@kita.co.jp"), ("temporary_password", "kita@kita.co.jp")} <= kinds
    assert len(sim.state.orders) == 4  # the demo's three and this one, each once
