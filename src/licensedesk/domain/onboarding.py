"""Onboarding: the application form, the store login and the activation notice (ONB-APPLY, ONB-REISSUE).

Seed 000: the store login ID and password are issued within 2 business days of receiving the
application form (原則2営業日以内), which opens the service; the contract start date is the one on the
activation notice (開通通知), which can be re-issued on request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from .calendar import ONE_DAY
from .errors import InvalidInput, RuleViolation
from .explain import Explanation, because
from .subscription import Notice, When

LOGIN_SLA_BUSINESS_DAYS = 2  # ONB-APPLY


class BusinessDays(Protocol):
    def add_business_days(self, d: date, n: int) -> date: ...


class ApplicationStatus(StrEnum):
    RECEIVED = "received"
    LOGIN_ISSUED = "login_issued"


@dataclass
class Application:
    ref: str
    customer_ref: str
    received_at: datetime
    received_on: date
    login_due: date
    status: ApplicationStatus = ApplicationStatus.RECEIVED
    login_id: str | None = None
    login_issued_at: datetime | None = None
    contract_start: date | None = None
    overdue_on: date | None = None
    reissues: int = 0
    id: int | None = None
    notices: list[Notice] = field(default_factory=list, repr=False)

    @classmethod
    def receive(cls, ref: str, customer_ref: str, when: When, calendar: BusinessDays) -> Application:
        """ONB-APPLY: the form is received now; the login is due 2 business days later (初日不算入)."""
        due = calendar.add_business_days(when.today, LOGIN_SLA_BUSINESS_DAYS)
        return cls(ref, customer_ref, when.instant, when.today, due)

    @property
    def login_due_why(self) -> Explanation:
        return because("ONB-APPLY", f"received {self.received_on} + {LOGIN_SLA_BUSINESS_DAYS} business days "
                       f"= {self.login_due}", f"受領日 {self.received_on} + {LOGIN_SLA_BUSINESS_DAYS} 営業日 = "
                       f"{self.login_due}", received_on=self.received_on, business_days=LOGIN_SLA_BUSINESS_DAYS)

    @property
    def overdue_check_on(self) -> date:
        """The day the login counts as late: the day after the deadline (a deadline "by X" includes X)."""
        return self.login_due + ONE_DAY

    def issue_login(self, when: When, login_id: str, contract_start: date | None = None) -> None:
        """Issue the store login; the activation notice carries the login ID and the contract start date."""
        if self.status is not ApplicationStatus.RECEIVED:
            raise InvalidInput(f"application {self.ref} already has its login ({self.login_id})",
                               f"申込 {self.ref} のログインは発行済みです（{self.login_id}）",
                               code="APPLICATION-STATUS", application=self.ref)
        start = contract_start or when.today
        if start < self.received_on:
            raise InvalidInput(f"the contract cannot start ({start}) before the application ({self.received_on})",
                               f"契約開始日 {start} は申込受領日 {self.received_on} より前にできません",
                               code="INVALID-INPUT", field="contract_start")
        self.status = ApplicationStatus.LOGIN_ISSUED
        self.login_id = login_id
        self.login_issued_at = when.instant
        self.contract_start = start
        self.notices.append(Notice("store_activation", self.ref, when.today, "ONB-APPLY", self._notice_details()))

    @property
    def issued_late(self) -> bool | None:
        if self.login_issued_at is None:
            return None
        return self.overdue_on is not None

    def reissue_activation(self, when: When) -> None:
        """ONB-REISSUE: the same activation notice again (same login ID and contract start date)."""
        if self.status is not ApplicationStatus.LOGIN_ISSUED:
            raise RuleViolation("ONB-REISSUE", f"application {self.ref} has no activation notice yet to re-issue",
                                f"申込 {self.ref} の開通通知はまだ発行されていないため再発行できません",
                                {"application": self.ref})
        self.reissues += 1
        self.notices.append(Notice("store_activation_reissued", self.ref, when.today, "ONB-REISSUE",
                                   {**self._notice_details(), "reissue": self.reissues}))

    def check_overdue(self, on: date) -> bool:
        """Run on ``overdue_check_on``: still without a login → an overdue notice (ONB-APPLY). True if sent."""
        if self.status is not ApplicationStatus.RECEIVED or on < self.overdue_check_on or self.overdue_on:
            return False
        self.overdue_on = on
        self.notices.append(Notice("store_login_overdue", self.ref, on, "ONB-APPLY",
                                   {"login_due": self.login_due.isoformat(), "customer": self.customer_ref}))
        return True

    def _notice_details(self) -> dict[str, object]:
        return {"login_id": self.login_id, "contract_start": None if self.contract_start is None
                else self.contract_start.isoformat(), "customer": self.customer_ref}

    def drain(self) -> list[Notice]:
        notices, self.notices = self.notices, []
        return notices
