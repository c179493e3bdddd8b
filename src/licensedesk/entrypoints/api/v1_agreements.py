"""/api/v1 volume licensing: EES / School agreements and enrollments (VL-*), change of channel partner
(COCP-*) and contact information change requests (CICR-*) — the CLI's handlers over HTTP.

Reads answer the same JSON as ``licensedesk enrollment show`` (``services/vl_views``); a customer user sees
only its own agreements, enrollments and requests (404 otherwise). Mutations are for ``sales``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool

from licensedesk.domain.errors import NotFound
from licensedesk.services import agreements, cicr, cocp, vl_views
from licensedesk.services.context import Services
from licensedesk.services.ports import UnitOfWork

from .context import ApiContext, Caller, Ctx, IdempotencyKey, mutate, page
from .schemas import Body, Int, Page, Ref, Text
from .security import STAFF, Actor, Role, require

router = APIRouter(tags=["volume licensing"])
SALES = (Role.SALES,)
READERS = (*STAFF, Role.CUSTOMER)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
Short = Annotated[str, Field(min_length=1, max_length=64)]


class Program(StrEnum):
    EES = "ees"
    SCHOOL = "school"


class AgreementIn(Body):
    ref: Ref
    customer: Ref
    program: Program = Program.EES
    version: Annotated[str, Field(min_length=1, max_length=16)] = "3.2"
    region: Short = "japan"
    public_customer_number: Short | None = None
    country: Annotated[str, Field(min_length=2, max_length=2)] | None = None


class EnrollmentIn(Body):
    ref: Ref
    agreement: Ref
    effective: date
    reseller: Short
    term_years: Annotated[Int, Field(ge=1, le=10, description="1 or 3 (VL-TERM)")] = 1
    distributor: Short | None = None
    software_advisor: Short | None = None
    billing_dates: Annotated[list[date], Field(max_length=10)] = Field(default_factory=list)


class VlOrderIn(Body):
    po: Short | None = None
    product: Annotated[str, Field(max_length=128)] = ""
    online: StrictBool = False
    quantity: Annotated[Int, Field(ge=1, le=1_000_000)] = 1
    usage_date: date | None = None
    reseller: Short | None = None


class ChoiceIn(Body):
    option: Annotated[str, Field(min_length=1, max_length=32,
                                 description="extend_1y, extend_3y, new_enrollment, buy_out or let_expire")]


class BreachIn(Body):
    party: Annotated[str, Field(min_length=1, max_length=16, description="institution or microsoft")]


class DisqualifyIn(Body):
    reason: Annotated[str, Field(max_length=255)] = ""


class AmendmentIn(Body):
    number: Short | None = None
    prepared_by: Annotated[str, Field(max_length=64)] = ""
    microsoft_signed: StrictBool = False


class CocpIn(Body):
    ref: Ref
    kind: Short
    enrollments: Annotated[list[Ref], Field(min_length=1, max_length=20)]
    new: dict[Short, Annotated[str, Field(max_length=128)]] = Field(default_factory=dict)
    current: dict[Short, Annotated[str, Field(max_length=128)] | None]
    signatures: dict[Short, date]
    received_on: date | None = None
    copies: Annotated[Int, Field(ge=1, le=10)] = 1
    ink_signed: StrictBool = False
    notified_previous_on: date | None = None
    exception: Short | None = None
    justification: Text | None = None
    form: Short | None = None


class DecisionIn(Body):
    approved: StrictBool


class DutyIn(Body):
    duty: Short


class CicrIn(Body):
    ref: Ref
    agreement: Ref
    role: Short
    contact: dict[Short, Annotated[str, Field(max_length=255)]] = Field(default_factory=dict)
    channel: Short = "electronic"
    change: Short = "update"


def _section(svc: Services, actor: Actor, key: str, ref: str) -> dict[str, Any]:
    """One object as ``enrollment show`` prints it; 404 when missing or not the customer user's."""
    with svc.uow() as uow:
        found = _one(uow, key, ref)
    if found is None or (actor.role is Role.CUSTOMER and found.get("customer") != actor.customer):
        raise NotFound(f"no {key} {ref}", f"{ref} はありません", ref=ref)
    return {"ref": ref, **found}


def _one(uow: UnitOfWork, key: str, ref: str) -> dict[str, Any] | None:
    vl = uow.vl
    if key == "agreements" and (a := vl.agreements.get(ref)) is not None:
        return vl_views.agreement_view(a, vl.enrollments.for_agreement(ref), vl.cicrs.for_agreement(ref))
    if key == "enrollments" and (e := vl.enrollments.get(ref)) is not None:
        return vl_views.enrollment_view(e, vl.orders.for_enrollment(ref))
    if key == "cocp" and (c := vl.cocps.get(ref)) is not None:
        return vl_views.cocp_view(c)
    if key == "cicr" and (r := vl.cicrs.get(ref)) is not None:
        view = vl_views.cicr_view(r)
        agreement = vl.agreements.get(r.agreement)
        return {**view, "customer": None if agreement is None else agreement.customer}
    return None


