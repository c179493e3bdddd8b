"""Reseller relationships, delegated admin (DAP/GDAP) and transfer plans between partners (RULES.md §6).

A transfer plan is advice with computed dates: what to provision, whether licences must be re-assigned
(XFER-REASSIGN), by when the new subscriptions must exist (XFER-CANCEL-EXPIRE, XFER-150), and the
notes every move needs (XFER-TENANT-DATA, XFER-CREDIT, LIFE-NO-REFUND-CANCEL, DAP-REVOKE). Every line
cites its rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from .calendar import ONE_DAY, term_end
from .errors import InvalidInput, RuleViolation
from .parties import HOME_COUNTRY, Tenant
from .subscription import Notice, When

REQUEST_OPEN_DAYS = 90  # a reseller relationship request can be accepted for 90 days (decision D-XFER-REQUEST-90D)
GDAP_MAX_DAYS = 730  # GDAP lasts 1–730 days, no auto-renewal (Partner Center GDAP FAQ)
MANY_SUBSCRIPTIONS = 150  # XFER-150: more than this many active subscriptions cannot be duplicated


class RelationshipStatus(StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    EXPIRED = "expired"


class AdminKind(StrEnum):
    GDAP = "gdap"
    DAP = "dap"
    NONE = "none"


class AdminStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass
class AdminRelationship:
    """Delegated admin privileges of this reseller on a tenant (DAP, or GDAP with an end date)."""

    tenant_ref: str
    kind: AdminKind
    granted_at: datetime
    ends_on: date | None = None
    status: AdminStatus = AdminStatus.ACTIVE
    revoked_at: datetime | None = None
    id: int | None = None

    def revoke(self, when: When) -> Notice:
        """DAP-REVOKE: the customer's admin removes the privileges (Settings → Partner relationships), any time."""
        if self.status is not AdminStatus.ACTIVE:
            raise InvalidInput(f"tenant {self.tenant_ref} has no active delegated admin privileges to revoke",
                               f"テナント {self.tenant_ref} に取り消せる代理管理の権限はありません",
                               code="NO-DELEGATED-ADMIN", tenant=self.tenant_ref)
        self.status = AdminStatus.REVOKED
        self.revoked_at = when.instant
        return Notice("delegated_admin_revoked", self.tenant_ref, when.today, "DAP-REVOKE",
                      {"kind": self.kind.value})

    def expire(self, on: date) -> bool:
        if self.status is not AdminStatus.ACTIVE or self.ends_on is None or on <= self.ends_on:
            return False
        self.status = AdminStatus.EXPIRED
        return True

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "status": self.status.value, "granted_at": self.granted_at,
                "ends_on": self.ends_on, "revoked_at": self.revoked_at}


def check_partner_region(tenant: Tenant, region: Sequence[str] = (HOME_COUNTRY,)) -> None:
    """PARTNER-REGION: a partner takes over only customers whose tenant is in its own region."""
    countries = [c.upper() for c in region]
    if tenant.country.upper() not in countries:
        raise RuleViolation(
            "PARTNER-REGION",
            f"tenant {tenant.domain} is in {tenant.country}; the partner's region is {', '.join(countries)}",
            f"テナント {tenant.domain} の国は {tenant.country} です。パートナーの地域（{', '.join(countries)}）の"
            "お客様のみ引き継げます",
            {"tenant": tenant.ref, "country": tenant.country, "region": countries},
        )


