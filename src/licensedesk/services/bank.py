"""Bank deposits: import a statement file, match deposits to invoices, and work the unmatched queue.

Importing is atomic and idempotent: a bad row names its line and nothing is imported; a row
imported before is skipped (its import key). Each new deposit is matched automatically when it
can be (``domain.settlement.match_deposit``) and settles its invoices through the same payment
path as ``pay`` — so a paid annual-prepaid invoice starts provisioning exactly as it does there.
The engine sees the payment when it is recorded; the books use the bank's deposit date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from licensedesk.domain.errors import InvalidInput, NotFound
from licensedesk.domain.settlement import (
    Deposit,
    DepositStatus,
    Match,
    OpenInvoice,
    identify_payer,
    match_deposit,
    parse_deposits,
)

from . import lookups
from .context import Services
from .ports import UnitOfWork
from .settlement import CREDIT_REFERENCE
from .subscriptions import apply_payment


@dataclass
class ImportReport:
    read: int = 0
    duplicates: int = 0
    matched: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)


def decode_statement(data: bytes) -> str:
    """Bank files come as UTF-8 (with or without BOM) or Shift_JIS (cp932)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp932")


def import_deposits(svc: Services, now: datetime, text: str) -> ImportReport:
    return receive(svc, now, parse_deposits(text))


def receive(svc: Services, now: datetime, deposits: list[Deposit]) -> ImportReport:
    """Record new deposits in one transaction and match each one that can be matched."""
    report = ImportReport(read=len(deposits))
    with svc.uow() as uow:
        for deposit in deposits:
            deposit_id = uow.billing.add_deposit(deposit, now)
            if deposit_id is None:
                report.duplicates += 1
                continue
            found = _auto_match(uow, svc, now, deposit_id, deposit.amount, deposit.payer_kana, svc.start_of(deposit.on))
            entry = {"deposit": deposit_id, "line": deposit.line, "amount": deposit.amount,
                     "payer_kana": deposit.payer_kana, "customer": found.customer}
            if found.matched:
                report.matched.append({**entry, "invoices": found.invoices})
            else:
                report.unmatched.append({**entry, "reason": found.reason})
        uow.commit()
    return report


def _auto_match(uow: UnitOfWork, svc: Services, now: datetime, deposit_id: int, amount: int, payer: str,
                received: datetime) -> Match:
    customers = identify_payer(payer, uow.billing.customer_kana())
    customer = customers[0] if len(customers) == 1 else None
    if customer:
        uow.billing.lock_account(customer)
    open_invoices = [OpenInvoice(r["number"], r["customer_ref"], r["due_date"], r["issue_date"],
                                 r["total"] - r["paid_amount"]) for r in uow.billing.open_invoices(customer)
                     ] if customer else []
    credit = uow.billing.credit_balance(customer) if customer else 0
    found = match_deposit(amount, customers, open_invoices, credit)
    if found.matched:
        assert found.customer is not None
        _settle(uow, svc, now, _Receipt(deposit_id, amount, received), found.customer, found.invoices,
                found.use_credit)
    else:
        assert found.reason is not None
        uow.billing.resolve_deposit(deposit_id, DepositStatus.UNMATCHED, None, customer=found.customer,
                                    reason=found.reason.value)
    return found


@dataclass(frozen=True)
class _Receipt:
    deposit: int
    amount: int
    received: datetime  # 00:00 of the bank's deposit date


