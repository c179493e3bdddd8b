"""Volume licensing agreements: EES and School (RULES.md §7, POLICIES.md §3), and the types VL shares.

An :class:`Agreement` is the institution's master agreement: program, agreement version (CICR-FIELDS),
operations region (COCP-LEAD-30D, COCP-SIGNERS, VL-NOTICE-60D), public customer number (COCP-FORM-KIND).
Its enrollments live in ``enrollment.py``. Aggregates record events and notices for the service layer
to persist; nothing here reads a clock (time arrives as ``When``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from .errors import InvalidInput, RuleViolation
from .subscription import Event, Notice, When

E = TypeVar("E", bound=StrEnum)

TWO_COPY_COUNTRIES = ("JP", "IN", "TW")  # COCP-SIGNERS


class Program(StrEnum):
    EES = "ees"
    SCHOOL = "school"


class Region(StrEnum):
    """Microsoft operations region of the agreement; Japan is one of the international operations."""

    JAPAN = "japan"
    AMERICAS = "americas"
    INTERNATIONAL = "international"

    @property
    def is_international(self) -> bool:
        return self is not Region.AMERICAS


class Status(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"
    EXPIRED = "expired"


class Party(StrEnum):
    INSTITUTION = "institution"
    MICROSOFT = "microsoft"


def parse_enum(kind: type[E], value: object, name: str) -> E:
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidInput(f"{name} must be one of {allowed}, got {value!r}",
                           f"{name} は {allowed} のいずれかです（指定: {value!r}）", code="INVALID-INPUT",
                           field=name) from None


@dataclass(frozen=True, order=True)
class AgreementVersion:
    """Agreement version such as 3.2 (CICR-FIELDS: some contacts exist from v3.2)."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: object) -> AgreementVersion:
        raw = str(text).strip().lower().removeprefix("v")
        major, _, minor = raw.partition(".")
        if not major.isdigit() or (minor and not minor.isdigit()):
            raise InvalidInput(f"agreement version must look like 3.2, got {text!r}",
                               f"契約バージョンは 3.2 の形式で指定してください（指定: {text!r}）",
                               code="VL-VERSION-INVALID", version=str(text))
        return cls(int(major), int(minor or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


V3_2 = AgreementVersion(3, 2)


@dataclass(frozen=True)
class Partners:
    """The channel partners of record: reseller, distributor (two-tier) and software advisor."""

    reseller: str
    distributor: str | None = None
    software_advisor: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"reseller": self.reseller, "distributor": self.distributor,
                "software_advisor": self.software_advisor}

    def names(self) -> set[str]:
        return {n for n in (self.reseller, self.distributor, self.software_advisor) if n}


@dataclass(frozen=True)
class PartnerPeriod:
    """Partners of record from ``since`` on (changed by a COCP)."""

    since: date
    partners: Partners
    cocp: str | None = None


@dataclass(frozen=True)
class Amendment:
    """A termination amendment (VL-AGREEMENT-END): prepared by the channel partner with Microsoft."""

    number: str
    prepared_by: str
    microsoft_signed: bool


class Recorder:
    """Events and notices an aggregate recorded, handed to the service layer once by ``drain``."""

    ref: str
    events: list[Event]
    notices: list[Notice]

    def record(self, kind: str, when: When, rule: str, **details: Any) -> None:
        self.events.append(Event(kind, when.instant, rule, details))

    def notify(self, kind: str, on: date, rule: str, **details: Any) -> None:
        plain = {k: v.isoformat() if isinstance(v, date) else v for k, v in details.items()}
        self.notices.append(Notice(kind, self.ref, on, rule, plain))

    def drain(self) -> tuple[list[Event], list[Notice]]:
        out = (self.events, self.notices)
        self.events, self.notices = [], []
        return out


@dataclass
class Agreement(Recorder):
    ref: str
    customer: str
    program: Program
    version: AgreementVersion
    region: Region
    public_customer_number: str
    country: str = "JP"
    status: Status = Status.ACTIVE
    status_on: date | None = None
    status_rule: str | None = None
    amendment: Amendment | None = None
    row_version: int = 0
    events: list[Event] = field(default_factory=list, repr=False)
    notices: list[Notice] = field(default_factory=list, repr=False)

    @property
    def two_copies(self) -> bool:
        """COCP-SIGNERS: Japan, India and Taiwan international operations need two signed copies."""
        return self.region.is_international and (self.region is Region.JAPAN or self.country.upper() in TWO_COPY_COUNTRIES)

    def require_active(self) -> None:
        if self.status is not Status.ACTIVE:
            rule = self.status_rule or "VL-AGREEMENT-END"
            raise RuleViolation(rule, f"agreement {self.ref} was terminated on {self.status_on} ({rule})",
                                f"契約 {self.ref} は {self.status_on} に終了しています（{rule}）",
                                {"agreement": self.ref, "status": self.status.value})

    def end(self, when: When, amendment: Amendment | None, partners_of_record: set[str]) -> None:
        """VL-AGREEMENT-END: only a termination amendment by a channel partner of record, signed with Microsoft."""
        self.require_active()
        problem = _amendment_problem(amendment, partners_of_record)
        if problem is not None:
            en, ja = problem
            raise RuleViolation("VL-AGREEMENT-END", f"ending agreement {self.ref} needs {en}",
                                f"契約 {self.ref} の終了には{ja}が必要です",
                                {"agreement": self.ref, "partners_of_record": sorted(partners_of_record)})
        assert amendment is not None
        self.amendment = amendment
        self._terminate(when, "VL-AGREEMENT-END", amendment=amendment.number, prepared_by=amendment.prepared_by)

    def disqualify(self, when: When, reason: str) -> None:
        """VL-TERMINATE-QUALIFY: the institution no longer qualifies; the agreement ends at once."""
        self.require_active()
        self._terminate(when, "VL-TERMINATE-QUALIFY", reason=reason)

    def _terminate(self, when: When, rule: str, **details: Any) -> None:
        self.status, self.status_on, self.status_rule = Status.TERMINATED, when.today, rule
        self.record("agreement_terminated", when, rule, **details)
        self.notify("vl_agreement_terminated", when.today, rule, **details)


def _amendment_problem(amendment: Amendment | None, partners: set[str]) -> tuple[str, str] | None:
    if amendment is None or not amendment.number.strip():
        return ("a termination amendment (none given)", "終了修正（未指定）")
    if amendment.prepared_by not in partners:
        return (f"an amendment prepared by a channel partner of record ({amendment.prepared_by} is not one)",
                f"記録上のチャネル パートナーが作成した終了修正（{amendment.prepared_by} は該当しません）")
    if not amendment.microsoft_signed:
        return ("an amendment prepared with Microsoft (not signed by Microsoft)",
                "マイクロソフトと作成した終了修正（マイクロソフトの署名がありません）")
    return None


def open_agreement(*, ref: str, customer: str, program: str, version: str, region: str,
                   public_customer_number: str, country: str, institution_qualifies: bool) -> Agreement:
    """An EES / School agreement; only a qualified educational user may hold one (VL-TERMINATE-QUALIFY)."""
    if not institution_qualifies:
        raise RuleViolation("VL-TERMINATE-QUALIFY",
                            f"customer {customer} is not a qualified educational user (segment must be education)",
                            f"お客様 {customer} は「資格のある教育ユーザー」ではありません（区分は education が必要）",
                            {"customer": customer})
    return Agreement(ref=ref, customer=customer, program=parse_enum(Program, program, "program"),
                     version=AgreementVersion.parse(version), region=parse_enum(Region, region, "region"),
                     public_customer_number=public_customer_number, country=country.upper())
