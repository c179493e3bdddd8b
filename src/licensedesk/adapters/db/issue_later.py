"""An invoice numbered when its transaction commits, with its archive entry and its notice (PostgreSQL only,
D-ORDER-NUMBER-AT-COMMIT).

The gapless counter's row stays locked from the number to COMMIT, and every order waits for it. Numbered as it is
written (D-DOC-NUMBERED-CTE), the number still came back to Python, which then built the invoice's archive entry,
its notice and mail, the answer and the audit entry while holding the lock, and under load most of the lock's time
went there. When nobody in the transaction reads the number, the statement that takes it goes with COMMIT instead
(``later``), and what needs the number is written by the same statement from the document's row: the archive entry
(as ``ArchiveRepository.enqueue_all``), the notice (as ``Notices.add_issued``) and its outbox message, whose payload
is the text ``_message`` makes with the number put in by PostgreSQL (``to_json``, the text ``json.dumps`` makes of
an ASCII string, as every document number is). The lock is then held for the COMMIT's round trip alone. Rows, ids
and their order are those of the path that reads the number.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from licensedesk.domain.billing import DocumentDraft
from licensedesk.domain.subscription import Notice
from licensedesk.services.ports import IssuedNotice

from . import later
from . import tables as t
from .repositories import DocumentRepository
from .repositories_outbox import OutboxRepository, _message, _route
from .tables_archive import archive_queue
from .tables_outbox import outbox_messages

_SUBJECT = "\x00number\x00"  # where the number goes in the payload (no notice's text holds a NUL)

_THEN = (", a AS (INSERT INTO archive_queue (document_number, queued_at, attempts) "
         "SELECT number, %(q_at)s::timestamptz, 0 FROM d), "
         "n AS (INSERT INTO notices (kind, customer_ref, subject, on_date, rule, details, created_at) "
         "SELECT %(n_kind)s, %(n_customer)s, number, %(n_on)s::date, %(n_rule)s, %(n_details)s::json, "
         "%(n_at)s::timestamptz FROM d RETURNING id, kind, subject, on_date, rule, details) "
         "INSERT INTO outbox_messages (notice_id, kind, payload, customer_ref, recipient, status, attempts, "
         "next_attempt_at, created_at, last_error) "
         "SELECT n.id, n.kind, (%(m_head)s || to_json(n.subject)::text || %(m_tail)s)::json, %(m_customer_ref)s, "
         "%(m_recipient)s, %(m_status)s, %(m_attempts)s::integer, %(m_next_attempt_at)s::timestamptz, "
         "%(m_created_at)s::timestamptz, %(m_last_error)s FROM n")

# a unique key of a table this statement writes hit: another transaction got there first
_LOST_RACE = later.lost_race_on(t.number_series.name, t.documents.name, t.document_lines.name, archive_queue.name,
                                t.notices.name, outbox_messages.name)


def issue(conn: Connection, documents: DocumentRepository, outbox: OutboxRepository, draft: DocumentDraft,
          dunning_on: date | None, at: datetime, series: str, notice: IssuedNotice) -> bool:
    """Queue ``draft``'s document (numbered from ``series``, with its lines, archive entry, ``notice`` on its number
    and the notice's message) to go with COMMIT; False, queuing nothing, where the series' counter row is not known
    to exist yet (the caller issues it now)."""
    numbered = documents.add_one_later(draft, dunning_on, at, series)
    if numbered is None:
        return False
    sql, values = numbered
    customer = draft.customer
    route = _route(customer, outbox.recipients([customer]).get(customer), at)
    # the payload as ``_message`` writes it, but for the number, written by PostgreSQL as json.dumps writes it
    head, tail = json.dumps(_message(Notice(notice.kind, _SUBJECT, notice.on, notice.rule, notice.details), customer,
                                     at, None, None)["payload"]).split(json.dumps(_SUBJECT))
    values = {**values, "q_at": at, "n_kind": notice.kind, "n_customer": customer, "n_on": notice.on,
              "n_rule": notice.rule, "n_details": json.dumps(notice.details), "n_at": at,
              "m_head": head, "m_tail": tail,
              **{f"m_{k}": v for k, v in route.items()}}
    engine = conn.engine

    def lost(e: DBAPIError) -> Exception | None:
        DocumentRepository.forget_series(engine, series)  # whatever failed, start from the counter again next time
        return _LOST_RACE(e)

    later.defer_prepared(conn, sql + _THEN, values, lost)
    return True

