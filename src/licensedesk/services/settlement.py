"""Corrections and credit: void, re-issue, using and refunding a customer's credit balance.

Issued documents are never edited. The only corrections are a void (with a reason) followed by a
re-issue under a new number, and credit notes (D-DOC-IMMUTABLE). A document with any payment cannot
be voided: it is corrected by a credit note. A credit balance comes from over-payments and credit
notes; it can settle invoices or be refunded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from licensedesk.domain.billing import DocumentKind, DocumentStatus
from licensedesk.domain.errors import InvalidInput
from licensedesk.domain.explain import Explanation
from licensedesk.domain.subscription import ChargeLine, LineKind, Notice

from . import documents, lookups
from .context import Services
from .ports import UnitOfWork
from .subscriptions import apply_payment

ENGINE_VOIDS = ("BILL-NONPAY-STOP",)  # voids the engine decided; a person cannot re-issue them
CREDIT_REFERENCE = "credit-balance"


def _locked(uow: UnitOfWork, number: str) -> dict[str, Any]:
    return lookups.document(uow, number, lock=True)


def void(svc: Services, now: datetime, number: str, reason: str) -> dict[str, Any]:
    """Void an issued document that nothing was paid on; a credit note also leaves the credit balance."""
    if not reason.strip():
        raise InvalidInput("a void needs a reason", "取消理由を入力してください", code="VOID-REASON")
    with svc.uow() as uow:
        doc = _locked(uow, number)
        if doc["status"] == DocumentStatus.VOID.value:
            raise InvalidInput(f"{number} is already void", f"{number} は既に無効です", code="DOC-VOID", number=number)
        if doc["status"] == DocumentStatus.PAID.value or doc["paid_amount"] > 0:
            raise InvalidInput(f"{number} has payments ({doc['paid_amount']:,} yen): correct it with a credit note",
                               f"{number} は入金済み（{doc['paid_amount']:,} 円）のため取り消せません。返還請求書で訂正してください",
                               code="DOC-PAID", number=number, paid=doc["paid_amount"])
        if doc["kind"] == DocumentKind.CREDIT_NOTE.value:
            _take_back_credit_note(uow, doc, now)
        uow.billing.void(number, now, reason.strip())
        uow.notices.add(Notice("document_voided", number, svc.when(now).today, "DOC-VOID", {"reason": reason}),
                        doc["customer_ref"], now)
        uow.commit()
        return {**doc, "status": DocumentStatus.VOID.value, "void_reason": reason.strip()}


def _take_back_credit_note(uow: UnitOfWork, doc: dict[str, Any], now: datetime) -> None:
    from .credit_notes import allocated_from

    credit = -doc["total"]
    uow.billing.lock_account(doc["customer_ref"])
    if allocated := allocated_from(uow, doc["customer_ref"], doc["number"]):
        raise InvalidInput(f"credit note {doc['number']} settled {allocated:,} yen of invoices: it cannot be voided",
                           f"返還請求書 {doc['number']} は請求書に {allocated:,} 円充当済みのため取り消せません",
                           code="CN-ALLOCATED", number=doc["number"], allocated=allocated)
    balance = uow.billing.credit_balance(doc["customer_ref"])
    if balance < credit:
        raise InvalidInput(f"credit note {doc['number']} was already used ({balance:,} yen of {credit:,} left)",
                           f"返還請求書 {doc['number']} の残高は既に使用されています（残 {balance:,} 円／{credit:,} 円）",
                           code="CREDIT-USED", number=doc["number"], balance=balance)
    uow.billing.add_credit(doc["customer_ref"], -credit, "credit_note_void", now, document=doc["number"])


def reissue(svc: Services, now: datetime, number: str) -> str:
    """Issue the lines of a void document again, today, under a new number; the due date is kept."""
    with svc.uow() as uow:
        doc = lookups.document(uow, number)
        if doc["status"] != DocumentStatus.VOID.value:
            raise InvalidInput(f"{number} is not void: void it first", f"{number} は無効化されていません",
                               code="DOC-NOT-VOID", number=number)
        if doc["void_reason"] in ENGINE_VOIDS or uow.billing.replacement_of(number):
            raise InvalidInput(f"{number} cannot be re-issued ({doc['void_reason']}, or re-issued already)",
                               f"{number} は再発行できません", code="DOC-REISSUE", number=number)
        lines = [charge_line(row) for row in doc["lines"]]
        uow.billing.release_charge_keys(number)
        sub = uow.subscriptions.get(lines[0].subscription)
        policy = sub.policy if sub else svc.policy(None)
        new = documents.issue(uow, doc["customer_ref"], svc.when(now).today, lines, policy, now, doc["due_date"])
        assert new is not None, "the released charges are billable again"
        uow.billing.set_replaces(new, number)
        uow.commit()
        return new


def charge_line(row: dict[str, Any]) -> ChargeLine:
    """A stored line back as the charge it billed (same key: the engine still recognises it when paid)."""
    why = row["explanation"] or {}
    formula = why.get("formula", {})
    explanation = Explanation(why.get("rule", row["rule"]), formula.get("en", ""), formula.get("ja", ""),
                              why.get("inputs", {}))
    return ChargeLine(row["subscription_ref"], LineKind(row["kind"]), row["quantity"], row["unit_amount"],
                      row["period_start"], row["period_end"], row["charge_key"], explanation)


def apply_credit(svc: Services, now: datetime, number: str, amount: int | None = None) -> dict[str, Any]:
    """Settle an invoice (or part of it) from the customer's credit balance, as a payment."""
    with svc.uow() as uow:
        doc = _locked(uow, number)
        uow.billing.lock_account(doc["customer_ref"])
        balance = uow.billing.credit_balance(doc["customer_ref"])
        use = min(balance, doc["total"] - doc["paid_amount"]) if amount is None else amount
        if use <= 0 or use > balance or use > doc["total"] - doc["paid_amount"]:
            raise InvalidInput(f"cannot use {use:,} yen of a {balance:,} yen credit balance on {number}",
                               f"{number} に残高 {balance:,} 円から {use:,} 円を充当できません",
                               code="CREDIT-INSUFFICIENT", balance=balance, amount=use)
        uow.billing.add_credit(doc["customer_ref"], -use, "applied", now, document=number)
        result = apply_payment(uow, svc, now, number, use, CREDIT_REFERENCE)
        uow.commit()
        return result


def refund_credit(svc: Services, now: datetime, customer: str, amount: int, reference: str | None = None) -> int:
    """Pay back (part of) a customer's credit balance; returns the balance left."""
    with svc.uow() as uow:
        lookups.customer(uow, customer)
        uow.billing.lock_account(customer)
        balance = uow.billing.credit_balance(customer)
        if amount <= 0 or amount > balance:
            raise InvalidInput(f"cannot refund {amount:,} yen: the credit balance is {balance:,} yen",
                               f"残高 {balance:,} 円を超える {amount:,} 円は返金できません",
                               code="REFUND-EXCEEDS-CREDIT", balance=balance, amount=amount)
        uow.billing.add_credit(customer, -amount, "refund", now, reference=reference)
        uow.notices.add(Notice("credit_refunded", customer, svc.when(now).today, "DOC-REFUND",
                               {"amount": amount}), customer, now)
        uow.commit()
        return balance - amount


def set_name_kana(svc: Services, customer: str, name_kana: str) -> None:
    with svc.uow() as uow:
        lookups.customer(uow, customer)
        uow.billing.set_name_kana(customer, name_kana.strip() or None)
        uow.commit()
