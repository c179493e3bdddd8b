"""Issue 7 (and 8's outbox view) through HTTP: the dashboard, the deadline calendar and its ICS feed, the charts,
the what-if upload and the outbox — each page for each role, over the demo data (tests/e2e/web_support.py).

The demo (services/demo.py) at 2026-06-18 10:00 JST: MINATO-O365 was ordered 06-16 10:00, so its
NCE-CANCEL-168H window closes 06-23 10:00 JST (01:00 UTC), inside the dashboard's next 7 days; the
first invoices are due 06-30. The demo customers have no e-mail contact, so their outbox messages failed.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from web_support import WEB_T0, WebApp, WebClient

from licensedesk.entrypoints.api.security import create_token
from licensedesk.entrypoints.web import insights as web_insights
from licensedesk.entrypoints.web.insights_tools import Problem, load_scenario
from licensedesk.services import agenda, insights, parties
from licensedesk.services import subscriptions as subs

SCENARIOS = Path(__file__).parents[1] / "scenarios"
STAFF = ["admin", "sales", "billing", "viewer"]


def _as(web_app: WebApp, name: str) -> WebClient:
    client = web_app.client()
    assert client.login(name).status_code == 303
    return client


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def events(text: str) -> list[dict[str, str]]:
    found, current = [], None
    for line in unfold(text):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            found.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return found


# ---------------------------------------------------------------------------------------------- dashboard
@pytest.mark.parametrize("name", STAFF)
def test_every_staff_role_sees_the_dashboard(web_app_sqlite: WebApp, name: str) -> None:
    page = _as(web_app_sqlite, name).get("/console")
    assert page.status_code == 200
    assert "今日の対応事項" in page.text
    next_days = page.text.split('id="next"')[1]
    assert "MINATO-O365" in next_days and "NCE-CANCEL-168H" in next_days
    assert "168時間の解約可能期間の終了" in next_days and "2026-06-23 10:00" in next_days


def test_the_dashboard_shows_what_the_agenda_service_groups(web_app_sqlite: WebApp) -> None:
    later = WEB_T0.replace(month=7, day=2)  # the 06-30 invoices are overdue, the window has closed
    web_app_sqlite.clock.at = later
    board = agenda.today(web_app_sqlite.svc, later)
    assert [d.subject for d in board.overdue] == ["INV-2026-000001", "INV-2026-000002"]
    page = _as(web_app_sqlite, "viewer").get("/console")
    overdue = page.text.split('id="overdue"')[1].split('id="today"')[0]
    assert "INV-2026-000001" in overdue and "¥149,435" in overdue and "ORD-FLOW" in overdue
    assert "MINATO-O365" not in page.text


def test_long_groups_are_cut_and_counted(web_app_sqlite: WebApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_insights, "DASHBOARD_ROWS", 1)
    web_app_sqlite.clock.at = WEB_T0.replace(month=7, day=2)
    page = _as(web_app_sqlite, "viewer").get("/console")
    overdue = page.text.split('id="overdue"')[1].split('id="today"')[0]
    assert "INV-2026-000001" in overdue and "INV-2026-000002" not in overdue and "ほか 1 件" in overdue


def test_the_dashboard_in_english(web_app_sqlite: WebApp) -> None:
    client = _as(web_app_sqlite, "viewer")
    client.get("/lang/en?next=/console")
    page = client.get("/console")
    assert "What needs a person today" in page.text and "168-hour cancel window closes" in page.text


def test_customers_and_strangers_cannot_open_the_pages(web_app_sqlite: WebApp) -> None:
    customer = _as(web_app_sqlite, "acme")
    anonymous = web_app_sqlite.client()
    for path in ("/console", "/console/calendar", "/console/charts", "/console/what-if", "/console/outbox",
                 "/console/outbox/1"):
        assert customer.get(path).status_code == 403, path
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), path


# ---------------------------------------------------------------------------------------------- calendar
def test_the_month_grid_with_previous_and_next(web_app_sqlite: WebApp) -> None:
    client = _as(web_app_sqlite, "viewer")
    page = client.get("/console/calendar")
    assert page.status_code == 200 and "期限カレンダー 2026年6月" in page.text
    assert 'href="/console/calendar?month=2026-05"' in page.text and 'href="/console/calendar?month=2026-07"' in page.text
    cell = page.text.split('<time datetime="2026-06-23">')[1].split("</td>")[0]
    assert "MINATO-O365" in cell and "10:00" in cell
    july = client.get("/console/calendar?month=2026-07")
    assert "期限カレンダー 2026年7月" in july.text
    items = agenda.agenda(web_app_sqlite.svc, date(2026, 7, 1), date(2026, 7, 31))
    listing = july.text.split("今月の期限一覧")[1]
    assert listing.count("<tr class=\"kind-") == len(items) > 0
    marine_day = "海の日"  # a public holiday, named in the page's language (Japanese by default)
    assert marine_day and marine_day in july.text.split('<time datetime="2026-07-20">')[1].split("</td>")[0]
    assert client.get("/console/calendar?month=2026-13").status_code == 400
    assert client.get("/console/calendar?month=soon").status_code == 400


# ---------------------------------------------------------------------------------------------- ICS feed
def test_the_ics_feed_needs_a_staff_token_or_session(web_app: WebApp) -> None:
    svc = web_app.svc
    viewer_token = create_token(svc, WEB_T0, "viewer")
    customer_token = create_token(svc, WEB_T0, "acme")
    anonymous = web_app.client()
    refused = anonymous.get("/console/calendar.ics")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert anonymous.get("/console/calendar.ics?token=ld_wrong").status_code == 401
    assert anonymous.get(f"/console/calendar.ics?token={customer_token}").status_code == 401
    basic = base64.b64encode(b"viewer:demo-viewer").decode()
    assert anonymous.get("/console/calendar.ics", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert anonymous.get("/console/calendar.ics", headers={"Authorization": "Basic bm9ib2R5Om5vbmU="}).status_code == 401
    assert _as(web_app, "sales").get("/console/calendar.ics").status_code == 200
    feed = anonymous.get(f"/console/calendar.ics?token={viewer_token}")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    text = feed.text
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    found = {e["UID"]: e for e in events(text)}
    window = found["cancel_window-MINATO-O365-2026-06-23@licensedesk"]
    assert window["DTSTART"] == "20260623T010000Z" and window["DTSTAMP"] == "20260618T010000Z"
    assert window["SUMMARY;LANGUAGE=ja"].startswith("168時間の解約可能期間の終了")
    assert window["DESCRIPTION"].startswith("NCE-CANCEL-168H\\n")
    invoice = found["invoice_due-INV-2026-000001-2026-06-30@licensedesk"]
    assert invoice["DTSTART;VALUE=DATE"] == "20260630" and invoice["DTEND;VALUE=DATE"] == "20260701"
    expected = agenda.agenda(svc, date(2026, 5, 18), date(2027, 7, 23))  # today − 31 … today + 400 days
    assert len(found) == len(expected)


# ---------------------------------------------------------------------------------------------- charts
@pytest.mark.parametrize("name", ["viewer", "billing"])
def test_the_charts_are_inline_svg_with_yen_labels(web_app_sqlite: WebApp, name: str) -> None:
    page = _as(web_app_sqlite, name).get("/console/charts")
    assert page.status_code == 200
    svgs = re.findall(r"<svg .*?</svg>", page.text, flags=re.S)
    assert len(svgs) == 3
    revenue = ET.fromstring(svgs[2])
    assert revenue.get("role") == "img"
    titles = [r.find("{http://www.w3.org/2000/svg}title").text for r in revenue.iter("{http://www.w3.org/2000/svg}rect")]
    june = next(m for m in insights.revenue_by_month(web_app_sqlite.svc, date(2026, 6, 18)) if m.month.month == 6)
    assert june.net > 0 and f"2026-06: ¥{june.net:,}" in titles and len(titles) == 12
    assert f"¥{june.gross:,}" in page.text.split('id="revenue"')[1]


# ---------------------------------------------------------------------------------------------- what-if
def test_a_scenario_runs_on_its_own_database(web_app_sqlite: WebApp) -> None:
    client = _as(web_app_sqlite, "viewer")
    form = client.get("/console/what-if")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    with web_app_sqlite.svc.uow() as uow:
        before = (uow.subscriptions.count(), len(uow.documents.list()))
    content = (SCENARIOS / "nce-cancel-168h-inside-window.yaml").read_bytes()
    page = client.post("/console/what-if", files={"scenario": ("cancel.yaml", content, "application/yaml")})
    assert page.status_code == 200, page.text
    assert 'id="expect-ok"' in page.text and 'id="documents"' in page.text
    with web_app_sqlite.svc.uow() as uow:
        assert (uow.subscriptions.count(), len(uow.documents.list())) == before


def test_refusals_and_unmet_expectations_are_shown_with_their_lines(web_app_sqlite: WebApp) -> None:
    text = """format: 1
