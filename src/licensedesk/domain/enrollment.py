"""EES / School subscription enrollments (RULES.md §7): term, first order, expiry options, termination.

Dates (POLICIES.md §0): a term of *n* years from ``effective`` ends on
``add_months(effective, 12·n) − 1 day``, always computed from the anchor (an extension adds years,
it never chains); anniversaries are ``add_months(effective, 12·k)``; something that happens on a
date happens at its 00:00. Every computed date is explained by ``Enrollment.explain_dates``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from .agreements import Agreement, PartnerPeriod, Partners, Party, Program, Recorder, Region, Status
from .calendar import ONE_DAY, add_months
from .errors import InvalidInput, RuleViolation
from .explain import Explanation, because
from .subscription import Event, Notice, When

NO_ORDER_DAYS = 30  # VL-TERMINATE-NO-ORDER
CURE_DAYS = 30  # VL-TERMINATE-BREACH
NOTICE_DAYS = 60  # VL-NOTICE-60D
TERM_YEARS = (1, 3)  # VL-TERM


class Option(StrEnum):
    """The expiry options of VL-NOTICE-60D."""

    EXTEND_1Y = "extend_1y"
    EXTEND_3Y = "extend_3y"
    NEW_ENROLLMENT = "new_enrollment"
    BUY_OUT = "buy_out"
    LET_EXPIRE = "let_expire"


EXTENSION_YEARS = {Option.EXTEND_1Y: 1, Option.EXTEND_3Y: 3}
_OPTIONS_BY_TERM = {1: (Option.EXTEND_1Y, Option.BUY_OUT, Option.LET_EXPIRE),
                    3: (Option.EXTEND_3Y, Option.NEW_ENROLLMENT, Option.BUY_OUT, Option.LET_EXPIRE)}
REMOVAL_DUTY_EN = "every product licensed under the enrollment must be removed from every computer"
REMOVAL_DUTY_JA = "登録でライセンスされたすべての製品をすべてのコンピューターから削除する必要があります"


@dataclass(frozen=True)
class Breach:
    """A written notice of material breach; the enrollment ends unless cured within 30 days."""

    party: Party
    notice_on: date

    @property
    def cure_by(self) -> date:
        return self.notice_on + timedelta(days=CURE_DAYS)

    @property
    def terminates_on(self) -> date:
        return self.cure_by + ONE_DAY


@dataclass
class Enrollment(Recorder):
    ref: str
    agreement: str
    customer: str
    program: Program
    region: Region
    term_years: int
    effective: date
    recorded_on: date
    partner_periods: list[PartnerPeriod]
    billing_dates: tuple[date, ...] = ()
    years: int = 0  # initial term plus extensions; the end date is always computed from ``effective``
    first_order_on: date | None = None
    status: Status = Status.ACTIVE
    status_on: date | None = None
    status_rule: str | None = None
    choice: Option | None = None
    choice_on: date | None = None
    choice_for_end: date | None = None
    outcome: str | None = None
    breach: Breach | None = None
    notified_for_end: date | None = None
    next_due: date | None = None
    row_version: int = 0
    events: list[Event] = field(default_factory=list, repr=False)
    notices: list[Notice] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.years = self.years or self.term_years

    # ------------------------------------------------------------------ dates
    @property
    def partners(self) -> Partners:
        return self.partner_periods[-1].partners

    def partners_on(self, day: date) -> Partners:
        found = [p for p in self.partner_periods if p.since <= day]
        return (found[-1] if found else self.partner_periods[0]).partners

    @property
    def end_date(self) -> date:
        return add_months(self.effective, 12 * self.years) - ONE_DAY

    @property
    def no_order_termination_on(self) -> date:
        return self.effective + timedelta(days=NO_ORDER_DAYS)

    @property
    def notice_on(self) -> date:
        """VL-NOTICE-60D: end date − 60 days (never before the enrollment was recorded)."""
        return max(self.end_date - timedelta(days=NOTICE_DAYS), self.recorded_on)

    def anniversaries(self) -> list[date]:
        return [add_months(self.effective, 12 * k) for k in range(1, self.years + 1)]

    def next_anniversary(self, after: date) -> date | None:
        return next((a for a in self.anniversaries() if a > after), None)

    def next_deadline_date(self, after: date) -> tuple[date, str] | None:
        """The next anniversary or scheduled billing date strictly after ``after`` (COCP-LEAD-30D)."""
        found = [(a, "anniversary") for a in self.anniversaries() if a > after]
        found += [(b, "billing_date") for b in self.billing_dates if after < b <= self.end_date + ONE_DAY]
        return min(found) if found else None

    def options(self) -> tuple[list[Option], list[Option]]:
        """VL-NOTICE-60D: (options that apply, options not available here)."""
        offered = list(_OPTIONS_BY_TERM[self.term_years])
        unavailable = [Option.BUY_OUT] if self.region is Region.JAPAN else []
        return [o for o in offered if o not in unavailable], unavailable

    def explain_dates(self) -> dict[str, Explanation]:
        out = {
            "end_date": because("VL-TERM", f"add_months({self.effective}, 12 × {self.years}) − 1 day = {self.end_date}",
                                f"add_months({self.effective}, 12 × {self.years}) − 1日 = {self.end_date}",
                                effective=self.effective, years=self.years, term_years=self.term_years),
            "anniversaries": because("VL-TERM", f"add_months({self.effective}, 12 × k), k = 1 … {self.years}",
                                     f"add_months({self.effective}, 12 × k)、k = 1 … {self.years}",
                                     effective=self.effective, years=self.years),
            "notice_on": because("VL-NOTICE-60D", f"{self.end_date} − {NOTICE_DAYS} days = {self.notice_on}",
                                 f"{self.end_date} − {NOTICE_DAYS} 日 = {self.notice_on}", end_date=self.end_date,
                                 recorded_on=self.recorded_on),
        }
        if self.first_order_on is None:
            out["no_order_termination_on"] = because(
                "VL-TERMINATE-NO-ORDER", f"{self.effective} + {NO_ORDER_DAYS} days = {self.no_order_termination_on}",
                f"{self.effective} + {NO_ORDER_DAYS} 日 = {self.no_order_termination_on}", effective=self.effective)
        if self.breach is not None:
            b = self.breach
            out["cure_by"] = because("VL-TERMINATE-BREACH", f"{b.notice_on} + {CURE_DAYS} days = {b.cure_by}",
                                     f"{b.notice_on} + {CURE_DAYS} 日 = {b.cure_by}", notice_on=b.notice_on)
            out["breach_termination_on"] = because(
                "VL-TERMINATE-BREACH", f"cure_by {b.cure_by} + 1 day = {b.terminates_on}",
                f"是正期限 {b.cure_by} + 1日 = {b.terminates_on}", cure_by=b.cure_by)
        return out

    # ----------------------------------------------------------------- guards
    def require_active(self, action: str) -> None:
        if self.status is Status.ACTIVE:
            return
        rule = self.status_rule or "VL-NOTICE-60D"
        raise RuleViolation(rule, f"cannot {action}: enrollment {self.ref} is {self.status.value} since "
                                  f"{self.status_on} ({rule})",
                            f"登録 {self.ref} は {self.status_on} から {self.status.value} のため{action}できません（{rule}）",
                            {"enrollment": self.ref, "status": self.status.value, "since": str(self.status_on)})

    # ---------------------------------------------------------------- actions
    def record_order(self, when: When) -> None:
        """An order under the enrollment; the first one keeps it alive (VL-TERMINATE-NO-ORDER)."""
        self.require_active("order")
        if when.today < self.effective:
            raise InvalidInput(f"enrollment {self.ref} takes effect on {self.effective}",
                               f"登録 {self.ref} の発効日は {self.effective} です", code="VL-NOT-YET-EFFECTIVE",
                               enrollment=self.ref)
        if self.first_order_on is None:
            self.first_order_on = when.today
            self.record("first_order", when, "VL-TERMINATE-NO-ORDER", first_order_on=when.today,
                        deadline=self.no_order_termination_on - ONE_DAY)

    def notify_breach(self, when: When, party: Party) -> Breach:
        self.require_active("give a breach notice")
        if self.breach is not None:
            raise InvalidInput(f"enrollment {self.ref} already has an uncured breach notice of {self.breach.notice_on}",
                               f"登録 {self.ref} には未是正の違反通知（{self.breach.notice_on}）があります",
                               code="VL-BREACH-OPEN", enrollment=self.ref)
        self.breach = Breach(party, when.today)
        self.record("breach_notice", when, "VL-TERMINATE-BREACH", party=party.value, cure_by=self.breach.cure_by,
                    terminates_on=self.breach.terminates_on)
        return self.breach

    def cure_breach(self, when: When) -> None:
        self.require_active("cure a breach")
        if self.breach is None:
            raise InvalidInput(f"enrollment {self.ref} has no breach notice to cure",
                               f"登録 {self.ref} に是正対象の違反通知はありません", code="VL-NO-BREACH",
                               enrollment=self.ref)
        self.record("breach_cured", when, "VL-TERMINATE-BREACH", notice_on=self.breach.notice_on,
                    cure_by=self.breach.cure_by)
        self.breach = None

    def choose(self, when: When, option: Option) -> None:
        """VL-NOTICE-60D: the institution's answer, from the notice date through the end date."""
        self.require_active("choose an expiry option")
        allowed, unavailable = self.options()
        if option in unavailable:
            raise self._refuse_option(option, "buy-out to perpetual licences is not available in Japan",
                                      "日本では買い取り（永続ライセンスへの移行）は適用されません")
        if option not in allowed:
            raise self._refuse_option(option, f"a {self.term_years}-year term offers {', '.join(allowed)}",
                                      f"{self.term_years} 年の期間で選べるのは {', '.join(allowed)} です")
        opens = self.end_date - timedelta(days=NOTICE_DAYS)
        if when.today < opens:
            raise self._refuse_option(option, f"the options open 60 days before expiry, on {opens}",
                                      f"選択は有効期限の 60 日前（{opens}）から可能です", opens=opens)
        self.choice, self.choice_on, self.choice_for_end = option, when.today, self.end_date
        self.record("expiry_choice", when, "VL-NOTICE-60D", option=option.value, end_date=self.end_date)
        if option in EXTENSION_YEARS:
            old_end = self.end_date
            self.years += EXTENSION_YEARS[option]
            self.record("extended", when, "VL-NOTICE-60D", from_end=old_end, to_end=self.end_date,
                        years=EXTENSION_YEARS[option])

    def _refuse_option(self, option: Option, en: str, ja: str, **details: Any) -> RuleViolation:
        return RuleViolation("VL-NOTICE-60D", f"{option.value} refused for enrollment {self.ref}: {en}",
                             f"登録 {self.ref} の {option.value} は選択できません: {ja}",
                             {"enrollment": self.ref, "option": option.value, "region": self.region.value,
                              "term_years": self.term_years, **details})

    def terminate(self, when: When, rule: str, **details: Any) -> None:
        """Ends the enrollment at once (VL-TERMINATE-QUALIFY, VL-AGREEMENT-END, or by the due work)."""
        self.status, self.status_on, self.status_rule = Status.TERMINATED, when.today, rule
        self.record("terminated", when, rule, **details)
        self.notify("vl_terminated", when.today, rule, **details)

    def change_partners(self, when: When, partners: Partners, cocp: str) -> Partners:
        """COCP: the new channel partners are of record from ``when.today``."""
        previous = self.partners
        self.partner_periods.append(PartnerPeriod(when.today, partners, cocp))
        self.record("partners_changed", when, "COCP-EFFECTIVE", cocp=cocp, before=previous.as_dict(),
                    after=partners.as_dict())
        return previous

    # -------------------------------------------------------------- due work
    def due(self) -> list[tuple[date, int, str]]:
        """What falls due: (date, order within the day, what)."""
        if self.status is not Status.ACTIVE:
            return []
        out: list[tuple[date, int, str]] = []
        if self.first_order_on is None:
            out.append((self.no_order_termination_on, 0, "terminate_no_order"))
        if self.breach is not None:
            out.append((self.breach.terminates_on, 1, "terminate_breach"))
        if self.notified_for_end != self.end_date:
            out.append((self.notice_on, 2, "notice"))
        out.append((self.end_date + ONE_DAY, 3, "expire"))
        return sorted(out)

    def refresh_next_due(self) -> None:
        pending = self.due()
        self.next_due = pending[0][0] if pending else None

    def run_due(self, through: date, start_of: Callable[[date], datetime]) -> None:
        """Everything due up to and including ``through``, in date order, each at 00:00 of its own date."""
        while (pending := self.due()) and pending[0][0] <= through:
            day, _, what = pending[0]
            getattr(self, f"_due_{what}")(When(start_of(day), day))
        self.refresh_next_due()

    def _due_terminate_no_order(self, when: When) -> None:
        self.terminate(when, "VL-TERMINATE-NO-ORDER", effective=self.effective,
                       deadline=self.no_order_termination_on - ONE_DAY)

    def _due_terminate_breach(self, when: When) -> None:
        assert self.breach is not None
        self.terminate(when, "VL-TERMINATE-BREACH", notice_on=self.breach.notice_on, cure_by=self.breach.cure_by,
                       party=self.breach.party.value)

    def _due_notice(self, when: When) -> None:
        allowed, unavailable = self.options()
        self.notified_for_end = self.end_date
        self.notify("vl_expiry_60d", when.today, "VL-NOTICE-60D", end_date=self.end_date.isoformat(),
                    term_years=self.term_years, options=[o.value for o in allowed],
                    not_available=[o.value for o in unavailable], let_expire_duty=REMOVAL_DUTY_EN,
                    let_expire_duty_ja=REMOVAL_DUTY_JA)

    def _due_expire(self, when: When) -> None:
        chosen = self.choice if self.choice_for_end == self.end_date else None
        self.outcome = (chosen or Option.LET_EXPIRE).value
        self.status, self.status_on, self.status_rule = Status.EXPIRED, when.today, "VL-NOTICE-60D"
        self.record("expired", when, "VL-NOTICE-60D", end_date=self.end_date, outcome=self.outcome,
                    chosen=chosen is not None)
        duty = {"duty": REMOVAL_DUTY_EN, "duty_ja": REMOVAL_DUTY_JA} if self.outcome == Option.LET_EXPIRE else {}
        self.notify("vl_expired", when.today, "VL-NOTICE-60D", end_date=self.end_date.isoformat(),
                    outcome=self.outcome, **duty)