def _settle(uow: UnitOfWork, svc: Services, now: datetime, receipt: _Receipt, customer: str,
            numbers: list[str], use_credit: int) -> None:
    """Credit first, then the deposit, over the invoices in order; what is left is an over-payment."""
    deposit_id, cash, credit = receipt.deposit, receipt.amount, use_credit
    for number in numbers:
        doc = uow.billing.lock_document(number)
        assert doc is not None
        open_amount = doc["total"] - doc["paid_amount"]
        from_credit = min(credit, open_amount)
        if from_credit > 0:
            uow.billing.add_credit(customer, -from_credit, "applied", now, document=number)
            apply_payment(uow, svc, now, number, from_credit, CREDIT_REFERENCE)
            credit -= from_credit
        from_cash = min(cash, open_amount - from_credit)
        if from_cash > 0:
            apply_payment(uow, svc, now, number, from_cash, f"deposit:{deposit_id}", receipt.received)
            cash -= from_cash
    if cash > 0:
        uow.billing.add_credit(customer, cash, "overpayment", receipt.received, deposit=deposit_id,
                               document=numbers[-1] if numbers else None, reference=f"deposit:{deposit_id}")
    uow.billing.resolve_deposit(deposit_id, DepositStatus.MATCHED, now, customer=customer, documents=numbers)


def _unmatched(uow: UnitOfWork, deposit_id: int) -> dict[str, Any]:
    deposit = uow.billing.deposit(deposit_id)
    if deposit is None:
        raise NotFound(f"no deposit {deposit_id}", f"入金 {deposit_id} はありません", deposit=deposit_id)
    if deposit["status"] != DepositStatus.UNMATCHED.value:
        raise InvalidInput(f"deposit {deposit_id} is already {deposit['status']}",
                           f"入金 {deposit_id} は処理済みです（{deposit['status']}）", code="DEPOSIT-RESOLVED",
                           deposit=deposit_id, status=deposit["status"])
    return deposit


def match(svc: Services, now: datetime, deposit_id: int, numbers: list[str]) -> dict[str, Any]:
    """A person matches a queued deposit to invoices of one customer (oldest first; any rest is credit)."""
    if not numbers:
        raise InvalidInput("name at least one invoice", "請求書を指定してください", code="DEPOSIT-NO-INVOICE")
    with svc.uow() as uow:
        deposit = _unmatched(uow, deposit_id)
        docs = [uow.billing.lock_document(n) for n in numbers]
        missing = [n for n, d in zip(numbers, docs, strict=True) if d is None]
        if missing:
            raise NotFound(f"no document {missing[0]}", f"書類 {missing[0]} はありません", number=missing[0])
        customers = {d["customer_ref"] for d in docs if d is not None}
        if len(customers) != 1:
            raise InvalidInput("the invoices belong to different customers", "請求書のお客様が異なります",
                               code="DEPOSIT-CUSTOMERS", customers=sorted(customers))
        ordered = sorted((d for d in docs if d is not None), key=lambda d: (d["due_date"] or d["issue_date"], d["id"]))
        receipt = _Receipt(deposit_id, deposit["amount"], svc.start_of(deposit["deposit_date"]))
        _settle(uow, svc, now, receipt, customers.pop(), [d["number"] for d in ordered], 0)
        uow.commit()
        return {"deposit": deposit_id, "invoices": [d["number"] for d in ordered]}


def credit_to_customer(svc: Services, now: datetime, deposit_id: int, customer: str, note: str | None = None) -> int:
    """A queued deposit with no invoice to settle goes to the customer's credit balance; returns the balance."""
    with svc.uow() as uow:
        deposit = _unmatched(uow, deposit_id)
        lookups.customer(uow, customer)
        uow.billing.add_credit(customer, deposit["amount"], "deposit", svc.start_of(deposit["deposit_date"]),
                               deposit=deposit_id,
                               reference=f"deposit:{deposit_id}")
        uow.billing.resolve_deposit(deposit_id, DepositStatus.CREDITED, now, customer=customer, note=note)
        balance = uow.billing.credit_balance(customer)
        uow.commit()
        return balance


def return_to_payer(svc: Services, now: datetime, deposit_id: int, note: str) -> None:
    """A deposit that is not ours (wrong recipient) leaves the queue as returned."""
    with svc.uow() as uow:
        _unmatched(uow, deposit_id)
        uow.billing.resolve_deposit(deposit_id, DepositStatus.RETURNED, now, note=note)
        uow.commit()


def deposits(svc: Services, status: str | None = None) -> list[dict[str, Any]]:
    with svc.uow() as uow:
        return uow.billing.deposits(status)
