"""The web's front door (issue 7): login, throttling, CSRF, session expiry, logout, roles, language."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.routing import APIRoute
from web_support import WebApp

from licensedesk.entrypoints.web import ROUTERS, i18n, session


def test_login_sends_staff_to_the_console_and_customers_to_the_portal(web_app: WebApp) -> None:
    staff = web_app.client()
    answer = staff.login("admin")
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = answer.headers["set-cookie"]
    assert "ld_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    page = staff.get("/console")
    assert page.status_code == 200 and "コンソール" in page.text and "admin" in page.text
    assert staff.get("/").headers["location"] == "/console"

    customer = web_app.client()
    assert customer.login("acme").headers["location"] == "/portal"
    assert customer.get("/portal").status_code == 200


def test_the_session_token_is_stored_only_as_its_hash(web_app: WebApp) -> None:
    client = web_app.client()
    token = client.login("sales").cookies["ld_session"]
    with web_app.svc.uow() as uow:
        assert uow.web.session(token) is None
        assert uow.web.session(session.token_digest(token))["name"] == "sales"


def test_a_wrong_password_or_unknown_user_is_refused_with_one_message(web_app: WebApp) -> None:
    client = web_app.client()
    for name, password in (("admin", "wrong"), ("nobody", "demo-admin")):
        answer = client.login(name, password)
        assert answer.status_code == 401
        assert "ユーザー名またはパスワードが正しくありません" in answer.text
    assert client.get("/console").headers["location"] == "/login?next=%2Fconsole"


def test_the_login_form_refuses_a_post_without_its_own_token(web_app: WebApp) -> None:
    client = web_app.client()
    answer = client.http.post("/login", data={"name": "admin", "password": "demo-admin", "login_token": "forged"})
    assert answer.status_code == 400 and "ld_session" not in answer.headers.get("set-cookie", "")


def test_five_failures_for_a_name_throttle_it_for_fifteen_minutes(web_app: WebApp) -> None:
    client = web_app.client()
    for _ in range(session.MAX_NAME_FAILURES):
        assert client.login("billing", "wrong").status_code == 401
    refused = client.login("billing")  # even the right password: not checked while throttled
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60 + 1
    assert "一時的にログインできません" in refused.text
    assert web_app.client().login("sales").status_code == 303  # another name from the same IP still works
    web_app.clock.at += timedelta(minutes=15, seconds=1)
    assert client.login("billing").status_code == 303


def test_twenty_failures_from_one_ip_throttle_every_name(web_app: WebApp) -> None:
    client = web_app.client()
    names = ("sales", "billing", "viewer", "acme")  # under the per-name limit each, 20 in all from one IP
    for i in range(session.MAX_IP_FAILURES):
        assert client.login(names[i % 4], "wrong").status_code == 401
    assert client.login("admin").status_code == 429


def test_a_post_without_the_csrf_token_is_refused_and_with_it_accepted(web_app: WebApp) -> None:
    client = web_app.client()
    client.login("admin")
    refused = client.post("/logout", csrf=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    wrong = client.post("/logout", {"csrf_token": "x" * 43}, csrf=False)
    assert wrong.status_code == 403
    assert client.get("/console").status_code == 200  # still signed in
    by_header = client.http.post("/logout", headers={"X-CSRF-Token": client.csrf})
    assert by_header.status_code == 303 and by_header.headers["location"] == "/login"


def test_logout_deletes_the_session(web_app: WebApp) -> None:
    client = web_app.client()
    token = client.login("viewer").cookies["ld_session"]
    out = client.post("/logout")
    assert out.status_code == 303
    assert "ログアウトしました" in client.get("/login").text  # the flash message, shown once
    assert "ログアウトしました" not in client.get("/login").text
    client.http.cookies.set("ld_session", token)  # a stolen cookie is worth nothing after logout
    assert client.get("/console").status_code == 303
    with web_app.svc.uow() as uow:
        assert uow.web.session(session.token_digest(token)) is None


def test_a_session_expires_after_its_hours(web_app: WebApp) -> None:
    client = web_app.client()
    client.login("admin")
    web_app.clock.at += timedelta(hours=session.SESSION_HOURS) - timedelta(seconds=1)
    assert client.get("/console").status_code == 200
    web_app.clock.at += timedelta(seconds=1)
    assert client.get("/console").headers["location"] == "/login?next=%2Fconsole"


def test_a_customer_user_cannot_open_the_console_nor_staff_the_portal(web_app: WebApp) -> None:
    customer = web_app.client()
    customer.login("acme")
    assert customer.get("/console").status_code == 403
    staff = web_app.client()
    staff.login("viewer")
    forbidden = staff.get("/portal")
    assert forbidden.status_code == 403 and "閲覧のみ" in forbidden.text


def test_next_sends_back_to_the_page_asked_but_never_elsewhere(web_app: WebApp) -> None:
    client = web_app.client()
    assert client.login("admin", next="/console?x=1").headers["location"] == "/console?x=1"
    other = web_app.client()
    assert other.login("admin", next="https://evil.example/").headers["location"] == "/console"
    customer = web_app.client()
    assert customer.login("acme", next="/console").headers["location"] == "/portal"


def test_the_language_toggle_switches_to_english_and_back(web_app: WebApp) -> None:
    client = web_app.client()
    assert "ログイン" in client.get("/login").text
    client.get("/lang/en?next=/login")
    assert "Log in" in client.get("/login").text  # before login: the cookie
    client.login("admin")
    page = client.get("/console")
    assert "Console" in page.text and "日本語" in page.text and 'lang="en"' in page.text
    client.get("/lang/ja?next=/console")
    assert "コンソール" in client.get("/console").text
    assert client.get("/lang/en?next=//evil.example").headers["location"] == "/"


def test_static_files_and_htmx_are_served(web_app: WebApp) -> None:
    client = web_app.client()
    assert client.get("/static/htmx.min.js").status_code == 200
    assert "font-family" in client.get("/static/app.css").text


def test_every_web_post_route_refuses_a_post_without_csrf(web_app: WebApp) -> None:
    """A route someone adds later cannot forget CSRF: every POST of every module in ROUTERS answers 403."""
    staff, customer = web_app.client(), web_app.client()
    staff.login("admin")
    customer.login("acme")
    posts = [route.path for module in ROUTERS for route in module.router().routes
             if isinstance(route, APIRoute) and "POST" in route.methods]
    for path in [*posts, "/logout"]:
        client = customer if path.startswith("/portal") else staff
        answer = client.post(re.sub(r"\{[^}]+\}", "1", path), csrf=False)
        assert answer.status_code == 403 and "CSRF" in answer.text, path


def test_both_catalogs_have_the_same_words() -> None:
    assert set(i18n.JA) == set(i18n.EN)


def test_the_api_still_answers_json_errors(web_app: WebApp) -> None:
    client = web_app.client()
    answer = client.get("/api/v1/customers")
    assert answer.status_code == 401 and answer.json()["code"] == "AUTH-REQUIRED"
    assert client.get("/api/v1/nothing").json()["code"] == "HTTP-404"
    assert client.get("/console/nothing-here", follow_redirects=False).status_code in (303, 404)
