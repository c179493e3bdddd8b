"""Who is calling: users with roles, argon2 passwords (HTTP Basic) and hashed bearer tokens (machines).

Roles: ``read_only`` reads; ``sales`` also creates customers/tenants and orders/changes subscriptions;
``billing`` also pays and voids documents; ``admin`` does everything; ``customer`` reads only what
belongs to its own customer (anything else answers 404, as if it did not exist).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.services.context import Services

from .errors import ApiError

_hasher = PasswordHasher()


class Role(StrEnum):
    ADMIN = "admin"
    SALES = "sales"
    BILLING = "billing"
    READ_ONLY = "read_only"
    CUSTOMER = "customer"


STAFF = (Role.ADMIN, Role.SALES, Role.BILLING, Role.READ_ONLY)


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
    customer: str | None = None

    def may(self, roles: tuple[Role, ...]) -> bool:
        return self.role is Role.ADMIN or self.role in roles

    def scope(self, customer: str) -> None:
        """A customer user sees only its own customer's objects: anything else does not exist for it."""
        if self.role is Role.CUSTOMER and customer != self.customer:
            raise NotFound("not found", "見つかりません")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(svc: Services, now: datetime, name: str, role: str, customer: str | None,
             password: str | None) -> None:
    try:
        chosen = Role(role)
    except ValueError:
        raise InvalidInput(f"role must be one of {', '.join(Role)}", f"ロールは {', '.join(Role)} のいずれかです",
                           code="INVALID-INPUT", field="role") from None
    if (chosen is Role.CUSTOMER) != (customer is not None):
        raise InvalidInput("a customer user needs --customer, and only it", "customer ロールには --customer が必要です",
                           code="INVALID-INPUT", field="customer")
    with svc.uow() as uow:
        if uow.api.user(name) is not None:
            raise InvalidInput(f"user {name} already exists", f"ユーザー {name} は既に存在します", code="DUPLICATE-REF")
        if customer is not None and uow.customers.get(customer) is None:
            raise NotFound(f"no customer {customer}", f"お客様 {customer} はありません", ref=customer)
        uow.api.add_user(name, chosen.value, customer, hash_password(password) if password else None, now)
        uow.commit()


def create_token(svc: Services, now: datetime, name: str) -> str:
    """A new random bearer token for user ``name``; only its SHA-256 is stored, so it is shown once."""
    token = "ld_" + secrets.token_urlsafe(32)
    with svc.uow() as uow:
        user = uow.api.user(name)
        if user is None:
            raise NotFound(f"no user {name}", f"ユーザー {name} はありません", ref=name)
        uow.api.add_token(user["id"], token_digest(token), now)
        uow.commit()
    return token


def _actor(user: dict[str, Any]) -> Actor:
    return Actor(user["name"], Role(user["role"]), user["customer_ref"])


class TokenCache:
    """Bearer tokens recently found valid, per process, for ``seconds`` (D-API-TOKEN-CACHE, session 3).

    Saves every API request a connection checkout and a transaction of its own just to look the token up.
    Only hits are kept (an unknown token is looked up every time), keyed by the token's SHA-256, at most
    ``size`` of them; a token deleted from the database is refused again at most ``seconds`` later.
    """

    def __init__(self, seconds: float = 10.0, size: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.size, self.clock = seconds, size, clock
        self._actors: OrderedDict[str, tuple[float, Actor]] = OrderedDict()
        self._lock = threading.Lock()

    def known(self, authorization: str | None) -> Actor | None:
        """The caller of a remembered ``Bearer`` header, without touching the database (else None)."""
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not credentials:
            return None
        return self.get(token_digest(credentials.strip()))

    def get(self, digest: str) -> Actor | None:
        with self._lock:
            found = self._actors.get(digest)
            if found is None or found[0] < self.clock():
                return None
            return found[1]

    def put(self, digest: str, actor: Actor) -> None:
        with self._lock:
            self._actors[digest] = (self.clock() + self.seconds, actor)
            self._actors.move_to_end(digest)
            while len(self._actors) > self.size:
                self._actors.popitem(last=False)


def authenticate(svc: Services, authorization: str | None, tokens: TokenCache | None = None) -> Actor:
    """The caller from ``Authorization: Bearer <token>`` or ``Basic <name:password>``; 401 otherwise.

    With ``tokens``, a bearer token found valid within its last seconds is not looked up again."""
    if not authorization:
        raise ApiError(401, "AUTH-REQUIRED", "authentication required", "認証が必要です")
    scheme, _, credentials = authorization.partition(" ")
    if tokens is not None and scheme.lower() == "bearer" and credentials:
        digest = token_digest(credentials.strip())
        actor = tokens.get(digest)
        if actor is None:
            actor = authenticate(svc, authorization)
            tokens.put(digest, actor)
        return actor
    with svc.uow() as uow:
        if scheme.lower() == "bearer" and credentials:
            user = uow.api.user_by_token(token_digest(credentials.strip()))
            if user is not None:
                return _actor(user)
        elif scheme.lower() == "basic":
            name, password = _basic(credentials)
            user = uow.api.user(name) if name else None
            if user is not None and user["password_hash"] and _verify(user["password_hash"], password):
                return _actor(user)
    raise ApiError(401, "AUTH-INVALID", "invalid credentials", "認証情報が正しくありません")


def _basic(credentials: str) -> tuple[str, str]:
    try:
        name, _, password = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return name, password


def verify_password(digest: str, password: str) -> bool:
    """Whether ``password`` matches the argon2 ``digest`` (the web login form uses it too)."""
    return _verify(digest, password)


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False


def require(actor: Actor, roles: tuple[Role, ...]) -> Actor:
    if not actor.may(roles):
        raise ApiError(403, "AUTH-ROLE", f"role {actor.role.value} may not do this",
                       f"ロール {actor.role.value} ではこの操作はできません", role=actor.role.value)
    return actor
