"""``licensedesk archive …`` as an admin and an auditor use it: run, check, search, verify, export."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "licensedesk", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT, timeout=180)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"LICENSEDESK_DATABASE_URL": f"sqlite+pysqlite:///{tmp_path / 'ld.sqlite3'}",
           "LICENSEDESK_ARCHIVE_DIR": str(tmp_path / "archive")}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("demo", "load", env=env).returncode == 0
    return env


def test_archive_run_check_search_verify_and_export(env: dict[str, str], tmp_path: Path) -> None:
    before = run("archive", "check", env=env)
    assert before.returncode == 1 and "not archived" in before.stdout
    issued = int(before.stdout.strip().splitlines()[-1].split()[0])
    assert issued > 0
    done = run("archive", "run", env=env)
    assert done.returncode == 0 and f"archived {issued}, failed 0" in done.stdout, done.stderr
    assert run("archive", "check", env=env).returncode == 0
    found = run("archive", "search", "--min-amount", "1", env=env)
    assert found.returncode == 0 and f"{issued} documents" in found.stdout
    assert run("archive", "verify", env=env).returncode == 0
    out = tmp_path / "audit"
    exported = run("archive", "export", "-o", str(out), env=env)
    assert exported.returncode == 0, exported.stderr
    index = list(csv.DictReader(io.StringIO((out / "index.csv").read_text(encoding="utf-8"))))
    assert len(index) == issued and all((out / r["pdf_path"]).is_file() for r in index)
    pdf = Path(env["LICENSEDESK_ARCHIVE_DIR"]) / index[0]["pdf_path"]
    pdf.chmod(0o644)
    pdf.write_bytes(b"%PDF-tampered")
    tampered = run("archive", "verify", env=env)
    assert tampered.returncode == 1 and f"{index[0]['document_number']}: pdf-mismatch" in tampered.stdout
