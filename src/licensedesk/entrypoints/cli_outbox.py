"""``licensedesk outbox …``: see, retry and deliver the messages queued by notices (issue 8)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from . import cli_common as common

app = typer.Typer(help="Outgoing mail: list the outbox, retry failed messages, run the delivery worker",
                  no_args_is_help=True)


def _line(m: dict[str, Any]) -> str:
    error = f"  {m['last_error']}" if m["last_error"] and m["status"] != "sent" else ""
    return (f"#{m['id']:<6} {m['status']:<8} {m['attempts']:>2}x  {m['kind']:<28} {m['payload']['subject']:<20} "
            f"{m['recipient'] or '-':<32} next {m['next_attempt_at']:%Y-%m-%d %H:%M}{error}")


@app.command("list")
def list_messages(status: Annotated[str | None, typer.Option(help="pending, sent or failed")] = None,
                  as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """The outbox, oldest first (optionally only one status)."""
    from licensedesk.services.outbox import messages
    from licensedesk.services.ports_outbox import OutboxStatus

    try:
        wanted = OutboxStatus(status) if status else None
    except ValueError:
        typer.echo(f"unknown status {status!r}: use pending, sent or failed", err=True)
        raise typer.Exit(2) from None
    rows = messages(common.services(), wanted)
    if as_json:
        common.print_json(rows)
        return
    for m in rows:
        typer.echo(_line(m))


@app.command("retry")
def retry_message(message: Annotated[int, typer.Argument(help="Outbox message ID (see `outbox list`)")]) -> None:
    """Put a failed message back in the queue, due now, with a fresh attempt count."""
    from licensedesk.services.outbox import retry

    common.run(lambda: retry(common.services(), message, common.now()))
    typer.echo(f"message #{message} queued again")


@app.command("deliver")
def deliver(once: Annotated[bool, typer.Option("--once", help="Deliver what is due now, then exit")] = False,
            interval: Annotated[int, typer.Option(help="Seconds between passes when running")] = 10) -> None:
    """Run the delivery worker (several may run at once on PostgreSQL; SKIP LOCKED shares the queue)."""
    from licensedesk.bootstrap_mail import delivery
    from licensedesk.services.outbox import deliver_due

    settings = common.settings()
    svc = common.services()
    worker = delivery(settings)
    while True:
        report = deliver_due(svc, worker, common.now())
        if report.sent or report.retrying or report.failed or once:
            typer.echo(f"sent {len(report.sent)}, retrying {len(report.retrying)}, failed {len(report.failed)}")
        if once:
            return
        time.sleep(interval)
