"""The subscription aggregate: state, windows, scheduled changes and what falls due.

Behaviour that differs per preset lives in the billing model modules
(``nce``, ``monthly``, ``prepaid``); this module holds the state every preset
shares and the lifecycle after a subscription stops (LIFE-*). Methods take the
moment as an argument (``When``), never read a clock, and record what they did
as events, charge lines and notices for the service layer to persist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from .calendar import ONE_DAY, Billing, Period, Term, add_months, cycle_containing, term_end
from .errors import InvalidInput, RuleViolation
from .explain import Explanation, because
from .policy import Policy


class Status(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    DISABLED = "disabled"
    CANCELLED = "cancelled"
    DELETED = "deleted"


class LineKind(StrEnum):
    NEW = "new"
    CYCLE = "cycle"
    ADD_QUANTITY = "add_quantity"
    REMOVE_QUANTITY = "remove_quantity"
    RENEW = "renew"
    CANCEL = "cancel"
    EARLY_TERMINATION = "early_termination"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class When:
    """A moment as the domain sees it: the instant (aware) and the local calendar date."""

    instant: datetime
    today: date

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("When.instant must be timezone-aware")


class PriceBook(Protocol):
    """Current catalog prices (implemented by the service layer over the catalog)."""

    def unit_price(self, offer: str, term: Term, billing: Billing, on: date) -> int: ...


@dataclass(frozen=True)
class ChargeLine:
    subscription: str
    kind: LineKind
    quantity: int
    unit_amount: int
    period_start: date | None
    period_end: date | None
    key: str  # unique per subscription: the same charge can never be billed twice
    why: Explanation
    due: date | None = None  # a due date the rule fixes (BILL-RENEWAL-INVOICE); else the policy's

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class Notice:
    kind: str
    subject: str
    on: date
    rule: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    kind: str
    at: datetime
    rule: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SeatAddition:
    """Seats added at one instant; each addition has its own decrease window (LIFO)."""

    at: datetime
    quantity: int
    unit_amount: int
    period_end: date
    remaining: int


@dataclass
class ReductionRequest:
    """TERM-REDUCE-1M evidence: what the customer asked, when, for which contract."""

    requested_at: datetime
    contract: str
    holder: str
    product: str
    quantity: int
    wish: str


@dataclass
class Subscription:
    ref: str
    customer: str
    tenant: str
    offer: str
    policy: Policy
    term: Term
    billing: Billing
    unit_price: int
    quantity: int
    ordered_at: datetime
    auto_renew: bool
    status: Status = Status.PENDING_PAYMENT
    customer_name: str = ""
    term_start: date | None = None
    term_end: date | None = None
    term_began_at: datetime | None = None
    term_number: int = 1
    first_term_end: date | None = None  # co-termed first term (COTERM)
    in_trial: bool = False  # ORD-TRIAL phase: the trial module rules until conversion
    cycle_anchor: date | None = None  # cycles count from here after a billing change (else the term start)
    pending_billing: Billing | None = None  # a billing change waiting for the next cycle start
    pending_billing_from: date | None = None
    next_term_quantity: int | None = None
    auto_renew_reason: str | None = None
    price_locked_until: date | None = None
    seat_additions: list[SeatAddition] = field(default_factory=list)
    pending_seats: list[dict[str, Any]] = field(default_factory=list)
    accrued: list[dict[str, Any]] = field(default_factory=list)
    requests: list[ReductionRequest] = field(default_factory=list)
    status_since: date | None = None
    cancel_effective: date | None = None
    delete_on: date | None = None
    activation_due: date | None = None
    renewal_invoice_key: str | None = None
    renewal_paid: bool = False
    renewal_price: int | None = None
    processed_through: date | None = None
    next_due: date | None = None
    id: int | None = None
    version: int = 0
    events: list[Event] = field(default_factory=list, repr=False)
    charges: list[ChargeLine] = field(default_factory=list, repr=False)
    notices: list[Notice] = field(default_factory=list, repr=False)
    voids: list[str] = field(default_factory=list, repr=False)

    # ---------------------------------------------------------------- basics
    @property
    def cycle_months(self) -> int:
        return self.billing.cycle_months(self.term)

    @property
    def is_live(self) -> bool:
        """Still running for the customer (billable, changeable)."""
        return self.status is Status.ACTIVE

    def term_period(self) -> Period:
        assert self.term_start is not None and self.term_end is not None
        return Period(self.term_start, self.term_end)

    def nominal_cycle(self, d: date) -> Period:
        """The full-length charge cycle containing ``d`` (the proration base, even when the term cuts it)."""
        anchor = self.cycle_anchor or self.term_start
        assert anchor is not None
        return cycle_containing(anchor, self.cycle_months, d)

    def billed_cycle(self, d: date) -> Period:
        """The charge cycle containing ``d`` as billed: cut at the term end for a co-termed first term."""
        return self.cycles(d)[1]

    def cycles(self, d: date) -> tuple[Period, Period]:
        """The charge cycle containing ``d``, nominal and as billed (``nominal_cycle``, ``billed_cycle``)."""
        nominal = self.nominal_cycle(d)
        assert self.term_end is not None
        return nominal, Period(nominal.start, min(nominal.end, self.term_end))

    def start_term(self, when: When, start: date, months: int, end: date | None = None) -> None:
        self.term_start = start
        self.term_end = end or term_end(start, months)
        self.cycle_anchor = None
        self.term_began_at = when.instant
        lock = self.policy.price_lock_months
        self.price_locked_until = self.term_end if lock is None else add_months(start, lock) - ONE_DAY

    def move_to(self, status: Status, when: When, rule: str, **details: Any) -> None:
        previous = self.status
        self.status = status
        self.status_since = when.today
        self.record("status_changed", when, rule, from_status=previous.value, to_status=status.value, **details)

    def record(self, kind: str, when: When, rule: str, **details: Any) -> None:
        self.events.append(Event(kind, when.instant, rule, details))

    def charge(self, kind: LineKind, quantity: int, unit_amount: int, period: Period | None, key: str,
               why: Explanation, due: date | None = None) -> ChargeLine:
        line = ChargeLine(self.ref, kind, quantity, unit_amount, period.start if period else None,
                          period.end if period else None, key, why, due)
        self.charges.append(line)
        return line

    def notify(self, kind: str, on: date, rule: str, **details: Any) -> None:
        self.notices.append(Notice(kind, self.ref, on, rule, details))

    def drain(self) -> tuple[list[Event], list[ChargeLine], list[Notice], list[str]]:
        """Hand the recorded events, charges, notices and voids to the service layer, once."""
        out = (self.events, self.charges, self.notices, self.voids)
        self.events, self.charges, self.notices, self.voids = [], [], [], []
        return out

    # ------------------------------------------------------------ guards
    def require_status(self, action: str, *allowed: Status) -> None:
        if self.status not in allowed:
            raise InvalidInput(
                f"cannot {action} subscription {self.ref}: it is {self.status.value}",
                f"サブスクリプション {self.ref} は状態が {self.status.value} のため{action}できません",
                code="SUB-STATUS", status=self.status.value, action=action,
            )

    def require_quantity(self, quantity: int) -> None:
        if quantity < 1:
            raise InvalidInput("quantity must be at least 1", "数量は 1 以上を指定してください",
                               code="INVALID-QUANTITY", quantity=quantity)

    def require_renewal_change(self, quantity: int) -> None:
        """A quantity for the next term needs an active subscription that will renew."""
        self.require_status("schedule a renewal change for", Status.ACTIVE)
        self.require_quantity(quantity)
        if not self.auto_renew:
            raise InvalidInput(f"subscription {self.ref} does not renew; turn auto-renew on first",
                               f"{self.ref} は自動更新しません。先に自動更新を有効にしてください", code="SUB-NO-RENEWAL")

    # ------------------------------------------------------- after the end
    def expire(self, when: When, rule: str = "LIFE-EXPIRED-30D") -> None:
        """Term ended without renewal: Expired, users keep access for ``expired_days``."""
        self.move_to(Status.EXPIRED, when, rule, term_end=self.term_end)
        assert self.term_end is not None
        self.delete_on = when.today + timedelta(days=self.policy.expired_days + self.policy.disabled_days)
        self.notify("expired", when.today, rule, term_end=self.term_end.isoformat(),
                    disabled_on=(when.today + timedelta(days=self.policy.expired_days)).isoformat())

    def disable_at_term_end(self, when: When) -> None:
        """A subscription still suspended at its term end goes straight to Disabled (admins only)."""
        self.move_to(Status.DISABLED, when, "SUB-SUSPEND", term_end=self.term_end)
        self.delete_on = when.today + timedelta(days=self.policy.expired_days + self.policy.disabled_days)
        self.notify("expired", when.today, "SUB-SUSPEND", term_end=str(self.term_end),
                    delete_on=self.delete_on.isoformat())

    def stop_lifecycle_due(self) -> Iterator[tuple[date, str]]:
        """Dates of the after-end lifecycle (expired → disabled → deleted, cancelled → deleted)."""
        if self.status not in _STOPPED:  # the usual case, asked twice per subscription and day: nothing
            return
        if self.status is Status.EXPIRED and self.status_since is not None:
            yield self.status_since + timedelta(days=self.policy.expired_days), "disable"
        if self.status in (Status.EXPIRED, Status.DISABLED, Status.CANCELLED) and self.delete_on is not None:
            warn = self.delete_on - timedelta(days=self.policy.reminders.data_deletion_days_before)
            since = self.status_since or warn
            yield max(warn, since + ONE_DAY), "deletion_warning"
            yield self.delete_on, "delete"

    def run_stop_lifecycle(self, when: When, what: str) -> None:
        if what == "disable" and self.status is Status.EXPIRED:
            self.move_to(Status.DISABLED, when, "LIFE-EXPIRED-30D", disabled_days=self.policy.disabled_days)
        elif what == "deletion_warning" and self.delete_on is not None and self.status is not Status.DELETED:
            rule = "LIFE-RETAIN-60D" if self.status is Status.CANCELLED else "LIFE-EXPIRED-30D"
            self.notify("data_deletion_warning", when.today, rule, delete_on=self.delete_on.isoformat())
        elif what == "delete" and self.status in (Status.EXPIRED, Status.DISABLED, Status.CANCELLED):
            rule = "LIFE-RETAIN-60D" if self.status is Status.CANCELLED else "LIFE-EXPIRED-30D"
            self.move_to(Status.DELETED, when, rule)

    def refuse(self, code: str, en: str, ja: str, **details: Any) -> RuleViolation:
        return RuleViolation(code, en, ja, {"subscription": self.ref, **details})


def refuse_billing_change(sub: Subscription, when: When, billing: Billing) -> None:
    """TERM-NO-FREQ-CHANGE for presets whose billing frequency never changes mid-term."""
    raise sub.refuse("TERM-NO-FREQ-CHANGE",
                     f"the billing frequency cannot change mid-term ({sub.billing.value} → {billing.value})",
                     f"契約途中で支払い頻度は変更できません（{sub.billing.value} → {billing.value}）",
                     billing=sub.billing.value, requested=billing.value)


def because_price(rule: str, price: int, days: int, cycle_days: int, unit: int, **inputs: Any) -> Explanation:
    return because(
        rule,
        f"floor({price:,} × {days} / {cycle_days}) = {unit:,} per seat",
        f"floor({price:,} × {days} ÷ {cycle_days}) = 1席あたり {unit:,} 円",
        unit_price=price, billing_days=days, cycle_days=cycle_days, **inputs,
    )


class _Model(Protocol):
    def place(self, sub: Subscription, when: When, coterm_end: date | None) -> None: ...
    def change_quantity(self, sub: Subscription, when: When, quantity: int) -> None: ...
    def schedule_quantity(self, sub: Subscription, when: When, quantity: int) -> None: ...
    def change_billing(self, sub: Subscription, when: When, billing: Billing) -> None: ...
    def set_auto_renew(self, sub: Subscription, when: When, enabled: bool) -> None: ...
    def cancel(self, sub: Subscription, when: When) -> None: ...
    def due(self, sub: Subscription) -> Iterator[tuple[date, str]]: ...  # see next_due
    def run(self, sub: Subscription, when: When, what: str, prices: PriceBook) -> None: ...


def model_of(sub: Subscription) -> _Model:
    """The billing model module that implements ``sub``'s preset (nce, monthly or prepaid)."""
    if not _MODULES:  # they import this module: resolve on first use (once; the tick asks per subscription)
        from . import models, perpetual, trial

        _MODULES.update(models=models, perpetual=perpetual, trial=trial)
    if sub.billing is Billing.ONE_TIME:
        return _MODULES["perpetual"]  # type: ignore[no-any-return]
    return _MODULES["trial"] if sub.in_trial else _MODULES["models"].for_policy(sub.policy)  # type: ignore[no-any-return]


