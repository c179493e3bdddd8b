"""The append-only audit log: every mutation through the API, chained by SHA-256.

``hash = sha256(prev_hash + canonical entry)`` where the canonical entry is the JSON of
(at, actor, action, target, before, after) with sorted keys; the first entry's ``prev_hash`` is
64 zeros. ``verify`` recomputes the chain and names the first entry that does not match.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from licensedesk.services.context import Services
from licensedesk.services.ports import UnitOfWork
from licensedesk.services.ports_api import AuditTexts, Remembered

from .encode import plain_json

GENESIS = "0" * 64


def canonical(entry: dict[str, Any]) -> str:
    fields = {k: entry[k] for k in ("actor", "action", "target", "before", "after")}
    fields["at"] = entry["at"].astimezone(UTC).isoformat()
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(entry)).encode()).hexdigest()


def append(uow: UnitOfWork, at: datetime, actor: str, action: str, target: str, before: Any, after: Any,
           remember: Remembered | None = None) -> None:
    """Add one entry in the caller's unit of work (the caller commits), after ``remember``'s idempotency record.

    The store links the entry to the last one under the chain's lock (``digest``'s formula; on PostgreSQL the
    record, the lock and the entry are one round trip, D-API-AUDIT-ONE-TRIP)."""
    # the JSON columns give floats/ints back as stored; round-trip once so the hash is of what is stored (and the store
    # is handed that text: the answer remembered with it is the same value when it is ``after`` itself, as in mutate)
    before_text, after_text = json.dumps(plain_json(before)), json.dumps(plain_json(after))
    entry = {"at": at.astimezone(UTC), "actor": actor, "action": action, "target": target,
             "before": json.loads(before_text), "after": json.loads(after_text)}
    response_text = None if remember is None else (
        after_text if remember.response is after else json.dumps(remember.response))
    texts = AuditTexts(before_text, after_text, response_text)
    uow.api.append_audit(entry, canonical(entry), GENESIS, remember, texts)


def verify(svc: Services) -> dict[str, Any]:
    """``{"ok": True, "entries": n}``, or the first broken entry's id and what is wrong with it."""
    with svc.uow() as uow:
        entries = uow.api.audit_entries()
    prev = GENESIS
    for row in entries:
        if row["prev_hash"] != prev:
            return {"ok": False, "entries": len(entries), "broken": row["id"], "reason": "prev_hash does not link"}
        if digest(prev, row) != row["hash"]:
            return {"ok": False, "entries": len(entries), "broken": row["id"], "reason": "hash does not match entry"}
        prev = row["hash"]
    return {"ok": True, "entries": len(entries)}
