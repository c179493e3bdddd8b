"""/api/v1 billing beyond the documents themselves: bank deposits (import, the unmatched queue, manual
matching), re-issue after a void, the customer's credit balance (use, refund) and the statement of account.

Same conventions as the other routers: every mutation goes through ``mutate`` (role, Idempotency-Key,
audit entry, one transaction); a customer user reads only its own account (404 otherwise).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from licensedesk.domain.dunning import Statement
from licensedesk.domain.errors import NotFound
from licensedesk.services import bank, printing, settlement
from licensedesk.services.context import Services
from licensedesk.services.dunning import statement_of_account

from . import views
from .context import Caller, Ctx, IdempotencyKey, mutate, page
from .schemas import Body, Page, Ref, Text, Yen
from .security import STAFF, Actor, Role, require

router = APIRouter()
BILLING = (Role.BILLING,)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
DepositId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Number = Annotated[str, Field(min_length=1, max_length=64)]


class BankImportIn(Body):
    csv: Annotated[str, Field(min_length=1, max_length=2_000_000,
                              description="the bank file: date,amount,payer kana (one deposit a line)")]


class MatchIn(Body):
    invoices: Annotated[list[Number], Field(min_length=1, max_length=100)]


class CreditDepositIn(Body):
    customer: Ref
    note: Text | None = None


class ReturnDepositIn(Body):
    note: Text


class ApplyCreditIn(Body):
    amount: Yen | None = Field(default=None, description="default: all the balance can settle")


class RefundIn(Body):
    amount: Yen
    reference: Text | None = None


def _deposit(svc: Services, deposit_id: int) -> dict[str, Any]:
    with svc.uow() as uow:
        found = uow.billing.deposit(deposit_id)
    if found is None:
        raise NotFound(f"no deposit {deposit_id}", f"入金 {deposit_id} はありません", deposit=deposit_id)
    return found


def _account(svc: Services, actor: Actor, customer: str) -> dict[str, Any]:
    actor.scope(customer)
    with svc.uow() as uow:
        if uow.customers.get(customer) is None:
            raise NotFound(f"no customer {customer}", f"お客様 {customer} はありません", ref=customer)
        return {"customer": customer, "credit_balance": uow.billing.credit_balance(customer),
                "entries": uow.billing.credits(customer)}


# --- bank deposits -----------------------------------------------------------------------------------------------

@router.post("/bank/imports", tags=["bank"])
def import_deposits(ctx: Ctx, actor: Caller, request: Request, body: BankImportIn,
                    key: IdempotencyKey = None) -> JSONResponse:
    """Import a bank file (all or nothing; rows imported before are skipped) and match what can be matched
    (PAY-MATCH); the rest waits in the unmatched queue with its reason."""
    return mutate(ctx, request, actor, BILLING, key, action="bank.import", target="bank", body=body.model_dump(),
                  run=lambda svc, now: vars(bank.import_deposits(svc, now, body.csv)))


@router.get("/bank/deposits", response_model=Page, tags=["bank"])
def list_deposits(ctx: Ctx, actor: Caller, limit: Limit = 50, offset: Offset = 0,
                  status: Annotated[str | None, Query(max_length=16, description="e.g. unmatched")] = None
                  ) -> dict[str, Any]:
    """Deposits in import order; ``status=unmatched`` is the queue waiting for a person."""
    require(actor, BILLING)
    return page(bank.deposits(ctx.svc, status), limit, offset)


@router.get("/bank/deposits/{deposit_id}", tags=["bank"])
def get_deposit(ctx: Ctx, actor: Caller, deposit_id: DepositId) -> dict[str, Any]:
    require(actor, BILLING)
    return _deposit(ctx.svc, deposit_id)


@router.post("/bank/deposits/{deposit_id}/match", tags=["bank"])
def match_deposit(ctx: Ctx, actor: Caller, request: Request, deposit_id: DepositId, body: MatchIn,
                  key: IdempotencyKey = None) -> JSONResponse:
    """Apply a queued deposit to invoices of one customer, oldest first; any rest becomes credit."""
    def run(svc: Services, now: datetime) -> dict[str, Any]:
        bank.match(svc, now, deposit_id, list(body.invoices))
        return _deposit(svc, deposit_id)

    return mutate(ctx, request, actor, BILLING, key, action="deposit.match", target=f"deposit:{deposit_id}",
                  body=body.model_dump(), before=lambda svc: _deposit(svc, deposit_id), run=run)


@router.post("/bank/deposits/{deposit_id}/credit", tags=["bank"])
def credit_deposit(ctx: Ctx, actor: Caller, request: Request, deposit_id: DepositId, body: CreditDepositIn,
                   key: IdempotencyKey = None) -> JSONResponse:
    """Book a queued deposit to a customer's credit balance (no invoice to settle yet)."""
    def run(svc: Services, now: datetime) -> dict[str, Any]:
        balance = bank.credit_to_customer(svc, now, deposit_id, body.customer, body.note)
        return {**_deposit(svc, deposit_id), "credit_balance": balance}

    return mutate(ctx, request, actor, BILLING, key, action="deposit.credit", target=f"deposit:{deposit_id}",
                  body=body.model_dump(), before=lambda svc: _deposit(svc, deposit_id), run=run)


