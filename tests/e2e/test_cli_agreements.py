"""Volume licensing from the command line, as an admin runs it: real processes, a real SQLite file, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("device_id,domain_joined,auth_required,policy_agent,group_policy,os_config_claims,vdi_access,windows_sa,"
          "intune_device,wvda_roaming,windows_to_go_third_party")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "licensedesk", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=ROOT, timeout=120)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"LICENSEDESK_DATABASE_URL": f"sqlite+pysqlite:///{tmp_path / 'vl.sqlite3'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    return env


def test_devices_classify_needs_no_database(tmp_path: Path) -> None:
    inventory = tmp_path / "devices.csv"
    inventory.write_text(f"{HEADER}\npc-1,yes,no,no,no,no,no,no,no,no,no\npc-2,no,no,no,no,no,yes,no,no,yes,no\n",
                         encoding="utf-8")
    done = run("devices", "classify", str(inventory), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["licences_needed"] == 1
    assert [d["reasons"] for d in report["devices"]] == [["domain_joined"], ["vdi_roaming_rights_only"]]
    table = run("devices", "classify", str(inventory))
    assert "1 licences needed (DEV-MANAGED)" in table.stdout
    inventory.write_text(f"{HEADER}\npc-1,perhaps,no,no,no,no,no,no,no,no,no\n", encoding="utf-8")
    bad = run("devices", "classify", str(inventory))
    assert bad.returncode == 1 and "DEVICES-CSV-INVALID: line 2 [domain_joined]" in bad.stderr


def test_enrollment_cocp_and_cicr_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    assert run("customer", "add", "uni", "学校法人みなと学園", "--segment", "education", env=env).returncode == 0
    assert run("enrollment", "open-agreement", "a1", "--customer", "uni", env=env).returncode == 0
    added = run("enrollment", "add", "e1", "--agreement", "a1", "--effective", "2030-04-01", "--reseller", "R1",
                "--distributor", "D1", "--term-years", "3", env=env)
    assert added.returncode == 0, added.stderr
    shown = json.loads(added.stdout)
    assert shown["end_date"] == "2033-03-31" and shown["explain"]["end_date"]["rule"] == "VL-TERM"
    refused = run("enrollment", "add", "e2", "--agreement", "a1", "--effective", "2030-04-01", "--reseller", "R1",
                  "--term-years", "2", env=env)
    assert refused.returncode == 1 and refused.stderr.startswith("VL-TERM:")
    early = run("enrollment", "choose", "e1", "buy_out", env=env)
    assert early.returncode == 1 and "VL-NOTICE-60D" in early.stderr
    form = tmp_path / "cocp.yaml"
    form.write_text("ref: C-1\nkind: reseller\nenrollment: e1\nnew: {reseller: R2}\n"
                    "current: {reseller: R9, distributor: D1}\n"
                    "signatures: {end_customer: 2026-01-01, new_reseller: 2026-01-02, distributor: 2026-01-03}\n"
                    "notified_previous_on: 2026-01-01\nink_signed: true\ncopies: 2\n", encoding="utf-8")
    mismatch = run("cocp", "submit", str(form), env=env)
    assert mismatch.returncode == 1 and mismatch.stderr.startswith("COCP-MATCH:")
    contact = run("cicr", "request", "R-1", "--agreement", "a1", "--role", "primary_contact", "--name", "佐藤",
                  env=env)
    assert contact.returncode == 0 and json.loads(contact.stdout)["status"] == "applied"
    manual = run("cicr", "request", "R-2", "--agreement", "a1", "--role", "primary_contact", "--name", "高橋",
                 "--channel", "manual", env=env)
    assert manual.returncode == 1 and manual.stderr.startswith("CICR-CHANNEL:")
    history = json.loads(run("cicr", "history", "a1", env=env).stdout)
    assert history["contacts"]["primary_contact"]["name"] == "佐藤"


def test_select_level_and_open_orders(env: dict[str, str]) -> None:
    level = json.loads(run("select", "level", "9999").stdout)
    assert level["level"] == "B" and level["explain"]["rule"] == "PRICE-SELECT-LEVEL"
    assert run("customer", "add", "acme", "株式会社アクメ", env=env).returncode == 0
    short = run("select", "open-order", "o1", "--customer", "acme", "--program", "open_value_company_wide",
                "--line", "M365:user_sl:5", env=env)
    assert short.returncode == 1 and short.stderr.startswith("PRICE-OV-ORGWIDE:")
    placed = run("select", "open-order", "o2", "--customer", "acme", "--line", "Office:desktop_component:3",
                 "--line", "EXO:user_sl:2", env=env)
    assert placed.returncode == 0 and json.loads(placed.stdout)["keys"] == ["o2-2"]
    assert json.loads(run("select", "activate-key", "o2-2", env=env).stdout)["status"] == "active"
    returned = run("select", "return-key", "o2-2", env=env)
    assert returned.returncode == 1 and returned.stderr.startswith("OPEN-ACTIVATION-START:")
