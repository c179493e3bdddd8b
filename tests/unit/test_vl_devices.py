"""Managed devices (RULES.md §8, DEV-MANAGED): classification table and inventory parsing."""

from __future__ import annotations

import pytest

from licensedesk.domain.devices import ATTRIBUTES, Device, classify, parse_inventory, summary
from licensedesk.domain.errors import InvalidInput

HEADER = "device_id," + ",".join(ATTRIBUTES)


def device(**on: bool) -> Device:
    return Device("d", {a: on.get(a, False) for a in ATTRIBUTES})


@pytest.mark.parametrize(("attributes", "managed", "reasons"), [
    ({"domain_joined": True}, True, ("domain_joined",)),
    ({"auth_required": True}, True, ("auth_required",)),
    ({"policy_agent": True}, True, ("policy_agent",)),
    ({"group_policy": True}, True, ("group_policy",)),
    ({"os_config_claims": True}, True, ("os_config_claims",)),
    ({"vdi_access": True}, True, ("vdi_without_roaming_rights",)),
    ({"vdi_access": True, "windows_sa": True}, False, ("vdi_roaming_rights_only",)),
    ({"vdi_access": True, "intune_device": True}, False, ("vdi_roaming_rights_only",)),
    ({"vdi_access": True, "wvda_roaming": True}, False, ("vdi_roaming_rights_only",)),
    ({"vdi_access": True, "wvda_roaming": True, "domain_joined": True}, True, ("domain_joined",)),
    ({"windows_to_go_third_party": True}, False, ("windows_to_go_third_party",)),
    ({"windows_to_go_third_party": True, "policy_agent": True}, True, ("policy_agent",)),
    ({"windows_sa": True}, False, ("no_control",)),
    ({}, False, ("no_control",)),
    ({"domain_joined": True, "group_policy": True, "vdi_access": True}, True,
     ("domain_joined", "group_policy", "vdi_without_roaming_rights")),
])
def test_classification(attributes: dict[str, bool], managed: bool, reasons: tuple[str, ...]) -> None:
    result = classify(device(**attributes))
    assert (result.managed, result.reasons) == (managed, reasons)
    assert result.why.rule == "DEV-MANAGED" and result.needs_licence is managed


def test_parse_is_lenient_on_header_case_bom_and_yes_no_spellings() -> None:
    header = "\ufeff Device_ID ," + ",".join(a.upper() for a in ATTRIBUTES) + ",notes"
    text = f"{header}\npc-1,Yes,n,0,FALSE,いいえ,,no,no,no,no,desk\n\npc-2,1,y,true,はい,no,no,no,no,no,no,\n"
    devices = parse_inventory(text)
    assert [d.device_id for d in devices] == ["pc-1", "pc-2"] and devices[0].notes == "desk"
    totals = summary([classify(d) for d in devices])
    assert totals["managed"] == 2 and totals["licences_needed"] == 2 and totals["by_reason"]["domain_joined"] == 2


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("device_id,domain_joined\n", "missing columns"),
    (HEADER + ",owner\n", "unknown columns"),
    (HEADER + "\npc-1,maybe,no,no,no,no,no,no,no,no,no\n", "line 2 [domain_joined]"),
    (HEADER + "\npc-1,no,no\n", "line 2 [(row)]"),
    (HEADER + "\npc-1" + ",no" * 10 + "\npc-1" + ",no" * 10 + "\n", "line 3 [device_id]: duplicate"),
])
def test_a_bad_inventory_is_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_inventory(text)
    assert refused.value.code == "DEVICES-CSV-INVALID" and message in refused.value.message_en


def test_lines_may_end_in_a_lone_carriage_return_and_unreadable_text_is_refused() -> None:
    """A lone CR ends a line (as the csv module reads it); before, it raised csv.Error, a 500 through the API."""
    devices = parse_inventory(HEADER + "\rpc-1" + ",no" * 10 + "\rpc-2" + ",yes" * 10 + "\r")
    assert [d.device_id for d in devices] == ["pc-1", "pc-2"]
    with pytest.raises(InvalidInput) as refused:  # a field over csv's size limit: csv.Error
        parse_inventory(HEADER + "\npc-1" + ",no" * 9 + "," + "x" * 200_000 + "\n")
    assert refused.value.code == "DEVICES-CSV-INVALID"
    assert refused.value.details["errors"] == [{"line": 2, "column": "(file)",
                                                "reason": "field larger than field limit (131072)"}]