def _list(ctx: ApiContext, actor: Actor, key: str, limit: int, offset: int) -> dict[str, Any]:
    require(actor, READERS)
    with ctx.svc.uow() as uow:
        found = vl_views.sections(uow).get(key, {})
    items = [{"ref": ref, **v} for ref, v in sorted(found.items())
             if actor.role is not Role.CUSTOMER or v.get("customer") == actor.customer]
    return page(items, limit, offset)


def _act(ctx: ApiContext, request: Request, actor: Actor, key: str | None, *, action: str, kind: str, ref: str,
         body: Any, run: Callable[[Services, Any], object], status: int = 200, before: bool = True) -> JSONResponse:
    def handler(svc: Services, now: Any) -> dict[str, Any]:
        run(svc, now)
        return _section(svc, actor, kind, ref)

    return mutate(ctx, request, actor, SALES, key, action=action, target=f"{kind}:{ref}", body=body, status=status,
                  before=(lambda svc: _section(svc, actor, kind, ref)) if before else None, run=handler)


# --- agreements --------------------------------------------------------------------------------------------------

@router.get("/agreements", response_model=Page)
def list_agreements(ctx: Ctx, actor: Caller, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """EES / School agreements with their enrollments and current contacts."""
    return _list(ctx, actor, "agreements", limit, offset)


@router.get("/agreements/{ref}")
def get_agreement(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    return _section(ctx.svc, actor, "agreements", ref)


@router.post("/agreements", status_code=201)
def open_agreement(ctx: Ctx, actor: Caller, request: Request, body: AgreementIn,
                   key: IdempotencyKey = None) -> JSONResponse:
    """Record an EES / School agreement (VL-TERMINATE-QUALIFY: education customers only)."""
    fields = body.model_dump(mode="json")
    return _act(ctx, request, actor, key, action="agreement.open", kind="agreements", ref=body.ref, body=fields,
                status=201, before=False, run=lambda svc, now: agreements.open_agreement(svc, now, **fields))


@router.post("/agreements/{ref}/disqualify")
def disqualify(ctx: Ctx, actor: Caller, request: Request, ref: str, body: DisqualifyIn,
               key: IdempotencyKey = None) -> JSONResponse:
    """The institution no longer qualifies: the agreement and its enrollments end at once (VL-TERMINATE-QUALIFY)."""
    return _act(ctx, request, actor, key, action="agreement.disqualify", kind="agreements", ref=ref,
                body=body.model_dump(), run=lambda svc, now: agreements.disqualify(svc, now, agreement=ref,
                                                                                    reason=body.reason))


@router.post("/agreements/{ref}/end")
def end_agreement(ctx: Ctx, actor: Caller, request: Request, ref: str, body: AmendmentIn,
                  key: IdempotencyKey = None) -> JSONResponse:
    """End with a termination amendment prepared by a partner of record (VL-AGREEMENT-END)."""
    amendment = body.model_dump() if body.number else None
    return _act(ctx, request, actor, key, action="agreement.end", kind="agreements", ref=ref, body=body.model_dump(),
                run=lambda svc, now: agreements.end_agreement(svc, now, agreement=ref, amendment=amendment))


# --- enrollments -------------------------------------------------------------------------------------------------

@router.get("/enrollments", response_model=Page)
def list_enrollments(ctx: Ctx, actor: Caller, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Enrollments with their dates (rule and formula), partners, orders and expiry options."""
    return _list(ctx, actor, "enrollments", limit, offset)


@router.get("/enrollments/{ref}")
def get_enrollment(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    return _section(ctx.svc, actor, "enrollments", ref)


@router.post("/enrollments", status_code=201)
def enroll(ctx: Ctx, actor: Caller, request: Request, body: EnrollmentIn, key: IdempotencyKey = None) -> JSONResponse:
    """A new enrollment (VL-TERM); without a first order it terminates 30 days later (VL-TERMINATE-NO-ORDER)."""
    fields = body.model_dump()
    return _act(ctx, request, actor, key, action="enrollment.add", kind="enrollments", ref=body.ref,
                body=body.model_dump(mode="json"), status=201, before=False,
                run=lambda svc, now: agreements.enroll_institution(svc, now, **fields))


@router.post("/enrollments/{ref}/orders", status_code=201)
def enrollment_order(ctx: Ctx, actor: Caller, request: Request, ref: str, body: VlOrderIn,
                     key: IdempotencyKey = None) -> JSONResponse:
    """A purchase order under the enrollment (the first keeps it alive; COCP-ORDERS says who may order)."""
    fields = body.model_dump()
    return _act(ctx, request, actor, key, action="enrollment.order", kind="enrollments", ref=ref,
                body=body.model_dump(mode="json"), status=201,
                run=lambda svc, now: agreements.place_order(svc, now, enrollment=ref, **fields))


@router.post("/enrollments/{ref}/choose")
def choose(ctx: Ctx, actor: Caller, request: Request, ref: str, body: ChoiceIn,
           key: IdempotencyKey = None) -> JSONResponse:
    """The institution's answer to the 60-day notice (VL-NOTICE-60D)."""
    return _act(ctx, request, actor, key, action="enrollment.choose", kind="enrollments", ref=ref,
                body=body.model_dump(),
                run=lambda svc, now: agreements.choose_expiry(svc, now, enrollment=ref, option=body.option))


@router.post("/enrollments/{ref}/breach-notice")
def breach_notice(ctx: Ctx, actor: Caller, request: Request, ref: str, body: BreachIn,
                  key: IdempotencyKey = None) -> JSONResponse:
    """Written notice of material breach: terminated unless cured within 30 days (VL-TERMINATE-BREACH)."""
    return _act(ctx, request, actor, key, action="enrollment.breach-notice", kind="enrollments", ref=ref,
                body=body.model_dump(),
                run=lambda svc, now: agreements.breach_notice(svc, now, enrollment=ref, party=body.party))


@router.post("/enrollments/{ref}/cure")
def cure(ctx: Ctx, actor: Caller, request: Request, ref: str, key: IdempotencyKey = None) -> JSONResponse:
    """The breach was cured within the 30 days (VL-TERMINATE-BREACH)."""
    return _act(ctx, request, actor, key, action="enrollment.cure", kind="enrollments", ref=ref, body={},
                run=lambda svc, now: agreements.cure_breach(svc, now, enrollment=ref))


# --- COCP --------------------------------------------------------------------------------------------------------

@router.get("/cocp", response_model=Page)
def list_cocp(ctx: Ctx, actor: Caller, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Change of channel partner forms with their lead time, duties and status."""
    return _list(ctx, actor, "cocp", limit, offset)


@router.get("/cocp/{ref}")
def get_cocp(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    return _section(ctx.svc, actor, "cocp", ref)


@router.post("/cocp", status_code=201)
def submit_cocp(ctx: Ctx, actor: Caller, request: Request, body: CocpIn, key: IdempotencyKey = None) -> JSONResponse:
    """Submit a COCP form (COCP-ANYTIME, -MATCH, -FORM-KIND, -SIGNERS, -DUTIES, -EFFECTIVE, -LEAD-30D)."""
    fields = body.model_dump()
    return _act(ctx, request, actor, key, action="cocp.submit", kind="cocp", ref=body.ref,
                body=body.model_dump(mode="json"), status=201, before=False,
                run=lambda svc, now: cocp.submit(svc, now, **fields))


@router.post("/cocp/{ref}/decide")
def decide_cocp(ctx: Ctx, actor: Caller, request: Request, ref: str, body: DecisionIn,
                key: IdempotencyKey = None) -> JSONResponse:
    """Answer a late form's override request or M15 amendment (COCP-LEAD-30D)."""
    return _act(ctx, request, actor, key, action="cocp.decide", kind="cocp", ref=ref, body=body.model_dump(),
                run=lambda svc, now: cocp.decide(svc, now, cocp=ref, approved=body.approved))


@router.post("/cocp/{ref}/duties")
def cocp_duty(ctx: Ctx, actor: Caller, request: Request, ref: str, body: DutyIn,
              key: IdempotencyKey = None) -> JSONResponse:
    """Mark a duty of the COCP checklist done (COCP-DUTIES)."""
    return _act(ctx, request, actor, key, action="cocp.duty", kind="cocp", ref=ref, body=body.model_dump(),
                run=lambda svc, now: cocp.mark_duty(svc, now, cocp=ref, duty=body.duty))


# --- CICR --------------------------------------------------------------------------------------------------------

@router.get("/cicr", response_model=Page)
def list_cicr(ctx: Ctx, actor: Caller, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Contact information change requests: applied, queued for manual handling, or refused."""
    require(actor, READERS)
    with ctx.svc.uow() as uow:
        views = [(r.ref, _one(uow, "cicr", r.ref)) for r in sorted(uow.vl.cicrs.list(), key=lambda r: r.ref)]
    items = [{"ref": ref, **v} for ref, v in views if v is not None
             and (actor.role is not Role.CUSTOMER or v["customer"] == actor.customer)]
    return page(items, limit, offset)


@router.get("/cicr/{ref}")
def get_cicr(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    return _section(ctx.svc, actor, "cicr", ref)


@router.post("/cicr", status_code=201)
def request_cicr(ctx: Ctx, actor: Caller, request: Request, body: CicrIn, key: IdempotencyKey = None) -> JSONResponse:
    """Request a contact change: applied, queued for manual handling, or refused (CICR-FIELDS, CICR-CHANNEL)."""
    fields = body.model_dump()
    return _act(ctx, request, actor, key, action="cicr.request", kind="cicr", ref=body.ref, body=fields, status=201,
                before=False, run=lambda svc, now: cicr.request(svc, now, **fields))


@router.post("/cicr/{ref}/decide")
def decide_cicr(ctx: Ctx, actor: Caller, request: Request, ref: str, body: DecisionIn,
                key: IdempotencyKey = None) -> JSONResponse:
    """Work a request of the manual queue: applied or rejected (CICR-CHANNEL)."""
    return _act(ctx, request, actor, key, action="cicr.decide", kind="cicr", ref=ref, body=body.model_dump(),
                run=lambda svc, now: cicr.decide(svc, now, cicr=ref, approved=body.approved))