@dataclass
class RelationshipRequest:
    """XFER-RELATIONSHIP: sent to the customer's admin; accepted, or expired after REQUEST_OPEN_DAYS."""

    ref: str
    customer_ref: str
    tenant_ref: str
    sent_at: datetime
    open_until: date
    admin: AdminKind = AdminKind.GDAP
    gdap_days: int | None = GDAP_MAX_DAYS
    partner: str | None = None
    status: RelationshipStatus = RelationshipStatus.SENT
    accepted_at: datetime | None = None
    closed_on: date | None = None
    id: int | None = None

    @classmethod
    def send(cls, ref: str, tenant: Tenant, when: When, admin: AdminKind = AdminKind.GDAP,
             gdap_days: int | None = None, partner: str | None = None) -> RelationshipRequest:
        check_partner_region(tenant)
        tenant.check_can_hold_csp()  # TEN-SYNDICATION: a syndicated tenant cannot move to CSP
        days = None
        if admin is AdminKind.GDAP:
            days = GDAP_MAX_DAYS if gdap_days is None else gdap_days
            if not 1 <= days <= GDAP_MAX_DAYS:
                raise InvalidInput(f"gdap_days must be 1–{GDAP_MAX_DAYS}, got {days}",
                                   f"GDAP の期間は 1〜{GDAP_MAX_DAYS} 日です（指定: {days}）",
                                   code="INVALID-INPUT", field="gdap_days")
        return cls(ref, tenant.customer_ref, tenant.ref, when.instant,
                   when.today + timedelta(days=REQUEST_OPEN_DAYS), admin, days, partner)

    def accept(self, when: When) -> AdminRelationship | None:
        """The customer's admin accepts; delegated admin privileges start now when the request asked for them."""
        if self.status is RelationshipStatus.SENT and when.today > self.open_until:
            self.expire(when.today)
        if self.status is RelationshipStatus.EXPIRED:
            raise RuleViolation(
                "XFER-RELATIONSHIP",
                f"reseller relationship request {self.ref} expired after {self.open_until}; send a new one",
                f"販売店関係の要求 {self.ref} は {self.open_until} で期限切れです。新しい要求を送信してください",
                {"relationship": self.ref, "open_until": self.open_until.isoformat()},
            )
        if self.status is RelationshipStatus.ACCEPTED:
            raise InvalidInput(f"relationship request {self.ref} is already accepted",
                               f"販売店関係の要求 {self.ref} は承諾済みです", code="RELATIONSHIP-STATUS")
        self.status = RelationshipStatus.ACCEPTED
        self.accepted_at = when.instant
        self.closed_on = when.today
        if self.admin is AdminKind.NONE:
            return None
        ends = None if self.gdap_days is None else when.today + timedelta(days=self.gdap_days - 1)
        return AdminRelationship(self.tenant_ref, self.admin, when.instant, ends)

    def expire(self, on: date) -> Notice | None:
        if self.status is not RelationshipStatus.SENT or on <= self.open_until:
            return None
        self.status = RelationshipStatus.EXPIRED
        self.closed_on = self.open_until + ONE_DAY
        return Notice("relationship_request_expired", self.ref, self.closed_on, "XFER-RELATIONSHIP",
                      {"tenant": self.tenant_ref, "open_until": self.open_until.isoformat()})


@dataclass(frozen=True)
class Advice:
    rule: str
    en: str
    ja: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.en, "message_ja": self.ja}


class Direction(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


@dataclass
class TransferPlan:
    ref: str
    tenant_ref: str
    customer_ref: str
    direction: Direction
    method: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)
    delegated_admin: AdminRelationship | None = None
    partner: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"direction": self.direction.value, "tenant": self.tenant_ref, "customer": self.customer_ref,
                "method": self.method, "partner": self.partner, "lines": self.lines,
                "advice": [a.as_dict() for a in self.advice], "advice_rules": [a.rule for a in self.advice],
                "delegated_admin": None if self.delegated_admin is None else self.delegated_admin.as_dict()}


def _common_advice(count: int, new_tenant: bool, incoming: bool) -> list[Advice]:
    who = "the source partner" if incoming else "this reseller"
    advice = [
        Advice("XFER-CANCEL-EXPIRE",
               f"{who} turns auto-renew off; at each end date the subscription becomes Expired and users keep "
               "access for 30 days; the new subscription must be provisioned before that Expired period ends",
               f"{'移行元パートナー' if incoming else '当社'}が自動更新をオフにし、終了日に Expired となります。"
               "ユーザーは 30 日間利用を継続でき、その期間が終わるまでに新しいサブスクリプションを用意します"),
        Advice("LIFE-NO-REFUND-CANCEL",
               "do not cancel early: a subscription cancelled outside its window gets no refund, so it is let expire "
               "at its natural end", "途中解約はしないでください。期間外の解約は返金されないため、自然な期間満了を待ちます"),
    ]
    if count > MANY_SUBSCRIPTIONS:
        advice.append(Advice(
            "XFER-150", f"{count} active subscriptions (> {MANY_SUBSCRIPTIONS}): duplicating them would exceed the "
            "tenant maximum, so the new ones are bought during the 30-day Expired grace period, not before",
            f"有効なサブスクリプションが {count} 件（{MANY_SUBSCRIPTIONS} 件超）のため、複製するとテナントの上限を"
            "超えます。Expired の 30 日間の猶予期間中に再購入します"))
    if new_tenant:
        advice.append(Advice("XFER-TENANT-DATA", "the subscriptions move to another tenant: the customer migrates its "
                             "data to the new tenant itself", "テナント間の移行のため、データはお客様ご自身で新しいテナントへ移行します"))
    return advice


