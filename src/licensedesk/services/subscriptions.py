"""Use cases on subscriptions: order, change quantity, auto-renew, cancel, pay, activate.

Each handler: load → call the domain → persist what the domain recorded → commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import date, datetime
from typing import Any

from licensedesk.domain import subscription as subs
from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.catalog import Offer
from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.ordering import OrderRequest, place_order
from licensedesk.domain.parties import Customer, Tenant
from licensedesk.domain.policy import Policy
from licensedesk.domain.subscription import ChargeLine, Status, Subscription, When

from . import documents, lookups
from .context import CatalogPrices, Services
from .ports import UnitOfWork


def persist(uow: UnitOfWork, sub: Subscription, now: datetime, svc: Services, *, new: bool = False) -> None:
    """Write what the aggregate recorded: events, notices, voids, and a document issued at once."""
    events, charges, notices, voids = sub.drain()
    subs.refresh_next_due(sub)
    if new:
        uow.subscriptions.add(sub, events)  # on PostgreSQL with its events in one statement
    else:
        uow.subscriptions.save(sub)
        uow.subscriptions.add_events(sub.ref, events)
    for notice in notices:
        uow.notices.add(notice, sub.customer, now)
    for key in voids:
        uow.documents.void_charge(sub.ref, key, now, "BILL-NONPAY-STOP")
    issue_lines(uow, sub.customer, charges, svc, now, sub, new_subscriptions=(sub.ref,) if new else ())


def issue_lines(uow: UnitOfWork, customer: str, charges: list[ChargeLine], svc: Services, now: datetime,
                sub: Subscription, new_subscriptions: Collection[str] = ()) -> None:
    """One document per (customer, due rule) over the lines; due dates come from the policy. The lines of
    ``new_subscriptions`` (created in this transaction) are not looked up as billed before (``issue_all``). Nobody
    reads the numbers here: one invoice may be numbered as the transaction commits (D-ORDER-NUMBER-AT-COMMIT)."""
    issued = documents.issue_all(uow, svc.when(now).today, now, wanted_documents(customer, charges, sub.policy),
                                 new_subscriptions, numbers_read=False)
    if issued:
        uow.notices.add_issued([(notice, customer) for customer, _, notice in issued], now)


def wanted_documents(customer: str, charges: list[ChargeLine], policy: Policy) -> list[documents.Wanted]:
    """POLICIES.md §0: one document per customer per day and due rule, lines in the order they were charged."""
    by_due: dict[date | None, list[ChargeLine]] = defaultdict(list)
    for line in charges:
        by_due[line.due].append(line)
    return [documents.Wanted(customer, lines, policy, due) for due, lines in by_due.items()]


def _current(uow: UnitOfWork, ref: str, svc: Services, now: datetime) -> Subscription:
    """Load ``ref`` with today's due work done first (the scheduler may not have reached today yet),
    so an action never races the day's cycle invoice or renewal."""
    sub = lookups.subscription(uow, ref)
    subs.run_due(sub, svc.when(now).today, svc.start_of, CatalogPrices(uow))
    return sub


def order(svc: Services, now: datetime, *, ref: str, tenant: str, offer: str, term: str, billing: str,
          quantity: int, policy: str | None = None, auto_renew: bool | None = None,
          align_with: str | None = None, align_calendar_month: bool = False) -> Subscription:
    with svc.uow() as uow:
        ten = lookups.tenant(uow, tenant)
        customer = uow.customers.get(ten.customer_ref)
        assert customer is not None
        found = lookups.offer(uow, offer)
        refuse_taken(ref, uow.subscriptions.get(ref) is not None)
        sub = place(uow, svc, now, customer, ten, found, ref=ref, term=term, billing=billing,
                    quantity=quantity, policy=policy, auto_renew=auto_renew, align_with=align_with,
                    align_calendar_month=align_calendar_month)
        uow.commit()
        return sub


def place(uow: UnitOfWork, svc: Services, now: datetime, customer: Customer, ten: Tenant, found: Offer, *,
          ref: str, term: str, billing: str, quantity: int, policy: str | None = None,
          auto_renew: bool | None = None, align_with: str | None = None,
          align_calendar_month: bool = False) -> Subscription:
    """``order`` on parties and an offer the caller has loaded in ``uow``, of a ``ref`` it found free
    (``refuse_taken``); the caller commits."""
    when = svc.when(now)
    chosen = svc.policy(policy)
    term_, billing_ = _term(term), _billing(billing)
    price = (0 if found.is_trial else found.one_time_price(when.today) if found.is_perpetual
             else found.price_on(term_, billing_, when.today).unit_price)
    req = OrderRequest(ref, found, term_, billing_, quantity, auto_renew,
                       lookups.subscription(uow, align_with) if align_with else None, align_calendar_month)
    sub = place_order(chosen, customer, ten, req, when, price)
    persist(uow, sub, now, svc, new=True)
    return sub


