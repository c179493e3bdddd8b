"""``licensedesk invoice …``, ``account …`` and ``accounting …``: documents, customer accounts, the journal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from . import cli_common as common

invoice_app = typer.Typer(help="Invoices and credit notes (適格請求書): list, show, PDF, pay, void, re-issue",
                          no_args_is_help=True)
account_app = typer.Typer(help="Customer accounts: statement, credit balance, refunds", no_args_is_help=True)
accounting_app = typer.Typer(help="Accounting export (仕訳 CSV)", no_args_is_help=True)
credit_note_app = typer.Typer(help="Credit notes (適格返還請求書): allocate to invoices, list allocations",
                              no_args_is_help=True)


def _line(doc: dict[str, Any]) -> str:
    return (f"{doc['number']:<18} {doc['kind']:<12} {doc['customer_ref']:<12} {doc['issue_date']}  "
            f"due {doc['due_date'] or '—'!s:<10}  {doc['status']:<7} total {doc['total']:>12,}  "
            f"paid {doc['paid_amount']:>12,}")


# ------------------------------------------------------------------ invoice
@invoice_app.command("list")
def list_documents(
    customer: Annotated[str | None, typer.Option(help="only this customer")] = None,
    status: Annotated[str | None, typer.Option(help="issued, paid or void")] = None,
) -> None:
    """Issued documents, oldest first."""
    svc = common.services()
    with svc.uow() as uow:
        docs = uow.documents.list(customer)
    for doc in docs:
        if status is None or doc["status"] == status:
            typer.echo(_line(doc))


@invoice_app.command()
def show(number: str) -> None:
    """A document as JSON: lines, tax per rate, totals, payments, and the document it re-issues."""
    from licensedesk.services.printing import get_document

    svc = common.services()
    with svc.uow() as uow:
        doc = common.run(lambda: get_document(uow, number))
        doc["payments"] = uow.billing.payments_of(number)
        doc["reissued_as"] = uow.billing.replacement_of(number)
    common.print_json(doc)


@invoice_app.command()
def pdf(
    number: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="PDF file to write")],
) -> None:
    """Write the document as an A4 PDF (Japanese qualified-invoice layout, embedded font)."""
    from licensedesk.bootstrap import issuer, pdf_renderer
    from licensedesk.services.printing import render_pdf

    config = common.settings()
    svc = common.services()
    data = common.run(lambda: render_pdf(svc, number, issuer(config), pdf_renderer(config)))
    output.write_bytes(data)
    typer.echo(f"{number}: {output} ({len(data):,} bytes)")


@invoice_app.command()
def pay(number: str, amount: Annotated[int | None, typer.Option(help="yen (default: what is open)")] = None) -> None:
    """Record a payment; an over-payment goes to the customer's credit balance."""
    from licensedesk.services.subscriptions import pay as record

    svc = common.services()
    doc = common.run(lambda: record(svc, common.now(), number, amount))
    typer.echo(f"{number}: {doc['status']}, paid {doc['paid_amount']:,} of {doc['total']:,}"
               + (f", {doc['credited']:,} to the credit balance" if doc.get("credited") else ""))


@invoice_app.command()
def void(number: str, reason: Annotated[str, typer.Option(help="why (kept with the document)")]) -> None:
    """Void an issued document nothing was paid on (then re-issue it, or correct it with a credit note)."""
    from licensedesk.services.settlement import void as void_document

    svc = common.services()
    common.run(lambda: void_document(svc, common.now(), number, reason))
    typer.echo(f"{number}: void ({reason})")


@invoice_app.command()
def reissue(number: str) -> None:
    """Issue a void document's lines again under a new number (same due date)."""
    from licensedesk.services.settlement import reissue as reissue_document

    svc = common.services()
    new = common.run(lambda: reissue_document(svc, common.now(), number))
    typer.echo(f"{number} re-issued as {new}")


