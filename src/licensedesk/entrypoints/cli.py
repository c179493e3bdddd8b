"""The ``licensedesk`` command line: admins' front door. Thin: parse, call a handler, print."""

from __future__ import annotations

import sys
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from licensedesk.domain.errors import DomainError

from . import cli_common as common
from .cli_upstream import upstream_sim

# Command groups defined in their own modules: name → (module, its Typer app). Each is imported and built
# only when it is run or listed (`licensedesk --help`), so `licensedesk simulate` builds one command,
# not ~100 (issue #3; tests/e2e/test_cli_imports.py). The order is the order `--help` lists them in.
GROUPS = {
    "subscription": ("cli_subscriptions", "app"),
    "invoice": ("cli_documents", "invoice_app"),
    "account": ("cli_documents", "account_app"),
    "accounting": ("cli_documents", "accounting_app"),
    "credit-note": ("cli_documents", "credit_note_app"),
    "archive": ("cli_archive", "app"),
    "bank": ("cli_payments", "bank_app"),
    "customer": ("cli_parties", "customer_app"),
    "tenant": ("cli_parties", "tenant_app"),
    "transfer": ("cli_parties", "transfer_app"),
    "enrollment": ("cli_agreements", "enrollment_app"),
    "cocp": ("cli_agreements", "cocp_app"),
    "cicr": ("cli_agreements", "cicr_app"),
    "select": ("cli_agreements", "select_app"),
    "devices": ("cli_agreements", "devices_app"),
    "outbox": ("cli_outbox", "app"),
    "user": ("cli_users", "user_app"),
    "token": ("cli_users", "token_app"),
    "audit": ("cli_users", "audit_app"),
    "upstream": ("cli_upstream", "app"),  # Partner Center provisioning, reconciliation (issue 8)
}


class Commands(TyperGroup):
    """The top-level group: the commands defined here, then the GROUPS, each built when first asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*(name for name in self.commands if name not in GROUPS), *GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in GROUPS and cmd_name not in self.commands:
            module, attribute = GROUPS[cmd_name]
            group = typer.main.get_group(getattr(import_module(f"{__package__}.{module}"), attribute))
            group.name = cmd_name
            self.commands[cmd_name] = group
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and self.get_command(ctx, args[0]) is None:
            for name in GROUPS:  # an unknown name: "did you mean …?" picks from every command
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


app = typer.Typer(help="licensedesk — back office for a Japanese Microsoft licence reseller", no_args_is_help=True,
                  add_completion=False, cls=Commands)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data", no_args_is_help=True)
catalog_app = typer.Typer(help="Catalog and prices", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(catalog_app, name="catalog")
app.command("upstream-sim")(upstream_sim)


_settings = common.settings
_engine = common.engine


@app.command()
def simulate(
    file: Annotated[Path, typer.Argument(help="scenario file (SCENARIOS.md, format 1)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON report only")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="add rule IDs and formulas to every figure")] = False,
) -> None:
    """Run a what-if scenario on a fresh in-memory database. Exit 0: expectations hold; 1: some failed; 2: malformed."""
    from .cli_simulate import simulate as run  # the `licensedesk` script runs it without Typer (cli_simulate.main)

    raise typer.Exit(run(file, as_json, explain))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema (Alembic)."""
    from licensedesk.adapters.db.engine import upgrade

    settings = _settings()
    upgrade(_engine(settings))
    typer.echo(f"database is up to date ({settings.database_url.split('@')[-1]})")


@demo_app.command("load")
def demo_load() -> None:
    """Load the demo data into an empty database (does nothing when data exists)."""
    from licensedesk.bootstrap import build
    from licensedesk.entrypoints.api.security import add_user
    from licensedesk.services.demo import load_demo

    settings = _settings()
    svc = build(settings, _engine(settings))
    now = datetime.now().astimezone()
    loaded = load_demo(svc, now)
    if loaded:
        for name, role, customer, password in DEMO_USERS:
            add_user(svc, now, name, role, customer, password)
    typer.echo("demo data loaded" if loaded else "database already has data; demo not loaded")


