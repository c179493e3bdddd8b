"""Customers and tenants, with the eligibility rules of RULES.md §1."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .errors import RuleViolation

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

    def check_eligible(self) -> None:
        """ELIG-CORP and ELIG-DOMESTIC: only corporations in Japan may contract."""
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


_ENTITY_JA = {Entity.CORPORATION: "法人", Entity.SOLE_PROPRIETOR: "個人事業主", Entity.INDIVIDUAL: "個人"}

ORG_DOMAIN_SUFFIX = ".onmicrosoft.com"
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass
class Tenant:
    ref: str
    customer_ref: str
    domain: str
    country: str
    syndication: bool = False
    id: int | None = None

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
