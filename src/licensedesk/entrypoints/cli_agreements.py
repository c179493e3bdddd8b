"""``licensedesk enrollment | cocp | cicr | select | devices …``: volume licensing from the command line.

Thin: parse, call a handler (services/agreements, cocp, cicr, select_open, devices), print JSON.
A refusal prints its rule ID (RULES.md §3, §4, §7, §8) and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from . import cli_common as common

app = typer.Typer(no_args_is_help=True)  # merged into the main app: its groups become top-level commands
enrollment_app = typer.Typer(help="EES / School agreements and enrollments (RULES.md §7 VL-*)", no_args_is_help=True)
cocp_app = typer.Typer(help="Change of channel partner (RULES.md §7 COCP-*)", no_args_is_help=True)
cicr_app = typer.Typer(help="Contact information change requests (RULES.md §7 CICR-*)", no_args_is_help=True)
select_app = typer.Typer(help="Select Plus levels, Open Value orders and product keys (RULES.md §3, §4)",
                         no_args_is_help=True)
devices_app = typer.Typer(help="Managed devices for licence counting (RULES.md §8 DEV-MANAGED)", no_args_is_help=True)
app.add_typer(enrollment_app, name="enrollment")
app.add_typer(cocp_app, name="cocp")
app.add_typer(cicr_app, name="cicr")
app.add_typer(select_app, name="select")
app.add_typer(devices_app, name="devices")


def _sections(key: str, ref: str) -> None:
    from licensedesk.services.vl_views import sections

    with common.services().uow() as uow:
        found = sections(uow).get(key, {}).get(ref)
    if found is None:
        typer.echo(f"NOT-FOUND: no {key} {ref}", err=True)
        raise typer.Exit(1)
    common.print_json({"ref": ref, **found})


# ----------------------------------------------------------------------------- enrollment
@enrollment_app.command("open-agreement")
def open_agreement(
    ref: str, customer: Annotated[str, typer.Option(help="the institution (an education customer)")],
    program: Annotated[str, typer.Option(help="ees or school")] = "ees",
    version: Annotated[str, typer.Option(help="agreement version, e.g. 3.2")] = "3.2",
    region: Annotated[str, typer.Option(help="japan, americas or international")] = "japan",
    pcn: Annotated[str | None, typer.Option(help="public customer number")] = None,
    country: Annotated[str | None, typer.Option(help="country of the operations (default: the customer's)")] = None,
) -> None:
    """Record an EES / School agreement (VL-TERMINATE-QUALIFY: education customers only)."""
    from licensedesk.services import agreements

    common.run(lambda: agreements.open_agreement(common.services(), common.now(), ref=ref, customer=customer,
                                                 program=program, version=version, region=region,
                                                 public_customer_number=pcn, country=country))
    _sections("agreements", ref)


@enrollment_app.command("add")
def add_enrollment(
    ref: str, agreement: Annotated[str, typer.Option()], effective: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    reseller: Annotated[str, typer.Option()], term_years: Annotated[int, typer.Option(help="1 or 3 (VL-TERM)")] = 1,
    distributor: Annotated[str | None, typer.Option()] = None,
    software_advisor: Annotated[str | None, typer.Option()] = None,
    billing_date: Annotated[list[str] | None, typer.Option(help="scheduled billing date (repeatable)")] = None,
) -> None:
    """A new enrollment; without a first order it terminates 30 days after its effective date."""
    from licensedesk.services import agreements

    common.run(lambda: agreements.enroll_institution(
        common.services(), common.now(), ref=ref, agreement=agreement, term_years=term_years, effective=effective,
        reseller=reseller, distributor=distributor, software_advisor=software_advisor,
        billing_dates=billing_date or []))
    _sections("enrollments", ref)


@enrollment_app.command("order")
def order(
    enrollment: str, po: Annotated[str | None, typer.Option(help="purchase order number")] = None,
    product: Annotated[str, typer.Option()] = "", online: Annotated[bool, typer.Option(help="online service")] = False,
    quantity: Annotated[int, typer.Option(min=1)] = 1,
    usage_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    reseller: Annotated[str | None, typer.Option(help="ordering reseller (default: of record)")] = None,
) -> None:
    """A purchase order under the enrollment (the first keeps it alive; COCP-ORDERS says who may order)."""
    from licensedesk.services import agreements

    common.run(lambda: agreements.place_order(common.services(), common.now(), enrollment=enrollment, po=po,
                                              product=product, online=online, quantity=quantity,
                                              usage_date=usage_date, reseller=reseller))
    _sections("enrollments", enrollment)


@enrollment_app.command("choose")
def choose(enrollment: str, option: Annotated[str, typer.Argument(
        help="extend_1y, extend_3y, new_enrollment, buy_out or let_expire")]) -> None:
    """The institution's answer to the 60-day notice (VL-NOTICE-60D)."""
    from licensedesk.services import agreements

    common.run(lambda: agreements.choose_expiry(common.services(), common.now(), enrollment=enrollment, option=option))
    _sections("enrollments", enrollment)


