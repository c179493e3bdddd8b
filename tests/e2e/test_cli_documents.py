"""Issue 4 from the command line: list, show and print invoices, import bank deposits, statements, the journal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "licensedesk", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT, timeout=120)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"LICENSEDESK_DATABASE_URL": f"sqlite+pysqlite:///{tmp_path / 'ld.sqlite3'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("demo", "load", env=env).returncode == 0
    return env


def _first_invoice(env: dict[str, str]) -> tuple[str, str, int]:
    listed = run("invoice", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    number, _kind, customer = listed.stdout.split()[:3]
    shown = json.loads(run("invoice", "show", number, env=env).stdout)
    return number, customer, shown["total"]


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) is not installed")
def test_invoice_pdf_writes_a_qualified_invoice(env: dict[str, str], tmp_path: Path) -> None:
    number, _customer, total = _first_invoice(env)
    out = tmp_path / "invoice.pdf"
    done = run("invoice", "pdf", number, "-o", str(out), env=env)
    assert done.returncode == 0, done.stderr
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "T7010001008844" in text and f"¥{total:,}" in text and "御中" in text


def test_a_bank_file_pays_an_invoice_and_the_journal_shows_it(env: dict[str, str], tmp_path: Path) -> None:
    number, customer, total = _first_invoice(env)
    assert run("account", "kana", customer, "ｶ)ﾃｽﾄｼﾔ", env=env).returncode == 0
    statement = tmp_path / "deposits.csv"
    statement.write_bytes(f"2026-11-20,{total},ｶ)ﾃｽﾄｼﾔ\n2026-11-20,777,ﾀﾞﾚｶ\n".encode("cp932"))  # Shift_JIS
    first = run("bank", "import", str(statement), env=env)
    assert first.returncode == 0, first.stderr
    assert "1 matched, 1 to the queue" in first.stdout and number in first.stdout
    assert "2 already imported" in run("bank", "import", str(statement), env=env).stdout
    assert "PAYER-UNKNOWN" in run("bank", "queue", env=env).stdout
    assert json.loads(run("invoice", "show", number, env=env).stdout)["status"] == "paid"
    journal = run("accounting", "export", "--from", "2026-01-01", "--to", "2027-12-31", env=env)
    assert journal.returncode == 0 and f"2026-11-20,{number},普通預金,売掛金" in journal.stdout


def test_refusals_exit_1_with_their_code(env: dict[str, str]) -> None:
    number, customer, _total = _first_invoice(env)
    assert run("invoice", "pay", number, env=env).returncode == 0
    done = run("invoice", "void", number, "--reason", "宛名誤り", env=env)
    assert done.returncode == 1 and "DOC-PAID" in done.stderr
    done = run("account", "refund", customer, "1", env=env)
    assert done.returncode == 1 and "REFUND-EXCEEDS-CREDIT" in done.stderr
    assert "as of" in run("account", "statement", customer, "--as-of", "2027-03-01", env=env).stdout


def test_credit_note_apply_is_wired_and_refuses_what_is_not_a_credit_note(env: dict[str, str]) -> None:
    number, customer, _total = _first_invoice(env)
    done = run("credit-note", "apply", number, "--to", number, env=env)  # an invoice is not a credit note
    assert done.returncode == 1 and "CN-ALLOCATE-SOURCE" in done.stderr, done.stderr
    missing = run("credit-note", "apply", "CN-2099-000001", "--to", number, env=env)
    assert missing.returncode == 1 and "CN-2099-000001" in missing.stderr
    listed = run("credit-note", "allocations", "--customer", customer, env=env)
    assert listed.returncode == 0 and listed.stdout == ""  # the demo data has no allocation yet
