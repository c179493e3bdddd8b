"""The agenda as an iCalendar feed (RFC 5545), for the staff's calendar clients (issue 7).

One VEVENT per deadline: its UID is stable (kind, subject, date), so a client updates rather than
duplicates it; a day deadline is an all-day DATE event, an instant (the 168-hour cancel window's end)
a DATE-TIME in UTC. SUMMARY in Japanese, DESCRIPTION with the rule ID and its formula. Lines end in
CRLF and are folded at 75 octets without splitting a UTF-8 character (RFC 5545 §3.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from licensedesk.services.agenda import Deadline

CRLF = "\r\n"
LINE_OCTETS = 75
PRODID = "-//licensedesk//agenda//JA"
UID_DOMAIN = "licensedesk"


def escape(text: str) -> str:
    """TEXT value escaping (§3.3.11): backslash, semicolon, comma and newlines."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets; continuation lines start with one space."""
    out: list[str] = []
    chunk, size, limit = "", 0, LINE_OCTETS
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > limit:
            out.append(chunk)
            chunk, size, limit = " ", 1, LINE_OCTETS
        chunk += char
        size += octets
    out.append(chunk)
    return CRLF.join(out)


def utc_stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(d: Deadline, stamp: str) -> list[str]:
    lines = ["BEGIN:VEVENT", f"UID:{escape(d.uid)}@{UID_DOMAIN}", f"DTSTAMP:{stamp}"]
    if d.at is not None:
        lines.append(f"DTSTART:{utc_stamp(d.at)}")
    else:
        lines += [f"DTSTART;VALUE=DATE:{d.on:%Y%m%d}", f"DTEND;VALUE=DATE:{d.on + timedelta(days=1):%Y%m%d}"]
    who = d.customer_name or d.customer
    summary = f"{d.label_ja}：{who} {d.subject}" + (f"（{d.detail}）" if d.detail else "")
    description = f"{d.rule}\n{d.why_ja}\n\n{d.label_en}: {d.why_en}"
    lines += [f"SUMMARY;LANGUAGE=ja:{escape(summary)}", f"DESCRIPTION:{escape(description)}",
              f"CATEGORIES:{escape(d.kind)}", "TRANSP:TRANSPARENT", "END:VEVENT"]
    return lines


def calendar(deadlines: Iterable[Deadline], now: datetime, name: str = "licensedesk 期限") -> str:
    """The whole VCALENDAR: ``now`` is the DTSTAMP of every event (when the feed was produced)."""
    stamp = utc_stamp(now)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape(name)}", "X-WR-TIMEZONE:Asia/Tokyo"]
    for d in deadlines:
        lines += _event(d, stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
