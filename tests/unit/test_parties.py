"""Customers and tenants: 法人番号, address, contacts, eligibility (ELIG-*), group orders, tenant rules (TEN-*, AZ-*),
ORD-MIGRATE, and the ELIG-GROUP policy parameters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from licensedesk.domain.catalog import OfferKind
from licensedesk.domain.errors import InvalidInput, PolicyError, RuleViolation
from licensedesk.domain.licences import check_assignment
from licensedesk.domain.parties import (
    Address,
    Contact,
    ContactRole,
    Customer,
    Entity,
    GroupRule,
    MigrationSource,
    OrderParties,
    Purpose,
    Tenant,
    TenantOrigin,
    corporate_number,
)
from licensedesk.domain.policy import Policy
from licensedesk.presets import PRESET_NAMES, preset


def corp(ref: str = "acme", **kw: Any) -> Customer:
    return Customer(ref=ref, name=f"株式会社{ref}", entity=Entity.CORPORATION, **{"country": "JP", **kw})


def tenant(ref: str = "t1", customer: str = "acme", **kw: Any) -> Tenant:
    return Tenant(ref=ref, customer_ref=customer, domain=f"{ref}.onmicrosoft.com", country="JP", **kw)


def refused(code: str, call: Any, *args: Any) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        call(*args)
    assert info.value.code == code
    return info.value


# --- 法人番号 (NTA check digit, via python-stdnum) ---------------------------------------------------------

@pytest.mark.parametrize(("text", "normal"), [
    ("7010705000725", "7010705000725"),
    ("７０１０７０５０００７２５", "7010705000725"),  # full-width digits
    ("7-0107-0500-0725", "7010705000725"),
    (" 7010705000725 ", "7010705000725"),
])
def test_corporate_number_is_normalised(text: str, normal: str) -> None:
    assert corporate_number(text) == normal


@pytest.mark.parametrize("text", ["7010705000726", "701070500072", "70107050007250", "A010705000725", ""])
def test_an_invalid_corporate_number_names_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        corporate_number(text)
    assert info.value.details["field"] == "corporate_number"
    assert "corporate_number" in info.value.message_en and "法人番号" in info.value.message_ja


def test_the_worked_check_digit_example_of_the_nta() -> None:
    # C = 9 − (Σ Pn·Qn mod 9) = 9 − (74 mod 9) = 7 for base 123456789012 (japan.md)
    assert corporate_number("7123456789012") == "7123456789012"
    with pytest.raises(InvalidInput):
        corporate_number("6123456789012")


# --- address and contacts ---------------------------------------------------------------------------------

def test_address_postal_code_normalised() -> None:
    a = Address.of("〒１０００００１", "東京都", "千代田区", "千代田1-1")
    assert a.postal_code == "100-0001"


@pytest.mark.parametrize(("args", "field"), [
    (("10-0001", "東京都", "千代田区", "x"), "address.postal_code"),
    (("100-0001", "", "千代田区", "x"), "address.prefecture"),
    (("100-0001", "東京都", "千代田区", " "), "address.line1"),
])
def test_address_fields_are_checked(args: tuple[str, ...], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Address.of(*args)
    assert info.value.details["field"] == field


def test_contact_email_and_role() -> None:
    c = Contact.of("山田太郎", "yamada＠acme.co.jp", "billing")
    assert (c.email, c.role) == ("yamada@acme.co.jp", ContactRole.BILLING)
    with pytest.raises(InvalidInput) as info:
        Contact.of("山田", "yamada@", "billing", 2)
    assert info.value.details["field"] == "contacts[2].email"
    with pytest.raises(InvalidInput) as info:
        Contact.of("山田", "y@acme.jp", "boss")
    assert info.value.details["field"] == "contacts[0].role"


# --- eligibility ------------------------------------------------------------------------------------------

def test_elig_corp_domestic_no_resale() -> None:
    corp().check_eligible()
    refused("ELIG-CORP", Customer("p", "山田", Entity.SOLE_PROPRIETOR, "JP").check_eligible)
    refused("ELIG-DOMESTIC", corp(country="SG").check_eligible)
    refused("ELIG-NO-RESALE", corp(purpose=Purpose.RESALE).check_eligible)


def test_group_structure_is_well_formed() -> None:
    corp("sub", parent_ref="acme", ownership_percent=51).check_group()
    with pytest.raises(InvalidInput):
        corp("sub", ownership_percent=51).check_group()  # a share without a parent
    with pytest.raises(InvalidInput):
        corp("sub", parent_ref="sub").check_group()
    with pytest.raises(InvalidInput):
        corp("sub", parent_ref="acme", ownership_percent=101).check_group()


@pytest.mark.parametrize(("share", "inclusive", "ok"), [
    (51, True, True), (50.99, True, False), (100, True, True),
    (51, False, False), (51.01, False, True),
])
def test_elig_group_threshold_and_inclusivity(share: float, inclusive: bool, ok: bool) -> None:
    parent, affiliate = corp("acme"), corp("sub", parent_ref="acme", ownership_percent=share)
    rule = GroupRule(51, inclusive)
    if ok:
        assert affiliate.check_ordered_by(parent, rule) == Decimal(str(share))
    else:
        err = refused("ELIG-GROUP", affiliate.check_ordered_by, parent, rule)
        assert err.details["threshold_percent"] == 51 and err.details["inclusive"] is inclusive


def test_elig_group_only_the_registered_parent_may_order() -> None:
    err = refused("ELIG-GROUP", corp("sub", parent_ref="acme", ownership_percent=100).check_ordered_by,
                  corp("other"), GroupRule())
    assert err.details["parent"] == "acme"
    refused("ELIG-GROUP", corp("sub", parent_ref="acme").check_ordered_by, corp("acme"), GroupRule())  # share unknown


# --- tenants, Azure, migration ----------------------------------------------------------------------------

def test_ten_no_merge_always_refused() -> None:
    err = refused("TEN-NO-MERGE", tenant("t1").merge, tenant("t2"))
    assert err.details == {"tenant": "t1", "into": "t2"}


@pytest.mark.parametrize("source", list(MigrationSource))
def test_az_no_migrate_refuses_every_source(source: MigrationSource) -> None:
    refused("AZ-NO-MIGRATE", tenant().check_azure, source)


@pytest.mark.parametrize("origin", [TenantOrigin.DIRECT, TenantOrigin.OPEN, TenantOrigin.TRIAL, TenantOrigin.EA])
def test_az_first_account_needs_a_csp_account(origin: TenantOrigin) -> None:
    tenant(origin=TenantOrigin.CSP).check_azure(None)
    refused("AZ-FIRST-ACCOUNT", tenant(origin=origin).check_azure, None)


def test_az_no_migrate_on_another_partners_tenant() -> None:
    err = refused("AZ-NO-MIGRATE", tenant(origin=TenantOrigin.OTHER_PARTNER_CSP).check_azure, None)
    assert err.details["migrate_from"] == "other_partner_csp"


def test_ord_migrate_needs_the_accepted_relationship() -> None:
    tenant().check_migration(False, False)  # a tenant made under CSP here: nothing to migrate
    refused("ORD-MIGRATE", tenant().check_migration, True, False)
    refused("ORD-MIGRATE", tenant(origin=TenantOrigin.TRIAL).check_migration, False, False)
    refused("XFER-RELATIONSHIP", tenant(origin=TenantOrigin.OTHER_PARTNER_CSP).check_migration, False, False)
    tenant(origin=TenantOrigin.OPEN).check_migration(True, True)


def test_order_parties_check_order_and_share() -> None:
    parent, affiliate = corp("acme"), corp("sub", parent_ref="acme", ownership_percent=75)
    ok = OrderParties(affiliate, tenant(customer="sub"), OfferKind.SEAT, parent)
    assert ok.check(GroupRule()) == Decimal(75)
    assert OrderParties(affiliate, tenant(customer="sub"), OfferKind.SEAT).check(GroupRule()) is None
    azure = OrderParties(corp(), tenant(origin=TenantOrigin.DIRECT), OfferKind.AZURE, relationship_accepted=True)
    refused("AZ-FIRST-ACCOUNT", azure.check, GroupRule())
    seat = OrderParties(corp(), tenant(origin=TenantOrigin.DIRECT), OfferKind.SEAT, migrate_from=MigrationSource.OPEN)
    refused("ORD-MIGRATE", seat.check, GroupRule())


def test_ord_ids_within_the_purchased_count() -> None:
    check_assignment("t1", "M365-E3", 2, ["a"], ["b"])
    err = refused("ORD-IDS", check_assignment, "t1", "M365-E3", 2, ["a", "b"], ["c"])
    assert err.details["purchased"] == 2


# --- ELIG-GROUP policy parameters ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", PRESET_NAMES)
def test_presets_default_to_51_percent_or_more(name: str) -> None:
    p = preset(name)
    assert (p.group_ownership_threshold_percent, p.group_ownership_inclusive) == (51, True)


def test_group_parameters_default_when_absent_and_are_validated() -> None:
    data = preset("mca-nce").to_mapping()
    data.pop("group_ownership_threshold_percent")
    data.pop("group_ownership_inclusive")
    p = Policy.from_mapping(data)
    assert (p.group_ownership_threshold_percent, p.group_ownership_inclusive) == (51, True)
    for key, value in (("group_ownership_threshold_percent", 101), ("group_ownership_threshold_percent", 0),
                       ("group_ownership_inclusive", "yes")):
        with pytest.raises(PolicyError) as info:
            Policy.from_mapping({**data, key: value})
        assert info.value.details["key"] == key
    strict = Policy.from_mapping({**data, "group_ownership_inclusive": False})
    assert strict.digest != p.digest and strict.group_ownership_inclusive is False
