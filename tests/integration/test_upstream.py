"""Provisioning and reconciliation over real HTTP: the simulator runs under uvicorn on a free port.

On SQLite and PostgreSQL: an accepted mca-nce order and a paid annual-prepaid order are bought once,
recorded, activated and announced (ORD-FLOW); 429 and 409 are retried; a refusal is surfaced and
retried from the CLI; a lost commit after checkout never buys twice; reconciliation reports every
difference; the activation mail follows the customer's language. Two workers on PostgreSQL share
the queue without a double purchase.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.adapters.mail.templates import JinjaMailTemplates
from licensedesk.adapters.mail.transports import FileMailer
from licensedesk.adapters.partner_center.client import PartnerCenterClient, RetryPolicy, StaticToken
from licensedesk.adapters.partner_center.simulator import Simulator
from licensedesk.bootstrap import uow_factory
from licensedesk.entrypoints import cli_common
from licensedesk.services import catalog, parties, preferences, provisioning, reconcile, scheduler
from licensedesk.services import outbox as ob
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services
from licensedesk.services.ports_upstream import JobStatus

JST = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 6, 18, 10, 0, tzinfo=JST)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SimServer:
    """The simulator served by uvicorn in a thread, on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self.sim = Simulator()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.sim.app(), host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> SimServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("simulator did not start")
            time.sleep(0.05)
        httpx.post(f"{self.url}/_sim/clock", json={"now": T0.isoformat()}).raise_for_status()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def fault(self, method: str, path: str, status: int, times: int = 1, retry_after: int | None = None) -> None:
        httpx.post(f"{self.url}/_sim/faults", json={"method": method, "path": path, "status": status,
                                                    "times": times, "retry_after": retry_after}).raise_for_status()


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer() as s:
        yield s


@pytest.fixture
def sim(server: SimServer) -> SimServer:
    st = server.sim.state  # a clean upstream per test, same process
    for part in (st.customers, st.carts, st.orders, st.subscriptions, st.seat_windows, st.replies):
        part.clear()
    st.faults.clear()
    st.requests.clear()
    return server


def _prov(server: SimServer, **kw: Any) -> provisioning.Provisioner:
    client = PartnerCenterClient(server.url, StaticToken(), timeout=10, retry=RetryPolicy(sleep=lambda s: None))
    return provisioning.Provisioner(upstream=client, **kw)


def _services(url: str) -> Services:
    engine = create_engine(url)
    upgrade(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    catalog.load_sample_catalog(svc)
    scheduler.tick(svc, T0)
    parties.register_customer(svc, T0, ref="acme", name="株式会社アクメ", entity="corporation", country="JP",
                              contacts=[{"name": "山田", "email": "yamada@acme.co.jp", "role": "billing"}])
    parties.register_tenant(svc, T0, ref="t1", customer="acme", domain="acme.onmicrosoft.com", country="JP")
    return svc


@pytest.fixture
def svc(db_url: str) -> Services:
    return _services(db_url)


def _nce(svc: Services, ref: str = "s1", quantity: int = 10) -> None:
    subs.order(svc, T0, ref=ref, tenant="t1", offer="M365-E3", term="P1Y", billing="monthly", quantity=quantity)


def _job(svc: Services, ref: str = "s1") -> dict[str, Any]:
    return next(j for j in provisioning.jobs(svc) if j["subscription_ref"] == ref)


def _activation_mails(svc: Services) -> list[dict[str, Any]]:
    return [m for m in ob.messages(svc) if m["kind"] == "activation"]


def test_an_accepted_order_is_bought_once_recorded_and_announced(svc: Services, sim: SimServer,
                                                                 tmp_path: Path) -> None:
    _nce(svc)
    assert _job(svc)["status"] == "pending"
    report = provisioning.provision_due(svc, _prov(sim), T0)
    assert report.done == ["s1"]
    assert provisioning.provision_due(svc, _prov(sim), T0 + timedelta(hours=1)).done == []  # nothing twice
    assert len(sim.sim.state.orders) == 1
    with svc.uow() as uow:
        [link] = uow.upstream.subscription_links()
        [customer] = uow.upstream.customer_links()
    assert link["subscription_id"] in sim.sim.state.subscriptions
    assert customer["temporary_password"] is None  # it lives only in the queued activation mail
    [mail] = _activation_mails(svc)
    details = mail["payload"]["details"]
    assert (details["login_id"], details["contract"]) == ("admin@acme.onmicrosoft.com", "s1")
    assert details["admin_url"] == "https://admin.microsoft.com/" and "temporary_password" not in details
    [secret] = [m for m in ob.messages(svc) if m["kind"] == "temporary_password"]  # D-MAIL-NO-PASSWORD
    password = secret["payload"]["details"]["temporary_password"]
    assert password and secret["recipient"] == "yamada@acme.co.jp"
    mailer = FileMailer(str(tmp_path / "mail"), "ライセンスデスク <billing@licensedesk.example>")
    delivery = ob.Delivery(mailer=mailer, templates=JinjaMailTemplates(), mail_domain="licensedesk.example")
    ob.deliver_due(svc, delivery, T0 + timedelta(minutes=1))
    parsed = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
              for p in (tmp_path / "mail").glob("*.eml")]
    [activation] = [m for m in parsed if "ご利用開始" in str(m["Subject"])]
    body = activation.get_body().get_content()  # type: ignore[union-attr]
    assert "ログインID: admin@acme.onmicrosoft.com" in body and password not in body
    [separate] = [m for m in parsed if "仮パスワード" in str(m["Subject"])]
    assert f"仮パスワード: {password}" in separate.get_body().get_content()  # type: ignore[union-attr]
    assert reconcile.reconcile(svc, _prov(sim).upstream, T0) == []


