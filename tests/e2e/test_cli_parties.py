"""``licensedesk customer / tenant / transfer`` as an admin runs them: real processes on a fresh SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_customer_tenant_and_transfer_commands(tmp_path: Path) -> None:
    env = {**os.environ, "LICENSEDESK_DATABASE_URL": f"sqlite+pysqlite:///{tmp_path / 'ld.sqlite3'}"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "licensedesk", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=120)

    assert run("db", "upgrade").returncode == 0
    added = run("customer", "add", "acme", "株式会社アクメ", "--corporate-number", "７０１０７０５０００７２５",
                "--postal-code", "1000001", "--prefecture", "東京都", "--city", "千代田区", "--line1", "千代田1-1",
                "--contact", "山田太郎,yamada@acme.co.jp,billing")
    assert added.returncode == 0, added.stderr
    customer = json.loads(added.stdout)
    assert customer["corporate_number"] == "7010705000725" and customer["contacts"][0]["role"] == "billing"

    bad = run("customer", "add", "bad", "株式会社バッド", "--corporate-number", "7010705000726")
    assert bad.returncode == 1 and "corporate_number" in bad.stderr and bad.stdout == ""
    resale = run("customer", "add", "resale", "株式会社リセール", "--purpose", "resale")
    assert resale.returncode == 1 and resale.stderr.startswith("ELIG-NO-RESALE")

    assert run("tenant", "add", "t1", "acme", "acme.onmicrosoft.com", "--origin", "direct").returncode == 0
    assert json.loads(run("customer", "apply", "acme", "a1").stdout)["status"] == "received"
    assert json.loads(run("transfer", "request", "r1", "t1", "--admin", "dap").stdout)["status"] == "sent"
    assert json.loads(run("transfer", "accept", "r1").stdout)["status"] == "accepted"
    tenant = json.loads(run("transfer", "revoke-dap", "t1").stdout)
    assert tenant["relationship_accepted"] is True and tenant["delegated_admin"]["status"] == "revoked"

    merge = run("tenant", "merge", "t1", "t1")
    assert merge.returncode == 1 and merge.stderr.startswith("TEN-NO-MERGE")
    listed = tmp_path / "subs.yaml"
    listed.write_text("- {offer: M365-E3, quantity: 10, ends: 2026-09-30}\n", encoding="utf-8")
    assert run("catalog", "load-sample").returncode == 0
    plan = run("transfer", "plan", "p1", "t1", "--direction", "incoming", "--subscriptions", str(listed),
               "--source", "direct")
    assert plan.returncode == 0, plan.stderr
    body = json.loads(plan.stdout)
    assert body["lines"][0]["reassignment"] == "none" and "XFER-CREDIT" in body["advice_rules"]
    assert set(json.loads(run("transfer", "show").stdout)) == {"p1"}
