"""``licensedesk subscription …``: order, change and inspect subscriptions from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from . import cli_common as common

app = typer.Typer(help="Subscriptions: order, change, cancel, explain", no_args_is_help=True)


def _view(sub: Any) -> dict[str, Any]:
    from licensedesk.domain.dates import explain_dates

    return {
        "ref": sub.ref, "customer": sub.customer, "offer": sub.offer, "policy": sub.policy.binding,
        "status": sub.status.value, "term": sub.term.value, "billing": sub.billing.value, "quantity": sub.quantity,
        "next_term_quantity": sub.next_term_quantity, "unit_price": sub.unit_price, "auto_renew": sub.auto_renew,
        "term_start": sub.term_start, "term_end": sub.term_end, "next_due": sub.next_due,
        "explain": {k: v.as_dict() for k, v in explain_dates(sub).items()},
    }


@app.command("list")
def list_subscriptions(customer: Annotated[str | None, typer.Option(help="only this customer")] = None) -> None:
    """List subscriptions with status, term and quantity."""
    svc = common.services()
    with svc.uow() as uow:
        subs = uow.subscriptions.for_customer(customer) if customer else uow.subscriptions.all()
    for s in subs:
        typer.echo(f"{s.ref:<14} {s.customer:<12} {s.offer:<24} {s.term.value}/{s.billing.value:<9} ×{s.quantity:<5} "
                   f"{s.status.value:<16} {s.term_start or '—'} … {s.term_end or '—'}  auto-renew "
                   f"{'on' if s.auto_renew else 'off'}")


@app.command()
def show(ref: str) -> None:
    """A subscription as JSON, with the rule and formula behind each date, and its event history."""
    svc = common.services()
    with svc.uow() as uow:
        sub = uow.subscriptions.get(ref)
        if sub is None:
            typer.echo(f"no subscription {ref}", err=True)
            raise typer.Exit(1)
        events = uow.subscriptions.events(ref)
    common.print_json({**_view(sub), "events": events})


@app.command()
def order(
    ref: str, tenant: str, offer: str,
    term: Annotated[str, typer.Option(help="P1M, P1Y or P3Y")] = "P1Y",
    billing: Annotated[str, typer.Option(help="monthly, annual, triennial, upfront")] = "monthly",
    quantity: Annotated[int, typer.Option(min=1)] = 1,
    policy: Annotated[str | None, typer.Option(help="policy preset (default from settings)")] = None,
    auto_renew: Annotated[bool | None, typer.Option("--auto-renew/--no-auto-renew")] = None,
    align_with: Annotated[str | None, typer.Option(help="align the end date with this subscription")] = None,
    calendar_month: Annotated[bool, typer.Option(help="end the first term at a month end")] = False,
    ordering_party: Annotated[str | None, typer.Option(help="parent ordering for its affiliate (ELIG-GROUP)")]
    = None,
    migrate: Annotated[bool, typer.Option(help="moving an existing tenant in (ORD-MIGRATE)")] = False,
) -> None:
    """Place an order (issues its invoice at once where the preset says so)."""
    from licensedesk.services import party_orders

    svc = common.services()
    sub = common.run(lambda: party_orders.order(
        svc, common.now(), ref=ref, tenant=tenant, offer=offer, term=term, billing=billing, quantity=quantity,
        policy=policy, auto_renew=auto_renew, align_with=align_with, align_calendar_month=calendar_month,
        ordering_party=ordering_party, migrate=migrate))
    common.print_json(_view(sub))


@app.command("change-quantity")
def change_quantity(ref: str, quantity: int,
                    at_renewal: Annotated[bool, typer.Option(help="schedule it for the next term")] = False) -> None:
    """Change the seat count now (per the preset's rules) or for the renewal."""
    from licensedesk.services import subscriptions

    svc = common.services()
    common.print_json(_view(common.run(lambda: subscriptions.change_quantity(
        svc, common.now(), ref, quantity, at_renewal=at_renewal))))


@app.command("auto-renew")
def auto_renew(ref: str, enabled: Annotated[bool, typer.Argument(help="true or false")]) -> None:
    """Turn auto-renew on or off (refused after the opt-out / reduction deadline)."""
    from licensedesk.services import subscriptions

    svc = common.services()
    common.print_json(_view(common.run(lambda: subscriptions.set_auto_renew(svc, common.now(), ref, enabled))))


@app.command("change-billing")
def change_billing(ref: str, billing: str) -> None:
    """Change the billing frequency (only P3Y monthly ↔ annual under mca-nce, from the next cycle)."""
    from licensedesk.services import subscriptions

    svc = common.services()
    common.print_json(_view(common.run(lambda: subscriptions.change_billing(svc, common.now(), ref, billing))))


@app.command()
def cancel(ref: str) -> None:
    """Cancel (mca-nce: inside 168 h; monthly-prorated: at month end; annual-prepaid: for the next term)."""
    from licensedesk.services import subscriptions

    svc = common.services()
    common.print_json(_view(common.run(lambda: subscriptions.cancel(svc, common.now(), ref))))


@app.command()
def activate(ref: str) -> None:
    """Mark provisioning done (annual-prepaid): the term starts today."""
    from licensedesk.services import subscriptions

    svc = common.services()
    common.print_json(_view(common.run(lambda: subscriptions.activate(svc, common.now(), ref))))


@app.command()
def suspend(ref: str) -> None:
    """Suspend (still billed; auto-renew off)."""
    from licensedesk.services import subscriptions

    svc = common.services()
    common.print_json(_view(common.run(lambda: subscriptions.suspend(svc, common.now(), ref))))


@app.command()
def reactivate(ref: str) -> None:
    """Reactivate a suspended subscription before its term end."""
    from licensedesk.services import subscriptions

    svc = common.services()
    common.print_json(_view(common.run(lambda: subscriptions.reactivate(svc, common.now(), ref))))
