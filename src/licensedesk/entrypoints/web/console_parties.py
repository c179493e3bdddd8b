"""Console pages of the parties: customers (search, detail with tenants, subscriptions, documents,
contacts) and tenants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from licensedesk.services import console as queries
from licensedesk.services import preferences
from licensedesk.services.context import Services

from .actions import perform
from .render import redirect_with_flash, render, t
from .session import WebUser, require_staff, web

Staff = Annotated[WebUser, Depends(require_staff())]
Sales = Annotated[WebUser, Depends(require_staff("sales", "billing"))]  # who talks to the customer, and admin
Search = Annotated[str, Query(max_length=100)]

NAV_STAFF = [("/console/customers", "nav.customers"), ("/console/tenants", "nav.tenants")]

JA = {
    "customers.title": "お客様一覧",
    "customers.search": "検索（コード・名称・カナ・法人番号）",
    "customers.count": "{n} 件",
    "customer.ref": "コード",
    "customer.name": "名称",
    "customer.kana": "カナ",
    "customer.entity": "法人区分",
    "customer.segment": "区分",
    "customer.country": "国",
    "customer.corporate_number": "法人番号",
    "customer.address": "住所",
    "customer.contacts": "連絡先",
    "customer.credit": "預り金残高",
    "customer.parent": "親会社",
    "contact.name": "氏名",
    "contact.email": "メール",
    "contact.role": "役割",
    "customer.mail_language": "メールの言語",
    "customer.mail_language.ja": "日本語",
    "customer.mail_language.en": "英語（English）",
    "customer.mail_language.save": "変更する",
    "customer.mail_language.saved": "{customer} へのメールを今後 {language} で送ります。",
    "tenants.title": "テナント一覧",
    "tenant.ref": "テナント",
    "tenant.domain": "ドメイン",
    "tenant.customer": "お客様",
    "tenant.origin": "由来",
    "tenant.vl": "VL ライセンス",
    "common.search": "検索",
    "common.yes": "あり",
    "common.no": "なし",
    "common.empty": "該当するデータはありません。",
}
EN = {
    "customers.title": "Customers",
    "customers.search": "Search (ref, name, kana, corporate number)",
    "customers.count": "{n} found",
    "customer.ref": "Ref",
    "customer.name": "Name",
    "customer.kana": "Kana",
    "customer.entity": "Entity",
    "customer.segment": "Segment",
    "customer.country": "Country",
    "customer.corporate_number": "Corporate number",
    "customer.address": "Address",
    "customer.contacts": "Contacts",
    "customer.credit": "Credit balance",
    "customer.parent": "Parent",
    "contact.name": "Name",
    "contact.email": "E-mail",
    "contact.role": "Role",
    "customer.mail_language": "E-mail language",
    "customer.mail_language.ja": "Japanese (日本語)",
    "customer.mail_language.en": "English",
    "customer.mail_language.save": "Change",
    "customer.mail_language.saved": "Mail to {customer} will be sent in {language} from now on.",
    "tenants.title": "Tenants",
    "tenant.ref": "Tenant",
    "tenant.domain": "Domain",
    "tenant.customer": "Customer",
    "tenant.origin": "Origin",
    "tenant.vl": "VL licences",
    "common.search": "Search",
    "common.yes": "yes",
    "common.no": "no",
    "common.empty": "Nothing to show.",
}


def router() -> APIRouter:
    r = APIRouter(prefix="/console", include_in_schema=False)

    @r.get("/customers", response_class=HTMLResponse)
    def customers(request: Request, user: Staff, q: Search = "") -> HTMLResponse:
        return render(request, "console/customers.html", q=q, customers=queries.customers(web(request).svc, q))

    @r.get("/customers/{ref}", response_class=HTMLResponse)
    def customer(request: Request, user: Staff, ref: str) -> HTMLResponse:
        svc = web(request).svc
        return render(request, "console/customer.html", **queries.customer_overview(svc, ref),
                      mail_language=preferences.mail_language(svc, ref), mail_languages=preferences.MAIL_LANGUAGES)

    @r.post("/customers/{ref}/mail-language")
    def mail_language(request: Request, user: Sales, ref: str,
                      language: Annotated[str, Form(max_length=8)]) -> Response:
        """The language of the customer's notices by e-mail (issue 8); audited like every change."""

        def change(svc: Services, now: datetime) -> dict[str, str]:
            preferences.set_mail_language(svc, now, ref, language)
            return {"mail_language": language}

        perform(request, user, action="customer.mail_language", target=f"customer:{ref}", run=change,
                before=lambda svc: {"mail_language": preferences.mail_language(svc, ref)})
        return redirect_with_flash(request, f"/console/customers/{ref}", t(
            request, "customer.mail_language.saved", customer=ref,
            language=t(request, f"customer.mail_language.{language}")))

    @r.get("/tenants", response_class=HTMLResponse)
    def tenants(request: Request, user: Staff, q: Search = "") -> HTMLResponse:
        return render(request, "console/tenants.html", q=q, tenants=queries.tenants(web(request).svc, q))

    return r
