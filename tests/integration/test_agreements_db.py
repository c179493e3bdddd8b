"""Volume licensing on SQLite and PostgreSQL: handlers, the daily work, history, exactly-once notices."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from licensedesk.adapters.db.engine import create_engine, upgrade
from licensedesk.bootstrap import uow_factory
from licensedesk.domain.errors import InvalidInput, RuleViolation
from licensedesk.services import agreements, cicr, cocp, devices, parties, select_open, vl_views
from licensedesk.services.context import Services

JST = ZoneInfo("Asia/Tokyo")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def _institution(svc: Services, now: datetime, *, distributor: str | None = "D1", years: int = 3) -> None:
    parties.register_customer(svc, now, ref="uni", name="学校法人みなと学園", entity="corporation", country="JP",
                              segment="education")
    agreements.open_agreement(svc, now, ref="a1", customer="uni", program="ees", version="3.2", region="japan")
    agreements.enroll_institution(svc, now, ref="e1", agreement="a1", term_years=years, effective="2026-04-01",
                                  reseller="R1", distributor=distributor)


def _notices(svc: Services) -> list[tuple[str, str, str]]:
    with svc.uow() as uow:
        return [(n["kind"], n["subject"], str(n["on_date"])) for n in uow.notices.list()]


def test_enrollment_round_trips_and_the_tick_terminates_it_without_a_first_order(svc: Services) -> None:
    _institution(svc, at("2026-04-01T10:00"))
    with svc.uow() as uow:
        assert agreements.next_due_day(uow) == date(2026, 5, 1)  # effective + 30 days
        e = uow.vl.enrollments.get("e1")
        assert e is not None and str(e.end_date) == "2029-03-31" and e.partners.distributor == "D1"
    assert agreements.run_day(svc, date(2026, 4, 30)) == 0
    assert agreements.run_day(svc, date(2026, 5, 1)) == 1
    assert agreements.run_day(svc, date(2026, 5, 1)) == 0  # idempotent
    with svc.uow() as uow:
        e = uow.vl.enrollments.get("e1")
        assert e is not None and e.status_rule == "VL-TERMINATE-NO-ORDER" and e.next_due is None
        assert agreements.next_due_day(uow) is None
        assert [ev["kind"] for ev in uow.vl.events.for_subject("e1")] == ["enrolled", "terminated"]
    assert _notices(svc) == [("vl_terminated", "e1", "2026-05-01")]
    with pytest.raises(RuleViolation) as refused:
        agreements.place_order(svc, at("2026-05-01T09:00"), enrollment="e1")
    assert refused.value.code == "VL-TERMINATE-NO-ORDER"


def test_one_catch_up_equals_day_by_day(db_url: str) -> None:
    """Two databases: one ticked every day, one once at the end; same notices and statuses."""
    results = []
    for _daily in (True, False):
        engine = create_engine(db_url if _daily else "sqlite+pysqlite:///:memory:")
        upgrade(engine)
        svc = Services(uow=uow_factory(engine), zone=JST)
        _institution(svc, at("2026-04-01T10:00"), years=1)
        agreements.place_order(svc, at("2026-04-02T10:00"), enrollment="e1", po="PO-1", online=True)
        if _daily:
            day = date(2026, 4, 2)
            while day <= date(2027, 4, 2):
                agreements.run_day(svc, day)
                day = date.fromordinal(day.toordinal() + 1)
        else:
            agreements.run_day(svc, date(2027, 4, 2))
        with svc.uow() as uow:
            e = uow.vl.enrollments.get("e1")
            assert e is not None
            results.append((_notices(svc), e.status.value, e.status_on, e.outcome))
    assert results[0] == results[1]
    assert results[0][0] == [("vl_expiry_60d", "e1", "2027-01-30"), ("vl_expired", "e1", "2027-04-01")]


def test_cocp_takes_effect_and_stops_auto_renewal_of_old_partner_online_orders(svc: Services) -> None:
    _institution(svc, at("2026-04-01T10:00"))
    agreements.place_order(svc, at("2026-04-02T10:00"), enrollment="e1", po="PO-1", product="M365-A3", online=True)
    agreements.place_order(svc, at("2026-04-02T10:00"), enrollment="e1", po="PO-2", product="LTSC")
    accepted = cocp.submit(
        svc, at("2026-09-01T10:00"), ref="C-1", kind="reseller", enrollments=["e1"], new={"reseller": "R2"},
        current={"reseller": "R1", "distributor": "D1"},
        signatures={"end_customer": "2026-08-25", "new_reseller": "2026-08-26", "distributor": date(2026, 8, 27)},
        copies=2, ink_signed=True, notified_previous_on="2026-08-24")
    assert accepted.effective_on == date(2026, 9, 24) and accepted.status.value == "accepted"
    with pytest.raises(InvalidInput) as pending:
        cocp.submit(svc, at("2026-09-02T10:00"), ref="C-2", kind="reseller", enrollments=["e1"],
                    new={"reseller": "R3"}, current={"reseller": "R1", "distributor": "D1"},
                    signatures={"end_customer": "2026-08-25", "new_reseller": "2026-08-26", "distributor": "2026-08-27"},
                    copies=2, ink_signed=True, notified_previous_on="2026-08-24")
    assert pending.value.code == "COCP-PENDING"
    agreements.run_day(svc, date(2026, 9, 24))
    with svc.uow() as uow:
        view = vl_views.sections(uow)
    assert view["enrollments"]["e1"]["partners"]["reseller"] == "R2"
    assert view["enrollments"]["e1"]["orders"]["PO-1"]["auto_renew_rule"] == "COCP-ORDERS"
    assert view["enrollments"]["e1"]["orders"]["PO-2"]["auto_renew"] is False
    assert view["cocp"]["C-1"]["status"] == "effective" and view["cocp"]["C-1"]["previous"]["e1"]["reseller"] == "R1"
    assert ("cocp_manual_renewal", "C-1", "2026-09-24") in _notices(svc)
    cocp.mark_duty(svc, at("2026-09-25T10:00"), cocp="C-1", duty="renew_online")
    with svc.uow() as uow:
        found = uow.vl.cocps.get("C-1")
        assert found is not None and found.duties[-1].done_on == date(2026, 9, 25)


def test_optimistic_lock_refuses_a_lost_update(svc: Services) -> None:
    _institution(svc, at("2026-04-01T10:00"))
    with svc.uow() as first, svc.uow() as second:
        a, b = first.vl.enrollments.get("e1"), second.vl.enrollments.get("e1")
        assert a is not None and b is not None
        first.vl.enrollments.save(a)
        first.commit()
        with pytest.raises(RuntimeError):
            second.vl.enrollments.save(b)


def test_cicr_select_open_and_devices_are_kept(svc: Services) -> None:
    now = at("2026-04-01T10:00")
    _institution(svc, now)
    cicr.request(svc, now, ref="R-1", agreement="a1", role="primary_contact", contact={"name": "佐藤"})
    cicr.request(svc, now, ref="R-2", agreement="a1", role="primary_contact", contact={"name": "高橋"})
    cicr.request(svc, now, ref="R-3", agreement="a1", role="bill_to", change="assign", contact={"name": "経理"})
    cicr.decide(svc, at("2026-04-02T10:00"), cicr="R-3", approved=True)
    parties.register_customer(svc, now, ref="acme", name="株式会社アクメ", entity="corporation", country="JP")
    select_open.select_plus(svc, now, ref="sp1", customer="acme", pools={"applications": 4000})
    select_open.open_order(svc, now, ref="o1", customer="acme", program="open_value",
                           lines=[{"product": "EXO", "kind": "user_sl", "quantity": 5}])
    select_open.activate_key(svc, at("2026-04-10T10:00"), key="o1-1")
    header = "device_id,domain_joined,auth_required,policy_agent,group_policy,os_config_claims,vdi_access," \
             "windows_sa,intune_device,wvda_roaming,windows_to_go_third_party"
    devices.import_inventory(svc, now, ref="inv", customer="acme",
                             text=f"{header}\npc-1,yes,no,no,no,no,no,no,no,no,no\npc-2,no,no,no,no,no,yes,yes,no,no,no\n")
    with svc.uow() as uow:
        view = vl_views.sections(uow)
    assert view["agreements"]["a1"]["contacts"]["primary_contact"] == {"name": "高橋"}
    assert view["agreements"]["a1"]["contacts"]["bill_to"] == {"name": "経理"}
    assert [h["cicr"] for h in view["agreements"]["a1"]["contact_history"]] == ["R-1", "R-2", "R-3"]
    assert view["select_plus"]["sp1"]["years"]["1"]["applications"]["level"] == "B"
    assert view["product_keys"]["o1-1"]["term_end"] == "2027-04-09"
    assert view["device_inventories"]["inv"]["summary"]["licences_needed"] == 1
