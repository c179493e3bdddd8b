"""Issue 7: the agenda's iCalendar feed (RFC 5545 folding, escaping, DATE vs UTC DATE-TIME) and the SVG charts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from licensedesk.entrypoints.web.charts import bar_chart, yen
from licensedesk.entrypoints.web.ics import calendar, escape, fold
from licensedesk.services.agenda import Deadline

JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 6, 24, 9, 30, tzinfo=JST)
SVG = "{http://www.w3.org/2000/svg}"


def unfold(text: str) -> list[str]:
    assert "\n" not in text.replace("\r\n", "")  # CRLF only, no bare LF
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def parse(text: str) -> list[dict[str, str]]:
    """A small RFC 5545 reader: the VEVENTs as {name(;params): value}."""
    events, current = [], None
    for line in unfold(text):
        name, _, value = line.partition(":")
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            assert current is not None
            events.append(current)
            current = None
        elif current is not None:
            current[name] = unescape(value)
    return events


def _cancel() -> Deadline:
    return Deadline("cancel_window", date(2026, 6, 25), "acme", "subscription", "s1", "NCE-CANCEL-168H",
                    "max(order, term began) + 168 h", "max(注文時刻, 期間開始時刻) + 168 時間",
                    at=datetime(2026, 6, 25, 10, 0, tzinfo=JST), customer_name="株式会社アクメ")


def _invoice() -> Deadline:
    return Deadline("invoice_due", date(2026, 7, 31), "acme", "document", "INV-2026-000001", "ORD-FLOW",
                    "due 2026-07-31, 59,774 yen open; see: a\\b", "支払期限 2026-07-31、未入金 59,774 円",
                    customer_name="株式会社アクメ", detail="¥59,774")


def test_fold_splits_at_75_octets_without_cutting_a_character() -> None:
    line = "SUMMARY:" + "請求書の支払期限" * 10
    folded = fold(line)
    physical = folded.split("\r\n")
    assert len(physical) > 1
    assert all(len(p.encode("utf-8")) <= 75 for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(physical)) == line
    assert fold("short") == "short"
    exact = "X" * 75
    assert fold(exact) == exact and fold(exact + "Y") == exact + "\r\n Y"


def test_escape_text_values() -> None:
    assert escape("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"


def test_the_feed_is_a_calendar_of_events_parsed_back() -> None:
    text = calendar([_cancel(), _invoice()], NOW)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode("utf-8")) <= 75 for line in text.split("\r\n"))
    cancel, invoice = parse(text)
    assert cancel["UID"] == "cancel_window-s1-2026-06-25@licensedesk"
    assert cancel["DTSTAMP"] == "20260624T003000Z"  # 09:30 JST
    assert cancel["DTSTART"] == "20260625T010000Z" and "DTEND" not in cancel  # an instant, in UTC
    assert invoice["DTSTART;VALUE=DATE"] == "20260731" and invoice["DTEND;VALUE=DATE"] == "20260801"
    assert invoice["SUMMARY;LANGUAGE=ja"] == "請求書の支払期限：株式会社アクメ INV-2026-000001（¥59,774）"
    assert invoice["DESCRIPTION"].splitlines()[0] == "ORD-FLOW"
    assert "see: a\\b" in invoice["DESCRIPTION"]  # escaped and unescaped back
    assert calendar([_invoice()], NOW).count("BEGIN:VEVENT") == 1
    assert parse(calendar([_invoice()], datetime(2026, 7, 1, tzinfo=UTC)))[0]["UID"] == invoice["UID"]


def test_yen_format() -> None:
    assert (yen(1234), yen(0), yen(-59774)) == ("¥1,234", "¥0", "-¥59,774")


def test_bar_chart_is_accessible_svg_with_a_bar_per_value() -> None:
    svg = bar_chart("rev", "売上 <月別>", "税抜", [("2026-05", 1234), ("2026-06", 0), ("2026-07", -500)], money=True)
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "rev-title rev-desc"
    assert root.find(f"{SVG}title").text == "売上 <月別>"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "税抜"  # type: ignore[union-attr]
    rects = root.findall(f".//{SVG}rect")
    assert [r.find(f"{SVG}title").text for r in rects] == \
        ["2026-05: ¥1,234", "2026-06: ¥0", "2026-07: -¥500"]  # type: ignore[union-attr]
    heights = [float(r.get("height", "0")) for r in rects]
    assert heights[0] > heights[2] > heights[1] == 0.0
    zero = float(root.find(f"{SVG}line").get("y1", "0"))  # type: ignore[union-attr]
    assert float(rects[0].get("y", "0")) + heights[0] == zero and float(rects[2].get("y", "0")) == zero
    counts = ET.fromstring(bar_chart("n", "t", "d", [("1月", 3)], money=False))
    assert "3" in [t.text for t in counts.iter(f"{SVG}text")]


def test_an_empty_series_still_draws() -> None:
    root = ET.fromstring(bar_chart("e", "t", "d", [("a", 0), ("b", 0)], money=True))
    assert len(root.findall(f".//{SVG}rect")) == 2