@router.post("/bank/deposits/{deposit_id}/return", tags=["bank"])
def return_deposit(ctx: Ctx, actor: Caller, request: Request, deposit_id: DepositId, body: ReturnDepositIn,
                   key: IdempotencyKey = None) -> JSONResponse:
    """A deposit that is not ours leaves the queue as returned to the payer."""
    def run(svc: Services, now: datetime) -> dict[str, Any]:
        bank.return_to_payer(svc, now, deposit_id, body.note)
        return _deposit(svc, deposit_id)

    return mutate(ctx, request, actor, BILLING, key, action="deposit.return", target=f"deposit:{deposit_id}",
                  body=body.model_dump(), before=lambda svc: _deposit(svc, deposit_id), run=run)


# --- documents: re-issue, credit ---------------------------------------------------------------------------------

def _document(svc: Services, number: str) -> dict[str, Any]:
    with svc.uow() as uow:
        return views.document(printing.get_document(uow, number))


@router.post("/documents/{number}/reissue", status_code=201, tags=["documents"])
def reissue(ctx: Ctx, actor: Caller, request: Request, number: str, key: IdempotencyKey = None) -> JSONResponse:
    """Issue a void document's lines again under a new number, same due date (D-DOC-IMMUTABLE)."""
    return mutate(ctx, request, actor, BILLING, key, action="document.reissue", target=f"document:{number}",
                  body={}, status=201,
                  run=lambda svc, now: _document(svc, settlement.reissue(svc, now, number)))


@router.post("/documents/{number}/apply-credit", tags=["documents"])
def apply_credit(ctx: Ctx, actor: Caller, request: Request, number: str, body: ApplyCreditIn,
                 key: IdempotencyKey = None) -> JSONResponse:
    """Settle an invoice (or part of it) from the customer's credit balance (CREDIT-INSUFFICIENT otherwise)."""
    def run(svc: Services, now: datetime) -> dict[str, Any]:
        settlement.apply_credit(svc, now, number, body.amount)
        return _document(svc, number)

    return mutate(ctx, request, actor, BILLING, key, action="document.apply-credit", target=f"document:{number}",
                  body=body.model_dump(), run=run)


# --- the customer's account --------------------------------------------------------------------------------------

@router.get("/customers/{ref}/credit", tags=["accounts"])
def credit(ctx: Ctx, actor: Caller, ref: str) -> dict[str, Any]:
    """The credit balance and its entries (over-payments, credit notes, uses, refunds)."""
    return _account(ctx.svc, actor, ref)


@router.post("/customers/{ref}/refund", tags=["accounts"])
def refund(ctx: Ctx, actor: Caller, request: Request, ref: str, body: RefundIn,
           key: IdempotencyKey = None) -> JSONResponse:
    """Pay back part or all of the credit balance (REFUND-EXCEEDS-CREDIT beyond it)."""
    def run(svc: Services, now: datetime) -> dict[str, Any]:
        settlement.refund_credit(svc, now, ref, body.amount, body.reference)
        return _account(svc, actor, ref)

    return mutate(ctx, request, actor, BILLING, key, action="account.refund", target=f"customer:{ref}",
                  body=body.model_dump(), run=run)


def statement_view(s: Statement) -> dict[str, Any]:
    return {"customer": s.customer, "as_of": s.as_of, "buckets": s.buckets, "open": s.open_total,
            "credit_balance": s.credit_balance, "balance_due": s.balance_due,
            "items": [{"number": a.item.number, "issue_date": a.item.issue_date, "due_date": a.item.due_date,
                       "total": a.item.total, "open": a.item.open, "days_past_due": a.days_past_due,
                       "bucket": a.bucket} for a in s.items]}


@router.get("/customers/{ref}/statement", tags=["accounts"])
def statement(ctx: Ctx, actor: Caller, ref: str,
              as_of: Annotated[date | None, Query(description="YYYY-MM-DD (default: today)")] = None
              ) -> dict[str, Any]:
    """Statement of account: open invoices aged 0–30 / 31–60 / 61–90 / 90+ days past due (D-DUNNING)."""
    require(actor, (*STAFF, Role.CUSTOMER))
    actor.scope(ref)
    day = as_of or ctx.svc.when(ctx.clock.now()).today
    return statement_view(statement_of_account(ctx.svc, ref, day))

