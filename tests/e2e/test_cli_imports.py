"""Start-up cost of the CLI (issue #3): a command imports only what it needs.

``licensedesk simulate`` runs on an in-memory database and prints JSON: it must not pay for the web
framework, the PDF library, the HTTP client or Alembic. Each check runs the real CLI in a fresh
interpreter and lists the heavy packages that ended up imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "scenarios" / "nce-pay-marks-invoice-paid.yaml"
HEAVY = ("fastapi", "starlette", "uvicorn", "reportlab", "httpx", "alembic", "jinja2",
         "holidays")  # the holiday table answers for 2000–2060 (domain/jp_holidays_table.py)

PROBE = """
import json, sys
from licensedesk.entrypoints.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
sys.stderr.write("MODULES=" + json.dumps(sorted(sys.modules)) + "\\n")
"""


def imported_modules(*args: str) -> tuple[list[str], str]:
    """Every module imported by running the CLI with ``args``, and what the command printed."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
    marker = [line for line in done.stderr.splitlines() if line.startswith("MODULES=")]
    assert marker, done.stderr
    return list(json.loads(marker[-1].removeprefix("MODULES="))), done.stdout


def heavy_imports(*args: str) -> tuple[list[str], str]:
    """The heavy packages imported by running the CLI with ``args``, and what the command printed."""
    modules, out = imported_modules(*args)
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY)), out


def test_simulate_imports_no_web_pdf_http_or_migration_library() -> None:
    heavy, out = heavy_imports("simulate", str(SCENARIO), "--json")
    assert json.loads(out)["expect"]["failed"] == 0  # the command really ran the scenario
    assert heavy == []


def test_help_imports_no_web_pdf_http_or_migration_library() -> None:
    heavy, out = heavy_imports("--help")
    assert "simulate" in out
    assert heavy == []


def test_simulate_on_sqlite_imports_no_postgresql_dialect() -> None:
    # ~30 ms of start-up (issue #3): only a PostgreSQL database needs it
    modules, out = imported_modules("simulate", str(SCENARIO), "--json")
    assert json.loads(out)["documents"]  # the scenario issued an invoice, so a number series was started
    assert "sqlalchemy.dialects.sqlite" in modules
    assert [m for m in modules if m.startswith("sqlalchemy.dialects.postgresql")] == []


# The command groups' modules (entrypoints/cli.py GROUPS): built only when run or listed by --help.
GROUP_MODULES = ("cli_agreements", "cli_archive", "cli_documents", "cli_outbox", "cli_parties", "cli_payments",
                 "cli_subscriptions", "cli_users")


def test_simulate_builds_no_other_command_group() -> None:
    modules, out = imported_modules("simulate", str(SCENARIO), "--json")
    assert json.loads(out)["expect"]["failed"] == 0
    assert [m for m in modules if m.removeprefix("licensedesk.entrypoints.") in GROUP_MODULES] == []


def test_simulate_builds_no_settings_object() -> None:
    # config_simulation reads the two settings it needs (D-CLI-SIMULATE-SETTINGS): ≈ 0.03 s of start-up
    modules, _ = imported_modules("simulate", str(SCENARIO), "--json")
    assert sorted({m.split(".")[0] for m in modules} & {"pydantic_settings", "dotenv"}) == []
    assert "licensedesk.config" not in modules


def test_help_lists_every_group_with_its_help() -> None:
    from typer.testing import CliRunner

    from licensedesk.entrypoints.cli import GROUPS, app

    out = CliRunner().invoke(app, ["--help"], terminal_width=200).output
    for name in ("simulate", "tick", "serve", "upstream-sim", "db", "demo", "catalog", *GROUPS):
        assert f"│ {name} " in out, name
    assert "Subscriptions: order, change, cancel, explain" in out
    assert "The append-only, hash-chained audit log" in out


SCRIPT_PROBE = """
import json, sys
from licensedesk.entrypoints.cli_simulate import main
sys.argv = ["licensedesk", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
sys.stderr.write("MODULES=" + json.dumps(sorted(sys.modules)) + "\\n")
"""


def script_modules(*args: str) -> tuple[list[str], str]:
    """Every module imported by the ``licensedesk`` script (``cli_simulate.main``) with ``args``."""
    done = subprocess.run([sys.executable, "-c", SCRIPT_PROBE, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    marker = [line for line in done.stderr.splitlines() if line.startswith("MODULES=")]
    assert marker, done.stderr
    return list(json.loads(marker[-1].removeprefix("MODULES="))), done.stdout


def test_the_script_runs_simulate_without_typer_or_pydantic() -> None:
    # D-CLI-SIMULATE-DIRECT: Typer checks arguments with pydantic; a well-formed simulate line needs neither
    modules, out = script_modules("simulate", str(SCENARIO), "--json")
    assert json.loads(out)["expect"]["failed"] == 0
    tops = {m.split(".")[0] for m in modules}
    assert sorted(tops & {"typer", "click", "rich", "pydantic", "pydantic_core", "pydantic_settings", "dotenv",
                          *HEAVY, "argon2", "multipart", "psycopg", "uvloop", "httptools"}) == []
    assert [m for m in modules if m.startswith("licensedesk.entrypoints.") and m != "licensedesk.entrypoints.cli_simulate"
            ] == []
    assert [m for m in modules if m.startswith(("licensedesk.adapters.mail", "licensedesk.adapters.partner_center",
                                                "licensedesk.adapters.pdf", "licensedesk.config"))] == \
        ["licensedesk.config_simulation"]


def test_the_script_leaves_any_other_command_line_to_typer() -> None:
    modules, out = script_modules("simulate", "--help")
    assert "typer" in modules and "scenario file" in out
