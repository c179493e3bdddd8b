"""``licensedesk customer …`` / ``tenant …`` / ``transfer …``: the parties' commands (issue 5).

Thin: parse, call a handler with one clock reading, print JSON. A refusal raises a ``DomainError``,
which ``cli.main`` prints as ``CODE: message`` with exit code 1.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from . import cli_common as common

app = typer.Typer(no_args_is_help=True)  # merged into the main app: its groups become top-level commands
customer_app = typer.Typer(help="Customers, eligibility and onboarding (RULES.md §1, §2)", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants, VL licences and licence assignments (RULES.md §1)", no_args_is_help=True)
transfer_app = typer.Typer(help="Reseller relationships, delegated admin and transfer plans (RULES.md §6)",
                           no_args_is_help=True)
app.add_typer(customer_app, name="customer")
app.add_typer(tenant_app, name="tenant")
app.add_typer(transfer_app, name="transfer")


def _services() -> Any:
    return common.services()


def _now() -> datetime:
    return common.now()


def _print(value: Any) -> None:
    common.print_json(value)


def _section(svc: Any, name: str, ref: str | None = None) -> None:
    from licensedesk.services.party_views import sections

    with svc.uow() as uow:
        found = sections(uow, svc.zone)[name]
    if ref is None:
        _print(found)
    elif ref in found:
        _print(found[ref])
    else:
        typer.echo(f"NOT-FOUND: no {name[:-1].replace('_', ' ')} {ref}", err=True)
        raise typer.Exit(1)


def _contact(text: str) -> dict[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3):
        raise typer.BadParameter("a contact is NAME,EMAIL[,ROLE]")
    return dict(zip(("name", "email", "role"), parts, strict=False))


@customer_app.command("add")
def customer_add(
    ref: str, name: str,
    entity: Annotated[str, typer.Option(help="corporation, sole_proprietor or individual")] = "corporation",
    country: Annotated[str, typer.Option(help="ISO country code")] = "JP",
    segment: Annotated[str, typer.Option(help="commercial, education or government")] = "commercial",
    corporate_number: Annotated[str | None, typer.Option(help="法人番号, 13 digits (check digit verified)")] = None,
    parent: Annotated[str | None, typer.Option(help="parent company's ref (group structure)")] = None,
    ownership: Annotated[float | None, typer.Option(help="parent's share of the capital, percent")] = None,
    purpose: Annotated[str, typer.Option(help="end_use or resale (resale is refused: ELIG-NO-RESALE)")] = "end_use",
    postal_code: Annotated[str | None, typer.Option(help="address: 〒 100-0001")] = None,
    prefecture: Annotated[str, typer.Option(help="address: 都道府県")] = "",
    city: Annotated[str, typer.Option(help="address: 市区町村")] = "",
    line1: Annotated[str, typer.Option(help="address: street")] = "",
    line2: Annotated[str, typer.Option(help="address: building")] = "",
    contact: Annotated[list[str] | None, typer.Option(help="NAME,EMAIL[,ROLE], repeatable")] = None,
) -> None:
    """Register a customer (ELIG-CORP, ELIG-DOMESTIC, ELIG-NO-RESALE)."""
    from licensedesk.services.parties import register_customer

    svc = _services()
    address = None if postal_code is None else {"postal_code": postal_code, "prefecture": prefecture, "city": city,
                                                "line1": line1, "line2": line2}
    register_customer(svc, _now(), ref=ref, name=name, entity=entity, country=country, segment=segment,
                      corporate_number=corporate_number, parent=parent, ownership_percent=ownership,
                      purpose=purpose, address=address, contacts=[_contact(c) for c in contact or []])
    _section(svc, "customers", ref)


@customer_app.command("show")
def customer_show(ref: Annotated[str | None, typer.Argument(help="a customer ref; all when omitted")] = None) -> None:
    """Print a customer (or all) with address, contacts and group structure."""
    _section(_services(), "customers", ref)


@customer_app.command("apply")
def customer_apply(customer: str, application: str) -> None:
    """Record an application form received now; the store login is due in 2 business days (ONB-APPLY)."""
    from licensedesk.services.onboarding import apply

    svc = _services()
    apply(svc, _now(), ref=application, customer=customer)
    _section(svc, "applications", application)


@customer_app.command("issue-login")
def customer_issue_login(
    application: str, login_id: Annotated[str | None, typer.Option(help="store login ID")] = None,
    contract_start: Annotated[str | None, typer.Option(help="contract start date YYYY-MM-DD (default today)")] = None,
) -> None:
    """Issue the store login and send the activation notice with the contract start date (ONB-APPLY)."""
    from licensedesk.services.onboarding import issue_login

    svc = _services()
    start = None if contract_start is None else date.fromisoformat(contract_start)
    issue_login(svc, _now(), application=application, login_id=login_id, contract_start=start)
    _section(svc, "applications", application)


@customer_app.command("reissue-activation")
def customer_reissue(application: str) -> None:
    """Re-issue the activation notice (ONB-REISSUE)."""
    from licensedesk.services.onboarding import reissue_activation

    svc = _services()
    reissue_activation(svc, _now(), application=application)
    _section(svc, "applications", application)


@tenant_app.command("add")
def tenant_add(
    ref: str, customer: str, domain: str,
    country: Annotated[str, typer.Option(help="the tenant's country (TEN-REGION)")] = "JP",
    origin: Annotated[str, typer.Option(help="csp, direct, open, trial, ea or other_partner_csp")] = "csp",
    syndication: Annotated[bool, typer.Option(help="under a syndication agreement")] = False,
    vl_licences: Annotated[bool, typer.Option(help="also holds volume-licensing licences (TEN-MIX)")] = False,
) -> None:
    """Register a tenant (TEN-ORG-ACCOUNT: <name>.onmicrosoft.com)."""
    from licensedesk.services.parties import register_tenant

    svc = _services()
    register_tenant(svc, _now(), ref=ref, customer=customer, domain=domain, country=country, origin=origin,
                    syndication=syndication, vl_licences=vl_licences)
    _section(svc, "tenants", ref)


@tenant_app.command("show")
def tenant_show(ref: Annotated[str | None, typer.Argument(help="a tenant ref; all when omitted")] = None) -> None:
    """Print a tenant (or all): origin, VL licences, relationship, delegated admin, licences."""
    _section(_services(), "tenants", ref)


@tenant_app.command("vl-licences")
def tenant_vl(ref: str) -> None:
    """Record that the tenant holds volume-licensing licences too (TEN-MIX; never refused)."""
    from licensedesk.services.parties import record_vl_licences

    svc = _services()
    record_vl_licences(svc, _now(), ref)
    _section(svc, "tenants", ref)


@tenant_app.command("merge")
def tenant_merge(ref: str, into: str) -> None:
    """Merge two tenants: always refused (TEN-NO-MERGE)."""
    from licensedesk.services.parties import merge_tenants

    merge_tenants(_services(), _now(), ref, into)


@tenant_app.command("assign")
def tenant_assign(ref: str, offer: str, users: list[str]) -> None:
    """Assign licences of an offer to users, within the purchased quantity (ORD-IDS)."""
    from licensedesk.services.licences import assign

    _print(assign(_services(), _now(), ref, offer, users))


@tenant_app.command("unassign")
def tenant_unassign(ref: str, offer: str, users: list[str]) -> None:
    """Take licences back from users (an employee leaves) (ORD-IDS)."""
    from licensedesk.services.licences import unassign

    _print(unassign(_services(), _now(), ref, offer, users))


@transfer_app.command("request")
def transfer_request(
    ref: str, tenant: str,
    admin: Annotated[str, typer.Option(help="delegated admin asked for: gdap, dap or none")] = "gdap",
    gdap_days: Annotated[int | None, typer.Option(help="GDAP duration, 1–730 days")] = None,
    partner: Annotated[str | None, typer.Option(help="the partner (distributor) the customer relates to")] = None,
) -> None:
    """Send a reseller relationship request (XFER-RELATIONSHIP, PARTNER-REGION)."""
    from licensedesk.services.transfers import request_relationship

    svc = _services()
    request_relationship(svc, _now(), ref=ref, tenant=tenant, admin=admin, gdap_days=gdap_days, partner=partner)
    _section(svc, "relationships", ref)


@transfer_app.command("accept")
def transfer_accept(ref: str) -> None:
    """Record the customer's acceptance of a relationship request (XFER-RELATIONSHIP)."""
    from licensedesk.services.transfers import accept_relationship

    svc = _services()
    accept_relationship(svc, _now(), relationship=ref)
    _section(svc, "relationships", ref)


