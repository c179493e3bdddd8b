"""What every CLI command shares: settings, the services on the configured database, the clock, errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import typer

from licensedesk.domain.errors import DomainError

from .cli_simulate import print_json as print_json  # re-exported: every command's --json, as simulate prints it

T = TypeVar("T")


def settings() -> Any:
    from licensedesk.config import Settings

    try:
        return Settings()
    except ValueError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def engine(config: Any) -> Any:
    from licensedesk.adapters.db.engine import create_engine

    path = config.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return create_engine(config.database_url)


def services() -> Any:
    from licensedesk.bootstrap import build

    config = settings()
    return build(config, engine(config))


def day(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option's value as a date (None when not given); a bad one exits 2 naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"{option}: not a date (YYYY-MM-DD): {value!r}", err=True)
        raise typer.Exit(2) from None


def now() -> datetime:
    from licensedesk.services.clock import SystemClock

    return SystemClock().now()


def run(action: Callable[[], T]) -> T:
    """Call a handler; a refusal prints its rule ID and message and exits 1."""
    try:
        return action()
    except DomainError as err:
        typer.echo(f"{err.code}: {err.message('en')}", err=True)
        typer.echo(f"{err.code}: {err.message('ja')}", err=True)
        raise typer.Exit(1) from None