def test_a_paid_annual_prepaid_order_is_activated_within_the_sla(svc: Services, sim: SimServer) -> None:
    subs.order(svc, T0, ref="p1", tenant="t1", offer="M365-BUSINESS-STANDARD", term="P1Y", billing="annual",
               quantity=5, policy="annual-prepaid")
    assert provisioning.jobs(svc) == []  # not before the payment (ORD-PAY-FIRST)
    [doc] = [d for d in _documents(svc) if d["customer_ref"] == "acme"]
    subs.pay(svc, T0 + timedelta(days=1), doc["number"])
    job = _job(svc, "p1")
    assert job["activate"] and str(job["sla_due"]) == "2026-06-24"  # Fri 06-19 + 3 business days (ORD-FLOW)
    assert provisioning.provision_due(svc, _prov(sim), T0 + timedelta(days=1)).done == ["p1"]
    with svc.uow() as uow:
        sub = uow.subscriptions.get("p1")
        events = [e for e in uow.subscriptions.events("p1") if e["kind"] == "provisioned_upstream"]
    assert sub is not None and sub.status.value == "active" and str(sub.term_start) == "2026-06-19"
    assert events and events[0]["details"]["late"] is False
    [mail] = _activation_mails(svc)
    assert mail["payload"]["details"]["login_id"] == "admin@acme.onmicrosoft.com"


def _documents(svc: Services) -> list[dict[str, Any]]:
    with svc.uow() as uow:
        return uow.documents.list()


def test_429_and_409_are_retried(svc: Services, sim: SimServer) -> None:
    _nce(svc)
    sim.fault("POST", r"/checkout$", 429, times=2, retry_after=0)  # retried inside the request
    sim.fault("POST", r"/carts$", 409, times=1)  # retried by the job, after its backoff
    prov = _prov(sim)
    first = provisioning.provision_due(svc, prov, T0)
    assert first.retrying == ["s1"] and _job(svc)["last_error"].startswith("UpstreamError: POST")
    assert provisioning.provision_due(svc, prov, T0 + timedelta(seconds=30)).done == []  # backing off (1 min)
    assert provisioning.provision_due(svc, prov, T0 + timedelta(minutes=2)).done == ["s1"]
    checkouts = [r for r in sim.sim.state.requests if r["path"].endswith("/checkout")]
    assert len(checkouts) == 3 and len({r["request_id"] for r in checkouts}) == 1
    assert len(sim.sim.state.orders) == 1


def test_a_refusal_is_surfaced_and_retried_from_the_cli(db_url: str, sim: SimServer, monkeypatch: Any) -> None:
    from licensedesk.entrypoints.cli import app

    svc = _services(db_url)
    _nce(svc)
    sim.fault("POST", r"/carts$", 400, times=1)
    assert provisioning.provision_due(svc, _prov(sim), T0).failed == ["s1"]
    monkeypatch.setenv("LICENSEDESK_DATABASE_URL", db_url)
    monkeypatch.setenv("LICENSEDESK_UPSTREAM_URL", sim.url)
    # the commands' clock is the test's: a purchase recorded by the wall clock between 00:00 and 09:00 JST would
    # be compared with the simulator's T0 dates one UTC day apart (reconcile.day_shift), and fail at those hours
    monkeypatch.setattr(cli_common, "now", lambda: T0 + timedelta(minutes=5))
    runner = CliRunner()
    shown = runner.invoke(app, ["upstream", "failed"])
    assert shown.exit_code == 0 and "s1" in shown.output and "400" in shown.output
    job = _job(svc)
    assert runner.invoke(app, ["upstream", "retry", str(job["id"])]).exit_code == 0
    assert runner.invoke(app, ["upstream", "retry", str(job["id"])]).exit_code == 1  # not failed any more
    done = runner.invoke(app, ["upstream", "provision", "--once"])
    assert done.exit_code == 0 and "done 1" in done.output, done.output
    assert _job(svc)["status"] == "done" and len(sim.sim.state.orders) == 1
    clean = runner.invoke(app, ["upstream", "reconcile", "--json"])
    assert clean.exit_code == 0 and clean.output.strip() == "[]", clean.output


