"""Partner Center REST client (httpx) for the API subset licensedesk needs (docs/upstream.md).

Every request carries ``Authorization: Bearer``, ``MS-RequestId`` and ``MS-CorrelationId``
[PC developer/headers.md]. ``MS-RequestId`` identifies one logical request and is reused when that
request is retried (Partner Center uses it for idempotency); ``MS-CorrelationId`` is one per
operation (e.g. the GET, PATCH and re-GET of one subscription update share it).

Retries: 429 waits ``Retry-After`` (capped), 5xx / timeouts / connection errors back off
exponentially; a subscription PATCH that meets 409 (renewal in progress, concurrent change) or 412
(stale ``If-Match``) fetches the resource again and re-applies the change on the new ETag. Every
PATCH sends the full resource from a fresh GET, because a body without ``autoRenewEnabled`` or the
next-term instructions silently turns auto-renew off [PC developer/update-a-subscription-by-id.md].
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from licensedesk.services.ports_upstream import Resource, UpstreamError

log = logging.getLogger("licensedesk.upstream")

PARTNER_CENTER_URL = "https://api.partnercenter.microsoft.com"
PARTNER_CENTER_SCOPE = "https://api.partnercenter.microsoft.com/.default"


class TokenProvider(Protocol):
    def token(self) -> str: ...


@dataclass
class StaticToken:
    """A fixed bearer token (the local simulator accepts any)."""

    value: str = "simulator"

    def token(self) -> str:
        return self.value


@dataclass
class MsalToken:
    """App-only token for Partner Center through MSAL (client credentials). ``msal`` is imported lazily:
    it is an optional dependency (``pip install licensedesk[partner-center]``), never used in tests."""

    tenant_id: str
    client_id: str
    client_secret: str
    scope: str = PARTNER_CENTER_SCOPE
    _app: Any = field(default=None, repr=False)

    def token(self) -> str:
        if self._app is None:
            try:
                import msal  # type: ignore[import-not-found,unused-ignore]
            except ImportError as exc:  # pragma: no cover - depends on the installation
                raise UpstreamError("msal is not installed: pip install 'licensedesk[partner-center]'") from exc
            self._app = msal.ConfidentialClientApplication(
                self.client_id, client_credential=self.client_secret,
                authority=f"https://login.microsoftonline.com/{self.tenant_id}")
        result = self._app.acquire_token_for_client(scopes=[self.scope])  # MSAL caches until expiry
        if "access_token" not in result:
            raise UpstreamError(f"token refused: {result.get('error')}: {result.get('error_description')}",
                                code=str(result.get("error")), retryable=True)
        return str(result["access_token"])


@dataclass
class RetryPolicy:
    attempts: int = 5  # per request, for 429 / 5xx / transport errors
    conflict_attempts: int = 4  # per PATCH, for 409 / 412
    backoff: float = 0.5  # seconds × 2^attempt …
    backoff_cap: float = 30.0  # … at most
    retry_after_cap: float = 120.0  # never wait longer than this for one 429
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        return min(self.backoff * (1 << attempt), self.backoff_cap)


def _items(body: Any) -> list[Resource]:
    return list(body.get("items", [])) if isinstance(body, dict) else list(body or [])


def etag_of(response: httpx.Response, body: Resource) -> str | None:
    return response.headers.get("ETag") or (body.get("attributes") or {}).get("etag")


class PartnerCenterClient:
    """Implements ``services.ports_upstream.PartnerCenter`` over HTTP."""

    def __init__(self, base_url: str, tokens: TokenProvider, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, retry: RetryPolicy | None = None, http: httpx.Client | None = None) -> None:
        """``base_url`` without ``/v1``; ``http`` replaces the HTTP client (tests: Starlette's TestClient)."""
        self.http = http or httpx.Client(base_url=base_url.rstrip("/") + "/v1", transport=transport,
                                         timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
        self.tokens = tokens
        self.retry = retry or RetryPolicy()
        self.requests = 0  # HTTP requests sent, retries included (tests and logs)

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ transport
    def _send(self, method: str, path: str, *, correlation: str, request_id: str | None = None,
              json_body: Any = None, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
              expect: tuple[int, ...] = (200, 201)) -> httpx.Response:
        """One logical request; 429 / 5xx / transport errors are retried with the same MS-RequestId."""
        request_id = request_id or str(uuid.uuid4())
        policy = self.retry
        for attempt in range(policy.attempts):
            all_headers = {"Authorization": f"Bearer {self.tokens.token()}", "Accept": "application/json",
                           "MS-RequestId": request_id, "MS-CorrelationId": correlation, **(headers or {})}
            last = attempt + 1 == policy.attempts
            try:
                self.requests += 1
                response = self.http.request(method, path, json=json_body, params=params, headers=all_headers)
            except httpx.TransportError as exc:  # timeouts, refused connections
                if last:
                    raise UpstreamError(f"{method} {path}: {type(exc).__name__}: {exc}", retryable=True,
                                        request_id=request_id) from exc
                log.warning("%s %s: %s, retrying", method, path, type(exc).__name__)
                policy.sleep(policy.delay(attempt))
                continue
            if response.status_code in expect:
                return response
            if response.status_code == 429 and not last:
                policy.sleep(self._retry_after(response, attempt))
                continue
            if response.status_code >= 500 and not last:
                policy.sleep(policy.delay(attempt))
                continue
            raise self._error(method, path, response, request_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        try:
            wait = float(response.headers.get("Retry-After", ""))
        except ValueError:
            wait = self.retry.delay(attempt)
        return max(0.0, min(wait, self.retry.retry_after_cap))

    @staticmethod
    def _error(method: str, path: str, response: httpx.Response, request_id: str) -> UpstreamError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        code = body.get("code") or body.get("errorCode")
        text = body.get("description") or body.get("message") or response.text[:300]
        status = response.status_code
        return UpstreamError(f"{method} {path}: {status} {code or ''} {text}".strip(), status=status,
                             code=None if code is None else str(code),
                             retryable=status == 429 or status == 409 or status >= 500, request_id=request_id)

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        correlation = kw.pop("correlation", None) or str(uuid.uuid4())
        response = self._send(method, path, correlation=correlation, **kw)
        return response.json() if response.content else {}

    # ------------------------------------------------------------------ customers and relationship
    def get_customer(self, customer_id: str) -> Resource | None:
        try:
            return dict(self._json("GET", f"/customers/{customer_id}"))
        except UpstreamError as exc:
            if exc.status == 404:
                return None
            raise

    def find_customer_by_domain(self, domain: str) -> Resource | None:
        query = json.dumps({"Field": "Domain", "Value": domain, "Operator": "starts_with"})
        found = _items(self._json("GET", "/customers", params={"size": 500, "filter": query}))
        exact = [c for c in found if (c.get("companyProfile") or {}).get("domain", "").lower() == domain.lower()]
        return exact[0] if exact else None

    def create_customer(self, customer: Resource) -> Resource:
        return dict(self._json("POST", "/customers", json_body=customer, expect=(201, 200)))

    def relationship_request(self) -> Resource:
        """The reseller-relationship invitation link the customer's admin accepts [PC request-a-relationship…]."""
        return dict(self._json("GET", "/customers/relationshiprequests"))

    # ------------------------------------------------------------------ carts, checkout, orders
    def create_cart(self, customer_id: str, cart: Resource) -> Resource:
        return dict(self._json("POST", f"/customers/{customer_id}/carts", json_body=cart, expect=(201, 200)))

    def get_cart(self, customer_id: str, cart_id: str) -> Resource:
        return dict(self._json("GET", f"/customers/{customer_id}/carts/{cart_id}"))

    def checkout(self, customer_id: str, cart_id: str, *, request_id: str) -> Resource:
        """Buy the cart. ``request_id`` must be stable for the cart: a replayed checkout returns the first result."""
        return dict(self._json("POST", f"/customers/{customer_id}/carts/{cart_id}/checkout", request_id=request_id,
                               expect=(201, 200)))

    def orders(self, customer_id: str) -> list[Resource]:
        return _items(self._json("GET", f"/customers/{customer_id}/orders"))

    def get_order(self, customer_id: str, order_id: str) -> Resource:
        return dict(self._json("GET", f"/customers/{customer_id}/orders/{order_id}"))

    # ------------------------------------------------------------------ subscriptions
    def subscriptions(self, customer_id: str, order_id: str | None = None) -> list[Resource]:
        params = {"order_id": order_id} if order_id else None
        return _items(self._json("GET", f"/customers/{customer_id}/subscriptions", params=params))

    def get_subscription(self, customer_id: str, subscription_id: str) -> Resource:
        return dict(self._json("GET", f"/customers/{customer_id}/subscriptions/{subscription_id}"))

    def update_subscription(self, customer_id: str, subscription_id: str, changes: Resource) -> Resource:
        """GET the subscription, PATCH the full resource with ``changes`` applied and ``If-Match``; on 409/412
        fetch it again and re-apply (quantity, status, autoRenewEnabled, scheduledNextTermInstructions…)."""
        path = f"/customers/{customer_id}/subscriptions/{subscription_id}"
        correlation = str(uuid.uuid4())
        policy = self.retry
        for attempt in range(policy.conflict_attempts):
            response = self._send("GET", path, correlation=correlation)
            current = dict(response.json())
            etag = etag_of(response, current)
            body = {**current, **changes}
            try:
                patched = self._send("PATCH", path, correlation=correlation, json_body=body,
                                     headers={"If-Match": etag} if etag else None)
            except UpstreamError as exc:
                if exc.status in (409, 412) and attempt + 1 < policy.conflict_attempts:
                    log.info("PATCH %s: %s, fetching again", path, exc.status)
                    policy.sleep(policy.delay(attempt))
                    continue
                raise
            return dict(patched.json())
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ transfers
    def create_transfer(self, customer_id: str, transfer: Resource) -> Resource:
        return dict(self._json("POST", f"/customers/{customer_id}/transfers", json_body=transfer, expect=(201, 200)))

    def update_transfer(self, customer_id: str, transfer_id: str, changes: Resource) -> Resource:
        return dict(self._json("PATCH", f"/customers/{customer_id}/transfers/{transfer_id}", json_body=changes))
