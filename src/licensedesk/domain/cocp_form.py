"""Checking a COCP form and opening the :class:`~licensedesk.domain.cocp.Cocp` it asks for (RULES.md §7).

Order of the checks (the first that fails names its rule): the enrollments are still running
(COCP-ANYTIME) and the form's current partner data matches the record (COCP-MATCH); the form kind
(COCP-FORM-KIND); signers, order, ink and copies (COCP-SIGNERS); the customer told the previous
partner before signing (COCP-DUTIES); Americas receipt within 10 days (COCP-EFFECTIVE); the lead
time, or an override / M15 exception that then waits for approval (COCP-LEAD-30D).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, NamedTuple

from .agreements import Agreement, Program, Region, Status
from .cocp import (
    DISTRIBUTOR_LEAD_DAYS_AMERICAS,
    EFFECTIVE_AFTER_CUSTOMER_DAYS,
    EFFECTIVE_AFTER_RESELLER_DAYS,
    LEAD_DAYS,
    LEAD_DAYS_SCHOOL_INTERNATIONAL,
    MAX_ELECTRONIC_ENROLLMENTS,
    RECEIVE_WITHIN_DAYS,
    ChangeKind,
    Cocp,
    CocpForm,
    CocpStatus,
    Duty,
    FormKind,
    LeadException,
    Signer,
    effective_why,
)
from .enrollment import Enrollment
from .errors import InvalidInput, RuleViolation
from .explain import Explanation, because
from .subscription import When


def _refuse(rule: str, en: str, ja: str, **details: Any) -> RuleViolation:
    return RuleViolation(rule, en, ja, details)


def _check_targets(form: CocpForm, targets: Sequence[tuple[Enrollment, Agreement]]) -> None:
    for enrollment, _ in targets:
        if enrollment.status is Status.TERMINATED:  # COCP-ANYTIME: at any time *during* the enrollment
            raise _refuse("COCP-ANYTIME", f"enrollment {enrollment.ref} was terminated on {enrollment.status_on}",
                          f"登録 {enrollment.ref} は {enrollment.status_on} に終了しています",
                          enrollment=enrollment.ref, status_rule=enrollment.status_rule)
        record = enrollment.partners.as_dict()
        stated = {role: form.current.get(role) for role in set(form.current) | set(form.kind.roles)}
        mismatched = {role: {"form": value, "record": record.get(role)} for role, value in stated.items()
                      if (value or None) != record.get(role)}
        if mismatched:
            raise _refuse("COCP-MATCH", f"current partner data on the form does not match the record of "
                                        f"{enrollment.ref}: {sorted(mismatched)}",
                          f"フォームの現在のパートナー情報が {enrollment.ref} の記録と一致しません: {sorted(mismatched)}",
                          enrollment=enrollment.ref, mismatched=mismatched)
        for role in form.kind.roles:
            if form.new.get(role) == record.get(role):
                raise InvalidInput(f"{form.new.get(role)} already is the {role} of {enrollment.ref}",
                                   f"{form.new.get(role)} は既に {enrollment.ref} の {role} です",
                                   code="COCP-NO-CHANGE", enrollment=enrollment.ref)


def required_signers(kind: ChangeKind, two_tier: bool) -> tuple[Signer, ...]:
    """COCP-SIGNERS, in signing order (operations countersign when they accept the form)."""
    if kind is ChangeKind.DISTRIBUTOR:
        return (Signer.RESELLER, Signer.NEW_DISTRIBUTOR)
    if kind is ChangeKind.BOTH:
        return (Signer.END_CUSTOMER, Signer.NEW_RESELLER, Signer.NEW_DISTRIBUTOR)
    if kind is ChangeKind.SOFTWARE_ADVISOR:
        return (Signer.END_CUSTOMER, Signer.NEW_SOFTWARE_ADVISOR)
    return (Signer.END_CUSTOMER, Signer.NEW_RESELLER, Signer.DISTRIBUTOR) if two_tier else (
        Signer.END_CUSTOMER, Signer.NEW_RESELLER)


def _check_signers(form: CocpForm, signers: tuple[Signer, ...], form_kind: FormKind, agreement: Agreement,
                   today: date) -> None:
    missing = [s.value for s in signers if s not in form.signatures]
    if missing:
        raise _refuse("COCP-SIGNERS", f"a {form.kind.value} change must be signed by {', '.join(s.value for s in signers)}"
                                      f"; missing: {', '.join(missing)}",
                      f"{form.kind.value} の変更には {', '.join(s.value for s in signers)} の署名が必要です"
                      f"（不足: {', '.join(missing)}）", missing=missing)
    dates = [form.signatures[s] for s in signers]
    if any(later < earlier for earlier, later in pairwise(dates)) or dates[-1] > today:
        raise _refuse("COCP-SIGNERS", f"signatures must follow the order {' → '.join(s.value for s in signers)}"
                                      f" and precede the submission",
                      f"署名は {' → '.join(s.value for s in signers)} の順で、提出日以前である必要があります",
                      signatures={s.value: form.signatures[s].isoformat() for s in signers})
    if form_kind is FormKind.MANUAL and not form.ink_signed:
        raise _refuse("COCP-SIGNERS", "a paper (manual) COCP form must be ink-signed by every party",
                      "紙（手動）の COCP フォームはすべての関係者がインクで署名する必要があります")
    if form_kind is FormKind.MANUAL and agreement.two_copies and form.copies < 2:
        raise _refuse("COCP-SIGNERS", "Japan, India and Taiwan international operations need two signed copies",
                      "日本・インド・台湾の国際オペレーションでは署名済みのコピーが 2 部必要です", copies=form.copies)


def form_kind(form: CocpForm, targets: Sequence[tuple[Enrollment, Agreement]]) -> tuple[FormKind, list[str]]:
    """COCP-FORM-KIND: electronic unless one of the manual cases applies (the reasons say which)."""
    reasons = []
    if "reseller" in form.kind.roles and any(e.partners.distributor for e, _ in targets):
        reasons.append("reseller change in a two-tier model")
    if any(e.status is Status.EXPIRED for e, _ in targets):
        reasons.append("expired agreement")
    if form.exception is LeadException.M15:
        reasons.append("COCP with an M15 amendment")
    if len({a.ref for _, a in targets}) > 1:
        reasons.append("bulk change of several agreements")
    elif len(targets) > MAX_ELECTRONIC_ENROLLMENTS:
        reasons.append(f"more than {MAX_ELECTRONIC_ENROLLMENTS} enrollments under one public customer number "
                       f"and master agreement")
    return (FormKind.MANUAL if reasons else FormKind.ELECTRONIC), reasons


def lead_days(kind: ChangeKind, program: Program, region: Region) -> tuple[int, str]:
    if region is Region.AMERICAS and kind is ChangeKind.DISTRIBUTOR:
        return DISTRIBUTOR_LEAD_DAYS_AMERICAS, "COCP-EFFECTIVE"
    if region.is_international and program is Program.SCHOOL:
        return LEAD_DAYS_SCHOOL_INTERNATIONAL, "COCP-LEAD-30D"
    return LEAD_DAYS, "COCP-LEAD-30D"


class Lead(NamedTuple):
    deadline: date | None  # last day to submit (inclusive); None: no anniversary ahead
    anchor: date | None  # the anniversary or billing date it counts back from
    days: int
    rule: str
    why: Explanation | None


def _lead(form: CocpForm, targets: Sequence[tuple[Enrollment, Agreement]], today: date) -> Lead:
    """The strictest lead deadline over the enrollments (COCP-LEAD-30D; Americas distributor: COCP-EFFECTIVE)."""
    best = Lead(None, None, LEAD_DAYS, "COCP-LEAD-30D", None)
    for enrollment, agreement in targets:
        found = enrollment.next_deadline_date(today)
        if found is None or enrollment.status is not Status.ACTIVE:
            continue
        anchor, what = found
        days, rule = lead_days(form.kind, agreement.program, agreement.region)
        deadline = anchor - timedelta(days=days)
        if best.deadline is None or deadline < best.deadline:
            why = because(rule, f"next {what} {anchor} − {days} days = {deadline}",
                          f"次の{'記念日' if what == 'anniversary' else '請求日'} {anchor} − {days} 日 = {deadline}",
                          enrollment=enrollment.ref, program=agreement.program.value, region=agreement.region.value)
            best = Lead(deadline, anchor, days, rule, why)
    return best


def _effective_formula(form: CocpForm) -> tuple[date, Explanation]:
    if form.kind.customer_signs:
        signed = form.signatures[Signer.END_CUSTOMER]
        on = signed + timedelta(days=EFFECTIVE_AFTER_CUSTOMER_DAYS)
        return on, because("COCP-EFFECTIVE", f"end customer signed {signed} + {EFFECTIVE_AFTER_CUSTOMER_DAYS} days = {on}",
                           f"エンド カスタマーの署名日 {signed} + {EFFECTIVE_AFTER_CUSTOMER_DAYS} 日 = {on}",
                           customer_signed=signed)
    signed = form.signatures[Signer.RESELLER]
    on = signed + timedelta(days=EFFECTIVE_AFTER_RESELLER_DAYS)
    return on, because("COCP-EFFECTIVE", f"reseller (AER) signed {signed} + {EFFECTIVE_AFTER_RESELLER_DAYS} days = {on}",
                       f"リセラー（AER）の署名日 {signed} + {EFFECTIVE_AFTER_RESELLER_DAYS} 日 = {on}", reseller_signed=signed)


def _check_americas(form: CocpForm, region: Region, received: date) -> None:
    if region is not Region.AMERICAS:
        return
    if form.kind.customer_signs:
        signed = form.signatures[Signer.END_CUSTOMER]
        limit = signed + timedelta(days=RECEIVE_WITHIN_DAYS)
        if received > limit:
            raise _refuse("COCP-EFFECTIVE", f"regional operations must receive the form within {RECEIVE_WITHIN_DAYS} "
                                            f"days of the customer's signature ({signed} + 10 = {limit}); "
                                            f"received {received}",
                          f"地域オペレーションは顧客の署名日から 10 日以内（{limit} まで）にフォームを受け取る必要があります"
                          f"（受領日 {received}）", received_on=received, limit=limit)


def _check_duties(form: CocpForm) -> None:
    if not form.kind.customer_signs:
        return
    signed = form.signatures[Signer.END_CUSTOMER]
    notified = form.notified_previous_on
    if notified is None or notified > signed:
        raise _refuse("COCP-DUTIES", f"the end customer must notify the previous partner in writing on or before "
                                     f"signing ({signed}); notified: {notified or 'not stated'}",
                      f"エンド カスタマーは署名日（{signed}）以前に前のパートナーへ書面で通知する必要があります"
                      f"（通知日: {notified or '未記載'}）", customer_signed=signed, notified_on=notified)


def _duties(form: CocpForm, effective_on: date, received: date, lead: tuple[date | None, date | None],
            copies_needed: int, manual: bool) -> list[Duty]:
    duties = []
    if form.kind.customer_signs:
        signed = form.signatures[Signer.END_CUSTOMER]
        duties += [
            Duty("notify_previous", "customer", "notify the previous partner in writing on or before signing",
                 "署名日以前に前のパートナーへ書面で通知する", signed, form.notified_previous_on),
            Duty("sign_30_days_before", "customer", "sign the COCP form 30 days before the expected effective date",
                 "予想される発効日の 30 日前に COCP フォームに署名する", effective_on - timedelta(days=30), signed),
            Duty("settle_previous", "customer", "settle all orders and invoices with the previous partner",
                 "前のパートナーとのすべての発注書と請求書を最終処理する", effective_on)]
    duties.append(Duty("finish_open_orders", "previous_partner", "finish open orders and invoices with the customer",
                       "エンド カスタマーと協力して未処理の発注書と請求書を完了する", effective_on))
    if manual:
        duties.append(Duty("give_copies", "new_partner", f"give the customer {copies_needed} completed form(s) to sign",
                           f"完成したフォーム {copies_needed} 部を顧客に渡して署名を得る", None, received, "COCP-SIGNERS"))
    deadline, anchor = lead
    duties.append(Duty("send_to_operations", "new_partner",
                       f"send the completed form to regional operations by {deadline or 'now'} "
                       f"(before {anchor or 'the change'})",
                       f"完成したフォームを {deadline or '速やかに'} までに地域オペレーションへ送付する",
                       deadline, received, "COCP-LEAD-30D"))
    return duties


def _check_kind(form: CocpForm, targets: Sequence[tuple[Enrollment, Agreement]]) -> tuple[FormKind, list[str]]:
    missing_new = [role for role in form.kind.roles if not form.new.get(role)]
    if missing_new or not targets:
        raise InvalidInput(f"a {form.kind.value} change names the new {', '.join(missing_new) or 'enrollments'}",
                           f"{form.kind.value} の変更には新しい {', '.join(missing_new) or '登録'} の指定が必要です",
                           code="COCP-INCOMPLETE")
    _check_targets(form, targets)
    kind_of_form, reasons = form_kind(form, targets)
    if form.form is not None and form.form is not kind_of_form:
        raise _refuse("COCP-FORM-KIND", f"this change needs the {kind_of_form.value} form, not {form.form.value}"
                                        f" ({'; '.join(reasons) or 'software advisor, reseller or distributor change'})",
                      f"この変更には {kind_of_form.value} のフォームが必要です（{'; '.join(reasons) or '電子フォームの対象'}）",
                      reasons=reasons)
    return kind_of_form, reasons


def _check_lead(form: CocpForm, lead: Lead, today: date) -> bool:
    """COCP-LEAD-30D: True when late (then an override or M15 exception must come with the form)."""
    late = lead.deadline is not None and today > lead.deadline
    if late and form.exception is None:
        raise _refuse(lead.rule, f"the form must be submitted by {lead.deadline} ({lead.days} days before "
                                 f"{lead.anchor}); an override request or an M15 amendment is needed",
                      f"フォームは {lead.deadline}（{lead.anchor} の {lead.days} 日前）までに提出が必要です。"
                      f"オーバーライド要求または M15 修正が必要です", deadline=lead.deadline, next_date=lead.anchor,
                      days=lead.days)
    if form.exception is LeadException.M15 and not (form.justification or "").strip():
        raise _refuse("COCP-LEAD-30D", "an M15 amendment needs a business justification",
                      "M15 修正には業務上の正当な理由が必要です")
    return late


def submit(form: CocpForm, targets: Sequence[tuple[Enrollment, Agreement]], when: When) -> Cocp:
    """Check a COCP form (COCP-ANYTIME, -MATCH, -FORM-KIND, -SIGNERS, -DUTIES, -EFFECTIVE, -LEAD-30D)."""
    kind_of_form, reasons = _check_kind(form, targets)
    first, agreement = targets[0]
    _check_signers(form, required_signers(form.kind, bool(first.partners.distributor)), kind_of_form, agreement,
                   when.today)
    _check_duties(form)
    received = form.received_on or when.today
    _check_americas(form, agreement.region, received)
    lead = _lead(form, targets, when.today)
    late = _check_lead(form, lead, when.today)
    formula_on, formula_why = _effective_formula(form)
    copies = 2 if agreement.two_copies else 1
    cocp = Cocp(ref=form.log_number, kind=form.kind, enrollments=form.enrollments, customer=first.customer,
                new=dict(form.new), submitted_on=when.today, received_on=received,
                signatures={s.value: d for s, d in form.signatures.items()}, form_kind=kind_of_form,
                form_reasons=reasons, lead_deadline=lead.deadline, lead_date=lead.anchor, lead_days=lead.days,
                late=late, exception=form.exception, justification=form.justification,
                effective_formula_on=formula_on, effective_on=max(formula_on, received),
                status=CocpStatus.AWAITING_APPROVAL if late else CocpStatus.ACCEPTED, duties=[], copies=copies)
    cocp.duties = _duties(form, cocp.effective_on, received, (lead.deadline, lead.anchor), copies,
                          kind_of_form is FormKind.MANUAL)
    cocp.explanations = {"effective_formula_on": formula_why, "effective_on": effective_why(cocp)}
    if lead.why is not None:
        cocp.explanations["lead_deadline"] = lead.why
    cocp.record("submitted", when, "COCP-ANYTIME", change=form.kind.value, form_kind=kind_of_form.value, late=late,
                exception=str(form.exception) if form.exception else None, effective_on=cocp.effective_on)
    cocp.refresh_next_due()
    return cocp
