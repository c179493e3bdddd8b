"""Typed settings, built once from the environment (prefix ``LICENSEDESK_``)."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from stdnum.jp import cn as corporate_number

from licensedesk.config_simulation import DEFAULT_POLICY, DEFAULT_YEAR_END_CLOSURE, ENV_FILE, PREFIX
from licensedesk.domain.calendar import BusinessCalendar, YearEndClosure

DEFAULT_SECRET = "change-me-development-only"
REGISTRATION_NUMBER = re.compile(r"T\d{13}")


def check_registration_number(value: str) -> str:
    """Qualified-invoice registration number: ``T`` + 13 digits whose check digit holds (法人番号)."""
    value = value.strip().translate(str.maketrans("０１２３４５６７８９Ｔ", "0123456789T")).replace("-", "")
    if not REGISTRATION_NUMBER.fullmatch(value) or not corporate_number.is_valid(value[1:]):
        raise ValueError(f"registration number must be T + 13 digits with a valid check digit, got {value!r}")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=ENV_FILE, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+pysqlite:///var/licensedesk.sqlite3"
    secret_key: str = DEFAULT_SECRET
    timezone: str = "Asia/Tokyo"
    year_end_closure: str = DEFAULT_YEAR_END_CLOSURE
    default_policy: str = DEFAULT_POLICY  # these two are also read by config_simulation (licensedesk simulate)
    host: str = "127.0.0.1"
    port: int = 8000
    scheduler_interval_seconds: int = 60
    # threads per server process for the request handlers that touch the database (D-API-THREADS; anyio's 40
    # gave the same throughput with 2.4× the p99 latency)
    api_threads: int = Field(default=4, ge=1, le=1000)
    # a server process answers "Connection: close" about once per this many requests with api_threads requests in
    # flight, more often when busier, so that keep-alive clients spread over the processes (D-API-KEEPALIVE-SPREAD);
    # 0: never
    api_keepalive_requests: int = Field(default=100, ge=0)

    reseller_name: str = "ライセンスデスク株式会社"
    reseller_address: str = "〒100-0005 東京都千代田区丸の内1-1-1"
    reseller_registration_number: str = "T7010001008844"
    reseller_bank: str = "みずほ銀行 本店 普通 1234567 ライセンスデスク（カ"
    # Japanese TrueType font embedded in invoice PDFs; missing → non-embedded CID fallback with a warning
    pdf_font_path: str = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
    # 電子帳簿保存法 archive of issued documents (PDF + JSON, write-once), searched through the database
    archive_dir: str = "var/archive"

    # Mail (issue 8): notices leave through the outbox; "file" writes .eml files (the development default)
    mail_transport: Literal["file", "smtp"] | None = None  # None: file in development, smtp otherwise
    mail_outbox_dir: str = "var/mail"
    mail_from: str = "ライセンスデスク <billing@licensedesk.example>"
    mail_language: Literal["ja", "en"] = "ja"
    admin_url: str = "http://127.0.0.1:8000/"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = 30.0
    outbox_max_attempts: int = 8
    outbox_backoff_seconds: int = 60  # retry after 1 min × 2^attempts …
    outbox_backoff_cap_seconds: int = 6 * 3600  # … at most 6 hours apart

    # Upstream (issue 8): Partner Center, or the local simulator (`licensedesk upstream-sim`); None: not linked,
    # provisioning jobs wait. Tokens: MSAL client credentials when the three are set, else a static bearer token.
    upstream_url: str | None = None  # e.g. https://api.partnercenter.microsoft.com or http://127.0.0.1:8010
    upstream_tenant_id: str | None = None
    upstream_client_id: str | None = None
    upstream_client_secret: str | None = None
    upstream_token: str = "simulator"
    upstream_timeout_seconds: float = 30.0
    upstream_catalog: dict[str, str] = {}  # local offer code → Partner Center catalogItemId (default: the code)
    upstream_admin_url: str = "https://admin.microsoft.com/"  # the admin centre named in the activation mail
    upstream_max_attempts: int = 8
    upstream_backoff_seconds: int = 60

    @field_validator("reseller_registration_number")
    @classmethod
    def _registration(cls, value: str) -> str:
        return check_registration_number(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("year_end_closure")
    @classmethod
    def _closure(cls, value: str) -> str:
        YearEndClosure.parse(value)
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "LICENSEDESK_SECRET_KEY is still the development default; set a long random value "
                f"before running in {self.environment} (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def business_calendar(self) -> BusinessCalendar:
        return BusinessCalendar(closure=YearEndClosure.parse(self.year_end_closure))

    def sqlite_path(self) -> Path | None:
        prefix = "sqlite+pysqlite:///"
        if self.database_url.startswith(prefix) and self.database_url != prefix + ":memory:":
            return Path(self.database_url.removeprefix(prefix))
        return None