def refuse_taken(ref: str, taken: bool) -> None:
    """DUPLICATE-REF: an order may not reuse a subscription's ref."""
    if taken:
        raise InvalidInput(f"subscription {ref} already exists", f"{ref} は既に存在します", code="DUPLICATE-REF")


def _term(value: str) -> Term:
    try:
        return Term(value)
    except ValueError:
        raise InvalidInput(f"unknown term {value!r} (P1M, P1Y, P3Y)", f"契約期間 {value!r} は不明です",
                           code="INVALID-TERM") from None


def _billing(value: str) -> Billing:
    try:
        return Billing(value)
    except ValueError:
        raise InvalidInput(f"unknown billing {value!r} (monthly, annual, triennial, upfront)",
                           f"請求サイクル {value!r} は不明です", code="INVALID-BILLING") from None


def _act(svc: Services, now: datetime, ref: str, act: Callable[[Subscription, When], None]) -> Subscription:
    """The shape of every change: load (with today's due work done), let the domain act, persist, commit."""
    with svc.uow() as uow:
        sub = _current(uow, ref, svc, now)
        act(sub, svc.when(now))
        persist(uow, sub, now, svc)
        uow.commit()
        return sub


def change_quantity(svc: Services, now: datetime, ref: str, quantity: int, *, at_renewal: bool) -> Subscription:
    return _act(svc, now, ref, lambda sub, when: subs.change_quantity(sub, when, quantity, at_renewal=at_renewal))


def set_auto_renew(svc: Services, now: datetime, ref: str, enabled: bool) -> Subscription:
    return _act(svc, now, ref, lambda sub, when: subs.model_of(sub).set_auto_renew(sub, when, enabled))


def change_billing(svc: Services, now: datetime, ref: str, billing: str) -> Subscription:
    frequency = _billing(billing)
    return _act(svc, now, ref, lambda sub, when: subs.model_of(sub).change_billing(sub, when, frequency))


def cancel(svc: Services, now: datetime, ref: str) -> Subscription:
    return _act(svc, now, ref, lambda sub, when: subs.model_of(sub).cancel(sub, when))


def suspend(svc: Services, now: datetime, ref: str) -> Subscription:
    return _act(svc, now, ref, lambda sub, when: _optional_step(sub, "suspend")(sub, when))


def reactivate(svc: Services, now: datetime, ref: str) -> Subscription:
    return _act(svc, now, ref, lambda sub, when: _optional_step(sub, "reactivate")(sub, when))


def activate(svc: Services, now: datetime, ref: str) -> Subscription:
    """Provisioning done (annual-prepaid); elsewhere provisioning is immediate, so it is refused."""
    def act(sub: Subscription, when: When) -> None:
        step = getattr(subs.model_of(sub), "activate", None)
        if step is None:  # provisioning is immediate here, so the status check refuses
            sub.require_status("activate", Status.PROVISIONING)
            return
        step(sub, when, svc.calendar)

    return _act(svc, now, ref, act)


def _optional_step(sub: Subscription, action: str) -> Callable[[Subscription, When], None]:
    step = getattr(subs.model_of(sub), action, None)
    if step is None:
        raise InvalidInput(f"{sub.policy.name} subscriptions cannot be {action}d here",
                           f"{sub.policy.name} のサブスクリプションはこの操作に対応していません", code="SUB-STATUS")
    return step  # type: ignore[no-any-return]


def pay(svc: Services, now: datetime, number: str, amount: int | None = None) -> dict[str, object]:
    """Record a payment; a document that becomes paid tells its subscriptions (annual-prepaid activation)."""
    with svc.uow() as uow:
        doc = apply_payment(uow, svc, now, number, amount)
        uow.commit()
        return doc


def apply_payment(uow: UnitOfWork, svc: Services, now: datetime, number: str, amount: int | None,
                  reference: str | None = None, received: datetime | None = None) -> dict[str, Any]:
    """``pay`` inside the caller's unit of work (bank deposits, credit balances use the same path)."""
    when = svc.when(now)
    doc = documents.record_payment(uow, number, amount, now, reference, received)
    if doc["status"] == "paid" and doc["applied"]:
        full = uow.documents.get(number)
        assert full is not None
        keys: dict[str, list[str]] = defaultdict(list)
        for line in full["lines"]:
            keys[line["subscription_ref"]].append(line["charge_key"])
        for ref, charge_keys in keys.items():
            sub = _current(uow, ref, svc, now)
            hook = getattr(subs.model_of(sub), "paid", None)
            if hook is not None:
                hook(sub, when, charge_keys, svc.calendar)
                persist(uow, sub, now, svc)
    return doc
