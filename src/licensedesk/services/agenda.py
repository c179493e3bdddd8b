"""What needs a person, and when: the deadlines of subscriptions, invoices, VL agreements and parties (issue 7).

Every date comes from the domain that sets it (``domain/dates.explain_dates``, ``nce.cancel_allowed_until``,
``prepaid.reduction_deadline``, ``Enrollment.explain_dates``, the COCP's duties, the open invoices the
dunning works on…); nothing is re-computed here. Each item carries the RULES.md ID of the rule behind
its date and the rule's own formula (ja/en) as the "why".

Two kinds of deadline: a *window* (opt-out, 168 h cancel, reduction request) is gone once it has
passed; a *task* (an unpaid invoice, an activation, the manual COCP/CICR queues, a store login) stays
on the dashboard as overdue until someone does it. Only the subscriptions whose windows can fall in
the range are loaded; invoices, VL aggregates and parties are read whole (docs/decisions.md, D-AGENDA-SCAN).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from licensedesk.domain import nce, prepaid
from licensedesk.domain.agreements import Status as AgreementStatus
from licensedesk.domain.cicr import CicrStatus
from licensedesk.domain.cocp import Cocp, CocpStatus, effective_why
from licensedesk.domain.dates import explain_dates
from licensedesk.domain.dunning import DUNNING_RULE
from licensedesk.domain.explain import Explanation
from licensedesk.domain.onboarding import ApplicationStatus
from licensedesk.domain.policy import BillingModel, Policy
from licensedesk.domain.subscription import Status, Subscription
from licensedesk.domain.transfers import AdminKind, AdminStatus, RelationshipStatus

from .context import Services
from .ports import UnitOfWork

SOON_DAYS = 7  # the dashboard's "next 7 days"


@dataclass(frozen=True)
class Kind:
    label_ja: str
    label_en: str
    task: bool  # True: stays overdue until done; False: a window that simply closes


KINDS: dict[str, Kind] = {
    "optout": Kind("自動更新の停止期限", "Auto-renew opt-out deadline", False),
    "reduction": Kind("減数・解約の申出期限", "Reduction / cancellation request deadline", False),
    "cancel_window": Kind("168時間の解約可能期間の終了", "168-hour cancel window closes", False),
    "activation": Kind("開通期限（入金後3営業日）", "Activation due (3 business days after payment)", True),
    "invoice_due": Kind("請求書の支払期限", "Invoice payment due", True),
    "enrollment_notice": Kind("VL登録の満了60日前通知", "VL enrollment 60-day expiry notice", False),
    "enrollment_expiry": Kind("VL登録の満了（選択未定）", "VL enrollment expires (no option chosen)", False),
    "enrollment_no_order": Kind("VL登録の初回注文期限", "VL enrollment first-order deadline", False),
    "enrollment_cure": Kind("VL登録の違反是正期限", "VL enrollment breach cure deadline", False),
    "cocp_approval": Kind("COCP 承認待ち（手動キュー）", "COCP awaiting approval (manual queue)", True),
    "cocp_effective": Kind("COCP 発効日", "COCP takes effect", False),
    "cocp_duty": Kind("COCP の義務の期限", "COCP duty due", True),
    "cicr_queue": Kind("CICR 手動キュー", "CICR in the manual queue", True),
    "login_due": Kind("ストアログインの発行期限", "Store login due", True),
    "relationship_expiry": Kind("リセラー関係リクエストの期限", "Reseller relationship request expires", False),
    "gdap_end": Kind("GDAP の終了", "GDAP ends", False),
}


@dataclass(frozen=True)
class Deadline:
    kind: str
    on: date  # the local calendar date of the deadline
    customer: str
    subject_kind: str  # subscription, document, enrollment, cocp, cicr, application, relationship, tenant
    subject: str
    rule: str  # the RULES.md ID that sets the date
    why_en: str = ""
    why_ja: str = ""
    at: datetime | None = None  # the instant, for deadlines that are one (NCE-CANCEL-168H)
    customer_name: str = ""
    detail: str = ""  # e.g. the amount still open, the duty's text

    @property
    def label_ja(self) -> str:
        return KINDS[self.kind].label_ja

    @property
    def label_en(self) -> str:
        return KINDS[self.kind].label_en

    @property
    def task(self) -> bool:
        return KINDS[self.kind].task

    @property
    def uid(self) -> str:
        """Stable per deadline: the same kind, subject and date give the same ID (calendar clients update it)."""
        return f"{self.kind}-{self.subject}-{self.on.isoformat()}"

    def urgency(self, today: date) -> str:
        if self.on < today:
            return "overdue" if self.task else "passed"
        if self.on == today:
            return "today"
        return "soon" if self.on <= today + timedelta(days=SOON_DAYS) else "later"


@dataclass
class Today:
    """The dashboard's groups: tasks overdue, what falls due today, and the next 7 days."""

    today: date
    overdue: list[Deadline] = field(default_factory=list)
    due_today: list[Deadline] = field(default_factory=list)
    next_days: list[Deadline] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.overdue) + len(self.due_today) + len(self.next_days)