@enrollment_app.command("breach-notice")
def breach_notice(enrollment: str, party: Annotated[str, typer.Option(help="institution or microsoft")]) -> None:
    """Written notice of material breach: terminated unless cured within 30 days (VL-TERMINATE-BREACH)."""
    from licensedesk.services import agreements

    common.run(lambda: agreements.breach_notice(common.services(), common.now(), enrollment=enrollment, party=party))
    _sections("enrollments", enrollment)


@enrollment_app.command("cure")
def cure(enrollment: str) -> None:
    """The breach was cured within the 30 days."""
    from licensedesk.services import agreements

    common.run(lambda: agreements.cure_breach(common.services(), common.now(), enrollment=enrollment))
    _sections("enrollments", enrollment)


@enrollment_app.command("disqualify")
def disqualify(agreement: str, reason: Annotated[str, typer.Option()] = "") -> None:
    """The institution no longer qualifies: agreement and enrollments end at once (VL-TERMINATE-QUALIFY)."""
    from licensedesk.services import agreements

    common.run(lambda: agreements.disqualify(common.services(), common.now(), agreement=agreement, reason=reason))
    _sections("agreements", agreement)


@enrollment_app.command("end-agreement")
def end_agreement(
    agreement: str, amendment: Annotated[str | None, typer.Option(help="termination amendment number")] = None,
    prepared_by: Annotated[str, typer.Option(help="channel partner that prepared it")] = "",
    microsoft_signed: Annotated[bool, typer.Option(help="signed with Microsoft")] = False,
) -> None:
    """End an agreement with a termination amendment (VL-AGREEMENT-END)."""
    from licensedesk.services import agreements

    data = {"number": amendment, "prepared_by": prepared_by, "microsoft_signed": microsoft_signed} if amendment else None
    common.run(lambda: agreements.end_agreement(common.services(), common.now(), agreement=agreement, amendment=data))
    _sections("agreements", agreement)


@enrollment_app.command("show")
def show_enrollment(ref: str) -> None:
    """An enrollment as JSON: dates with their rule and formula, partners, orders, expiry options."""
    _sections("enrollments", ref)


@enrollment_app.command("list")
def list_enrollments() -> None:
    from licensedesk.services.vl_views import sections

    with common.services().uow() as uow:
        found = sections(uow).get("enrollments", {})
    for ref, e in found.items():
        typer.echo(f"{ref:<14} {e['agreement']:<12} {e['program']:<7} {e['status']:<11} {e['effective']} … "
                   f"{e['end_date']}  reseller {e['partners']['reseller']}")


# ----------------------------------------------------------------------------------- cocp
@cocp_app.command("submit")
def cocp_submit(file: Annotated[Path, typer.Argument(help="YAML/JSON form: the fields of the scenario 'cocp' step")]
                ) -> None:
    """Submit a COCP form (checks COCP-ANYTIME, -MATCH, -FORM-KIND, -SIGNERS, -DUTIES, -EFFECTIVE, -LEAD-30D)."""
    from licensedesk.services import cocp

    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(raw, dict) or not {"ref", "kind", "current", "signatures"} <= set(raw):
        typer.echo(f"{file}: needs ref, kind, enrollment(s), current and signatures", err=True)
        raise typer.Exit(2)
    enrollments = [str(e) for e in ([raw["enrollment"]] if raw.get("enrollment") else []) + list(raw.get("enrollments")
                                                                                                 or [])]
    fields: dict[str, Any] = {k: raw.get(k) for k in ("received_on", "notified_previous_on", "exception",
                                                      "justification", "form")}
    common.run(lambda: cocp.submit(common.services(), common.now(), ref=str(raw["ref"]), kind=str(raw["kind"]),
                                   enrollments=enrollments, new=dict(raw.get("new") or {}), current=dict(raw["current"]),
                                   signatures=dict(raw["signatures"]), copies=int(raw.get("copies", 1)),
                                   ink_signed=bool(raw.get("ink_signed", False)), **fields))
    _sections("cocp", str(raw["ref"]))


