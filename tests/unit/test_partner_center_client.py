"""The Partner Center client against the simulator in process (Starlette's TestClient as transport):
headers, 429 / 5xx / 409 / 412 retries, full-resource PATCH, and the simulator's NCE rules (168 h windows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from licensedesk.adapters.partner_center.client import PartnerCenterClient, RetryPolicy, StaticToken
from licensedesk.adapters.partner_center.simulator import Fault, Simulator
from licensedesk.services.ports_upstream import UpstreamError

T0 = datetime(2026, 6, 18, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world() -> tuple[Simulator, PartnerCenterClient, list[float], Clock]:
    clock = Clock()
    sim = Simulator(clock=clock)
    sleeps: list[float] = []
    http = TestClient(sim.app(), base_url="http://testserver/v1")
    client = PartnerCenterClient("http://testserver", StaticToken(), http=http, retry=RetryPolicy(sleep=sleeps.append))
    return sim, client, sleeps, clock


def _buy(client: PartnerCenterClient, quantity: int = 10) -> tuple[str, dict[str, Any]]:
    customer = client.create_customer({"companyProfile": {"domain": "acme.onmicrosoft.com", "companyName": "Acme"}})
    cart = client.create_cart(customer["id"], {"lineItems": [
        {"catalogItemId": "CFQ7TTC0LH18:0001", "quantity": quantity, "billingCycle": "Monthly", "termDuration": "P1Y"}]})
    result = client.checkout(customer["id"], cart["id"], request_id="rid-1")
    [sub] = client.subscriptions(customer["id"], result["orders"][0]["id"])
    return customer["id"], sub


def test_every_request_carries_the_headers_and_a_new_customer_gets_its_admin(world: Any) -> None:
    sim, client, _, _ = world
    customer = client.create_customer({"companyProfile": {"domain": "acme.onmicrosoft.com"}})
    assert customer["userCredentials"]["userName"] == "admin@acme.onmicrosoft.com"
    assert client.find_customer_by_domain("ACME.onmicrosoft.com")["id"] == customer["id"]
    assert client.get_customer("no-such-customer") is None
    assert all(r["request_id"] and r["correlation_id"] for r in sim.state.requests)
    assert len({r["request_id"] for r in sim.state.requests}) == len(sim.state.requests)


def test_a_429_waits_retry_after_and_resends_the_same_request_id(world: Any) -> None:
    sim, client, sleeps, _ = world
    sim.state.faults.append(Fault("GET", r"/customers$", 429, times=2, retry_after=7))
    assert client.find_customer_by_domain("x.onmicrosoft.com") is None
    assert sleeps == [7.0, 7.0]
    tries = [r for r in sim.state.requests if r["path"] == "/v1/customers"]
    assert len(tries) == 3 and len({r["request_id"] for r in tries}) == 1  # one logical request, retried


def test_5xx_backs_off_exponentially_then_gives_up_as_retryable(world: Any) -> None:
    sim, client, sleeps, _ = world
    sim.state.faults.append(Fault("GET", r"/customers/c1$", 500, times=99))
    with pytest.raises(UpstreamError) as err:
        client.get_customer("c1")
    assert (err.value.status, err.value.retryable) == (500, True)
    assert sleeps == [0.5, 1.0, 2.0, 4.0]  # 5 attempts, 4 waits


def test_a_refusal_is_not_retried(world: Any) -> None:
    _, client, sleeps, _ = world
    customer = client.create_customer({"companyProfile": {"domain": "acme.onmicrosoft.com"}})
    with pytest.raises(UpstreamError) as err:
        client.create_cart(customer["id"], {"lineItems": [{"catalogItemId": "X", "quantity": 0,
                                                          "billingCycle": "Monthly", "termDuration": "P1Y"}]})
    assert (err.value.status, err.value.retryable, sleeps) == (400, False, [])


def test_patch_sends_the_full_resource_so_auto_renew_and_next_term_survive(world: Any) -> None:
    sim, client, _, _ = world
    cid, sub = _buy(client)
    nxt = {"quantity": 12, "product": {"productId": "CFQ7TTC0LH18", "skuId": "0001"}}
    client.update_subscription(cid, sub["id"], {"scheduledNextTermInstructions": nxt})
    after = client.update_subscription(cid, sub["id"], {"friendlyName": "営業部"})
    assert (after["autoRenewEnabled"], after["scheduledNextTermInstructions"]) == (True, nxt)
    raw = sim.app()  # what a careless client gets: PATCH without autoRenewEnabled turns it off (PC behaviour)
    with TestClient(raw, base_url="http://testserver/v1") as http:
        sim.state.faults.clear()
        got = http.patch(f"/customers/{cid}/subscriptions/{sub['id']}", json={"quantity": 10},
                         headers={"Authorization": "Bearer x"})
    assert got.status_code == 200 and got.json()["autoRenewEnabled"] is False
    assert "scheduledNextTermInstructions" not in got.json()


def test_409_and_stale_etag_fetch_again_and_reapply(world: Any) -> None:
    sim, client, sleeps, _ = world
    cid, sub = _buy(client)
    sim.state.faults.append(Fault("PATCH", r"/subscriptions/", 409, times=1))
    assert client.update_subscription(cid, sub["id"], {"quantity": 15})["quantity"] == 15
    real_get = client.http.request
    calls = {"n": 0}

    def racing(method: str, url: str, **kw: Any) -> Any:  # someone else changes it between our GET and PATCH
        if method == "PATCH" and calls["n"] == 0:
            calls["n"] += 1
            sim.state.subscriptions[sub["id"]]["attributes"]["etag"] = "changed-elsewhere"
        return real_get(method, url, **kw)

    client.http.request = racing  # type: ignore[method-assign]
    assert client.update_subscription(cid, sub["id"], {"quantity": 16})["quantity"] == 16
    patches = [r for r in sim.state.requests if r["method"] == "PATCH"]
    assert len(patches) == 4  # 409 + ok, 412 + ok
    assert len(sleeps) == 2


def test_nce_windows_quantity_and_cancel(world: Any) -> None:
    _, client, _, clock = world
    cid, sub = _buy(client, quantity=10)
    assert sub["cancellationAllowedUntilDate"] == "2026-06-25T01:00:00Z"  # 168 h after checkout
    assert (sub["effectiveStartDate"], sub["commitmentEndDate"]) == ("2026-06-18T00:00:00Z", "2027-06-17T00:00:00Z")
    clock.now = T0 + timedelta(days=3)
    client.update_subscription(cid, sub["id"], {"quantity": 15})  # +5 now: its own window
    clock.now = T0 + timedelta(hours=169)  # the purchase window has closed, the +5 window has not
    assert client.update_subscription(cid, sub["id"], {"quantity": 10})["quantity"] == 10
    with pytest.raises(UpstreamError) as err:
        client.update_subscription(cid, sub["id"], {"quantity": 9})
    assert err.value.code == "900214"
    with pytest.raises(UpstreamError) as err:
        client.update_subscription(cid, sub["id"], {"status": "deleted"})
    assert err.value.code == "900213"
    suspended = client.update_subscription(cid, sub["id"], {"status": "suspended"})
    assert (suspended["status"], suspended["autoRenewEnabled"]) == ("suspended", False)
    with pytest.raises(UpstreamError) as err:
        client.update_subscription(cid, sub["id"], {"quantity": 20})
    assert err.value.code == "800091"
    clock.now = datetime(2027, 6, 18, 0, 0, tzinfo=UTC)  # suspended at term end → disabled
    assert client.get_subscription(cid, sub["id"])["status"] == "disabled"


def test_renewal_applies_the_next_term_quantity_and_opens_a_new_window(world: Any) -> None:
    _, client, _, clock = world
    cid, sub = _buy(client, quantity=10)
    client.update_subscription(cid, sub["id"], {"scheduledNextTermInstructions": {"quantity": 7}})
    clock.now = datetime(2027, 6, 18, 3, 0, tzinfo=UTC)
    renewed = client.get_subscription(cid, sub["id"])
    assert (renewed["quantity"], renewed["effectiveStartDate"], renewed["cancellationAllowedUntilDate"]) == (
        7, "2027-06-18T00:00:00Z", "2027-06-25T00:00:00Z")
    client.update_subscription(cid, sub["id"], {"autoRenewEnabled": False})
    clock.now = datetime(2028, 6, 18, 0, 0, tzinfo=UTC)
    assert client.get_subscription(cid, sub["id"])["status"] == "expired"


def test_a_replayed_checkout_returns_the_first_order_and_a_second_checkout_is_refused(world: Any) -> None:
    sim, client, _, _ = world
    customer = client.create_customer({"companyProfile": {"domain": "acme.onmicrosoft.com"}})
    cart = client.create_cart(customer["id"], {"lineItems": [
        {"catalogItemId": "A", "quantity": 1, "billingCycle": "Annual", "termDuration": "P1Y"}]})
    first = client.checkout(customer["id"], cart["id"], request_id="same")
    again = client.checkout(customer["id"], cart["id"], request_id="same")
    assert first == again and len(sim.state.orders) == 1
    with pytest.raises(UpstreamError) as err:
        client.checkout(customer["id"], cart["id"], request_id="other")
    assert err.value.code == "800002" and len(sim.state.orders) == 1


def test_a_restarted_simulator_keeps_its_state(tmp_path: Any) -> None:
    clock = Clock()
    first = Simulator(clock=clock, state_file=tmp_path / "sim.json")
    client = PartnerCenterClient("http://testserver", StaticToken(),
                                 http=TestClient(first.app(), base_url="http://testserver/v1"))
    cid, sub = _buy(client, quantity=4)
    client.update_subscription(cid, sub["id"], {"quantity": 6})
    again = Simulator(clock=clock, state_file=tmp_path / "sim.json")  # a new process would read the same file
    restarted = PartnerCenterClient("http://testserver", StaticToken(),
                                    http=TestClient(again.app(), base_url="http://testserver/v1"))
    clock.now = T0 + timedelta(hours=100)  # the +2 seats are still within their 168 h window after the restart
    assert restarted.get_subscription(cid, sub["id"])["refundableQuantity"]["totalQuantity"] == 6
    assert restarted.update_subscription(cid, sub["id"], {"quantity": 4})["quantity"] == 4
    assert restarted.checkout(cid, next(iter(again.state.carts)), request_id="rid-1")["orders"][0]["id"] == sub["orderId"]