# ------------------------------------------------------------------ account
@account_app.command()
def statement(
    customer: str,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: today)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Statement of account: open invoices aged 0–30 / 31–60 / 61–90 / 90+ days past due."""
    from licensedesk.services.dunning import statement_of_account

    svc = common.services()
    day = common.day(as_of, "--as-of") or svc.when(common.now()).today
    s = common.run(lambda: statement_of_account(svc, customer, day))
    if as_json:
        common.print_json({"customer": s.customer, "as_of": s.as_of, "buckets": s.buckets, "open": s.open_total,
                           "credit_balance": s.credit_balance, "balance_due": s.balance_due,
                           "items": [{"number": a.item.number, "issue_date": a.item.issue_date,
                                      "due_date": a.item.due_date, "total": a.item.total, "open": a.item.open,
                                      "days_past_due": a.days_past_due, "bucket": a.bucket} for a in s.items],
                           "credit_note_allocations": [{"date": x.on, "credit_note": x.credit_note,
                                                        "invoice": x.invoice, "amount": x.amount}
                                                       for x in s.allocations]})
        return
    typer.echo(f"Statement of account — {s.customer}, as of {s.as_of}")
    for a in s.items:
        typer.echo(f"  {a.item.number:<18} issued {a.item.issue_date} due {a.item.due_date or '—'}  "
                   f"open {a.item.open:>12,}  {a.days_past_due:>4} days  [{a.bucket}]")
    typer.echo("  " + "  ".join(f"{k}: {v:,}" for k, v in s.buckets.items()))
    typer.echo(f"  open {s.open_total:,}  credit balance {s.credit_balance:,}  balance due {s.balance_due:,}")
    if s.allocations:
        typer.echo("  Credit notes applied to invoices (返還請求書の充当)")
        for x in s.allocations:
            typer.echo(f"    {x.on}  {x.credit_note:<18} → {x.invoice:<18} {x.amount:>12,}")


@account_app.command()
def credit(customer: str) -> None:
    """The customer's credit balance and its entries (over-payments, credit notes, uses, refunds)."""
    svc = common.services()
    with svc.uow() as uow:
        entries = uow.billing.credits(customer)
        balance = uow.billing.credit_balance(customer)
    for e in entries:
        typer.echo(f"  {e['at']:%Y-%m-%d}  {e['kind']:<18} {e['amount']:>12,}  {e['document_number'] or ''}")
    typer.echo(f"credit balance of {customer}: {balance:,}")


@account_app.command()
def refund(customer: str, amount: int,
           reference: Annotated[str | None, typer.Option(help="e.g. the bank transfer reference")] = None) -> None:
    """Pay back part or all of a customer's credit balance."""
    from licensedesk.services.settlement import refund_credit

    svc = common.services()
    left = common.run(lambda: refund_credit(svc, common.now(), customer, amount, reference))
    typer.echo(f"refunded {amount:,} to {customer}; credit balance {left:,}")


@account_app.command("apply-credit")
def apply_credit(number: str, amount: Annotated[int | None, typer.Option(help="yen (default: all it can)")] = None
                 ) -> None:
    """Settle an invoice from the customer's credit balance."""
    from licensedesk.services.settlement import apply_credit as use_credit

    svc = common.services()
    doc = common.run(lambda: use_credit(svc, common.now(), number, amount))
    typer.echo(f"{number}: {doc['status']}, paid {doc['paid_amount']:,} of {doc['total']:,}")


@account_app.command()
def kana(customer: str, name_kana: str) -> None:
    """Set the name the customer's bank transfers carry (e.g. ｶ)ｱｸﾒ), for deposit matching."""
    from licensedesk.services.settlement import set_name_kana

    svc = common.services()
    common.run(lambda: set_name_kana(svc, customer, name_kana))
    typer.echo(f"{customer}: name_kana {name_kana}")


# ------------------------------------------------------------------ credit notes
@credit_note_app.command("apply")
def credit_note_apply(
    credit_note: Annotated[str, typer.Argument(help="the credit note, e.g. CN-2026-000004")],
    invoice: Annotated[str, typer.Option("--to", help="an open invoice of the same customer")],
    amount: Annotated[int | None, typer.Option(help="yen (default: all it can)")] = None,
) -> None:
    """Allocate what is left of a credit note to another open invoice of the same customer (D-CN-ALLOCATE)."""
    from licensedesk.services.credit_notes import apply

    svc = common.services()
    done = common.run(lambda: apply(svc, common.now(), credit_note, invoice, amount))
    typer.echo(f"{credit_note} → {invoice}: {done['allocated']:,} applied; {invoice} {done['status']}, "
               f"paid {done['paid_amount']:,} of {done['total']:,}; {done['unallocated']:,} left on {credit_note}")


@credit_note_app.command("allocations")
def credit_note_allocations(customer: Annotated[str | None, typer.Option(help="only this customer")] = None) -> None:
    """Every allocation of a credit note to an invoice, oldest first."""
    from licensedesk.services.credit_notes import allocations

    svc = common.services()
    with svc.uow() as uow:
        found = allocations(uow, svc, customer)
    for x in found:
        typer.echo(f"{x.on}  {x.credit_note:<18} → {x.invoice:<18} {x.amount:>12,}")


# ------------------------------------------------------------------ accounting
@accounting_app.command("export")
def export_journal(
    first: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    last: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD (inclusive)")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV file (default: standard output)")]
    = None,
) -> None:
    """Journal CSV of the period: documents, voids, payments, refunds (docs/accounting-export.md)."""
    from licensedesk.services.accounting import journal, journal_csv

    svc = common.services()
    start, end = common.day(first, "--from"), common.day(last, "--to")
    assert start is not None and end is not None
    text = journal_csv(common.run(lambda: journal(svc, start, end)))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"{output}: {text.count(chr(10)) - 1} rows")