@cocp_app.command("approve")
def cocp_approve(ref: str, reject: Annotated[bool, typer.Option("--reject", help="refuse it instead")] = False
                 ) -> None:
    """Answer a late form's override request or M15 amendment (COCP-LEAD-30D)."""
    from licensedesk.services import cocp

    common.run(lambda: cocp.decide(common.services(), common.now(), cocp=ref, approved=not reject))
    _sections("cocp", ref)


@cocp_app.command("duty")
def cocp_duty(ref: str, duty: str) -> None:
    """Mark a duty of the COCP checklist done (COCP-DUTIES)."""
    from licensedesk.services import cocp

    common.run(lambda: cocp.mark_duty(common.services(), common.now(), cocp=ref, duty=duty))
    _sections("cocp", ref)


@cocp_app.command("show")
def cocp_show(ref: str) -> None:
    _sections("cocp", ref)


# ----------------------------------------------------------------------------------- cicr
@cicr_app.command("request")
def cicr_request(
    ref: str, agreement: Annotated[str, typer.Option()], role: Annotated[str, typer.Option()],
    name: Annotated[str | None, typer.Option()] = None, email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None, address: Annotated[str | None, typer.Option()] = None,
    channel: Annotated[str, typer.Option(help="electronic or manual")] = "electronic",
    change: Annotated[str, typer.Option(help="update, assign or remove")] = "update",
) -> None:
    """Request a contact change: applied, queued for manual handling, or refused (CICR-FIELDS, CICR-CHANNEL)."""
    from licensedesk.services import cicr

    contact = {k: v for k, v in {"name": name, "email": email, "phone": phone, "address": address}.items() if v}
    common.run(lambda: cicr.request(common.services(), common.now(), ref=ref, agreement=agreement, role=role,
                                    contact=contact, channel=channel, change=change))
    _sections("cicr", ref)


@cicr_app.command("complete")
def cicr_complete(ref: str, reject: Annotated[bool, typer.Option("--reject")] = False) -> None:
    """Work a request of the manual queue (CICR-CHANNEL)."""
    from licensedesk.services import cicr

    common.run(lambda: cicr.decide(common.services(), common.now(), cicr=ref, approved=not reject))
    _sections("cicr", ref)


@cicr_app.command("history")
def cicr_history(agreement: str) -> None:
    """Current contacts of an agreement and the history of every contact."""
    _sections("agreements", agreement)


# --------------------------------------------------------------------------------- select
def _pairs(values: list[str] | None, what: str) -> dict[str, int]:
    out = {}
    for item in values or []:
        name, _, number = item.partition("=")
        if not number.strip().isdigit():
            typer.echo(f"--{what} must look like applications=4000, got {item!r}", err=True)
            raise typer.Exit(2)
        out[name.strip()] = int(number)
    return out


@select_app.command("level")
def select_level(points: int) -> None:
    """The Select Plus price level for annual points in one pool (PRICE-SELECT-LEVEL)."""
    from licensedesk.domain.select_open import price_level

    level, why = price_level(points)
    common.print_json({"points": points, "level": level.value if level else None, "explain": why.as_dict()})


@select_app.command("open")
def select_open_agreement(
    ref: str, customer: Annotated[str, typer.Option()],
    pool: Annotated[list[str], typer.Option(help="applications|systems|servers=POINTS (repeatable)")],
    start: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    qualifying_enrollment: Annotated[str | None, typer.Option()] = None,
) -> None:
    """A Select Plus agreement with first-year points per pool (PRICE-SELECT-MIN)."""
    from licensedesk.services import select_open

    common.run(lambda: select_open.select_plus(common.services(), common.now(), ref=ref, customer=customer,
                                               pools=_pairs(pool, "pool"), start=start,
                                               qualifying_enrollment=qualifying_enrollment))
    _sections("select_plus", ref)


