"""Console page of the upstream link (issue 8): provisioning jobs with the ORD-FLOW SLA, retrying a failed
purchase, and reconciliation with Partner Center (every mismatch) — the handlers of ``licensedesk upstream``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from licensedesk.domain.errors import DomainError
from licensedesk.services import provisioning
from licensedesk.services.ports_upstream import UpstreamError
from licensedesk.services.reconcile import reconcile

from .actions import perform
from .render import redirect_with_flash, render, t
from .session import WebUser, language, require_staff, web

Staff = Annotated[WebUser, Depends(require_staff())]
Billing = Annotated[WebUser, Depends(require_staff("billing"))]
PAGE = "/console/reconciliation"

NAV_STAFF = [(PAGE, "nav.reconciliation")]

JA = {
    "nav.reconciliation": "Partner Center 照合",
    "upstream.jobs": "プロビジョニング（未完了・失敗）",
    "upstream.sla": "開通期限",
    "upstream.late": "期限超過",
    "upstream.attempts": "試行",
    "upstream.error": "エラー",
    "upstream.retry": "再実行",
    "upstream.retried": "プロビジョニング #{job} を再実行待ちにしました。",
    "upstream.no_jobs": "未完了のプロビジョニングはありません。",
    "upstream.mismatches": "照合結果（{count} 件の相違）",
    "upstream.none": "相違はありません。",
    "upstream.field": "項目",
    "upstream.local": "ライセンスデスク",
    "upstream.remote": "Partner Center",
    "upstream.not_configured": "Partner Center が設定されていません（LICENSEDESK_UPSTREAM_URL）。",
    "upstream.unreachable": "Partner Center に接続できません: {error}",
}
EN = {
    "nav.reconciliation": "Partner Center reconciliation",
    "upstream.jobs": "Provisioning (not done, failed)",
    "upstream.sla": "Activation due",
    "upstream.late": "late",
    "upstream.attempts": "Attempts",
    "upstream.error": "Error",
    "upstream.retry": "Retry",
    "upstream.retried": "Provisioning job #{job} queued again.",
    "upstream.no_jobs": "No provisioning waiting.",
    "upstream.mismatches": "Reconciliation ({count} mismatches)",
    "upstream.none": "No mismatches.",
    "upstream.field": "Field",
    "upstream.local": "licensedesk",
    "upstream.remote": "Partner Center",
    "upstream.not_configured": "No Partner Center configured (LICENSEDESK_UPSTREAM_URL).",
    "upstream.unreachable": "Partner Center cannot be reached: {error}",
}


def _partner_center(request: Request) -> Any:
    """The client, built once per app from the settings (None when no upstream is configured)."""
    state = request.app.state
    if not hasattr(state, "partner_center"):
        from licensedesk.bootstrap_upstream import partner_center

        state.partner_center = partner_center(web(request).settings)
    return state.partner_center


def router() -> APIRouter:
    r = APIRouter(prefix=PAGE, include_in_schema=False)

    @r.get("", response_class=HTMLResponse)
    def page(request: Request, user: Staff) -> HTMLResponse:
        ctx = web(request)
        now = ctx.clock.now()
        today = ctx.svc.when(now).today
        jobs = [j for j in provisioning.jobs(ctx.svc) if j["status"] in ("pending", "failed")]
        for j in jobs:
            j["late"] = j["sla_due"] is not None and today > j["sla_due"]
        client, mismatches, problem = _partner_center(request), None, None
        if client is None:
            problem = t(request, "upstream.not_configured")
        else:
            try:
                mismatches = [m.as_dict() for m in reconcile(ctx.svc, client, now)]
            except UpstreamError as exc:
                problem = t(request, "upstream.unreachable", error=str(exc))
        return render(request, "console/reconciliation.html", jobs=jobs, mismatches=mismatches, problem=problem)

    @r.post("/jobs/{job_id}/retry")
    def retry(request: Request, user: Billing, job_id: int) -> Response:
        try:
            perform(request, user, action="upstream.retry", target=f"upstream_job:{job_id}",
                    run=lambda svc, now: _retried(svc, job_id, now))
        except DomainError as refused:
            return redirect_with_flash(request, PAGE, f"[{refused.code}] {refused.message(language(request))}",
                                       "error")
        return redirect_with_flash(request, PAGE, t(request, "upstream.retried", job=job_id))

    return r


def _retried(svc: Any, job_id: int, now: Any) -> dict[str, Any]:
    provisioning.retry(svc, job_id, now)
    return {"job": job_id, "status": "pending"}
