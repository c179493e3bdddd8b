"""The web's words in Japanese (default) and English: two dicts with the same keys, and ``t(key)``.

Templates call ``{{ t("nav.customers") }}`` (a Jinja global that reads ``lang`` from the page's
context); ``{{ t("flash.saved", ref=s.ref) }}`` fills ``str.format`` fields. A missing key renders as
the key itself, so a forgotten entry is visible rather than fatal; ``tests/e2e/test_web_auth.py``
checks both dicts have the same keys. A module mounted by ``install_web`` may bring its own words as
module attributes ``JA`` and ``EN`` (merged at install; a key defined twice differently is an error).
"""

from __future__ import annotations

from typing import Any

JA: dict[str, str] = {
    "app.name": "ライセンスデスク",
    "lang.switch": "English",
    "nav.console": "コンソール",
    "nav.customers": "お客様",
    "nav.tenants": "テナント",
    "nav.subscriptions": "サブスクリプション",
    "nav.documents": "請求書",
    "nav.payments": "入金",
    "nav.portal": "お客様ポータル",
    "nav.logout": "ログアウト",
    "login.title": "ログイン",
    "login.name": "ユーザー名",
    "login.password": "パスワード",
    "login.submit": "ログイン",
    "login.invalid": "ユーザー名またはパスワードが正しくありません。",
    "login.throttled": "ログインの失敗が続いたため、一時的にログインできません。{minutes} 分後にもう一度お試しください。",
    "login.expired": "ログイン画面の有効期限が切れました。もう一度お試しください。",
    "login.required": "ログインしてください。",
    "logout.done": "ログアウトしました。",
    "error.forbidden.title": "この操作はできません",
    "error.forbidden.role": "ロール「{role}」ではこのページを開けません、またはこの操作はできません。",
    "error.forbidden.csrf": "フォームの有効期限が切れたか、不正なリクエストです（CSRF トークンが一致しません）。"
                            "ページを再読み込みしてからやり直してください。",
    "error.notfound.title": "見つかりません",
    "error.notfound.body": "お探しのページまたはデータは見つかりません。",
    "error.refused.title": "できません",
    "error.back": "戻る",
    "role.admin": "管理者",
    "role.sales": "営業",
    "role.billing": "経理",
    "role.read_only": "閲覧のみ",
    "role.customer": "お客様",
    "console.title": "コンソール",
    "console.welcome": "{name} さん（{role}）、ようこそ。",
    "portal.title": "お客様ポータル",
    "portal.placeholder": "お客様ポータルは準備中です。",
    "common.yen": "{amount} 円",
    "common.none": "—",
}

EN: dict[str, str] = {
    "app.name": "licensedesk",
    "lang.switch": "日本語",
    "nav.console": "Console",
    "nav.customers": "Customers",
    "nav.tenants": "Tenants",
    "nav.subscriptions": "Subscriptions",
    "nav.documents": "Documents",
    "nav.payments": "Payments",
    "nav.portal": "Customer portal",
    "nav.logout": "Log out",
    "login.title": "Log in",
    "login.name": "User name",
    "login.password": "Password",
    "login.submit": "Log in",
    "login.invalid": "Wrong user name or password.",
    "login.throttled": "Too many failed logins: logging in is blocked for now. Try again in {minutes} min.",
    "login.expired": "The login page expired. Please try again.",
    "login.required": "Please log in.",
    "logout.done": "You are logged out.",
    "error.forbidden.title": "Not allowed",
    "error.forbidden.role": "The role “{role}” may not open this page or do this.",
    "error.forbidden.csrf": "The form expired or the request is forged (CSRF token mismatch). "
                            "Reload the page and try again.",
    "error.notfound.title": "Not found",
    "error.notfound.body": "The page or record you asked for does not exist.",
    "error.refused.title": "Refused",
    "error.back": "Back",
    "role.admin": "admin",
    "role.sales": "sales",
    "role.billing": "billing",
    "role.read_only": "viewer",
    "role.customer": "customer",
    "console.title": "Console",
    "console.welcome": "Welcome, {name} ({role}).",
    "portal.title": "Customer portal",
    "portal.placeholder": "The customer portal is coming soon.",
    "common.yen": "¥{amount}",
    "common.none": "—",
}

CATALOG: dict[str, dict[str, str]] = {"ja": JA, "en": EN}


def extend(ja: dict[str, str], en: dict[str, str]) -> None:
    """Add a module's words; both languages need the same keys, and a key may not change meaning."""
    if set(ja) != set(en):
        raise ValueError(f"ja and en keys differ: {sorted(set(ja) ^ set(en))}")
    for lang, words in (("ja", ja), ("en", en)):
        for key, text in words.items():
            if CATALOG[lang].get(key, text) != text:
                raise ValueError(f"message {key!r} ({lang}) is defined twice")
            CATALOG[lang][key] = text


def translate(lang: str, key: str, **fields: Any) -> str:
    text = CATALOG.get(lang, JA).get(key, key)
    return text.format(**fields) if fields else text