def test_a_lost_commit_after_checkout_never_buys_twice(svc: Services, sim: SimServer, monkeypatch: Any) -> None:
    _nce(svc, "s1")
    _nce(svc, "s2")
    real = provisioning._settle
    monkeypatch.setattr(provisioning, "_settle", lambda *a: (_ for _ in ()).throw(ConnectionError("db gone")))
    assert provisioning.provision_due(svc, _prov(sim), T0).retrying == ["s1", "s2"]
    assert len(sim.sim.state.orders) == 2  # bought, but nothing recorded locally
    monkeypatch.setattr(provisioning, "_settle", real)
    # s2's checkout is replayed under the same MS-RequestId; for s1, Partner Center has forgotten the
    # request ID, so the checkout is refused (already ordered) and the worker must find the order.
    s1_cart = _job(svc, "s1")["cart_id"]
    assert s1_cart is not None
    del sim.sim.state.replies[provisioning.checkout_request_id(s1_cart)]
    assert provisioning.provision_due(svc, _prov(sim), T0 + timedelta(minutes=5)).done == ["s1", "s2"]
    assert len(sim.sim.state.orders) == 2 and len(sim.sim.state.subscriptions) == 2
    with svc.uow() as uow:
        links = uow.upstream.subscription_links()
    assert len({link["order_id"] for link in links}) == 2


def test_reconciliation_reports_every_difference(svc: Services, sim: SimServer) -> None:
    _nce(svc, "s1")
    _nce(svc, "s2")
    prov = _prov(sim)
    provisioning.provision_due(svc, prov, T0)
    with svc.uow() as uow:
        links = {link["subscription_ref"]: link for link in uow.upstream.subscription_links()}
    cid = links["s1"]["customer_id"]
    prov.upstream.update_subscription(cid, links["s1"]["subscription_id"], {"quantity": 12})
    prov.upstream.update_subscription(cid, links["s1"]["subscription_id"], {"autoRenewEnabled": False})
    subs.cancel(svc, T0 + timedelta(hours=1), "s2")  # local only
    _nce(svc, "s3")  # not provisioned yet
    cart = prov.upstream.create_cart(cid, {"lineItems": [  # bought in Partner Center by hand
        {"catalogItemId": "VISIO-P2", "quantity": 3, "billingCycle": "Annual", "termDuration": "P1Y"}]})
    prov.upstream.checkout(cid, cart["id"], request_id="by-hand")
    found = {(m.subscription, m.field): (m.local, m.upstream) for m in reconcile.reconcile(svc, prov.upstream, T0)}
    assert found.pop(("s1", "quantity")) == (10, 12)
    assert found.pop(("s1", "auto_renew")) == (True, False)
    assert found.pop(("s2", "status")) == ("deleted", "active")
    assert found.pop(("s3", "missing_upstream")) == ("active", None)
    assert found.pop((None, "missing_locally")) == (None, "VISIO-P2 ×3 active")
    assert found == {}


def test_the_activation_mail_follows_the_customer_language(svc: Services, sim: SimServer, tmp_path: Path) -> None:
    preferences.set_mail_language(svc, T0, "acme", "en")
    _nce(svc)
    provisioning.provision_due(svc, _prov(sim), T0)
    sent: list[Any] = []

    class Keep:
        def send(self, mail: Any) -> None:
            sent.append(mail)

    ob.deliver_due(svc, ob.Delivery(mailer=Keep(), templates=JinjaMailTemplates(), mail_domain="x.example"),
                   T0 + timedelta(minutes=1))
    activation = next(m for m in sent if "ready" in m.subject)
    assert activation.subject == "Your subscription s1 is ready"
    assert "Login ID: admin@acme.onmicrosoft.com" in activation.body
    assert "Admin centre: https://admin.microsoft.com/" in activation.body
    preferences.set_mail_language(svc, T0, "acme", "ja")  # back to the default: Japanese again
    assert preferences.mail_language(svc, "acme") == "ja"


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_buy_an_order_twice(make_postgres_database: Any, sim: SimServer) -> None:
    url = make_postgres_database()
    svc = _services(url)
    for i in range(20):
        _nce(svc, f"s{i:02d}", quantity=1 + i)
    reports: list[provisioning.ProvisioningReport] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            reports.append(provisioning.provision_due(Services(uow=svc.uow, zone=JST), _prov(sim), T0))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors
    done = reports[0].done + reports[1].done
    assert sorted(done) == [f"s{i:02d}" for i in range(20)] and len(set(done)) == 20
    assert all(r.done for r in reports), "both workers took part"
    assert len(sim.sim.state.orders) == 20 and len(sim.sim.state.subscriptions) == 20
    assert {j["status"] for j in provisioning.jobs(svc)} == {JobStatus.DONE.value}
    assert reconcile.reconcile(svc, _prov(sim).upstream, T0) == []


