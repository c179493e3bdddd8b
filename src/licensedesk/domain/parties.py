"""Customers and tenants, with the eligibility and tenant rules of RULES.md §1 (and ORD-MIGRATE of §2).

Input that is malformed (a 法人番号 whose check digit fails, an e-mail without a domain) raises
``InvalidInput`` naming the field; a business refusal raises ``RuleViolation`` with its rule ID.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from stdnum.jp import cn as _corporate_number

from .catalog import OfferKind
from .errors import InvalidInput, RuleViolation

HOME_COUNTRY = "JP"


class Entity(StrEnum):
    CORPORATION = "corporation"
    SOLE_PROPRIETOR = "sole_proprietor"
    INDIVIDUAL = "individual"


class Segment(StrEnum):
    COMMERCIAL = "commercial"
    EDUCATION = "education"
    GOVERNMENT = "government"

    @property
    def is_edu_gov(self) -> bool:
        return self is not Segment.COMMERCIAL


class Purpose(StrEnum):
    """Why the customer buys: for its own use (end user) or to resell (ELIG-NO-RESALE)."""

    END_USE = "end_use"
    RESALE = "resale"


class ContactRole(StrEnum):
    PRIMARY = "primary"
    BILLING = "billing"
    TECHNICAL = "technical"
    ADMIN = "admin"
    OTHER = "other"


def _invalid(fld: str, en: str, ja: str, value: object) -> InvalidInput:
    return InvalidInput(f"{fld}: {en}", f"{fld}: {ja}", code="INVALID-INPUT", field=fld, value=str(value))


def _nfkc(text: str) -> str:
    """Full-width digits, letters and symbols to their ASCII forms (１２３ → 123, ＠ → @)."""
    return unicodedata.normalize("NFKC", text).strip()


def corporate_number(value: str, fld: str = "corporate_number") -> str:
    """A 13-digit 法人番号 with a valid check digit (NTA; python-stdnum ``jp.cn``), normalised to ASCII digits."""
    digits = re.sub(r"[\s\-‐‑–—ー−]", "", _nfkc(str(value)))
    if not re.fullmatch(r"\d{13}", digits):
        raise _invalid(fld, f"a corporate number (法人番号) has 13 digits, got {value!r}",
                       f"法人番号は13桁の数字です（指定: {value!r}）", value)
    if not _corporate_number.is_valid(digits):
        raise _invalid(fld, f"the check digit of corporate number {digits} is wrong",
                       f"法人番号 {digits} のチェックデジットが正しくありません", value)
    return digits


def ownership(value: object, fld: str = "ownership_percent") -> Decimal:
    """A capital share in percent, 0 < p ≤ 100, kept exact (no float comparisons at the threshold)."""
    try:
        percent = Decimal(_nfkc(str(value)).rstrip("%").strip())
    except InvalidOperation:
        raise _invalid(fld, f"must be a number of percent, got {value!r}", f"出資比率は数値（%）です（指定: {value!r}）",
                       value) from None
    if not Decimal(0) < percent <= Decimal(100):
        raise _invalid(fld, f"must be more than 0 and at most 100, got {value!r}",
                       f"出資比率は 0 より大きく 100 以下です（指定: {value!r}）", value)
    return percent


@dataclass(frozen=True)
class Address:
    postal_code: str  # NNN-NNNN
    prefecture: str
    city: str
    line1: str
    line2: str = ""

    @classmethod
    def of(cls, postal_code: str, prefecture: str, city: str, line1: str, line2: str = "") -> Address:
        code = re.sub(r"^〒", "", _nfkc(postal_code)).strip()
        if not re.fullmatch(r"\d{3}-?\d{4}", code):
            raise _invalid("address.postal_code", f"a postal code looks like 100-0001, got {postal_code!r}",
                           f"郵便番号は 100-0001 の形式です（指定: {postal_code!r}）", postal_code)
        for name, text in (("prefecture", prefecture), ("city", city), ("line1", line1)):
            if not text.strip():
                raise _invalid(f"address.{name}", "is required", "必須です", text)
        return cls(f"{code[:3]}-{code[-4:]}", prefecture.strip(), city.strip(), line1.strip(), line2.strip())


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    role: ContactRole

    @classmethod
    def of(cls, name: str, email: str, role: str, index: int = 0) -> Contact:
        where = f"contacts[{index}]"
        if not name.strip():
            raise _invalid(f"{where}.name", "is required", "必須です", name)
        address = _nfkc(email)
        if not _EMAIL.fullmatch(address):
            raise _invalid(f"{where}.email", f"not an e-mail address: {email!r}",
                           f"メールアドレスの形式ではありません: {email!r}", email)
        try:
            kind = ContactRole(role)
        except ValueError:
            allowed = ", ".join(r.value for r in ContactRole)
            raise _invalid(f"{where}.role", f"must be one of {allowed}, got {role!r}",
                           f"{allowed} のいずれかです（指定: {role!r}）", role) from None
        return cls(name.strip(), address, kind)


@dataclass(frozen=True)
class GroupRule:
    """ELIG-GROUP: the share a parent must hold to order for an affiliate (policy parameters)."""

    threshold_percent: int = 51
    inclusive: bool = True

    def holds(self, percent: Decimal) -> bool:
        limit = Decimal(self.threshold_percent)
        return percent >= limit if self.inclusive else percent > limit

    @property
    def text(self) -> str:
        return f"{'≥' if self.inclusive else '>'} {self.threshold_percent} %"


@dataclass
class Customer:
    ref: str
    name: str
    entity: Entity
    country: str
    segment: Segment = Segment.COMMERCIAL
    corporate_number: str | None = None
    parent_ref: str | None = None
    ownership_percent: float | None = None
    id: int | None = None
    purpose: Purpose = Purpose.END_USE
    address: Address | None = None
    contacts: tuple[Contact, ...] = field(default_factory=tuple)
    name_kana: str | None = None  # as banks spell the payer, e.g. ｶ)ｱｸﾒ (deposit matching)

    def check_eligible(self) -> None:
        """ELIG-CORP, ELIG-DOMESTIC and ELIG-NO-RESALE: only corporations in Japan, buying for their own use."""
        if self.entity is not Entity.CORPORATION:
            raise RuleViolation(
                "ELIG-CORP",
                f"only corporations may contract; {self.name} is a {self.entity.value.replace('_', ' ')}",
                f"契約できるのは法人のみです（{self.name} は{_ENTITY_JA[self.entity]}）",
                {"entity": self.entity.value},
            )
        if self.country.upper() != HOME_COUNTRY:
            raise RuleViolation(
                "ELIG-DOMESTIC",
                f"only customers in Japan may contract; {self.name} is in {self.country}",
                f"契約できるのは日本国内のお客様のみです（{self.name} の所在国: {self.country}）",
                {"country": self.country},
            )
        if self.purpose is Purpose.RESALE:
            raise RuleViolation(
                "ELIG-NO-RESALE",
                f"customers buy as end users; {self.name} declares it buys to resell",
                f"ご購入はエンドユーザー様に限られます（{self.name} は再販目的と申告しています）",
                {"purpose": self.purpose.value},
            )

    def check_group(self) -> None:
        """The group structure is well formed: a share only with a parent, never oneself as parent."""
        if self.parent_ref is not None and self.parent_ref == self.ref:
            raise _invalid("parent", "a company cannot be its own parent", "自社を親会社にはできません", self.ref)
        if self.ownership_percent is not None:
            if self.parent_ref is None:
                raise _invalid("ownership_percent", "needs a parent", "親会社の指定が必要です", self.ownership_percent)
            ownership(self.ownership_percent)

    def check_ordered_by(self, parent: Customer, rule: GroupRule) -> Decimal:
        """ELIG-GROUP: ``parent`` may order for this affiliate when it holds the policy's share; returns it."""
        parent.check_eligible()
        if self.parent_ref != parent.ref:
            raise RuleViolation(
                "ELIG-GROUP",
                f"{parent.name} is not registered as the parent of {self.name}; it cannot order for it",
                f"{parent.name} は {self.name} の親会社として登録されていないため、代理で発注できません",
                {"ordering_party": parent.ref, "end_user": self.ref, "parent": self.parent_ref},
            )
        share = None if self.ownership_percent is None else ownership(self.ownership_percent)
        if share is None or not rule.holds(share):
            held = "unknown" if share is None else f"{share} %"
            raise RuleViolation(
                "ELIG-GROUP",
                f"{parent.name} holds {held} of {self.name}; ordering for an affiliate needs {rule.text}",
                f"{parent.name} の {self.name} への出資比率は {held} です。関連会社への代理発注には {rule.text} が必要です",
                {"ordering_party": parent.ref, "end_user": self.ref, "ownership_percent": held,
                 "threshold_percent": rule.threshold_percent, "inclusive": rule.inclusive},
            )
        return share


