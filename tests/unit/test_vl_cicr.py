"""Contact information change requests (RULES.md §7, CICR-FIELDS / CICR-CHANNEL): routing table."""

from __future__ import annotations

from datetime import date

import pytest

from licensedesk.domain.agreements import AgreementVersion
from licensedesk.domain.cicr import Change, Channel, CicrStatus, Role, current_contacts, decide, parse_role, route
from licensedesk.domain.errors import InvalidInput, RuleViolation

TODAY = date(2026, 4, 1)


def ask(role: str, version: str = "3.2", channel: str = "electronic", change: str = "update",
        expired: bool = False, contact: dict[str, str] | None = None) -> tuple[CicrStatus, str]:
    cicr = route(ref="r", agreement="a1", version=AgreementVersion.parse(version), agreement_expired=expired,
                 role=parse_role(role), change=Change(change), channel=Channel(channel),
                 contact=contact if contact is not None else {"name": "n", "email": "e@x", "address": "a"},
                 today=TODAY, current=None)
    return cicr.status, cicr.rule


@pytest.mark.parametrize(("role", "version", "channel", "change", "expired", "result"), [
    ("primary_contact", "3.1", "electronic", "update", False, (CicrStatus.APPLIED, "CICR-FIELDS")),
    ("channel_partner_contact", "3.0", "electronic", "update", False, (CicrStatus.APPLIED, "CICR-FIELDS")),
    ("account_manager", "3.2", "electronic", "update", False, (CicrStatus.APPLIED, "CICR-FIELDS")),
    ("notices_contact", "3.2", "electronic", "update", False, (CicrStatus.APPLIED, "CICR-FIELDS")),
    ("sa_benefits_contact", "3.3", "electronic", "update", False, (CicrStatus.APPLIED, "CICR-FIELDS")),
    ("media_delivery", "3.2", "electronic", "assign", False, (CicrStatus.QUEUED, "CICR-CHANNEL")),
    ("support_provider", "3.2", "manual", "remove", False, (CicrStatus.QUEUED, "CICR-CHANNEL")),
    ("affiliate_primary", "3.1", "manual", "assign", False, (CicrStatus.QUEUED, "CICR-CHANNEL")),
    ("software_advisor_primary", "3.1", "electronic", "assign", False, (CicrStatus.QUEUED, "CICR-CHANNEL")),
    ("bill_to", "3.1", "electronic", "assign", False, (CicrStatus.QUEUED, "CICR-CHANNEL")),
    ("vlsc_email", "3.1", "electronic", "update", False, (CicrStatus.QUEUED, "CICR-CHANNEL")),
    ("address", "3.1", "electronic", "update", False, (CicrStatus.QUEUED, "CICR-CHANNEL")),
    ("primary_contact", "3.2", "electronic", "update", True, (CicrStatus.QUEUED, "CICR-CHANNEL")),
    ("primary_contact", "3.2", "manual", "update", True, (CicrStatus.QUEUED, "CICR-CHANNEL")),
])
def test_routing(role: str, version: str, channel: str, change: str, expired: bool,
                 result: tuple[CicrStatus, str]) -> None:
    assert ask(role, version, channel, change, expired) == result


@pytest.mark.parametrize(("role", "version", "channel", "code"), [
    ("notices_contact", "3.1", "electronic", "CICR-FIELDS"),
    ("notices_online_access_contact", "2.9", "electronic", "CICR-FIELDS"),
    ("sa_benefits_contact", "3.1", "manual", "CICR-FIELDS"),
    ("billing_contact", "3.2", "electronic", "CICR-FIELDS"),
    ("primary_contact", "3.2", "manual", "CICR-CHANNEL"),
    ("account_manager", "3.2", "manual", "CICR-CHANNEL"),
])
def test_refusals(role: str, version: str, channel: str, code: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        ask(role, version, channel)
    assert refused.value.code == code


@pytest.mark.parametrize(("role", "change", "contact"), [
    ("media_delivery", "update", {"name": "n"}), ("primary_contact", "remove", {}),
    ("primary_contact", "update", {"email": "e"}), ("vlsc_email", "update", {"name": "n"})])
def test_malformed_requests(role: str, change: str, contact: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        ask(role, change=change, contact=contact)


def test_history_keeps_previous_contacts_and_removals() -> None:
    def req(ref: str, role: Role, change: Change, name: str, day: int, current: dict[str, str] | None = None):
        return route(ref=ref, agreement="a1", version=AgreementVersion(3, 2), agreement_expired=False, role=role,
                     change=change, channel=Channel.ELECTRONIC, contact={"name": name}, today=date(2026, 4, day),
                     current=current)

    first = req("1", Role.PRIMARY_CONTACT, Change.UPDATE, "A", 1)
    second = req("2", Role.PRIMARY_CONTACT, Change.UPDATE, "B", 2, {"name": "A"})
    media = req("3", Role.MEDIA_DELIVERY, Change.ASSIGN, "M", 3)
    decide(media, date(2026, 4, 5), True, None)
    removal = req("4", Role.MEDIA_DELIVERY, Change.REMOVE, "", 6)
    assert second.previous == {"name": "A"}
    assert current_contacts([first, second, media]) == {"primary_contact": {"name": "B"}, "media_delivery": {"name": "M"}}
    decide(removal, date(2026, 4, 7), True, {"name": "M"})
    assert current_contacts([first, second, media, removal]) == {"primary_contact": {"name": "B"}}