def test_an_order_without_auto_renew_is_bought_without_it(svc: Services, sim: SimServer) -> None:
    subs.order(svc, T0, ref="s1", tenant="t1", offer="M365-E3", term="P1Y", billing="monthly", quantity=3,
               auto_renew=False)
    prov = _prov(sim)
    assert provisioning.provision_due(svc, prov, T0).done == ["s1"]
    [up] = sim.sim.state.subscriptions.values()
    assert up["autoRenewEnabled"] is False  # a cart cannot carry it: PATCHed right after the checkout
    assert reconcile.reconcile(svc, prov.upstream, T0) == []


def test_an_order_activated_by_hand_is_not_bought_again(svc: Services, sim: SimServer) -> None:
    subs.order(svc, T0, ref="p1", tenant="t1", offer="M365-BUSINESS-STANDARD", term="P1Y", billing="annual",
               quantity=5, policy="annual-prepaid")
    [doc] = _documents(svc)
    subs.pay(svc, T0, doc["number"])
    subs.activate(svc, T0 + timedelta(hours=1), "p1")  # bought in Partner Center by hand (D-UP-SKIP)
    report = provisioning.provision_due(svc, _prov(sim), T0 + timedelta(hours=2))
    assert report.skipped == ["p1"] and sim.sim.state.orders == {}
    assert _job(svc, "p1")["status"] == "skipped" and "active" in _job(svc, "p1")["last_error"]


def test_a_customer_linked_twice_keeps_the_first_link_and_the_creators_credentials(svc: Services) -> None:
    with svc.uow() as uow:  # a worker that only found the customer (after a 409) links first …
        uow.upstream.link_customer("t1", "cust-1", None, T0)
        uow.commit()
    with svc.uow() as uow:  # … the one that created it must not fail, and its credentials must not be lost
        uow.upstream.link_customer("t1", "cust-1", "admin@acme.onmicrosoft.com", T0, "Temp-Pass-1")
        uow.upstream.link_customer("t1", "cust-2", "other@x", T0, "other")  # another customer ID: ignored
        uow.commit()
        link = uow.upstream.customer_link("t1")
    assert link is not None
    assert (link["customer_id"], link["login_id"], link["temporary_password"]) == (
        "cust-1", "admin@acme.onmicrosoft.com", "Temp-Pass-1")


def test_an_order_bought_before_9_in_tokyo_reconciles_with_partner_centers_utc_dates(
        svc: Services, sim: SimServer) -> None:
    # 08:00 JST on 06-18 is 23:00 UTC on 06-17: Partner Center dates the term 06-17 … 2027-06-16, we date it
    # 06-18 … 2027-06-17 (Tokyo calendar). The same term: reconciliation must not report it.
    early = datetime(2026, 6, 18, 8, 0, tzinfo=JST)
    httpx.post(f"{sim.url}/_sim/clock", json={"now": early.isoformat()}).raise_for_status()
    try:
        subs.order(svc, early, ref="s1", tenant="t1", offer="M365-E3", term="P1Y", billing="monthly", quantity=2)
        prov = _prov(sim)
        assert provisioning.provision_due(svc, prov, early).done == ["s1"]
        [up] = sim.sim.state.subscriptions.values()
        assert (up["effectiveStartDate"][:10], up["commitmentEndDate"][:10]) == ("2026-06-17", "2027-06-16")
        assert reconcile.reconcile(svc, prov.upstream, early) == []
        up["commitmentEndDate"] = "2027-06-15"  # a real difference still shows, as Partner Center has it
        [found] = reconcile.reconcile(svc, prov.upstream, early)
        assert (found.field, str(found.local), str(found.upstream)) == ("term_end", "2027-06-17", "2027-06-15")
    finally:
        httpx.post(f"{sim.url}/_sim/clock", json={"now": T0.isoformat()}).raise_for_status()