@dataclass(frozen=True)
class SourceSubscription:
    """A subscription the customer holds at the source (not in this system), as the customer reports it."""

    offer: str
    quantity: int
    ends: date | None = None
    retired: bool = False
    equivalent: str | None = None
    provision_offer: str | None = None
    provision_quantity: int | None = None


def reassignment(src: SourceSubscription, new_tenant: bool) -> tuple[str, str | None, Advice]:
    """XFER-REASSIGN: (what the customer must do, offer to provision, advice) for one source subscription."""
    target = src.provision_offer or (src.equivalent if src.retired else src.offer)
    qty = src.provision_quantity or src.quantity
    if target is None:
        return "choose_equivalent", None, Advice(
            "XFER-REASSIGN", f"{src.offer} is retired: choose an equivalent offer to avoid data loss",
            f"{src.offer} は提供終了のため、データ損失を防ぐには同等のオファーを選ぶ必要があります")
    retired = (f"{src.offer} is retired; {target} replaces it as an equivalent to avoid data loss. "
               if src.retired else "")
    retired_ja = f"{src.offer} は提供終了のため、データ損失を防ぐ同等のオファー {target} に置き換えます。" if src.retired else ""
    if new_tenant:
        return "reassign", target, Advice(
            "XFER-REASSIGN", f"{retired}new tenant: licences are assigned to the users of the new tenant",
            f"{retired_ja}新しいテナントのため、新しいテナントのユーザーにライセンスを割り当てます")
    if target != src.offer:
        return "reassign", target, Advice(
            "XFER-REASSIGN", f"{retired}different offer ({src.offer} → {target}): licences must be re-assigned; Office "
            "apps need reinstalling or signing in again", f"{retired_ja}異なるプラン（{src.offer} → {target}）のため"
            "ライセンスの再割り当てが必要です。Office の再インストールや再認証が求められます")
    if qty != src.quantity:
        return "reassign", target, Advice(
            "XFER-REASSIGN", f"same offer but the licence count changes ({src.quantity} → {qty}): licence "
            "assignments must be reviewed", f"同一プランですがライセンス数が変わる（{src.quantity} → {qty}）ため、"
            "割り当ての見直しが必要です")
    return "none", target, Advice(
        "XFER-REASSIGN", "same offer, same licence count, equivalent: no re-assignment, no data loss, no interruption",
        "同一プラン・同数・同等のため、ライセンスの再割り当ては不要で、データ損失も中断もありません")


def plan_incoming(ref: str, tenant: Tenant, sources: Sequence[SourceSubscription], *, relationship_ok: bool,
                  expired_days: int, active_subscriptions: int | None = None, new_tenant: bool = False,
                  source_channel: str | None = None, admin: AdminRelationship | None = None) -> TransferPlan:
    """Take a customer over from another partner or Microsoft: provision the same offers (XFER-RELATIONSHIP)."""
    check_partner_region(tenant)
    tenant.check_can_hold_csp()
    if not relationship_ok:
        raise RuleViolation("XFER-RELATIONSHIP",
                            f"the customer of {tenant.domain} has not accepted a reseller relationship: nothing can "
                            "be provisioned yet", f"{tenant.domain} のお客様が販売店関係を承諾していないため、"
                            "まだプロビジョニングできません", {"tenant": tenant.ref})
    if not sources:
        raise InvalidInput("an incoming plan lists the customer's current subscriptions",
                           "移行計画には現在のサブスクリプションを指定してください", code="INVALID-INPUT",
                           field="subscriptions")
    count = active_subscriptions if active_subscriptions is not None else len(sources)
    grace_only = count > MANY_SUBSCRIPTIONS
    plan = TransferPlan(ref, tenant.ref, tenant.customer_ref, Direction.INCOMING,
                        "rebuy_in_grace" if grace_only else "provision_before_expiry", delegated_admin=admin,
                        partner=source_channel)
    for src in sources:
        what, target, advice = reassignment(src, new_tenant)
        by = None if src.ends is None else src.ends + timedelta(days=expired_days)
        plan.lines.append({
            "source": {"offer": src.offer, "quantity": src.quantity, "ends": src.ends, "retired": src.retired},
            "provision": None if target is None else {"offer": target,
                                                      "quantity": src.provision_quantity or src.quantity},
            "reassignment": what, "rule": advice.rule, "advice": advice.en, "advice_ja": advice.ja,
            "expired_on": None if src.ends is None else src.ends + ONE_DAY,
            "provision_from": src.ends + ONE_DAY if grace_only and src.ends is not None else None,
            "provision_by": by,
        })
    plan.advice = _common_advice(count, new_tenant, incoming=True)
    if source_channel == "direct":
        plan.advice.append(_credit_advice(admin))
    return plan


