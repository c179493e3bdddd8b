"""The parties' tracked deadlines, run by the tick after the subscriptions' day work.

Pending deadlines sit in one table indexed on ``due_on`` (one row per kind and subject; done ones are
deleted), so a tick costs one indexed query plus what is due. Each runs in its own transaction and
dates what it decides (a notice) on its own due day, whenever the tick reaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from . import onboarding, transfers
from .context import Services
from .ports import UnitOfWork

RUNNERS: dict[str, Callable[[Services, UnitOfWork, str, date], None]] = {
    onboarding.LOGIN_OVERDUE: onboarding.login_overdue,
    transfers.RELATIONSHIP_EXPIRY: transfers.relationship_expired,
    transfers.GDAP_END: transfers.gdap_ended,
}


def run_due(svc: Services, today: date) -> int:
    """Run every pending deadline due on or before ``today``; returns how many ran."""
    with svc.uow() as uow:
        due = uow.parties.deadlines.due(today)
    for kind, subject, due_on in due:
        with svc.uow() as uow:
            RUNNERS[kind](svc, uow, subject, due_on)
            uow.parties.deadlines.clear(kind, subject)
            uow.commit()
    return len(due)
