"""``licensedesk archive …``: the 電子帳簿保存法 archive of issued documents (run, check, verify, search, export)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from . import cli_common as common

app = typer.Typer(help="電子帳簿保存法 archive of issued invoices and credit notes: run, check, verify, search, export",
                  no_args_is_help=True)

FROM = Annotated[str | None, typer.Option("--from", help="取引年月日 from, YYYY-MM-DD")]
TO = Annotated[str | None, typer.Option("--to", help="取引年月日 to (inclusive), YYYY-MM-DD")]
MIN = Annotated[int | None, typer.Option("--min-amount", help="取引金額 at least (yen, tax-inclusive)")]
MAX = Annotated[int | None, typer.Option("--max-amount", help="取引金額 at most (yen, tax-inclusive)")]
PARTY = Annotated[str | None, typer.Option("--counterparty", help="取引先: part of the name, or the customer ref")]


def _query(first: str | None, last: str | None, min_amount: int | None, max_amount: int | None,
           counterparty: str | None) -> Any:
    from licensedesk.services.ports_archive import ArchiveQuery

    return ArchiveQuery(common.day(first, "--from"), common.day(last, "--to"), min_amount, max_amount, counterparty)


@app.command("run")
def run_archive() -> None:
    """Archive every issued document not archived yet (the server's scheduler does this after each tick)."""
    from licensedesk.bootstrap import archive_files, issuer, pdf_renderer
    from licensedesk.services.archive import run

    config = common.settings()
    report = run(common.services(), common.now(), archive_files(config), pdf_renderer(config), issuer(config))
    typer.echo(f"archived {len(report.archived)}, failed {len(report.failed)}")
    for number, error in report.failed.items():
        typer.echo(f"  {number}: {error}", err=True)
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def check() -> None:
    """List issued documents that are not archived yet. Exit 1 if there is any."""
    from licensedesk.services.archive import unarchived

    missing = unarchived(common.services())
    for d in missing:
        queued = "queued" if d["queued_at"] else "not queued"
        error = f"  last error: {d['last_error']}" if d["last_error"] else ""
        typer.echo(f"{d['number']:<18} {d['kind']:<12} {d['customer_ref']:<12} {d['issue_date']}  {queued}, "
                   f"{d['attempts'] or 0} attempts{error}")
    typer.echo(f"{len(missing)} issued documents not archived")
    raise typer.Exit(1 if missing else 0)


@app.command()
def verify() -> None:
    """Recompute the SHA-256 of every archived file and the hash chain; report mismatches and missing files."""
    from licensedesk.bootstrap import archive_files
    from licensedesk.services.archive import verify as verify_archive

    checked, problems = verify_archive(common.services(), archive_files(common.settings()))
    for p in problems:
        typer.echo(f"{p.number}: {p.what}")
    typer.echo(f"{checked} archived documents checked, {len(problems)} problems")
    raise typer.Exit(1 if problems else 0)


@app.command()
def search(first: FROM = None, last: TO = None, min_amount: MIN = None, max_amount: MAX = None,
           counterparty: PARTY = None,
           as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Search by 取引年月日 range, 取引金額 range and 取引先, in any combination."""
    from licensedesk.services.archive import search as find

    rows = find(common.services(), _query(first, last, min_amount, max_amount, counterparty))
    if as_json:
        common.print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['issue_date']}  {r['document_number']:<18} {r['kind']:<12} {r['amount']:>12,}  "
                   f"{r['counterparty']}  {r['pdf_path']}")
    typer.echo(f"{len(rows)} documents")


@app.command()
def export(output: Annotated[Path, typer.Option("--output", "-o", help="directory to create for the auditor")],
           first: FROM = None, last: TO = None, min_amount: MIN = None, max_amount: MAX = None,
           counterparty: PARTY = None) -> None:
    """Copy the matching documents (PDF + JSON) and an index.csv of them into a new directory."""
    from licensedesk.bootstrap import archive_files
    from licensedesk.services.archive import index_csv, sha256
    from licensedesk.services.archive import search as find

    files = archive_files(common.settings())
    rows = find(common.services(), _query(first, last, min_amount, max_amount, counterparty))
    try:
        output.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        typer.echo(f"{output} exists: choose a new directory", err=True)
        raise typer.Exit(2) from None
    for row in rows:
        for kind in ("pdf", "data"):
            content = files.read(row[f"{kind}_path"])
            if content is None or sha256(content) != row[f"{kind}_sha256"]:
                typer.echo(f"{row['document_number']}: {kind} file missing or altered (run `archive verify`)",
                           err=True)
                raise typer.Exit(1)
            target = output / row[f"{kind}_path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    (output / "index.csv").write_text(index_csv(rows), encoding="utf-8")
    typer.echo(f"{output}: {len(rows)} documents, index.csv")
