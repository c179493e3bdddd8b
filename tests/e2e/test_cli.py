"""The CLI as an admin runs it: real processes, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "scenarios" / "nce-cancel-168h-spec-example.yaml"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "licensedesk", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd or ROOT, timeout=120)


def test_simulate_json_prints_only_the_report_and_exits_0() -> None:
    done = run("simulate", str(EXAMPLE), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["documents"][0]["total"] == 59774
    assert report["subscriptions"]["s1"]["term_start"] == "2026-06-18"
    assert report["subscriptions"]["s1"]["term_end"] == "2027-06-17"
    assert set(report) >= {"format", "name", "clock", "subscriptions", "documents", "notices", "rejections", "expect"}


def test_simulate_explain_gives_rule_and_formula_for_every_line() -> None:
    report = json.loads(run("simulate", str(EXAMPLE), "--json", "--explain").stdout)
    for doc in report["documents"]:
        for line in doc["lines"]:
            assert line["explain"]["rule"] and line["explain"]["formula"]["ja"] and line["explain"]["formula"]["en"]
    assert report["subscriptions"]["s1"]["explain"]["cancel_allowed_until"]["rule"] == "NCE-CANCEL-168H"


def test_simulate_exits_1_and_lists_failed_expectations(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(EXAMPLE.read_text(encoding="utf-8").replace("documents[0].total: 59774",
                                                                  "documents[0].total: 59775"), encoding="utf-8")
    done = run("simulate", str(wrong))
    assert done.returncode == 1
    assert "documents[0].total" in done.stdout and "59775" in done.stdout


@pytest.mark.parametrize(("text", "message"), [
    ("format: 2\nstart: 2026-01-01T00:00:00+09:00\nsteps: []\n", "format"),
    ("format: 1\nsteps: []\n", "'start'"),
    ("format: 1\nstart: 2026-01-01T00:00:00+09:00\nsteps:\n  - order: {ref: s1}\n", "step 1 'order': field"),
    ("format: 1\nstart: 2026-01-01T00:00:00+09:00\nsteps:\n  - cancel: {subscription: nobody}\n",
     "no step creates"),
    ("format: 1\nstart: 2026-02-01T00:00:00+09:00\nsteps:\n  - advance: 2026-01-01T00:00:00+09:00\n",
     "before the clock"),
    ("format: 1\nstart: [\n", "not valid YAML"),
])
def test_simulate_exits_2_on_a_malformed_file_naming_the_field(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    done = run("simulate", str(bad), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr


def test_db_upgrade_demo_and_tick_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    env = {"LICENSEDESK_DATABASE_URL": f"sqlite+pysqlite:///{tmp_path / 'ld.sqlite3'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert "demo data loaded" in run("demo", "load", env=env).stdout
    assert "not loaded" in run("demo", "load", env=env).stdout
    token = run("token", "create", "sales", env=env)  # the README's demo users exist
    assert token.returncode == 0 and "ld_" in token.stdout
    first = run("tick", env=env)
    assert first.returncode == 0 and "ticked" in first.stdout


def test_a_default_secret_is_refused_outside_development() -> None:
    done = run("tick", env={"LICENSEDESK_ENVIRONMENT": "production"})
    assert done.returncode == 2
    assert "LICENSEDESK_SECRET_KEY" in done.stderr


def test_help_lists_the_commands() -> None:
    done = run("--help")
    assert done.returncode == 0
    for command in ("simulate", "db", "serve", "tick", "demo"):
        assert command in done.stdout


def test_subscription_commands_order_change_and_refuse_with_the_rule(tmp_path: Path) -> None:
    env = {"LICENSEDESK_DATABASE_URL": f"sqlite+pysqlite:///{tmp_path / 'subs.sqlite3'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("demo", "load", env=env).returncode == 0
    ordered = run("subscription", "order", "NEW-1", "acme-tenant", "M365-E3", "--quantity", "3", env=env)
    assert ordered.returncode == 0, ordered.stderr
    assert json.loads(ordered.stdout)["status"] == "active"
    more = run("subscription", "change-quantity", "NEW-1", "5", env=env)
    assert json.loads(more.stdout)["quantity"] == 5
    shown = json.loads(run("subscription", "show", "NEW-1", env=env).stdout)
    assert shown["explain"]["cancel_allowed_until"]["rule"] == "NCE-CANCEL-168H"
    assert [e["rule"] for e in shown["events"]][:1] == ["ORD-ADD-PRODUCT"]
    late = run("subscription", "cancel", "ACME-E3", env=env)  # ordered 40 days ago by the demo
    assert late.returncode == 1 and "NCE-CANCEL-168H" in late.stderr
    listed = run("subscription", "list", env=env)
    assert "NEW-1" in listed.stdout and "ACME-E3" in listed.stdout