def enroll(*, ref: str, agreement: Agreement, term_years: int, effective: date, partners: Partners,
           when: When, billing_dates: tuple[date, ...] = ()) -> Enrollment:
    """A new EES / School enrollment: 1- or 3-year initial term (VL-TERM)."""
    agreement.require_active()
    if term_years not in TERM_YEARS:
        raise RuleViolation("VL-TERM", f"an EES or School enrollment's initial term is 1 or 3 years, not {term_years}",
                            f"EES / School の登録の初回期間は 1 年または 3 年です（指定: {term_years} 年）",
                            {"term_years": term_years})
    if not partners.reseller.strip():
        raise InvalidInput("an enrollment needs a reseller", "登録にはリセラーが必要です", code="VL-NO-RESELLER")
    enrollment = Enrollment(ref=ref, agreement=agreement.ref, customer=agreement.customer, program=agreement.program,
                            region=agreement.region, term_years=term_years, effective=effective,
                            recorded_on=when.today, partner_periods=[PartnerPeriod(effective, partners)],
                            billing_dates=tuple(sorted(billing_dates)))
    enrollment.record("enrolled", when, "VL-TERM", effective=effective, term_years=term_years,
                      end_date=enrollment.end_date, partners=partners.as_dict())
    enrollment.refresh_next_due()
    return enrollment