def _credit_advice(admin: AdminRelationship | None) -> Advice:
    """XFER-CREDIT: subscriptions bought directly from Microsoft may get a credit when cancelled."""
    if admin is not None and admin.status is AdminStatus.ACTIVE:
        return Advice("XFER-CREDIT", f"bought directly from Microsoft: a credit may be due on cancellation; with "
                      f"delegated admin ({admin.kind.value}) this reseller asks Microsoft 365 support on the "
                      "customer's behalf", "マイクロソフトから直接購入したサブスクリプションは解約時にクレジットの"
                      "対象となる場合があります。代理管理の権限があるため、当社がお客様に代わってサポートに問い合わせます")
    return Advice("XFER-CREDIT", "bought directly from Microsoft: a credit may be due on cancellation; without "
                  "delegated admin the customer asks Microsoft 365 billing support directly",
                  "マイクロソフトから直接購入したサブスクリプションは解約時にクレジットの対象となる場合があります。"
                  "代理管理の権限がないため、お客様ご自身で Microsoft 365 サポートにお問い合わせください")


@dataclass(frozen=True)
class LeavingSubscription:
    """One of this reseller's subscriptions on a tenant that moves away, after auto-renew was handled."""

    ref: str
    offer: str
    quantity: int
    term_end: date | None
    term_months: int
    expired_days: int
    auto_renew: bool  # after the attempt to turn it off
    outcome: str  # turned_off | already_off | the rule ID that refused turning it off


def plan_outgoing(ref: str, tenant: Tenant, subs: Sequence[LeavingSubscription], *, partner: str | None,
                  region: Sequence[str] | None, new_tenant: bool = False,
                  admin: AdminRelationship | None = None) -> TransferPlan:
    """Let a customer move to another partner by cancel/expiry (XFER-CANCEL-EXPIRE)."""
    if region:
        check_partner_region(tenant, region)
    if not subs:
        raise InvalidInput(f"tenant {tenant.domain} has no live subscription to move",
                           f"テナント {tenant.domain} に移行する有効なサブスクリプションはありません",
                           code="INVALID-INPUT", field="subscriptions")
    grace_only = len(subs) > MANY_SUBSCRIPTIONS
    plan = TransferPlan(ref, tenant.ref, tenant.customer_ref, Direction.OUTGOING, "cancel_expire",
                        delegated_admin=admin, partner=partner)
    for sub in subs:
        renews_on = None
        end = sub.term_end
        if end is not None and sub.auto_renew:  # could not be turned off: it renews once more
            renews_on = end + ONE_DAY
            end = term_end(renews_on, sub.term_months)
        expired_on = None if end is None else end + ONE_DAY
        plan.lines.append({
            "subscription": sub.ref, "offer": sub.offer, "quantity": sub.quantity, "auto_renew_off": sub.outcome,
            "renews_on": renews_on, "term_end": end, "expired_on": expired_on, "rule": "XFER-CANCEL-EXPIRE",
            "provision_from": expired_on if grace_only else None,
            "provision_by": None if expired_on is None else expired_on + timedelta(days=sub.expired_days - 1),
        })
    plan.advice = _common_advice(len(subs), new_tenant, incoming=False)
    if admin is not None and admin.status is AdminStatus.ACTIVE:
        plan.advice.append(Advice(
            "DAP-REVOKE", f"this reseller still holds delegated admin ({admin.kind.value}); the customer's admin can "
            "revoke it at any time (admin center → Settings → Partner relationships)",
            "当社はまだ代理管理の権限を保持しています。お客様の管理者は管理センターの【設定】>【パートナー関係】から"
            "いつでも取り消せます"))
    return plan
