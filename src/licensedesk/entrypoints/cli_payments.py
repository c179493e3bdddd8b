"""``licensedesk bank …``: import bank deposits, and work the queue of deposits that did not match."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from . import cli_common as common

bank_app = typer.Typer(help="Bank deposits: import (CSV date,amount,payer kana), unmatched queue, manual matching",
                       no_args_is_help=True)


def _deposit(d: dict[str, Any]) -> str:
    return (f"#{d['id']:<5} {d['deposit_date']}  {d['amount']:>12,}  {d['payer_kana']:<24} {d['status']:<9} "
            f"{d['reason'] or '':<16} {d['customer_ref'] or ''}  {' '.join(d['documents'])}")


@bank_app.command("import")
def import_file(file: Annotated[Path, typer.Argument(help="CSV: date,amount,payer (UTF-8 or Shift_JIS)")]) -> None:
    """Import deposits (all or nothing; rows seen before are skipped) and match what can be matched."""
    from licensedesk.services.bank import decode_statement, import_deposits

    svc = common.services()
    try:
        text = decode_statement(file.read_bytes())
    except OSError as exc:
        typer.echo(f"{file}: cannot read: {exc}", err=True)
        raise typer.Exit(2) from None
    report = common.run(lambda: import_deposits(svc, common.now(), text))
    typer.echo(f"{report.read} rows: {len(report.matched)} matched, {len(report.unmatched)} to the queue, "
               f"{report.duplicates} already imported")
    for m in report.matched:
        typer.echo(f"  matched  #{m['deposit']} line {m['line']} {m['amount']:,} {m['payer_kana']} → "
                   f"{m['customer']}: {', '.join(m['invoices'])}")
    for u in report.unmatched:
        typer.echo(f"  queued   #{u['deposit']} line {u['line']} {u['amount']:,} {u['payer_kana']}: {u['reason']}"
                   + (f" (customer {u['customer']})" if u["customer"] else ""))


@bank_app.command()
def queue(show_all: Annotated[bool, typer.Option("--all", help="every deposit, not only unmatched")] = False) -> None:
    """Deposits waiting for a person (with the reason), or all deposits."""
    from licensedesk.services.bank import deposits

    for d in deposits(common.services(), None if show_all else "unmatched"):
        typer.echo(_deposit(d))


@bank_app.command()
def match(deposit: int, invoices: Annotated[list[str], typer.Argument(help="invoice numbers")]) -> None:
    """Apply a queued deposit to invoices of one customer, oldest first; any rest becomes credit."""
    from licensedesk.services.bank import match as match_deposit

    svc = common.services()
    done = common.run(lambda: match_deposit(svc, common.now(), deposit, invoices))
    typer.echo(f"deposit #{deposit} → {', '.join(done['invoices'])}")


@bank_app.command()
def credit(deposit: int, customer: str, note: Annotated[str | None, typer.Option()] = None) -> None:
    """Book a queued deposit to a customer's credit balance (no invoice to settle yet)."""
    from licensedesk.services.bank import credit_to_customer

    svc = common.services()
    balance = common.run(lambda: credit_to_customer(svc, common.now(), deposit, customer, note))
    typer.echo(f"deposit #{deposit} → credit of {customer}; balance {balance:,}")


@bank_app.command("return")
def return_deposit(deposit: int, note: Annotated[str, typer.Option(help="why it is sent back")]) -> None:
    """A deposit that is not ours leaves the queue as returned to the payer."""
    from licensedesk.services.bank import return_to_payer

    svc = common.services()
    common.run(lambda: return_to_payer(svc, common.now(), deposit, note))
    typer.echo(f"deposit #{deposit}: returned")