@transfer_app.command("revoke-dap")
def transfer_revoke(tenant: str) -> None:
    """Record that the customer's admin revoked our delegated admin privileges (DAP-REVOKE)."""
    from licensedesk.services.transfers import revoke_delegated_admin

    svc = _services()
    revoke_delegated_admin(svc, _now(), tenant=tenant)
    _section(svc, "tenants", tenant)


@transfer_app.command("plan")
def transfer_plan(
    ref: str, tenant: str,
    direction: Annotated[str, typer.Option(help="incoming (take a customer over) or outgoing (let it go)")],
    subscriptions: Annotated[Path | None, typer.Option(help="incoming: YAML list of the customer's current "
                                                            "subscriptions (offer, quantity, ends, retired, …)")] = None,
    subscription: Annotated[list[str] | None, typer.Option(help="outgoing: a subscription ref (default all)")] = None,
    source: Annotated[str | None, typer.Option(help="incoming: direct, partner, open, trial or ea")] = None,
    active_subscriptions: Annotated[int | None, typer.Option(help="incoming: active subscriptions (XFER-150)")]
    = None,
    to_partner: Annotated[str | None, typer.Option(help="outgoing: the new partner")] = None,
    to_partner_region: Annotated[list[str] | None, typer.Option(help="outgoing: the new partner's region")] = None,
    new_tenant: Annotated[bool, typer.Option(help="the subscriptions move to another tenant")] = False,
) -> None:
    """Draw up a transfer plan; an outgoing one turns auto-renew off on each subscription (XFER-CANCEL-EXPIRE)."""
    from licensedesk.services.transfers import plan_transfer

    svc = _services()
    options: dict[str, Any] = {"new_tenant": new_tenant}
    if direction == "incoming":
        listed = yaml.safe_load(subscriptions.read_text(encoding="utf-8")) if subscriptions else []
        options.update(source=source, active_subscriptions=active_subscriptions)
    else:
        listed = subscription
        options.update(to_partner=to_partner, to_partner_region=to_partner_region)
    plan_transfer(svc, _now(), ref=ref, tenant=tenant, direction=direction, subscriptions=listed, **options)
    _section(svc, "transfer_plans", ref)


@transfer_app.command("show")
def transfer_show(ref: Annotated[str | None, typer.Argument(help="a plan ref; all when omitted")] = None) -> None:
    """Print a transfer plan (or all) with its lines and advice."""
    _section(_services(), "transfer_plans", ref)
