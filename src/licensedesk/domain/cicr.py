"""Contact information change requests (CICR) on EES / School agreements (RULES.md §7, CICR-*).

A request names a role and the new contact. ``route`` decides, in this order:
1. the role must be one CICR can change (CICR-FIELDS) or one of the manual participant roles /
   fields of CICR-CHANNEL; anything else is refused CICR-FIELDS;
2. the three v3.2 roles are refused on agreements older than v3.2 (CICR-FIELDS);
3. the CICR-CHANNEL exceptions (participant roles, an expired agreement, the VLSC e-mail address,
   an address location) go to the manual queue, whatever channel they came through;
4. everything else is applied at once when it came electronically (eAgreements / VLSC), and
   refused CICR-CHANNEL when sent as a manual request.
Every applied change keeps the previous contact, so the history of each role can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .agreements import V3_2, AgreementVersion
from .errors import InvalidInput, RuleViolation
from .explain import Explanation, because


class Role(StrEnum):
    PRIMARY_CONTACT = "primary_contact"
    NOTICES_CONTACT = "notices_contact"  # v3.2+
    NOTICES_ONLINE_ACCESS_CONTACT = "notices_online_access_contact"  # v3.2+
    SA_BENEFITS_CONTACT = "sa_benefits_contact"  # v3.2+
    CHANNEL_PARTNER_CONTACT = "channel_partner_contact"
    ACCOUNT_MANAGER = "account_manager"
    # CICR-CHANNEL manual-only participant roles and fields
    MEDIA_DELIVERY = "media_delivery"
    SOFTWARE_ADVISOR_PRIMARY = "software_advisor_primary"
    AFFILIATE_PRIMARY = "affiliate_primary"
    BILL_TO = "bill_to"
    SUPPORT_PROVIDER = "support_provider"
    VLSC_EMAIL = "vlsc_email"
    ADDRESS = "address"


V32_ONLY = frozenset({Role.NOTICES_CONTACT, Role.NOTICES_ONLINE_ACCESS_CONTACT, Role.SA_BENEFITS_CONTACT})
PARTICIPANT_ROLES = frozenset({Role.MEDIA_DELIVERY, Role.SOFTWARE_ADVISOR_PRIMARY, Role.AFFILIATE_PRIMARY,
                               Role.BILL_TO, Role.SUPPORT_PROVIDER})
MANUAL_ONLY = PARTICIPANT_ROLES | {Role.VLSC_EMAIL, Role.ADDRESS}


class Channel(StrEnum):
    ELECTRONIC = "electronic"  # eAgreements or Volume Licensing Central
    MANUAL = "manual"


class Change(StrEnum):
    UPDATE = "update"
    ASSIGN = "assign"  # participant roles
    REMOVE = "remove"  # participant roles


class CicrStatus(StrEnum):
    APPLIED = "applied"
    QUEUED = "queued"  # the manual queue (CICR-CHANNEL)
    REJECTED = "rejected"  # by whoever works the manual queue


@dataclass
class Cicr:
    ref: str
    agreement: str
    role: Role
    change: Change
    channel: Channel
    contact: dict[str, str]
    requested_on: date
    status: CicrStatus
    route_reason: str
    rule: str
    previous: dict[str, str] | None = None
    decided_on: date | None = None
    why: Explanation | None = None
    row_version: int = 0


def parse_role(value: object) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise RuleViolation("CICR-FIELDS", f"a CICR cannot change {value!r}; it can change {allowed}",
                            f"CICR で {value!r} は変更できません（変更できるもの: {allowed}）",
                            {"role": str(value)}) from None


def _check_change(role: Role, change: Change, contact: dict[str, str]) -> None:
    participant = role in PARTICIPANT_ROLES
    if (participant and change is Change.UPDATE) or (not participant and change is not Change.UPDATE):
        want = "assign or remove" if participant else "update"
        raise InvalidInput(f"a {role.value} request must {want}", f"{role.value} の要求は {want} のみです",
                           code="CICR-CHANGE-KIND", role=role.value, change=change.value)
    needed = {Role.VLSC_EMAIL: "email", Role.ADDRESS: "address"}.get(role, "name")
    if change is not Change.REMOVE and not contact.get(needed, "").strip():
        raise InvalidInput(f"a {role.value} request needs the new {needed}", f"{role.value} の要求には新しい {needed} が必要です",
                           code="CICR-INCOMPLETE", role=role.value, missing=needed)


def route(*, ref: str, agreement: str, version: AgreementVersion, agreement_expired: bool, role: Role,
          change: Change, channel: Channel, contact: dict[str, str], today: date,
          current: dict[str, str] | None) -> Cicr:
    """Refuse (CICR-FIELDS, CICR-CHANNEL) or return the request, applied or queued for manual handling."""
    _check_change(role, change, contact)
    if role in V32_ONLY and version < V3_2:
        raise RuleViolation("CICR-FIELDS", f"{role.value} exists from agreement version 3.2; {agreement} is v{version}",
                            f"{role.value} は契約バージョン 3.2 以降で変更できます（{agreement} は v{version}）",
                            {"role": role.value, "version": str(version)})
    manual_reason = ("expired agreement" if agreement_expired else
                     f"{role.value} is changed by manual request" if role in MANUAL_ONLY else None)
    if manual_reason is None and channel is Channel.MANUAL:
        raise RuleViolation("CICR-CHANNEL", f"a {role.value} change is accepted only through eAgreements or "
                                            f"Volume Licensing Central",
                            f"{role.value} の変更は eAgreements またはボリューム ライセンス セントラル経由でのみ受け付けます",
                            {"role": role.value, "channel": channel.value})
    if manual_reason is not None:
        why = because("CICR-CHANNEL", f"manual queue: {manual_reason}", f"手動キュー: {manual_reason}",
                      role=role.value, channel=channel.value, agreement_expired=agreement_expired)
        return Cicr(ref, agreement, role, change, channel, contact, today, CicrStatus.QUEUED, manual_reason,
                    "CICR-CHANNEL", current, why=why)
    why = because("CICR-FIELDS", f"{role.value} changed electronically", f"{role.value} を電子的に変更",
                  role=role.value, version=str(version))
    return Cicr(ref, agreement, role, change, channel, contact, today, CicrStatus.APPLIED, "electronic channel",
                "CICR-FIELDS", current, today, why)


def decide(cicr: Cicr, today: date, approved: bool, current: dict[str, str] | None) -> None:
    """Operations work the manual queue: the change is applied (keeping the previous contact) or rejected."""
    if cicr.status is not CicrStatus.QUEUED:
        raise InvalidInput(f"CICR {cicr.ref} is {cicr.status.value}, not queued",
                           f"CICR {cicr.ref} は手動キューにありません（{cicr.status.value}）", code="CICR-STATUS")
    cicr.status = CicrStatus.APPLIED if approved else CicrStatus.REJECTED
    cicr.previous = current
    cicr.decided_on = today


def current_contacts(history: list[Cicr]) -> dict[str, dict[str, str]]:
    """The contact of each role after every applied request, in the order they were decided."""
    out: dict[str, dict[str, str]] = {}
    applied = [c for c in history if c.status is CicrStatus.APPLIED]
    for c in sorted(applied, key=lambda c: (c.decided_on or c.requested_on)):
        if c.change is Change.REMOVE:
            out.pop(c.role.value, None)
        else:
            out[c.role.value] = dict(c.contact)
    return out