start: "2026-06-18T10:00:00+09:00"
steps:
  - customer: {ref: acme, name: 株式会社アクメ, entity: corporation, country: JP}
  - tenant: {ref: t1, customer: acme, domain: acme.onmicrosoft.com, country: JP}
  - order: {ref: s1, tenant: t1, offer: M365-E3, term: P1Y, billing: monthly, quantity: 10}
  - at: "2026-07-01T10:00:00+09:00"
    cancel: {subscription: s1}
expect:
  subscriptions.s1.status: cancelled
"""
    page = _as(web_app_sqlite, "viewer").post("/console/what-if", files={"scenario": ("late.yaml", text.encode())})
    assert page.status_code == 200
    rejections = page.text.split('id="rejections"')[1].split("</table>")[0]
    assert "NCE-CANCEL-168H" in rejections and "7 行目" in rejections
    assert 'id="expect-failed"' in page.text


def test_a_broken_file_is_refused_with_its_line(web_app_sqlite: WebApp) -> None:
    client = _as(web_app_sqlite, "viewer")
    broken = b'format: 1\nstart: "2026-06-18T10:00:00+09:00"\nsteps:\n  - customer: {ref: acme\n  - tenant: x\n'
    page = client.post("/console/what-if", files={"scenario": ("broken.yaml", broken)})
    assert page.status_code == 422 and 'id="problem"' in page.text
    assert "broken.yaml:5" in page.text and "not valid YAML" in page.text
    unknown = (b'format: 1\nstart: "2026-06-18T10:00:00+09:00"\nsteps:\n'
               b'  - customer: {ref: a, name: A, entity: corporation, country: JP}\n  - fly: {to: moon}\n')
    page = client.post("/console/what-if", files={"scenario": ("unknown.yaml", unknown)})
    assert page.status_code == 422 and "unknown.yaml:5" in page.text and "unknown action" in page.text
    assert client.post("/console/what-if", files={"scenario": ("empty.yaml", b"")}).status_code == 422
    too_big = b"#" * (256 * 1024 + 1)
    assert client.post("/console/what-if", files={"scenario": ("big.yaml", too_big)}).status_code == 422


def test_the_what_if_upload_needs_the_csrf_token(web_app_sqlite: WebApp) -> None:
    client = _as(web_app_sqlite, "viewer")
    content = (SCENARIOS / "nce-cancel-168h-inside-window.yaml").read_bytes()
    assert client.post("/console/what-if", files={"scenario": ("a.yaml", content)}, csrf=False).status_code == 403


def test_scenario_lines() -> None:
    broken = load_scenario(b"format: 1\nstart: [")
    assert isinstance(broken, Problem) and broken.line == 2 and broken.message.startswith("not valid YAML")
    problem = load_scenario(b'format: 1\nstart: "2026-06-18T10:00:00+09:00"\nsteps: []\nwhat: 1\n')
    assert problem == Problem("unknown top-level field 'what'", 4)
    problem = load_scenario(b'format: 2\nstart: "2026-06-18T10:00:00+09:00"\nsteps: []\n')
    assert isinstance(problem, Problem) and problem.line == 1
    assert isinstance(load_scenario("名前: テスト".encode("shift_jis")), Problem)
    good = load_scenario(b'format: 1\nstart: "2026-06-18T10:00:00+09:00"\nsteps:\n\n  - customer: {ref: a, name: A, '
                         b'entity: corporation, country: JP}\n')
    assert not isinstance(good, Problem) and good[1] == {1: 5}


# ---------------------------------------------------------------------------------------------- outbox
def _failed_ids(web_app: WebApp) -> list[int]:
    with web_app.svc.uow() as uow:
        return [m["id"] for m in uow.outbox.list() if m["status"] == "failed"]


@pytest.mark.parametrize("name", STAFF)
def test_every_staff_role_reads_the_outbox_only_billing_and_admin_may_retry(web_app_sqlite: WebApp,
                                                                              name: str) -> None:
    failed = _failed_ids(web_app_sqlite)
    assert failed
    page = _as(web_app_sqlite, name).get("/console/outbox?status=failed")
    assert page.status_code == 200 and f'id="message-{failed[0]}"' in page.text
    assert ("/retry" in page.text) == (name in ("admin", "billing"))


def test_retry_a_failed_message(web_app: WebApp) -> None:
    first = _failed_ids(web_app)[0]
    for name in ("viewer", "sales"):
        assert _as(web_app, name).post(f"/console/outbox/{first}/retry").status_code == 403
    billing = _as(web_app, "billing")
    assert billing.post(f"/console/outbox/{first}/retry", csrf=False).status_code == 403
    done = billing.post(f"/console/outbox/{first}/retry")
    assert done.status_code == 303 and done.headers["location"] == "/console/outbox"
    with web_app.svc.uow() as uow:
        row = uow.outbox.get(first)
    assert row is not None and (row["status"], row["attempts"]) == ("pending", 0)
    assert f"#{first}" in billing.get("/console/outbox").text
    again = billing.post(f"/console/outbox/{first}/retry")  # pending now: OUTBOX-NOT-FAILED
    assert again.status_code == 422 and "OUTBOX-NOT-FAILED" in again.text  # InvalidInput, as in the API
    assert billing.post("/console/outbox/99999/retry").status_code == 404


def test_a_message_shows_its_body_or_why_it_cannot_be_composed(web_app_sqlite: WebApp) -> None:
    client = _as(web_app_sqlite, "viewer")
    failed = _failed_ids(web_app_sqlite)[0]
    page = client.get(f"/console/outbox/{failed}")
    assert page.status_code == 200 and "LookupError" in page.text and "/retry" not in page.text
    svc, now = web_app_sqlite.svc, WEB_T0
    parties.register_customer(svc, now, ref="kaede", name="かえで商事株式会社", entity="corporation", country="JP",
                              contacts=[{"name": "経理部", "email": "keiri@kaede.example", "role": "billing"}])
    parties.register_tenant(svc, now, ref="kaede-tenant", customer="kaede", domain="kaede.onmicrosoft.com",
                            country="JP")
    subs.order(svc, now, ref="KAEDE-E3", tenant="kaede-tenant", offer="M365-E3", term="P1Y", billing="monthly",
               quantity=3)
    with svc.uow() as uow:
        queued = [m for m in uow.outbox.list() if m["customer_ref"] == "kaede" and m["kind"] == "invoice_issued"]
    assert queued and queued[0]["recipient"] == "keiri@kaede.example"
    page = client.get(f"/console/outbox/{queued[0]['id']}")
    assert page.status_code == 200
    assert "keiri@kaede.example" in page.text and 'id="mail-body"' in page.text
    assert "かえで商事株式会社" in page.text.split('id="mail-body"')[1]
    assert ".pdf" in page.text
    assert client.get("/console/outbox/99999").status_code == 404