# Demo users (README): development passwords, created only with the demo data.
DEMO_USERS = (
    ("admin", "admin", None, "demo-admin"),
    ("sales", "sales", None, "demo-sales"),
    ("billing", "billing", None, "demo-billing"),
    ("viewer", "read_only", None, "demo-viewer"),
    ("acme", "customer", "acme", "demo-acme"),
)


@catalog_app.command("load-sample")
def catalog_load_sample() -> None:
    """Put the built-in sample catalog (offers and price rows)."""
    from licensedesk.bootstrap import build
    from licensedesk.services.catalog import load_sample_catalog

    settings = _settings()
    typer.echo(f"{load_sample_catalog(build(settings, _engine(settings)))} offers loaded")


@catalog_app.command("import")
def catalog_import(
    file: Annotated[Path, typer.Argument(help="Partner Center license-based (new commerce) price list CSV")],
    rule: Annotated[str, typer.Option(help="reseller price: 'erp' (ERP price) or 'cost-plus'")] = "erp",
    margin: Annotated[str, typer.Option(help="margin percent for cost-plus, e.g. 12.5")] = "0",
    segment: Annotated[str, typer.Option(help="customer segment rows to import")] = "Commercial",
) -> None:
    """Import prices (JP market, JPY) atomically: a bad row names its line and nothing is imported."""
    from fractions import Fraction

    from licensedesk.bootstrap import build
    from licensedesk.domain.pricelist import PricingRule
    from licensedesk.services.catalog import import_price_list

    settings = _settings()
    try:
        pricing = PricingRule.erp() if rule == "erp" else PricingRule.cost_plus(Fraction(margin))
    except (ValueError, ZeroDivisionError):
        typer.echo(f"--margin must be a number, got {margin!r}", err=True)
        raise typer.Exit(2) from None
    if rule not in ("erp", "cost-plus"):
        typer.echo("--rule must be 'erp' or 'cost-plus'", err=True)
        raise typer.Exit(2)
    try:
        counts = import_price_list(build(settings, _engine(settings)), file.read_text(encoding="utf-8-sig"),
                                   pricing, segment)
    except DomainError as err:
        typer.echo(f"{err.code}: {err.message('en')}", err=True)
        for problem in err.details.get("errors", [])[:20]:
            typer.echo(f"  line {problem['line']} [{problem['column']}]: {problem['reason']}", err=True)
        raise typer.Exit(1) from None
    typer.echo(", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command()
def tick(
    until: Annotated[str | None, typer.Option(help="run due work up to this past instant (ISO 8601 with offset)")]
    = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="tick processes at once (PostgreSQL only; each takes "
                                                             "the customers no other holds)")] = 1,
) -> None:
    """Run all work due up to now (renewals, expiries, invoices, notices). Idempotent."""
    from licensedesk.bootstrap import build
    from licensedesk.services.clock import SystemClock
    from licensedesk.services.scheduler import tick_workers

    settings = _settings()
    now = SystemClock().now()
    target = now
    if until is not None:
        try:
            target = datetime.fromisoformat(until)
        except ValueError:
            typer.echo(f"--until: not an ISO 8601 instant: {until!r}", err=True)
            raise typer.Exit(2) from None
        if target.tzinfo is None or target > now:
            typer.echo("--until must be an instant with an offset, not in the future", err=True)
            raise typer.Exit(2)
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        typer.echo("--workers: SQLite has one writer at a time; several tick workers need PostgreSQL", err=True)
        raise typer.Exit(2)
    report = tick_workers(lambda: build(settings, _engine(settings)), target, workers)
    typer.echo(f"ticked {report.first_day or '-'} … {report.last_day or '-'}: {report.customers} customer-days, "
               f"{report.subscriptions} subscriptions, {len(report.documents)} documents")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Serve the web console, portal and API, with the scheduler running in-process."""
    import uvicorn

    from licensedesk.entrypoints.api.app import create_app

    settings = _settings()
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_level="info")


def main() -> None:
    try:
        app()
    except DomainError as err:
        typer.echo(f"{err.code}: {err.message('en')}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
