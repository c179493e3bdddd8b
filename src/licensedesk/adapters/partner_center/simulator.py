"""A local Partner Center: the API subset licensedesk uses, in memory, with new-commerce behaviour.

``licensedesk upstream-sim`` serves it on localhost so the product can be developed and tested without
Microsoft. Shapes follow the REST docs (shared/notes/partner-center.md §8); behaviour follows §1–§3:

* a term starts at checkout; ``commitmentEndDate`` = start + term − 1 day; renewal on the day after;
* cancel (PATCH ``status: deleted``) only within 168 h of the term start (error 900213);
* a quantity decrease only for seats added within the last 168 h (error 900214), newest first;
* ``active ⇄ suspended``; suspending turns auto-renew off; no quantity change while suspended (800091);
  ``deleted`` is final; at term end a subscription renews (auto-renew on), expires, or — suspended —
  becomes disabled;
* a PATCH body without ``autoRenewEnabled`` turns auto-renew off and drops the next-term instructions,
  as Partner Center does; every change gets a new ETag and a stale ``If-Match`` is refused with 412;
* a replayed ``MS-RequestId`` on checkout returns the first result (idempotency);
* faults (429 with Retry-After, 409, 500) can be injected per method and path for tests
  (``POST /_sim/faults``), and the clock can be set (``POST /_sim/clock``);
* the state lives in memory, or also in a JSON file (``state_file``, written after every request) so a
  restarted simulator still has the subscriptions the product bought.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

WINDOW = timedelta(hours=168)
TERMS = {"P1M": 1, "P1Y": 12, "P3Y": 36}
CYCLES = {"Monthly", "Annual", "Triennial", "OneTime"}


@dataclass
class Fault:
    method: str
    path: str  # a regular expression searched in the request path
    status: int
    times: int = 1
    retry_after: int | None = None


@dataclass
class State:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    carts: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    seat_windows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per subscription, oldest first
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: dict[str, tuple[int, Any]] = field(default_factory=dict)  # MS-RequestId → checkout result
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # what arrived (method, path, headers)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value: date) -> str:
    return f"{value.isoformat()}T00:00:00Z"


def _add_months(start: date, months: int) -> date:
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _error(status: int, code: int | str, description: str) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=status)


def _collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"totalCount": len(items), "items": items, "links": {}, "attributes": {"objectType": "Collection"}}


class Simulator:
    """State and rules; ``app()`` wraps them in FastAPI. Thread-safe (one lock around every request)."""

    def __init__(self, clock: Callable[[], datetime] | None = None, partner_id: str = "4242424",
                 state_file: str | Path | None = None) -> None:
        self.state = State()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.offset = timedelta(0)
        self.partner_id = partner_id
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        if self.state_file is not None and self.state_file.exists():
            self.load(self.state_file)

    # ------------------------------------------------------------------ optional persistence (restarts)
    PERSISTED = ("customers", "carts", "orders", "subscriptions", "transfers")

    def save(self) -> None:
        """Write the state to ``state_file`` (atomically), so a restarted simulator keeps its subscriptions."""
        if self.state_file is None:
            return
        data: dict[str, Any] = {name: getattr(self.state, name) for name in self.PERSISTED}
        data["seat_windows"] = {sid: [{"at": _iso(w["at"]), "quantity": w["quantity"]} for w in windows]
                                for sid, windows in self.state.seat_windows.items()}
        data["replies"] = {rid: list(reply) for rid, reply in self.state.replies.items()}
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.state_file)

    def load(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        for name in self.PERSISTED:
            setattr(self.state, name, data.get(name, {}))
        self.state.seat_windows = {
            sid: [{"at": datetime.fromisoformat(w["at"].replace("Z", "+00:00")), "quantity": w["quantity"]}
                  for w in windows] for sid, windows in data.get("seat_windows", {}).items()}
        self.state.replies = {rid: (int(reply[0]), reply[1]) for rid, reply in data.get("replies", {}).items()}

    def now(self) -> datetime:
        return self.clock().astimezone(UTC) + self.offset

    # ------------------------------------------------------------------ subscriptions over time
    def _etag(self, sub: dict[str, Any]) -> None:
        sub["attributes"] = {"etag": uuid.uuid4().hex, "objectType": "Subscription"}

    def _start_term(self, sub: dict[str, Any], start: datetime, quantity: int, end: date | None = None) -> None:
        first = start.date()
        end = end or _add_months(first, TERMS[sub["termDuration"]]) - timedelta(days=1)
        sub.update(effectiveStartDate=_day(first), commitmentEndDate=_day(end),
                   commitmentEndDateTime=f"{end.isoformat()}T23:59:59Z",
                   cancellationAllowedUntilDate=_iso(start + WINDOW),
                   refundOptions=[{"type": "Full", "expiresAt": _iso(start + timedelta(hours=24))}])
        self.state.seat_windows[sub["id"]] = [{"at": start, "quantity": quantity}]
        self._refundable(sub)

    def _refundable(self, sub: dict[str, Any]) -> None:
        now = self.now()
        open_ = [w for w in self.state.seat_windows.get(sub["id"], []) if now <= w["at"] + WINDOW and w["quantity"]]
        sub["refundableQuantity"] = {"totalQuantity": sum(w["quantity"] for w in open_), "details": [
            {"quantity": w["quantity"], "allowedUntilDateTime": _iso(w["at"] + WINDOW)} for w in open_]}

    def advance(self, sub: dict[str, Any]) -> None:
        """Apply term ends up to now: renew (auto-renew on), expire, or disable (suspended at term end)."""
        while sub["status"] in ("active", "suspended"):
            end = date.fromisoformat(sub["commitmentEndDate"][:10])
            renew_at = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
            if self.now() < renew_at:
                break
            if sub["status"] == "suspended":
                sub["status"] = "disabled"
            elif sub["autoRenewEnabled"]:
                nxt = sub.pop("scheduledNextTermInstructions", None) or {}
                quantity = int(nxt.get("quantity") or sub["quantity"])
                sub["quantity"] = quantity
                self._start_term(sub, renew_at, quantity)
            else:
                sub["status"] = "expired"
            self._etag(sub)
        self._refundable(sub)

    # ------------------------------------------------------------------ rules of a PATCH
    def patch(self, sub: dict[str, Any], body: dict[str, Any]) -> JSONResponse | None:
        """Apply a full-resource PATCH; a refusal comes back as the error response."""
        now = self.now()
        status, quantity = body.get("status", sub["status"]), int(body.get("quantity", sub["quantity"]))
        if sub["status"] in ("deleted", "expired", "disabled"):
            return _error(400, 800036, f"subscription is {sub['status']}; it cannot change")
        if status == "deleted":
            if now > datetime.fromisoformat(sub["cancellationAllowedUntilDate"].replace("Z", "+00:00")):
                return _error(400, 900213, "You have passed your 168-hour cancellation window")
            sub["status"] = "deleted"
            sub["autoRenewEnabled"] = False
            sub.pop("scheduledNextTermInstructions", None)
            return None
        if status not in ("active", "suspended"):
            return _error(400, 2001, f"unknown status {status!r}")
        if quantity != sub["quantity"]:
            if sub["status"] == "suspended" or status == "suspended":
                return _error(400, 800091, "quantity cannot change while the subscription is suspended")
            if quantity < 1:
                return _error(400, 2001, "quantity must be at least 1")
            windows = self.state.seat_windows.setdefault(sub["id"], [])
            if quantity > sub["quantity"]:
                windows.append({"at": now, "quantity": quantity - sub["quantity"]})
            else:
                remove = sub["quantity"] - quantity
                open_ = [w for w in windows if now <= w["at"] + WINDOW]
                if sum(w["quantity"] for w in open_) < remove:
                    return _error(400, 900214, "You have passed your 168-hour window for reducing seats")
                for w in reversed(open_):  # newest additions first
                    take = min(w["quantity"], remove)
                    w["quantity"] -= take
                    remove -= take
            sub["quantity"] = quantity
            sub.pop("scheduledNextTermInstructions", None)  # a quantity change drops scheduled changes
        if status != sub["status"]:
            sub["status"] = status
            if status == "suspended":
                sub["autoRenewEnabled"] = False  # NCE: suspending turns auto-renew off
                sub.pop("scheduledNextTermInstructions", None)
                return None
        renew = body.get("autoRenewEnabled")
        if renew is None:  # PC: an omitted flag is read as false and the instructions are deleted
            sub["autoRenewEnabled"] = False
            sub.pop("scheduledNextTermInstructions", None)
            return None
        sub["autoRenewEnabled"] = bool(renew)
        nxt = body.get("scheduledNextTermInstructions")
        if not sub["autoRenewEnabled"] or not nxt:
            sub.pop("scheduledNextTermInstructions", None)
        elif sub["status"] != "active":
            return _error(400, 800037, "scheduled changes need an active subscription with auto-renew on")
        else:
            sub["scheduledNextTermInstructions"] = nxt
        if "friendlyName" in body:
            sub["friendlyName"] = body["friendlyName"]
        return None

    # ------------------------------------------------------------------ checkout
    def checkout(self, customer_id: str, cart: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        order_id = uuid.uuid4().hex[:16]
        lines = []
        for number, item in enumerate(cart["lineItems"]):
            sid = str(uuid.uuid4())
            product = item["catalogItemId"].partition(":")[0]
            sub = {"id": sid, "offerId": item["catalogItemId"], "offerName": product,
                   "friendlyName": item.get("friendlyName") or product,
                   "productType": {"id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE"},
                   "quantity": int(item["quantity"]), "unitType": "Licenses", "creationDate": _iso(now),
                   "status": "active", "autoRenewEnabled": True, "isTrial": False, "billingType": "license",
                   "billingCycle": item["billingCycle"], "termDuration": item["termDuration"],
                   "partnerId": self.partner_id, "orderId": order_id,
                   "links": {"self": {"uri": f"/customers/{customer_id}/subscriptions/{sid}", "method": "GET"}}}
            custom = item.get("customTermEndDate")  # COTERM: only the first term is shortened
            self._start_term(sub, now, sub["quantity"], date.fromisoformat(custom[:10]) if custom else None)
            self._etag(sub)
            self.state.subscriptions[sid] = {**sub, "_customer": customer_id}
            lines.append({"lineItemNumber": number, "offerId": item["catalogItemId"], "subscriptionId": sid,
                          "quantity": sub["quantity"], "termDuration": item["termDuration"],
                          "transactionType": "new", "friendlyName": sub["friendlyName"]})
        order = {"id": order_id, "referenceCustomerId": customer_id, "billingCycle": cart["lineItems"][0]["billingCycle"],
                 "currencyCode": "JPY", "lineItems": lines, "creationDate": _iso(now), "status": "pending",
                 "attributes": {"objectType": "Order"}}
        self.state.orders[order_id] = {**order, "_customer": customer_id}
        cart["status"] = "Ordered"
        return order

    # ------------------------------------------------------------------ faults
    def fault(self, method: str, path: str) -> Fault | None:
        for f in self.state.faults:
            if f.times > 0 and f.method.upper() in (method.upper(), "*") and re.search(f.path, path):
                f.times -= 1
                return f
        return None

    def app(self) -> FastAPI:
        return build_app(self)


def _public(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if not k.startswith("_")}


def build_app(sim: Simulator) -> FastAPI:
    app = FastAPI(title="Partner Center simulator (licensedesk)", version="1")
    st = sim.state
    serial = asyncio.Lock()  # one request at a time: the state is plain dicts

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        path = request.url.path
        if path.startswith("/v1/"):
            st.requests.append({"method": request.method, "path": path,
                                "request_id": request.headers.get("MS-RequestId"),
                                "correlation_id": request.headers.get("MS-CorrelationId")})
            if not request.headers.get("Authorization", "").startswith("Bearer "):
                return _error(401, 401, "missing bearer token")
            with sim.lock:
                fault = sim.fault(request.method, path)
            if fault is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
                return JSONResponse({"code": fault.status, "description": "injected fault"},
                                    status_code=fault.status, headers=headers)
        async with serial:
            response = await call_next(request)
            if path.startswith("/v1/") and sim.state_file is not None:
                sim.save()  # GETs too: reading applies renewals and expiries
            return response

    def customer_or_404(cid: str) -> dict[str, Any] | JSONResponse:
        found = st.customers.get(cid)
        return found if found is not None else _error(404, 600008, f"customer {cid} not found")

    # ---------------------------------------------------------------- customers
    @app.get("/v1/customers")
    def list_customers(filter: str | None = None, size: int = 500) -> Any:
        items = list(st.customers.values())
        if filter:
            wanted = json.loads(filter)
            value = str(wanted.get("Value", "")).lower()
            field_ = {"Domain": "domain", "CompanyName": "companyName"}.get(wanted.get("Field"), "domain")
            items = [c for c in items if str(c["companyProfile"].get(field_, "")).lower().startswith(value)]
        return _collection(items[:size])

    @app.get("/v1/customers/relationshiprequests")
    def relationship_request() -> Any:
        return {"url": f"https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
                       f"&partnerId={sim.partner_id}#/BillingAccounts/partner-invitation",
                "attributes": {"objectType": "RelationshipRequest"}}

    @app.get("/v1/customers/{cid}")
    def get_customer(cid: str) -> Any:
        return customer_or_404(cid)

    @app.post("/v1/customers", status_code=201)
    async def create_customer(request: Request) -> Any:
        body = await request.json()
        domain = str((body.get("companyProfile") or {}).get("domain") or "").lower()
        if not domain:
            return _error(400, 2001, "companyProfile.domain is required")
        if any(c["companyProfile"]["domain"] == domain for c in st.customers.values()):
            return _error(409, 1003, f"domain {domain} is already in use")
        cid = str(uuid.uuid4())
        customer = {"id": cid, "commerceId": str(uuid.uuid4()),
                    "companyProfile": {**(body.get("companyProfile") or {}), "tenantId": cid, "domain": domain},
                    "billingProfile": body.get("billingProfile") or {}, "relationshipToPartner": "reseller",
                    "allowDelegatedAccess": True, "attributes": {"objectType": "Customer"}}
        st.customers[cid] = customer
        return {**customer, "userCredentials": {"userName": f"admin@{domain}",
                                                "password": secrets.token_urlsafe(12)}}

    # ---------------------------------------------------------------- carts and orders
    @app.post("/v1/customers/{cid}/carts", status_code=201)
    async def create_cart(cid: str, request: Request) -> Any:
        if cid not in st.customers:
            return customer_or_404(cid)
        body = await request.json()
        items = body.get("lineItems") or []
        if not items:
            return _error(400, 2001, "a cart needs at least one line item")
        for i, item in enumerate(items):
            if item.get("termDuration") not in TERMS or item.get("billingCycle") not in CYCLES:
                return _error(400, 2001, f"line {i}: termDuration P1M/P1Y/P3Y and a billingCycle are required")
            if int(item.get("quantity") or 0) < 1 or not item.get("catalogItemId"):
                return _error(400, 2001, f"line {i}: catalogItemId and a quantity ≥ 1 are required")
            item["id"] = i
        now = sim.now()
        cart: dict[str, Any] = {"id": str(uuid.uuid4()), "creationTimestamp": _iso(now), "lastModifiedTimestamp": _iso(now),
                "expirationTimestamp": _iso(now + timedelta(days=7)), "status": "Active", "lineItems": items,
                "_customer": cid}
        st.carts[cart["id"]] = cart
        return _public(cart)

    @app.get("/v1/customers/{cid}/carts/{cart_id}")
    def get_cart(cid: str, cart_id: str) -> Any:
        cart = st.carts.get(cart_id)
        if cart is None or cart["_customer"] != cid:
            return _error(404, 800001, f"cart {cart_id} not found")
        return _public(cart)

    @app.post("/v1/customers/{cid}/carts/{cart_id}/checkout", status_code=201)
    def checkout(cid: str, cart_id: str, request: Request) -> Any:
        request_id = request.headers.get("MS-RequestId") or ""
        if request_id in st.replies:
            status, body = st.replies[request_id]
            return JSONResponse(body, status_code=status)
        cart = st.carts.get(cart_id)
        if cart is None or cart["_customer"] != cid:
            return _error(404, 800001, f"cart {cart_id} not found")
        if cart["status"] == "Ordered":
            return _error(400, 800002, f"cart {cart_id} has already been checked out")
        if sim.now() > datetime.fromisoformat(cart["expirationTimestamp"].replace("Z", "+00:00")):
            return _error(400, 800003, f"cart {cart_id} expired")
        order = sim.checkout(cid, cart)
        body = {"orders": [_public(order)], "orderErrors": [], "attributes": {"objectType": "CartCheckoutResult"}}
        st.replies[request_id] = (201, body)
        return JSONResponse(body, status_code=201)

    def order_view(order: dict[str, Any]) -> dict[str, Any]:
        order["status"] = "completed"  # the subscriptions exist as soon as the checkout returned
        return _public(order)

    @app.get("/v1/customers/{cid}/orders")
    def list_orders(cid: str) -> Any:
        return _collection([order_view(o) for o in st.orders.values() if o["_customer"] == cid])

    @app.get("/v1/customers/{cid}/orders/{order_id}")
    def get_order(cid: str, order_id: str) -> Any:
        order = st.orders.get(order_id)
        if order is None or order["_customer"] != cid:
            return _error(404, 800004, f"order {order_id} not found")
        return order_view(order)

    # ---------------------------------------------------------------- subscriptions
    def sub_or_404(cid: str, sid: str) -> dict[str, Any] | JSONResponse:
        sub = st.subscriptions.get(sid)
        if sub is None or sub["_customer"] != cid:
            return _error(404, 800005, f"subscription {sid} not found")
        sim.advance(sub)
        return sub

    def sub_response(sub: dict[str, Any]) -> JSONResponse:
        return JSONResponse(_public(sub), headers={"ETag": sub["attributes"]["etag"]})

    @app.get("/v1/customers/{cid}/subscriptions")
    def list_subscriptions(cid: str, order_id: str | None = None) -> Any:
        subs = [s for s in st.subscriptions.values() if s["_customer"] == cid
                and (order_id is None or s["orderId"] == order_id)]
        for s in subs:
            sim.advance(s)
        return _collection([_public(s) for s in subs])

    @app.get("/v1/customers/{cid}/subscriptions/{sid}")
    def get_subscription(cid: str, sid: str) -> Any:
        found = sub_or_404(cid, sid)
        return found if isinstance(found, JSONResponse) else sub_response(found)

    @app.patch("/v1/customers/{cid}/subscriptions/{sid}")
    async def patch_subscription(cid: str, sid: str, request: Request) -> Any:
        found = sub_or_404(cid, sid)
        if isinstance(found, JSONResponse):
            return found
        match = request.headers.get("If-Match")
        if match is not None and match != found["attributes"]["etag"]:
            return _error(412, 412, "the subscription changed since it was read (stale If-Match)")
        refused = sim.patch(found, await request.json())
        if refused is not None:
            return refused
        sim._etag(found)
        sim._refundable(found)
        return sub_response(found)

    # ---------------------------------------------------------------- transfers
    @app.post("/v1/customers/{cid}/transfers", status_code=201)
    async def create_transfer(cid: str, request: Request) -> Any:
        body = await request.json()
        transfer = {**body, "id": str(uuid.uuid4()), "customerTenantId": cid, "status": "Active",
                    "creationTime": _iso(sim.now()), "_customer": cid}
        st.transfers[transfer["id"]] = transfer
        return _public(transfer)

    @app.patch("/v1/customers/{cid}/transfers/{tid}")
    async def update_transfer(cid: str, tid: str, request: Request) -> Any:
        transfer = st.transfers.get(tid)
        if transfer is None or transfer["_customer"] != cid:
            return _error(404, 800006, f"transfer {tid} not found")
        body = await request.json()
        transfer["status"] = body.get("status", transfer["status"])
        return _public(transfer)

    # ---------------------------------------------------------------- test controls (not Partner Center)
    @app.post("/_sim/faults")
    async def add_fault(request: Request) -> Any:
        body = await request.json()
        st.faults.append(Fault(body["method"], body["path"], int(body["status"]), int(body.get("times", 1)),
                               body.get("retry_after")))
        return {"faults": len(st.faults)}

    @app.post("/_sim/clock")
    async def set_clock(request: Request) -> Any:
        body = await request.json()
        if "now" in body:
            sim.offset = datetime.fromisoformat(body["now"]).astimezone(UTC) - sim.clock().astimezone(UTC)
        if "advance_hours" in body:
            sim.offset += timedelta(hours=float(body["advance_hours"]))
        return {"now": _iso(sim.now())}

    @app.get("/_sim/state")
    def dump() -> Any:
        return {"customers": len(st.customers), "orders": len(st.orders), "subscriptions": len(st.subscriptions),
                "carts": len(st.carts), "requests": len(st.requests)}

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok", "simulator": True}

    return app


def create_app(state_file: str | Path | None = None) -> FastAPI:
    """Factory for ``uvicorn --factory`` and ``licensedesk upstream-sim`` (``--state FILE`` keeps it across restarts)."""
    return Simulator(state_file=state_file).app()