_MODULES: dict[str, Any] = {}
_STOPPED = frozenset({Status.EXPIRED, Status.DISABLED, Status.CANCELLED})  # stop_lifecycle_due lists only these


def change_quantity(sub: Subscription, when: When, quantity: int, *, at_renewal: bool) -> None:
    model = model_of(sub)
    if at_renewal:
        model.schedule_quantity(sub, when, quantity)
    else:
        model.change_quantity(sub, when, quantity)


def next_due(sub: Subscription, model: _Model | None = None) -> tuple[date | None, list[str]]:
    """The next day something falls due for ``sub`` after the last processed day, and what falls due on it (in
    the model's order); ``(None, [])`` when nothing will. Models list a recurring item (a charge cycle, a month)
    only up to its first occurrence after ``processed_through``: the later ones cannot come first. ``model``:
    ``model_of(sub)``, when the caller has it."""
    done = sub.processed_through
    day: date | None = None
    items: list[str] = []
    for d, what in (model or model_of(sub)).due(sub):
        if done is not None and d <= done:
            continue
        if day is None or d < day:
            day, items = d, [what]
        elif d == day:
            items.append(what)
    return day, items


def run_due(sub: Subscription, today: date, start_of: Callable[[date], datetime], prices: PriceBook) -> None:
    """Run, day by day, everything due for ``sub`` up to and including ``today``, exactly once.

    ``processed_through`` only moves forward, so running the same day again does nothing.
    """
    model = model_of(sub)
    while True:
        day, items = next_due(sub, model)
        if day is None or day > today:
            sub.next_due = day  # what refresh_next_due would find again
            return
        when = When(start_of(day), day)
        for what in items:
            model.run(sub, when, what, prices)
        sub.processed_through = day


def refresh_next_due(sub: Subscription) -> None:
    """Keep the indexed ``next_due`` date in step after any change (the tick reads only what is due)."""
    sub.next_due = next_due(sub)[0]