_ENTITY_JA = {Entity.CORPORATION: "法人", Entity.SOLE_PROPRIETOR: "個人事業主", Entity.INDIVIDUAL: "個人"}

ORG_DOMAIN_SUFFIX = ".onmicrosoft.com"
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class TenantOrigin(StrEnum):
    """Where the tenant's organisational account was first obtained (AZ-FIRST-ACCOUNT, ORD-MIGRATE)."""

    CSP = "csp"  # created under CSP through this reseller
    DIRECT = "direct"  # bought directly from Microsoft
    OPEN = "open"
    TRIAL = "trial"
    EA = "ea"
    OTHER_PARTNER_CSP = "other_partner_csp"

    @property
    def migrates(self) -> bool:
        """A tenant made elsewhere moves to this reseller only through an accepted reseller relationship."""
        return self is not TenantOrigin.CSP


class MigrationSource(StrEnum):
    """Where an existing subscription that an order moves comes from."""

    DIRECT = "direct"
    EA = "ea"
    OPEN = "open"
    TRIAL = "trial"
    OTHER_PARTNER_CSP = "other_partner_csp"
    MICROSOFT_ACCOUNT = "microsoft_account"


_AZ_NO_MIGRATE = {
    MigrationSource.MICROSOFT_ACCOUNT: (
        "Azure run on a Microsoft account (Open) cannot move: Azure in CSP runs on organisational accounts",
        "マイクロソフトアカウントで運用されている Azure（Open）は移行できません（Azure in CSP は組織アカウントで運用します）"),
    MigrationSource.OTHER_PARTNER_CSP: (
        "Azure in CSP is single-tenant: another partner's CSP Azure cannot be moved or linked to this reseller",
        "Azure in CSP はマルチテナント非対応のため、他パートナーの CSP で契約された Azure は移行・紐付けできません"),
}


