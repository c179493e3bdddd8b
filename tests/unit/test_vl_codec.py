"""Volume licensing aggregates stored as JSON state come back equal (adapters/db/codec)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from licensedesk.adapters.db.codec import dump, load_as
from licensedesk.domain.agreements import Agreement, Partners, Party, open_agreement
from licensedesk.domain.cocp import ChangeKind, Cocp, CocpForm, Signer
from licensedesk.domain.cocp_form import submit
from licensedesk.domain.enrollment import Enrollment, Option, enroll
from licensedesk.domain.select_open import (
    LicenceKind,
    OpenLine,
    OpenOrder,
    OpenProgram,
    Pool,
    SelectPlus,
    open_select_plus,
    place_open_order,
)
from licensedesk.domain.subscription import When

JST = ZoneInfo("Asia/Tokyo")


def at(day: str) -> When:
    d = date.fromisoformat(day)
    return When(datetime.combine(d, time(10), tzinfo=JST), d)


def enrollment() -> tuple[Enrollment, Agreement]:
    a = open_agreement(ref="a1", customer="uni", program="school", version="3.2", region="japan",
                       public_customer_number="P", country="JP", institution_qualifies=True)
    e = enroll(ref="e1", agreement=a, term_years=3, effective=date(2026, 4, 1), partners=Partners("R1", "D1"),
               when=at("2026-04-01"), billing_dates=(date(2026, 10, 1),))
    e.record_order(at("2026-04-02"))
    return e, a


def test_enrollment_round_trip() -> None:
    e, _ = enrollment()
    e.choose(at("2029-02-01"), Option.EXTEND_3Y)
    e.notify_breach(at("2029-02-02"), Party.MICROSOFT)
    e.drain()
    assert load_as(Enrollment, dump(e)) == e


def test_cocp_round_trip_keeps_enums_dates_and_explanations() -> None:
    e, a = enrollment()
    form = CocpForm(log_number="C1", kind=ChangeKind.RESELLER, enrollments=("e1",), new={"reseller": "R2"},
                    current={"reseller": "R1", "distributor": "D1"},
                    signatures={Signer.END_CUSTOMER: date(2026, 8, 1), Signer.NEW_RESELLER: date(2026, 8, 2),
                                Signer.DISTRIBUTOR: date(2026, 8, 3)},
                    copies=2, ink_signed=True, notified_previous_on=date(2026, 8, 1))
    cocp = submit(form, [(e, a)], at("2026-08-20"))
    cocp.drain()
    back = load_as(Cocp, dump(cocp))
    assert back.kind is ChangeKind.RESELLER and back.signatures == cocp.signatures and back.duties == cocp.duties
    assert back.explanations["effective_on"].formula_en == cocp.explanations["effective_on"].formula_en
    assert back.effective_on == date(2026, 8, 31)


def test_select_and_open_round_trip() -> None:
    s = open_select_plus(ref="s", customer="c", start=date(2026, 4, 1), qualifying_enrollment=None,
                         pools={Pool.SERVERS: 600})
    s.set_points(2, {Pool.SERVERS: 700})
    assert load_as(SelectPlus, dump(s)) == s
    order, _ = place_open_order(ref="o", customer="c", program=OpenProgram.OPEN_VALUE,
                                lines=[OpenLine("x", LicenceKind.USER_SL, 5)], today=date(2026, 4, 1), first=True)
    back = load_as(OpenOrder, dump(order))
    assert back.lines == order.lines and back.program is OpenProgram.OPEN_VALUE
