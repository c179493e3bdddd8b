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
HEAVY = ("fastapi", "starlette", "uvicorn", "reportlab", "httpx", "alembic", "jinja2")

PROBE = """
import json, sys
from licensedesk.entrypoints.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(HEAVY)))
sys.stderr.write("HEAVY=" + json.dumps(heavy) + "\\n")
"""


def heavy_imports(*args: str) -> tuple[list[str], str]:
    """The heavy packages imported by running the CLI with ``args``, and what the command printed."""
    done = subprocess.run([sys.executable, "-c", PROBE.replace("json.loads(HEAVY)", repr(list(HEAVY))), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    marker = [line for line in done.stderr.splitlines() if line.startswith("HEAVY=")]
    assert marker, done.stderr
    return list(json.loads(marker[-1].removeprefix("HEAVY="))), done.stdout


def test_simulate_imports_no_web_pdf_http_or_migration_library() -> None:
    heavy, out = heavy_imports("simulate", str(SCENARIO), "--json")
    assert json.loads(out)["expect"]["failed"] == 0  # the command really ran the scenario
    assert heavy == []


def test_help_imports_no_web_pdf_http_or_migration_library() -> None:
    heavy, out = heavy_imports("--help")
    assert "simulate" in out
    assert heavy == []
