"""Scenario actions of issue 5 (customers, tenants, onboarding, relationships, transfers) and their report.

Added to format 1 (SCENARIOS.md): ``apply``, ``issue_login``, ``reissue_activation``,
``relationship_request``, ``accept_relationship``, ``revoke_dap``, ``merge_tenants``,
``record_vl_licences``, ``assign_licences``, ``unassign_licences``, ``transfer_plan``. The new fields
of ``customer``, ``tenant`` and ``order`` are in ``core``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licensedesk.domain.errors import InvalidInput
from licensedesk.services import licences, onboarding, party_views, transfers
from licensedesk.services import parties as party_service
from licensedesk.services.ports import UnitOfWork

from .base import Run, action


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _users(f: Mapping[str, Any]) -> list[str]:
    users = f["users"]
    if isinstance(users, str) or not isinstance(users, list):
        raise InvalidInput("users must be a list of names", "users は利用者名のリストです", code="INVALID-INPUT",
                           field="users")
    return [str(u) for u in users]


def _issue_login(run: Run, f: Mapping[str, Any]) -> None:
    start = f.get("contract_start")
    onboarding.issue_login(run.svc, run.clock.now(), application=str(f["application"]),
                           login_id=_text(f.get("login_id")),
                           contract_start=transfers.day_of(start, "contract_start") if start is not None else None)


def _plan(run: Run, f: Mapping[str, Any]) -> None:
    options = {k: f[k] for k in ("source", "active_subscriptions", "new_tenant", "to_partner", "to_partner_region")
               if k in f}
    subs = f.get("subscriptions")
    if subs is not None and (isinstance(subs, str | Mapping) or not isinstance(subs, list)):
        raise InvalidInput("subscriptions must be a list", "subscriptions はリストです", code="INVALID-INPUT",
                           field="subscriptions")
    transfers.plan_transfer(run.svc, run.clock.now(), ref=str(f["ref"]), tenant=str(f["tenant"]),
                            direction=str(f["direction"]), subscriptions=subs, **options)


TENANT = {"tenant": "tenant"}
APPLICATION = {"application": "application"}

ACTIONS = [
    action("apply", "ref customer", "",
           lambda run, f: onboarding.apply(run.svc, run.clock.now(), ref=str(f["ref"]), customer=str(f["customer"])),
           references={"customer": "customer"}, creates="application"),
    action("issue_login", "application", "login_id contract_start", _issue_login, references=APPLICATION),
    action("reissue_activation", "application", "",
           lambda run, f: onboarding.reissue_activation(run.svc, run.clock.now(), application=str(f["application"])),
           references=APPLICATION),
    action("relationship_request", "ref tenant", "admin gdap_days partner",
           lambda run, f: transfers.request_relationship(
               run.svc, run.clock.now(), ref=str(f["ref"]), tenant=str(f["tenant"]), admin=str(f.get("admin", "gdap")),
               gdap_days=f.get("gdap_days"), partner=_text(f.get("partner"))),
           references=TENANT, creates="relationship", integers="gdap_days"),
    action("accept_relationship", "relationship", "",
           lambda run, f: transfers.accept_relationship(run.svc, run.clock.now(), relationship=str(f["relationship"])),
           references={"relationship": "relationship"}),
    action("revoke_dap", "tenant", "",
           lambda run, f: transfers.revoke_delegated_admin(run.svc, run.clock.now(), tenant=str(f["tenant"])),
           references=TENANT),
    action("merge_tenants", "tenant into", "",
           lambda run, f: party_service.merge_tenants(run.svc, run.clock.now(), str(f["tenant"]), str(f["into"])),
           references={"tenant": "tenant", "into": "tenant"}),
    action("record_vl_licences", "tenant", "",
           lambda run, f: party_service.record_vl_licences(run.svc, run.clock.now(), str(f["tenant"])),
           references=TENANT),
    action("assign_licences", "tenant offer users", "",
           lambda run, f: licences.assign(run.svc, run.clock.now(), str(f["tenant"]), str(f["offer"]), _users(f)),
           references=TENANT),
    action("unassign_licences", "tenant offer users", "",
           lambda run, f: licences.unassign(run.svc, run.clock.now(), str(f["tenant"]), str(f["offer"]), _users(f)),
           references=TENANT),
    action("transfer_plan", "ref tenant direction",
           "subscriptions source active_subscriptions new_tenant to_partner to_partner_region", _plan,
           references=TENANT, creates="transfer_plan", integers="active_subscriptions", booleans="new_tenant"),
]


def report(uow: UnitOfWork, scenario: Any) -> dict[str, Any]:
    """Sections ``customers``, ``tenants``, ``applications``, ``relationships``, ``transfer_plans``,
    ``ordering_parties`` (see ``services/party_views``)."""
    return party_views.sections(uow, scenario.zone)
