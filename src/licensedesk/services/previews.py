"""What a change would do, before it is made: the document it would issue (charge or refund, tax
included), the subscription after it, or the refusal with its rule ID — and the deadlines that apply.

A preview runs the very domain call the change handler runs (``subscriptions.change_quantity``,
``set_auto_renew``, ``cancel``) on the subscription as loaded now, with today's due work done first
(as the handler does), and drafts the document exactly as ``documents.issue`` would; nothing is saved.
The portal shows it before the customer confirms; the API answers it at ``…/preview``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from licensedesk.domain import nce
from licensedesk.domain import subscription as subs
from licensedesk.domain.billing import DocumentDraft, draft_document
from licensedesk.domain.dates import explain_dates
from licensedesk.domain.errors import DomainError
from licensedesk.domain.subscription import Subscription, When

from . import lookups
from .context import CatalogPrices, Services
from .subscriptions import wanted_documents


@dataclass
class Deadline:
    key: str  # cancel_allowed_until, reduce_allowed_until, optout_deadline, renews_on, term_end
    rule: str
    at: datetime | date
    formula_en: str = ""
    formula_ja: str = ""


@dataclass
class Preview:
    ref: str
    action: str
    allowed: bool
    before: dict[str, Any]
    after: dict[str, Any] | None = None
    documents: list[DocumentDraft] = field(default_factory=list)
    refusal: DomainError | None = None  # a RuleViolation (rule ID) or malformed input
    deadlines: list[Deadline] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        """The rule IDs behind what would happen (the refusal's, else every line's)."""
        if self.refusal is not None:
            return [self.refusal.code]
        return sorted({line.why.rule for d in self.documents for line in d.lines if line.why is not None})


def state(sub: Subscription) -> dict[str, Any]:
    return {"status": sub.status.value, "quantity": sub.quantity, "next_term_quantity": sub.next_term_quantity,
            "auto_renew": sub.auto_renew, "term_end": sub.term_end, "unit_price": sub.unit_price}


def deadlines(sub: Subscription) -> list[Deadline]:
    """Every deadline of ``sub`` with its rule: cancel window (NCE-CANCEL-168H), seat reduction windows
    (NCE-REDUCE-168H, one per addition still open), auto-renew opt-out (TERM-RENEW-OPTOUT-30D), renewal."""
    why = explain_dates(sub)
    out: list[Deadline] = []
    for key, value in (("cancel_allowed_until", nce.cancel_allowed_until(sub)),
                       ("optout_deadline", nce.optout_deadline(sub))):
        if value is not None and key in why:
            out.append(Deadline(key, why[key].rule, value, why[key].formula_en, why[key].formula_ja))
    hours = sub.policy.cancel_window_hours
    if hours is not None:
        for addition in sub.seat_additions:
            if addition.remaining > 0:
                until = addition.at + timedelta(hours=hours)
                out.append(Deadline("reduce_allowed_until", "NCE-REDUCE-168H", until,
                                    f"seats added {addition.at.isoformat()} + {hours} h ({addition.remaining} seats)",
                                    f"{addition.at.isoformat()} の追加 + {hours} 時間（{addition.remaining} 席）"))
    if sub.term_end is not None:
        rule = why["term_end"].rule if "term_end" in why else "TERM-RENEW-AUTO"
        key = "renews_on" if sub.auto_renew else "ends_on"
        out.append(Deadline(key, rule, sub.term_end + timedelta(days=1) if sub.auto_renew else sub.term_end))
    return out


def _preview(svc: Services, now: datetime, ref: str, action: str,
             act: Callable[[Subscription, When], None]) -> Preview:
    when = svc.when(now)
    with svc.uow() as uow:
        sub = lookups.subscription(uow, ref)
        subs.run_due(sub, when.today, svc.start_of, CatalogPrices(uow))
        sub.drain()  # today's own work (a cycle invoice, a renewal) is not part of this change
        found = Preview(ref, action, True, state(sub), deadlines=deadlines(sub))
        try:
            act(sub, when)
        except DomainError as refused:
            found.allowed, found.refusal = False, refused
            return found
        _, charges, _, _ = sub.drain()
        found.after = state(sub)
        found.documents = [draft_document(w.customer, when.today, w.lines, w.policy, w.due)
                           for w in wanted_documents(sub.customer, charges, sub.policy)]
        return found


def change_quantity(svc: Services, now: datetime, ref: str, quantity: int, *, at_renewal: bool) -> Preview:
    """PRICE-ONE (seats added, prorated), NCE-REDUCE-168H (removed within the window), TERM-REDUCE-1M …"""
    return _preview(svc, now, ref, "change-quantity",
                    lambda sub, when: subs.change_quantity(sub, when, quantity, at_renewal=at_renewal))


def set_auto_renew(svc: Services, now: datetime, ref: str, enabled: bool) -> Preview:
    """TERM-RENEW-OPTOUT-30D."""
    return _preview(svc, now, ref, "auto-renew",
                    lambda sub, when: subs.model_of(sub).set_auto_renew(sub, when, enabled))


def cancel(svc: Services, now: datetime, ref: str) -> Preview:
    """NCE-CANCEL-168H with its prorated (or full) refund, or the refusal."""
    return _preview(svc, now, ref, "cancel", lambda sub, when: subs.model_of(sub).cancel(sub, when))