def agenda(svc: Services, first: date, last: date) -> list[Deadline]:
    """Every deadline dated ``first`` … ``last`` (inclusive), in date order."""
    return sorted(_all(svc, first, last, lambda d: first <= d.on <= last), key=_key)


def today(svc: Services, now: datetime) -> Today:
    """The dashboard of ``now``'s local day: overdue tasks, today's deadlines, the next 7 days'."""
    day = svc.when(now).today
    out = Today(day)
    shown = ("overdue", "today", "soon")
    for d in sorted(_all(svc, day, day + timedelta(days=SOON_DAYS), lambda d: d.urgency(day) in shown), key=_key):
        match d.urgency(day):
            case "overdue":
                out.overdue.append(d)
            case "today":
                out.due_today.append(d)
            case "soon":
                out.next_days.append(d)
    return out


def _key(d: Deadline) -> tuple[date, float, str, str]:
    return d.on, d.at.timestamp() if d.at else 0.0, d.kind, d.subject


def _all(svc: Services, first: date, last: date, keep: Callable[[Deadline], bool]) -> list[Deadline]:
    """The open tasks and the windows that may close ``first`` … ``last`` that ``keep`` keeps, named."""
    with svc.uow() as uow:
        found = [d for source in (_subscriptions(svc, uow, first, last), _invoices(uow), _volume_licensing(uow),
                                  _parties(uow)) for d in source if keep(d)]
        names: dict[str, str] = {}
        for d in found:
            if not d.customer_name and d.customer not in names:
                customer = uow.customers.get(d.customer)
                names[d.customer] = customer.name if customer else d.customer
    return [d if d.customer_name else replace(d, customer_name=names[d.customer]) for d in found]


def _because(kind: str, on: date, customer: str, subject_kind: str, subject: str, why: Explanation, *,
             at: datetime | None = None, detail: str = "", name: str = "") -> Deadline:
    return Deadline(kind, on, customer, subject_kind, subject, why.rule, why.formula_en, why.formula_ja, at, name,
                    detail)


# ------------------------------------------------------------------ subscriptions
def _subscriptions(svc: Services, uow: UnitOfWork, first: date, last: date) -> Iterator[Deadline]:
    """Only the candidates are loaded (D-AGENDA-SCAN): provisioning ones, and active ones whose term ends
    soon enough for an opt-out or reduction deadline to fall by ``last``, or began within a cancel window."""
    policies = uow.subscriptions.policies_in_use()
    term_ends = [(first, last)]  # a term shorter than the opt-out period: the deadline is its end (D-OPTOUT-P1M)
    term_ends += [(first + timedelta(days=lo), last + timedelta(days=hi)) for p in policies for lo, hi in _margins(p)]
    hours = max((p.cancel_window_hours or 0 for p in policies), default=0)
    began_since = svc.start_of(first) - timedelta(hours=hours, days=1)
    for sub in uow.subscriptions.deadline_candidates(term_ends, began_since):
        if sub.status is Status.PROVISIONING and sub.activation_due is not None:
            yield _because("activation", sub.activation_due, sub.customer, "subscription", sub.ref,
                           explain_dates(sub)["activation_due"], name=sub.customer_name)
        if sub.status is Status.ACTIVE:
            yield from _windows(svc, sub)


def _margins(policy: Policy) -> list[tuple[int, int]]:
    """How many days before the term end its deadlines fall (least, most): opt-out N days
    (TERM-RENEW-OPTOUT-30D); the reduction deadline, the day before add_months(next start, −lead)
    (TERM-REDUCE-1M), 28 to 31 days a month of lead before the term end."""
    out = []
    if policy.auto_renew_optout_days is not None:
        out.append((policy.auto_renew_optout_days, policy.auto_renew_optout_days))
    if policy.renewal_invoice_lead_months:
        out.append((28 * policy.renewal_invoice_lead_months, 31 * policy.renewal_invoice_lead_months))
    return out


def _windows(svc: Services, sub: Subscription) -> Iterator[Deadline]:
    """The windows of a live subscription: 168 h cancel, opt-out (auto-renewing), reduction request (prepaid)."""
    why = explain_dates(sub)
    until = nce.cancel_allowed_until(sub)
    if until is not None and "cancel_allowed_until" in why:
        yield _because("cancel_window", svc.when(until).today, sub.customer, "subscription", sub.ref,
                       why["cancel_allowed_until"], at=until, name=sub.customer_name)
    if not sub.auto_renew:
        return
    optout = nce.optout_deadline(sub)
    if optout is not None and "optout_deadline" in why:
        yield _because("optout", optout, sub.customer, "subscription", sub.ref, why["optout_deadline"],
                       name=sub.customer_name)
    if sub.policy.billing_model is BillingModel.PREPAID and (reduce_by := prepaid.reduction_deadline(sub)):
        yield Deadline("reduction", reduce_by, sub.customer, "subscription", sub.ref, "TERM-REDUCE-1M",
                       f"renewal invoice issue date − 1 day = {reduce_by}", f"更新請求書の発行日 − 1日 = {reduce_by}",
                       customer_name=sub.customer_name)


