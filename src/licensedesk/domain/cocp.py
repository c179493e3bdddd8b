"""Change of channel partner (COCP) for EES / School enrollments (RULES.md §7, COCP-*).

``cocp_form.submit`` checks a form against the enrollments it names and either refuses it (the rule
ID is the code) or returns a :class:`Cocp` that is accepted (with its effective date), or waits for the
approval of a lead-time exception (override request or M15 amendment). On its effective date the
service layer calls ``take_effect``: the partners of record change and online products left on
the old partner's purchase orders stop auto-renewing (COCP-ORDERS).

Dates (POLICIES.md §0, days counted as calendar days):
- lead deadline = next anniversary or scheduled billing date after the submission − lead days
  (30; School in international operations 15; Americas distributor change 10), inclusive;
- effective date = end customer's signature + 30 days (distributor change: reseller's signature + 10),
  never before the day operations received the form or approved its exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from .agreements import Partners, Recorder
from .enrollment import Enrollment
from .errors import InvalidInput
from .explain import Explanation, because
from .subscription import Event, Notice, When

LEAD_DAYS = 30  # COCP-LEAD-30D
LEAD_DAYS_SCHOOL_INTERNATIONAL = 15
DISTRIBUTOR_LEAD_DAYS_AMERICAS = 10  # COCP-EFFECTIVE
EFFECTIVE_AFTER_CUSTOMER_DAYS = 30
EFFECTIVE_AFTER_RESELLER_DAYS = 10
RECEIVE_WITHIN_DAYS = 10
MAX_ELECTRONIC_ENROLLMENTS = 6


class ChangeKind(StrEnum):
    RESELLER = "reseller"
    DISTRIBUTOR = "distributor"
    SOFTWARE_ADVISOR = "software_advisor"
    BOTH = "both"  # reseller and distributor

    @property
    def roles(self) -> tuple[str, ...]:
        """The partner roles this change replaces."""
        if self is ChangeKind.BOTH:
            return ("reseller", "distributor")
        return (self.value,)

    @property
    def customer_signs(self) -> bool:
        return self is not ChangeKind.DISTRIBUTOR


class Signer(StrEnum):
    END_CUSTOMER = "end_customer"
    RESELLER = "reseller"
    NEW_RESELLER = "new_reseller"
    DISTRIBUTOR = "distributor"
    NEW_DISTRIBUTOR = "new_distributor"
    NEW_SOFTWARE_ADVISOR = "new_software_advisor"


class FormKind(StrEnum):
    ELECTRONIC = "electronic"
    MANUAL = "manual"


class LeadException(StrEnum):
    OVERRIDE = "override"  # request to the account manager
    M15 = "m15"  # amendment with a business justification, keeps the original log number


class CocpStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    ACCEPTED = "accepted"
    EFFECTIVE = "effective"
    REJECTED = "rejected"


@dataclass(frozen=True)
class CocpForm:
    """What the new partner submits, as written on the form."""

    log_number: str
    kind: ChangeKind
    enrollments: tuple[str, ...]
    new: Mapping[str, str]  # role → new partner (reseller / distributor / software_advisor)
    current: Mapping[str, str | None]  # role → current partner as stated on the form
    signatures: Mapping[Signer, date]
    received_on: date | None = None  # by regional operations; default: the submission day
    copies: int = 1
    ink_signed: bool = False
    notified_previous_on: date | None = None
    exception: LeadException | None = None
    justification: str | None = None
    form: FormKind | None = None  # the form the submitter used, if stated


@dataclass
class Duty:
    """COCP-DUTIES: one item of the customer's, the previous partner's or the new partner's checklist."""

    key: str
    party: str
    text_en: str
    text_ja: str
    due: date | None = None
    done_on: date | None = None
    rule: str = "COCP-DUTIES"


