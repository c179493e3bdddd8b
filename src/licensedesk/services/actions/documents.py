"""Scenario actions of issue 4: corrections, bank deposits, credit balances (fields only ever added).

| Action | Fields |
|---|---|
| ``void`` | ``invoice`` (``last``, ``documents[i]`` or a number), ``reason`` |
| ``reissue`` | ``invoice`` (a void document) |
| ``bank_deposit`` | ``amount``, ``payer_kana``, optional ``date`` (default: the clock's date) |
| ``match_deposit`` | ``deposit`` (index in ``deposits``), ``invoice`` (one, or a list) |
| ``credit_deposit`` | ``deposit``, ``customer`` |
| ``apply_credit`` | ``invoice``, optional ``amount`` |
| ``refund`` | ``customer``, ``amount`` |
| ``apply_credit_note`` | ``credit_note`` (``last`` = the latest credit note, ``documents[i]`` or a number), ``invoice``, optional ``amount`` |

The report gains ``deposits`` (in arrival order), ``credit_balances`` (per customer) and
``credit_allocations`` (credit notes applied to invoices, D-CN-ALLOCATE).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from licensedesk.domain.errors import DomainError
from licensedesk.domain.settlement import Deposit, normalise_kana
from licensedesk.services import bank, credit_notes, settlement

from .base import Run, action
from .core import invoice_number


def _void(run: Run, f: Mapping[str, Any]) -> None:
    settlement.void(run.svc, run.clock.now(), invoice_number(run, f["invoice"]), str(f["reason"]))


def _reissue(run: Run, f: Mapping[str, Any]) -> None:
    settlement.reissue(run.svc, run.clock.now(), invoice_number(run, f["invoice"]))


def _day(value: Any, run: Run) -> date:
    if value is None:
        return run.svc.when(run.clock.now()).today
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _bank_deposit(run: Run, f: Mapping[str, Any]) -> None:
    on, amount, payer = _day(f.get("date"), run), int(f["amount"]), str(f["payer_kana"])
    with run.svc.uow() as uow:
        arrived = len(uow.billing.deposits())
    key = f"{on.isoformat()}|{amount}|{normalise_kana(payer)}|scenario-{arrived + 1}"
    bank.receive(run.svc, run.clock.now(), [Deposit(on, amount, payer, 0, key)])


def _deposit_id(run: Run, ref: Any) -> int:
    """``deposits[i]`` or ``i``: the i-th deposit in arrival order."""
    text = str(ref).removeprefix("deposits[").removesuffix("]")
    with run.svc.uow() as uow:
        ids = [d["id"] for d in uow.billing.deposits()]
    if not text.isdigit() or int(text) >= len(ids):
        raise DomainError(f"there is no deposits[{text}] yet", f"deposits[{text}] はまだありません")
    return int(ids[int(text)])


def _match_deposit(run: Run, f: Mapping[str, Any]) -> None:
    refs = f["invoice"] if isinstance(f["invoice"], list) else [f["invoice"]]
    bank.match(run.svc, run.clock.now(), _deposit_id(run, f["deposit"]), [invoice_number(run, r) for r in refs])


def _credit_deposit(run: Run, f: Mapping[str, Any]) -> None:
    bank.credit_to_customer(run.svc, run.clock.now(), _deposit_id(run, f["deposit"]), str(f["customer"]))


def _apply_credit(run: Run, f: Mapping[str, Any]) -> None:
    settlement.apply_credit(run.svc, run.clock.now(), invoice_number(run, f["invoice"]), f.get("amount"))


def _apply_credit_note(run: Run, f: Mapping[str, Any]) -> None:
    ref = f["credit_note"]
    if ref == "last":
        with run.svc.uow() as uow:
            ref = uow.documents.latest_number("credit_note")
        if ref is None:
            raise DomainError("there is no credit note yet", "返還請求書がまだありません")
    credit_notes.apply(run.svc, run.clock.now(), invoice_number(run, ref), invoice_number(run, f["invoice"]),
                       f.get("amount"))


def _refund(run: Run, f: Mapping[str, Any]) -> None:
    settlement.refund_credit(run.svc, run.clock.now(), str(f["customer"]), int(f["amount"]))


CUSTOMER = {"customer": "customer"}

ACTIONS = [
    action("void", "invoice reason", "", _void),
    action("reissue", "invoice", "", _reissue),
    action("bank_deposit", "amount payer_kana", "date", _bank_deposit, integers="amount"),
    action("match_deposit", "deposit invoice", "", _match_deposit),
    action("credit_deposit", "deposit customer", "", _credit_deposit, references=CUSTOMER),
    action("apply_credit", "invoice", "amount", _apply_credit, integers="amount"),
    action("refund", "customer amount", "", _refund, references=CUSTOMER, integers="amount"),
    action("apply_credit_note", "credit_note invoice", "amount", _apply_credit_note, integers="amount"),
]


def report(uow: Any, scenario: Any) -> dict[str, Any]:
    deposits = [{"date": d["deposit_date"].isoformat(), "amount": d["amount"], "payer_kana": d["payer_kana"],
                 "status": d["status"], "reason": d["reason"], "customer": d["customer_ref"],
                 "invoices": list(d["documents"])} for d in uow.billing.deposits()]
    applied = [{"credit_note": e["reference"], "invoice": e["document_number"], "amount": -e["amount"]}
               for e in uow.billing.credits() if e["kind"] == credit_notes.APPLIED]
    return {"deposits": deposits, "credit_balances": uow.billing.credit_balances(), "credit_allocations": applied}
