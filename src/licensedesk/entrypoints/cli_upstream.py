"""``licensedesk upstream …`` and ``licensedesk upstream-sim``: Partner Center provisioning, reconciliation,
the local simulator, and the customers' mail language (issue 8)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from . import cli_common as common

app = typer.Typer(help="Partner Center: provision paid/accepted orders, list and retry failures, reconcile",
                  no_args_is_help=True)


def _provisioner() -> Any:
    from licensedesk.bootstrap_upstream import provisioner

    prov = provisioner(common.settings())
    if prov is None:
        typer.echo("no upstream configured: set LICENSEDESK_UPSTREAM_URL (Partner Center, or the simulator: "
                   "`licensedesk upstream-sim` and http://127.0.0.1:8010)", err=True)
        raise typer.Exit(2)
    return prov


def _line(j: dict[str, Any], today: Any) -> str:
    late = " LATE" if j["sla_due"] and j["status"] in ("pending", "failed") and today > j["sla_due"] else ""
    error = f"  {j['last_error']}" if j["last_error"] and j["status"] != "done" else ""
    return (f"#{j['id']:<5} {j['status']:<8} {j['attempts']:>2}x  {j['subscription_ref']:<16} {j['customer_ref']:<16} "
            f"SLA {j['sla_due'] or '-'}{late}  order {j['order_id'] or '-'}{error}")


def _show(status: str | None, as_json: bool) -> None:
    from licensedesk.services.ports_upstream import JobStatus
    from licensedesk.services.provisioning import jobs

    svc = common.services()
    rows = jobs(svc, JobStatus(status) if status else None)
    if as_json:
        common.print_json(rows)
        return
    today = svc.when(common.now()).today
    for j in rows:
        typer.echo(_line(j, today))


@app.command("jobs")
def list_jobs(status: Annotated[str | None, typer.Option(help="pending, done, failed or skipped")] = None,
              as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Provisioning jobs, oldest first, with the ORD-FLOW activation deadline (LATE once it has passed)."""
    if status not in (None, "pending", "done", "failed", "skipped"):
        typer.echo(f"unknown status {status!r}: use pending, done, failed or skipped", err=True)
        raise typer.Exit(2)
    _show(status, as_json)


@app.command("failed")
def failed(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Jobs that gave up (Partner Center refused, or the attempts ran out): retry them with `upstream retry`."""
    _show("failed", as_json)


@app.command("retry")
def retry_job(job: Annotated[int, typer.Argument(help="Job ID (see `upstream failed`)")]) -> None:
    """Put a failed job back in the queue, due now, with a fresh attempt count."""
    from licensedesk.services.provisioning import retry

    common.run(lambda: retry(common.services(), job, common.now()))
    typer.echo(f"job #{job} queued again")


@app.command("provision")
def provision(once: Annotated[bool, typer.Option("--once", help="Work what is due now, then exit")] = False,
              interval: Annotated[int, typer.Option(help="Seconds between passes when running")] = 10) -> None:
    """Run the provisioning worker (several may run at once on PostgreSQL; SKIP LOCKED shares the queue)."""
    from licensedesk.services.provisioning import provision_due

    prov = _provisioner()
    svc = common.services()
    while True:
        report = provision_due(svc, prov, common.now())
        if len(report) or once:
            typer.echo(f"done {len(report.done)}, retrying {len(report.retrying)}, failed {len(report.failed)}, "
                       f"skipped {len(report.skipped)}")
        if once:
            raise typer.Exit(1 if report.failed else 0)
        time.sleep(interval)


@app.command("reconcile")
def reconcile(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Compare local subscriptions with Partner Center; print every mismatch. Exit 1 when there is any."""
    from licensedesk.services.reconcile import reconcile as run

    prov = _provisioner()
    found = common.run(lambda: run(common.services(), prov.upstream, common.now()))
    if as_json:
        common.print_json([m.as_dict() for m in found])
    else:
        for m in found:
            typer.echo(f"{m.subscription or '-':<16} {m.field:<16} local {m.local!s:<24} upstream {m.upstream!s:<24} "
                       f"{m.upstream_id or '-'}")
        typer.echo(f"{len(found)} mismatch(es)")
    raise typer.Exit(1 if found else 0)


@app.command("mail-language")
def mail_language(customer: Annotated[str, typer.Argument(help="Customer ref")],
                  language: Annotated[str | None, typer.Argument(help="ja or en (omit to show)")] = None) -> None:
    """Show or set the language of a customer's e-mail (ja by default)."""
    from licensedesk.services import preferences

    svc = common.services()
    if language is not None:
        common.run(lambda: preferences.set_mail_language(svc, common.now(), customer, language))
    typer.echo(f"{customer}: {preferences.mail_language(svc, customer)}")


def upstream_sim(host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
                 port: Annotated[int, typer.Option(help="Port")] = 8010,
                 state: Annotated[str | None, typer.Option(help="JSON file keeping the state across restarts")] = None,
                 ) -> None:
    """Serve the local Partner Center simulator (NCE rules) for development and tests."""
    import uvicorn

    from licensedesk.adapters.partner_center.simulator import create_app

    typer.echo(f"Partner Center simulator on http://{host}:{port}/v1 (state {state or 'in memory'})")
    uvicorn.run(create_app(state), host=host, port=port, log_level="warning")