@dataclass
class Cocp(Recorder):
    ref: str
    kind: ChangeKind
    enrollments: tuple[str, ...]
    customer: str
    new: dict[str, str]
    submitted_on: date
    received_on: date
    signatures: dict[str, date]
    form_kind: FormKind
    form_reasons: list[str]
    lead_deadline: date | None
    lead_date: date | None  # the anniversary / billing date the lead time is counted back from
    lead_days: int
    late: bool
    exception: LeadException | None
    justification: str | None
    effective_formula_on: date
    effective_on: date
    status: CocpStatus
    duties: list[Duty]
    copies: int
    explanations: dict[str, Explanation] = field(default_factory=dict)
    previous: dict[str, dict[str, str | None]] = field(default_factory=dict)  # enrollment → partners before
    decided_on: date | None = None
    next_due: date | None = None
    row_version: int = 0
    events: list[Event] = field(default_factory=list, repr=False)
    notices: list[Notice] = field(default_factory=list, repr=False)

    def refresh_next_due(self) -> None:
        self.next_due = self.effective_on if self.status is CocpStatus.ACCEPTED else None

    def decide(self, when: When, approved: bool) -> None:
        """The account manager's (override) or the business desk's (M15) answer to a late form."""
        if self.status is not CocpStatus.AWAITING_APPROVAL:
            raise InvalidInput(f"COCP {self.ref} is {self.status.value}, not awaiting approval",
                               f"COCP {self.ref} は承認待ちではありません（{self.status.value}）",
                               code="COCP-STATUS", cocp=self.ref)
        self.decided_on = when.today
        if not approved:
            self.status = CocpStatus.REJECTED
            self.record("rejected", when, "COCP-LEAD-30D", exception=str(self.exception))
            self.notify("cocp_rejected", when.today, "COCP-LEAD-30D", exception=str(self.exception))
        else:
            self.status = CocpStatus.ACCEPTED
            self.effective_on = max(self.effective_formula_on, when.today)
            self.explanations["effective_on"] = effective_why(self, approved_on=when.today)
            self.record("approved", when, "COCP-LEAD-30D", exception=str(self.exception), log_number=self.ref,
                        effective_on=self.effective_on)
        self.refresh_next_due()

    def mark_duty(self, when: When, key: str) -> Duty:
        found = next((d for d in self.duties if d.key == key), None)
        if found is None:
            keys = ", ".join(d.key for d in self.duties)
            raise InvalidInput(f"COCP {self.ref} has no duty {key!r} (duties: {keys})",
                               f"COCP {self.ref} に義務 {key!r} はありません（{keys}）", code="COCP-NO-DUTY")
        found.done_on = found.done_on or when.today
        self.record("duty_done", when, found.rule, duty=key, party=found.party)
        return found

    def new_partners(self, old: Partners) -> Partners:
        values = old.as_dict()
        values.update(self.new)
        reseller = values["reseller"]
        assert reseller is not None
        return Partners(reseller, values["distributor"], values["software_advisor"])

    def take_effect(self, when: When, enrollment: Enrollment) -> Partners:
        """The partners of ``enrollment`` switch; returns the partners before (for COCP-ORDERS)."""
        old = enrollment.change_partners(when, self.new_partners(enrollment.partners), self.ref)
        self.previous[enrollment.ref] = old.as_dict()
        return old

    def finish(self, when: When, stopped_orders: Sequence[str]) -> None:
        self.status = CocpStatus.EFFECTIVE
        self.record("effective", when, "COCP-EFFECTIVE", effective_on=self.effective_on, enrollments=self.enrollments)
        self.notify("cocp_effective", when.today, "COCP-EFFECTIVE", enrollments=list(self.enrollments), new=self.new)
        if stopped_orders:
            self.duties.append(Duty("renew_online", "new_partner",
                                    f"renew manually the online products left on the old partner's POs: "
                                    f"{', '.join(stopped_orders)}",
                                    f"旧パートナーの発注書に残るオンライン製品を手動で更新する: {', '.join(stopped_orders)}",
                                    rule="COCP-ORDERS"))
            self.notify("cocp_manual_renewal", when.today, "COCP-ORDERS", orders=list(stopped_orders))
        self.refresh_next_due()


def stops_auto_renew(kind: ChangeKind, old: Partners, reseller: str, distributor: str | None) -> bool:
    """COCP-ORDERS: a purchase order placed through a partner this change replaces."""
    return ("reseller" in kind.roles and reseller == old.reseller) or (
        "distributor" in kind.roles and distributor is not None and distributor == old.distributor)


def effective_why(cocp: Cocp, approved_on: date | None = None) -> Explanation:
    floor = approved_on or cocp.received_on
    what_en, what_ja = ("approved", "承認日") if approved_on else ("received", "受領日")
    return because("COCP-EFFECTIVE", f"max({cocp.effective_formula_on}, {what_en} {floor}) = {cocp.effective_on}",
                   f"max({cocp.effective_formula_on}, {what_ja} {floor}) = {cocp.effective_on}",
                   formula_on=cocp.effective_formula_on, not_before=floor)