@dataclass
class Tenant:
    ref: str
    customer_ref: str
    domain: str
    country: str
    syndication: bool = False
    id: int | None = None
    origin: TenantOrigin = TenantOrigin.CSP
    vl_licences: bool = False

    @staticmethod
    def check_domain(domain: str) -> None:
        """TEN-ORG-ACCOUNT: CSP services need an organisational ``<name>.onmicrosoft.com`` account."""
        name = domain.strip().lower()
        label = name.removesuffix(ORG_DOMAIN_SUFFIX)
        if not name.endswith(ORG_DOMAIN_SUFFIX) or not _DNS_LABEL.fullmatch(label):
            raise RuleViolation(
                "TEN-ORG-ACCOUNT",
                f"a CSP tenant needs an organisational domain <name>{ORG_DOMAIN_SUFFIX}; got {domain!r}",
                f"CSP のテナントには組織アカウント <名前>{ORG_DOMAIN_SUFFIX} が必要です（指定: {domain!r}）",
                {"domain": domain},
            )

    def check_can_hold_csp(self) -> None:
        """TEN-REGION and TEN-SYNDICATION: a CSP subscription needs a Japanese, non-syndicated tenant."""
        if self.country.upper() != HOME_COUNTRY:
            raise RuleViolation(
                "TEN-REGION",
                f"a CSP subscription can only be added to a tenant in Japan; {self.domain} is in {self.country}",
                f"CSP サブスクリプションは国が日本のテナントにのみ追加できます（{self.domain}: {self.country}）",
                {"tenant": self.ref, "country": self.country},
            )
        if self.syndication:
            raise RuleViolation(
                "TEN-SYNDICATION",
                f"tenant {self.domain} is under a syndication agreement and cannot move to CSP",
                f"テナント {self.domain} はシンジケーション契約のため CSP に移行できません",
                {"tenant": self.ref},
            )

    def check_azure(self, migrate_from: MigrationSource | None) -> None:
        """AZ-NO-MIGRATE and AZ-FIRST-ACCOUNT for an order of an Azure offer.

        Another partner's CSP tenant is refused AZ-NO-MIGRATE (Azure in CSP is single-tenant: no subscription
        can be linked to that tenant), any other tenant made outside CSP AZ-FIRST-ACCOUNT.
        """
        if migrate_from is None and self.origin is TenantOrigin.OTHER_PARTNER_CSP:
            migrate_from = MigrationSource.OTHER_PARTNER_CSP
        if migrate_from is not None:
            en, ja = _AZ_NO_MIGRATE.get(migrate_from, (
                f"an Azure subscription from {migrate_from.value} cannot be moved into this reseller's Azure plan",
                f"{migrate_from.value} の Azure サブスクリプションは当社の Azure に移行できません"))
            raise RuleViolation("AZ-NO-MIGRATE", en, ja, {"tenant": self.ref, "migrate_from": migrate_from.value})
        if self.origin is not TenantOrigin.CSP:
            raise RuleViolation(
                "AZ-FIRST-ACCOUNT",
                f"Azure in CSP needs an organisational account first obtained under CSP; {self.domain} was "
                f"obtained under {self.origin.value}",
                f"Azure in CSP で利用できるのは CSP で初めて取得した組織アカウントのみです（{self.domain} の取得元: "
                f"{self.origin.value}）",
                {"tenant": self.ref, "origin": self.origin.value},
            )

    def check_migration(self, migrate: bool, relationship_accepted: bool) -> None:
        """ORD-MIGRATE / XFER-RELATIONSHIP: an order moving an existing tenant needs the accepted relationship."""
        if relationship_accepted or not (migrate or self.origin.migrates):
            return
        rule = "XFER-RELATIONSHIP" if self.origin is TenantOrigin.OTHER_PARTNER_CSP else "ORD-MIGRATE"
        raise RuleViolation(
            rule,
            f"tenant {self.domain} comes from {self.origin.value}: the customer's admin must accept the reseller "
            "relationship before the order is confirmed",
            f"テナント {self.domain}（取得元: {self.origin.value}）は、ご注文確定前にお客様の管理者による"
            "販売店（代理店）との関連付けの承諾が必要です",
            {"tenant": self.ref, "origin": self.origin.value, "migrate": migrate},
        )

    def merge(self, other: Tenant) -> None:
        """TEN-NO-MERGE: two tenants set up separately can never become one."""
        raise RuleViolation(
            "TEN-NO-MERGE",
            f"tenants {self.domain} and {other.domain} were set up separately and cannot be merged",
            f"別々に設定されたテナント {self.domain} と {other.domain} を 1 つにすることはできません",
            {"tenant": self.ref, "into": other.ref},
        )


@dataclass(frozen=True)
class OrderParties:
    """Who orders what for whom: the checks an order needs beyond the subscription engine's."""

    end_user: Customer
    tenant: Tenant
    offer_kind: OfferKind
    ordering_party: Customer | None = None
    migrate: bool = False
    migrate_from: MigrationSource | None = None
    relationship_accepted: bool = False

    def check(self, rule: GroupRule) -> Decimal | None:
        """Refuse with the first rule that fails; the parent's share when a parent orders (ELIG-GROUP)."""
        self.end_user.check_eligible()
        self.tenant.check_can_hold_csp()
        share = None
        if self.ordering_party is not None and self.ordering_party.ref != self.end_user.ref:
            share = self.end_user.check_ordered_by(self.ordering_party, rule)
        if self.offer_kind is OfferKind.AZURE:
            self.tenant.check_azure(self.migrate_from)
        self.tenant.check_migration(self.migrate or self.migrate_from is not None, self.relationship_accepted)
        return share