@select_app.command("points")
def select_points(ref: str, pool: Annotated[list[str], typer.Option(help="POOL=POINTS (repeatable)")],
                  year: Annotated[int | None, typer.Option(help="agreement year (default: the current)")] = None
                  ) -> None:
    from licensedesk.services import select_open

    common.run(lambda: select_open.select_points(common.services(), common.now(), agreement=ref,
                                                 pools=_pairs(pool, "pool"), year=year))
    _sections("select_plus", ref)


@select_app.command("open-order")
def open_order(
    ref: str, customer: Annotated[str, typer.Option()],
    line: Annotated[list[str], typer.Option(help="PRODUCT:KIND:QUANTITY, KIND = desktop_platform, "
                                                 "desktop_component, user_sl or other (repeatable)")],
    program: Annotated[str, typer.Option(help="open_license, open_value, open_value_company_wide, "
                                              "open_value_subscription")] = "open_value",
) -> None:
    """An Open order (PRICE-OV-MIN, PRICE-OV-ORGWIDE); user SL lines get product keys."""
    from licensedesk.services import select_open

    lines = []
    for item in line:
        parts = item.rsplit(":", 2)
        if len(parts) != 3 or not parts[2].isdigit():
            typer.echo(f"--line must look like Office-Std:desktop_component:5, got {item!r}", err=True)
            raise typer.Exit(2)
        lines.append({"product": parts[0], "kind": parts[1], "quantity": int(parts[2])})
    common.run(lambda: select_open.open_order(common.services(), common.now(), ref=ref, customer=customer,
                                              program=program, lines=lines))
    _sections("open_orders", ref)


@select_app.command("activate-key")
def activate_key(key: str) -> None:
    """Activate an Open product key: the online-service term starts today (OPEN-ACTIVATION-START)."""
    from licensedesk.services import select_open

    common.run(lambda: select_open.activate_key(common.services(), common.now(), key=key))
    _sections("product_keys", key)


@select_app.command("return-key")
def return_key(key: str) -> None:
    """Return a product key; refused after activation (OPEN-ACTIVATION-START)."""
    from licensedesk.services import select_open

    common.run(lambda: select_open.return_key(common.services(), common.now(), key=key))
    _sections("product_keys", key)


# -------------------------------------------------------------------------------- devices
def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: cannot read: {exc}", err=True)
        raise typer.Exit(2) from None


def _print_devices(results: list[Any], totals: dict[str, Any], as_json: bool) -> None:
    if as_json:
        common.print_json({"summary": totals, "devices": [
            {"device_id": r.device.device_id, "managed": r.managed, "reasons": list(r.reasons),
             "explain": r.why.as_dict()} for r in results]})
        return
    for r in results:
        typer.echo(f"{r.device.device_id:<20} {'managed' if r.managed else 'not managed':<12} {', '.join(r.reasons)}")
    typer.echo(f"\n{totals['devices']} devices, {totals['managed']} managed: {totals['licences_needed']} "
               f"licences needed (DEV-MANAGED)")


@devices_app.command("classify")
def classify(file: Annotated[Path, typer.Argument(help="device inventory CSV")],
             as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Classify each device of an inventory as managed or not, with the reason; count licences needed."""
    from licensedesk.services import devices

    results, totals = common.run(lambda: devices.classify_text(_read(file)))
    _print_devices(results, totals, as_json)


@devices_app.command("import")
def import_devices(file: Annotated[Path, typer.Argument(help="device inventory CSV")],
                   customer: Annotated[str, typer.Option()], ref: Annotated[str, typer.Option()],
                   as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Classify an inventory and keep it for the customer."""
    from licensedesk.services import devices

    text = _read(file)
    results, totals = common.run(lambda: devices.import_inventory(common.services(), common.now(), ref=ref,
                                                                  customer=customer, text=text))
    _print_devices(results, totals, as_json)
