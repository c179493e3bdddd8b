"""The outbox (issue 8): messages written in the business transaction, delivered after commit.

``OutboxNoticeRepository`` is the one hook: every notice recorded through the unit of work also
queues its message, in the same transaction, so a rolled-back change sends nothing and a
committed one is delivered exactly once by the worker (``services/outbox.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Connection, bindparam, insert, select, update

from licensedesk.domain.parties import Customer
from licensedesk.domain.subscription import Notice
from licensedesk.services.ports_outbox import OutboxStatus

from . import bulk, later
from . import tables as t
from . import tables_parties as tp
from .repositories import NoticeRepository, _compiled, _conflicts
from .tables_outbox import outbox_messages as om

RECIPIENT_ROLES = ("billing", "primary")  # in order of preference


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _message(notice: Notice, customer: str, at: datetime, notice_id: int | None, recipient: str | None) -> dict[str, Any]:
    """The outbox row of a notice: pending, due ``at``; failed at once when the customer has no recipient."""
    payload = {"kind": notice.kind, "subject": notice.subject, "on": notice.on.isoformat(),
               "rule": notice.rule, "details": {k: _plain(v) for k, v in notice.details.items()}}
    return {"notice_id": notice_id, "kind": notice.kind, "payload": payload, **_route(customer, recipient, at)}


_PENDING, _FAILED = OutboxStatus.PENDING.value, OutboxStatus.FAILED.value


def _route(customer: str, recipient: str | None, at: datetime) -> dict[str, Any]:
    """The part of a notice's outbox row that depends on its customer alone."""
    return {"customer_ref": customer, "recipient": recipient,
            "status": _PENDING if recipient else _FAILED,
            "attempts": 0, "next_attempt_at": at, "created_at": at,
            "last_error": None if recipient else f"customer {customer} has no billing or primary contact e-mail"}


# The payload ``_message`` writes, built by PostgreSQL from the notice row just inserted (the same JSON value).
_PAYLOAD_SQL = ("json_build_object('kind', n.kind, 'subject', n.subject, 'on', n.on_date, 'rule', n.rule, "
                "'details', n.details)")


@cache
def _recipients_query(dialect_name: str) -> Any:
    """The recipient roles' contacts of a list of customers, built once per dialect."""
    c = tp.customer_contacts.c
    return (select(c.customer_ref, c.role, c.email)
            .where(bulk.among_param(c.customer_ref, "customers", dialect_name), c.role.in_(RECIPIENT_ROLES))
            .order_by(c.position))


def _best(contacts: Iterable[tuple[str, str, str]], customers: Sequence[str]) -> dict[str, str | None]:
    """Each customer's recipient among its (customer, role, e-mail) contacts, given in position order: the first
    of the most preferred of ``RECIPIENT_ROLES``; None for a customer without one."""
    best: dict[str, tuple[int, str]] = {}
    for customer, role, email in contacts:
        if role not in RECIPIENT_ROLES:
            continue
        rank = RECIPIENT_ROLES.index(role)
        if customer not in best or rank < best[customer][0]:
            best[customer] = (rank, email)
    return {customer: best[customer][1] if customer in best else None for customer in customers}


class OutboxRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._expected: dict[str, str | None] = {}  # recipients looked up ahead (``expect``), used once

    def recipient(self, customer: str) -> str | None:
        """The customer's billing contact e-mail, else its primary contact's."""
        return self.recipients([customer]).get(customer)

    def recipients(self, customers: Sequence[str]) -> dict[str, str]:
        """``recipient`` for many customers in one query (customers without one are left out); customers
        ``expect``-ed since are answered from that look-up, once."""
        known = {customer: self._expected.pop(customer) for customer in set(customers) & self._expected.keys()}
        missing = sorted(set(customers) - known.keys())
        if missing:
            known.update(self._look_up(missing))
        return {customer: email for customer, email in known.items() if email is not None}

    def expect(self, customers: Sequence[str]) -> None:
        """Look these customers' recipients up now, for messages queued later in this transaction (but for those
        ``expect``-ed or ``know``-n already)."""
        missing = sorted(set(customers) - self._expected.keys())
        if missing:
            self._expected.update(self._look_up(missing))

    def know(self, customers: Sequence[Customer]) -> None:
        """The recipients of customers this transaction has read with their contacts (an order's customer), taken
        from those contacts as ``_look_up`` ranks the stored ones: ``expect`` and ``recipients`` then read nothing
        for them (D-ORDER-KNOWN-RECIPIENT)."""
        contacts = [(c.ref, contact.role.value, contact.email) for c in customers for contact in c.contacts]
        self._expected.update(_best(contacts, [c.ref for c in customers]))

    def _look_up(self, customers: Sequence[str]) -> dict[str, str | None]:
        dialect = self.conn.dialect.name
        rows = self.conn.execute(_recipients_query(dialect),
                                 {"customers": bulk.among_value(sorted(set(customers)), dialect)}).all()
        return _best(rows, customers)

    def enqueue(self, notice: Notice, customer: str, at: datetime, notice_id: int | None = None) -> int:
        result = self.conn.execute(insert(om).values(**_message(notice, customer, at, notice_id,
                                                                self.recipient(customer))))
        return int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0

    def enqueue_all(self, recorded: Sequence[tuple[int, Notice, str]], at: datetime) -> None:
        """``enqueue`` for many (notice id, notice, customer): one recipient query, one executemany."""
        if recorded:
            to = self.recipients([customer for _, _, customer in recorded])
            bulk.insert_rows(self.conn, om, [_message(n, customer, at, notice_id, to.get(customer))
                                             for notice_id, n, customer in recorded])

    def claim_due(self, now: datetime) -> dict[str, Any] | None:
        """The next due pending message, locked for this transaction (PostgreSQL: SKIP LOCKED)."""
        row = self.conn.execute(select(om).where(om.c.status == OutboxStatus.PENDING.value,
                                                 om.c.next_attempt_at <= now)
                                .order_by(om.c.next_attempt_at, om.c.id).limit(1)
                                .with_for_update(skip_locked=True)).first()
        return dict(row._mapping) if row else None

    def mark_sent(self, message_id: int, at: datetime, mail_id: str, recipient: str) -> None:
        self.conn.execute(update(om).where(om.c.id == message_id).values(
            status=OutboxStatus.SENT.value, sent_at=at, attempts=om.c.attempts + 1, last_error=None,
            message_id=mail_id, recipient=recipient))

    def mark_attempt_failed(self, message_id: int, error: str, retry_at: datetime | None) -> None:
        """One more failed attempt: pending again at ``retry_at``, or failed for good when it is None."""
        values: dict[str, Any] = {"attempts": om.c.attempts + 1, "last_error": error[:2000]}
        if retry_at is None:
            values["status"] = OutboxStatus.FAILED.value
        else:
            values["next_attempt_at"] = retry_at
        self.conn.execute(update(om).where(om.c.id == message_id).values(**values))

    def retry(self, message_id: int, at: datetime) -> bool:
        """A failed message goes back to pending, due now, with a fresh attempt count."""
        done = self.conn.execute(update(om).where(om.c.id == message_id, om.c.status == OutboxStatus.FAILED.value)
                                 .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=at))
        return bool(done.rowcount)

    def get(self, message_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(om).where(om.c.id == message_id)).first()
        return dict(row._mapping) if row else None

    def list(self, status: OutboxStatus | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        q = select(om).order_by(om.c.id).limit(limit)
        if status is not None:
            q = q.where(om.c.status == status.value)
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def next_attempt_at(self) -> datetime | None:
        return self.conn.execute(select(om.c.next_attempt_at).where(om.c.status == OutboxStatus.PENDING.value)
                                 .order_by(om.c.next_attempt_at).limit(1)).scalar()


class OutboxNoticeRepository(NoticeRepository):
    """Notices that also queue their message in the outbox (same connection, same transaction)."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.outbox = OutboxRepository(conn)

    def expect(self, customers: Sequence[str]) -> None:
        """Look the recipients up now (before a document number is taken: the counter stays locked to commit)."""
        self.outbox.expect(customers)

    def know_recipients(self, customers: Sequence[Customer]) -> None:
        """These customers were read with their contacts: their messages' recipients come from them."""
        self.outbox.know(customers)

    def add_all(self, notices: Sequence[tuple[Notice, str]], at: datetime) -> list[tuple[int, Notice, str]]:
        if len(notices) > 1 and bulk.is_postgres(self.conn):
            return self._add_all_with_messages(notices, at)
        recorded = super().add_all(notices, at)  # ``add`` comes here too
        self.outbox.enqueue_all(recorded, at)
        return recorded

    def _add_all_with_messages(self, notices: Sequence[tuple[Notice, str]], at: datetime
                               ) -> list[tuple[int, Notice, str]]:
        """PostgreSQL: the notices not recorded yet and their messages in one statement (a data-modifying WITH):
        each message is made from its notice's row as inserted, so no payload is built, sent or returned here,
        and the messages follow their notices in id order, as ``enqueue_all`` writes them."""
        new = self._unseen(notices, set())
        customers = sorted({customer for _, customer in new})
        to = self.outbox.recipients(customers)
        routes = [_route(customer, to.get(customer), at) for customer in customers]
        returned = ("kind", "subject", "on_date", "id")
        insert_notices, params = bulk.insert_sql(self.conn, t.notices, self._rows(new, at),
                                                 (*returned, "customer_ref", "rule", "details"), "uq_notices_once")
        route_of, route_params = bulk.unnest_of(self.conn, om, routes, first=len(params))
        keys, values = ", ".join(f'"{k}"' for k in routes[0]), ", ".join(f'r."{k}"' for k in routes[0])
        sql = (f"WITH n AS ({insert_notices}), "
               f'm AS (INSERT INTO "{om.name}" ("notice_id", "kind", "payload", {keys}) '
               f"SELECT n.id, n.kind, {_PAYLOAD_SQL}, {values} "
               f"FROM n JOIN {route_of} AS r({keys}) ON r.customer_ref = n.customer_ref ORDER BY n.id) "
               f"SELECT {', '.join(returned)} FROM n")
        with _conflicts():
            rows = self.conn.exec_driver_sql(sql, {**params, **route_params}).all()
        ids = {(kind, subject, on): int(i) for kind, subject, on, i in rows}
        return [(ids[key], n, customer) for n, customer in new if (key := (n.kind, n.subject, n.on)) in ids]

    def add_issued(self, notices: Sequence[tuple[Notice, str]], at: datetime) -> None:
        if len(notices) == 1 and bulk.is_postgres(self.conn):  # an order's invoice: under the counter's lock
            self._add_with_message(*notices[0], at)
            return
        self.outbox.enqueue_all(self._recorded_issued(notices, at), at)

    def _add_with_message(self, notice: Notice, customer: str, at: datetime) -> None:
        """PostgreSQL, one new notice: the notice and its message in one statement (a data-modifying CTE), the
        message's ``notice_id`` taken from the notice's INSERT; sent with the next statement or COMMIT
        (D-WRITE-BEHIND: nobody reads it back in the transaction that issued its document)."""
        (row,) = self._rows([(notice, customer)], at)
        message = _message(notice, customer, at, None, self.outbox.recipients([customer]).get(customer))
        values = {**{f"n_{k}": v for k, v in row.items()},
                  **{f"m_{k}": v for k, v in message.items() if k != "notice_id"}}
        for name in _JSON_BINDS:
            values[name] = json.dumps(values[name])
        later.defer(self.conn, later.bind(self.conn, _compiled(_NOTICE_WITH_MESSAGE, self.conn.dialect), values),
                    _lost_race)


# a write of the notice or its message hit a unique key: another transaction recorded it first
_lost_race = later.lost_race_on(t.notices.name, om.name)


_NOTICE_COLUMNS = ("kind", "customer_ref", "subject", "on_date", "rule", "details", "created_at")
_MESSAGE_COLUMNS = ("kind", "customer_ref", "recipient", "payload", "status", "attempts", "next_attempt_at",
                    "created_at", "last_error")


def _notice_with_message() -> Any:
    """``WITH n AS (INSERT INTO notices … RETURNING id) INSERT INTO outbox_messages … SELECT n.id, … FROM n``."""
    n = (insert(t.notices).values({c: bindparam(f"n_{c}", type_=t.notices.c[c].type) for c in _NOTICE_COLUMNS})
         .returning(t.notices.c.id).cte("n"))
    message = select(n.c.id, *(bindparam(f"m_{c}", type_=om.c[c].type) for c in _MESSAGE_COLUMNS))
    return (insert(om).from_select(["notice_id", *_MESSAGE_COLUMNS], message).add_cte(n)
            .returning(om.c.notice_id))


_NOTICE_WITH_MESSAGE = _notice_with_message()  # built once
# its JSON parameters, bound in the text as ``json.dumps`` writes them (SQLAlchemy's JSON type binds them so)
_JSON_BINDS = tuple([f"n_{c}" for c in _NOTICE_COLUMNS if isinstance(t.notices.c[c].type, JSON)]
                    + [f"m_{c}" for c in _MESSAGE_COLUMNS if isinstance(om.c[c].type, JSON)])
