"""``licensedesk user add`` / ``token create`` / ``audit verify``: the REST API's users, tokens and audit log."""

from __future__ import annotations

from typing import Annotated

import typer

from . import cli_common as common

user_app = typer.Typer(help="API users: roles admin, sales, billing, read_only, customer", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for machines", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only, hash-chained audit log", no_args_is_help=True)


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, sales, billing, read_only or customer")],
    customer: Annotated[str | None, typer.Option(help="the customer a customer user belongs to")] = None,
    password: Annotated[bool, typer.Option("--password/--no-password", help="prompt for a password (HTTP Basic)")]
    = False,
) -> None:
    """Add a user; with --password it is asked for twice and stored as an argon2id hash."""
    from licensedesk.entrypoints.api.security import add_user

    secret = typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    svc = common.services()
    common.run(lambda: add_user(svc, common.now(), name, role, customer, secret))
    typer.echo(f"user {name} added ({role}{f', customer {customer}' if customer else ''})")


@token_app.command("create")
def token_create(name: str) -> None:
    """Create a bearer token for user NAME; it is printed once (only its SHA-256 is stored)."""
    from licensedesk.entrypoints.api.security import create_token

    svc = common.services()
    typer.echo(common.run(lambda: create_token(svc, common.now(), name)))


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit log's hash chain. Exit 0: intact; 1: the first broken entry is named."""
    from licensedesk.entrypoints.api.audit import verify

    result = verify(common.services())
    if result["ok"]:
        typer.echo(f"audit log intact: {result['entries']} entries")
        return
    typer.echo(f"audit log broken at entry {result['broken']}: {result['reason']}", err=True)
    raise typer.Exit(1)


app = typer.Typer(no_args_is_help=True)  # merged into the main app: user, token, audit become top-level
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