# ------------------------------------------------------------------ invoices
def _invoices(uow: UnitOfWork) -> Iterator[Deadline]:
    """Issued invoices with something still to pay (ORD-FLOW: payment by the due date); overdue once past."""
    for doc in uow.billing.open_invoices():
        if doc["due_date"] is None:
            continue
        open_amount = doc["total"] - doc["paid_amount"]
        yield Deadline("invoice_due", doc["due_date"], doc["customer_ref"], "document", doc["number"], DUNNING_RULE,
                       f"due {doc['due_date']}, {open_amount:,} yen open of {doc['total']:,}",
                       f"支払期限 {doc['due_date']}、{doc['total']:,} 円のうち未入金 {open_amount:,} 円",
                       detail=f"¥{open_amount:,}")


# ------------------------------------------------------------------ volume licensing
def _volume_licensing(uow: UnitOfWork) -> Iterator[Deadline]:
    agreements = {a.ref: a.customer for a in uow.vl.agreements.list()}
    for enrollment in uow.vl.enrollments.list():
        if enrollment.status is not AgreementStatus.ACTIVE:
            continue
        why, ref, customer = enrollment.explain_dates(), enrollment.ref, enrollment.customer
        yield _because("enrollment_notice", enrollment.notice_on, customer, "enrollment", ref, why["notice_on"])
        if enrollment.choice_for_end != enrollment.end_date:
            yield _because("enrollment_expiry", enrollment.end_date, customer, "enrollment", ref, why["notice_on"])
        if "no_order_termination_on" in why:
            yield _because("enrollment_no_order", enrollment.no_order_termination_on, customer, "enrollment", ref,
                           why["no_order_termination_on"])
        if enrollment.breach is not None and "cure_by" in why:
            yield _because("enrollment_cure", enrollment.breach.cure_by, customer, "enrollment", ref, why["cure_by"])
    for cocp in uow.vl.cocps.list():
        yield from _cocp_items(cocp)
    for cicr in uow.vl.cicrs.list():
        if cicr.status is CicrStatus.QUEUED:
            yield Deadline("cicr_queue", cicr.requested_on, agreements.get(cicr.agreement, ""), "cicr", cicr.ref,
                           cicr.rule, cicr.route_reason, cicr.route_reason, detail=cicr.role.value)


def _cocp_items(cocp: Cocp) -> Iterator[Deadline]:
    if cocp.status is CocpStatus.AWAITING_APPROVAL:
        yield Deadline("cocp_approval", cocp.submitted_on, cocp.customer, "cocp", cocp.ref, "COCP-LEAD-30D",
                       f"late form ({cocp.exception or 'no exception'}), submitted {cocp.submitted_on}",
                       f"期限後の申請（{cocp.exception or '例外なし'}）、提出 {cocp.submitted_on}")
    if cocp.status is CocpStatus.ACCEPTED:
        why = cocp.explanations.get("effective_on") or effective_why(cocp)
        yield _because("cocp_effective", cocp.effective_on, cocp.customer, "cocp", cocp.ref, why)
    if cocp.status in (CocpStatus.AWAITING_APPROVAL, CocpStatus.ACCEPTED):
        for duty in cocp.duties:
            if duty.due is not None and duty.done_on is None:
                yield Deadline("cocp_duty", duty.due, cocp.customer, "cocp", f"{cocp.ref}/{duty.key}", duty.rule,
                               duty.text_en, duty.text_ja, detail=duty.party)


# ------------------------------------------------------------------ parties
def _parties(uow: UnitOfWork) -> Iterator[Deadline]:
    for app in uow.parties.applications.list():
        if app.status is ApplicationStatus.RECEIVED:
            why = app.login_due_why
            yield _because("login_due", app.login_due, app.customer_ref, "application", app.ref, why)
    gdap: dict[str, str] = {}  # tenant → customer: delegated admin comes from an accepted request
    for req in uow.parties.relationships.requests():
        if req.status is RelationshipStatus.SENT:
            yield Deadline("relationship_expiry", req.open_until, req.customer_ref, "relationship", req.ref,
                           "XFER-RELATIONSHIP", f"open until {req.open_until}", f"{req.open_until} まで有効")
        elif req.status is RelationshipStatus.ACCEPTED and req.admin is AdminKind.GDAP:
            gdap[req.tenant_ref] = req.customer_ref
    for tenant, customer in sorted(gdap.items()):
        admin = uow.parties.relationships.admin(tenant)
        if admin is not None and admin.kind is AdminKind.GDAP and admin.status is AdminStatus.ACTIVE \
                and admin.ends_on is not None:
            yield Deadline("gdap_end", admin.ends_on, customer, "tenant", tenant, "XFER-RELATIONSHIP",
                           f"GDAP granted until {admin.ends_on} (no auto-renewal)",
                           f"GDAP の期限 {admin.ends_on}（自動更新なし）")
