"""Request bodies of the REST API. Integers are strict (a JSON ``true`` is not 1) but accept ``154.0``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from licensedesk.domain.calendar import Billing, Term
from licensedesk.domain.parties import Entity, Purpose, Segment, TenantOrigin


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    return value


Int = Annotated[int, BeforeValidator(_reject_bool)]
Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=255)]
Quantity = Annotated[Int, Field(ge=1, le=1_000_000)]
Yen = Annotated[Int, Field(ge=1, le=10**12)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(Body):
    ref: Ref
    name: Text
    entity: Entity
    country: Annotated[str, Field(min_length=2, max_length=2)]
    segment: Segment = Segment("commercial")
    corporate_number: Annotated[str, Field(max_length=32)] | None = None
    parent: Ref | None = None
    ownership_percent: Annotated[float, Field(ge=0, le=100)] | None = None
    purpose: Purpose = Purpose("end_use")
    address: dict[str, Annotated[str, Field(max_length=255)]] | None = None
    contacts: list[dict[str, Annotated[str, Field(max_length=255)]]] | None = None
    name_kana: Text | None = None


class TenantIn(Body):
    ref: Ref
    customer: Ref
    domain: Text
    country: Annotated[str, Field(min_length=2, max_length=2)]
    syndication: StrictBool = False
    origin: TenantOrigin = TenantOrigin("csp")
    vl_licences: StrictBool = False


class OrderIn(Body):
    ref: Ref
    tenant: Ref
    offer: Annotated[str, Field(min_length=1, max_length=64)]
    term: Term = Term("P1Y")
    billing: Billing = Billing("monthly")
    quantity: Quantity = 1
    policy: Annotated[str, Field(max_length=64)] | None = None
    auto_renew: StrictBool | None = None
    align_with: Ref | None = None
    align_calendar_month: StrictBool = False
    ordering_party: Ref | None = None
    migrate: StrictBool = False


class QuantityIn(Body):
    quantity: Quantity
    at_renewal: StrictBool = False


class AutoRenewIn(Body):
    enabled: StrictBool


class BillingIn(Body):
    billing: Billing


class MailLanguageIn(Body):
    language: Literal["ja", "en"]  # services.preferences.MAIL_LANGUAGES


class PayIn(Body):
    amount: Yen | None = Field(default=None, description="default: what is open")


class VoidIn(Body):
    reason: Text


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
