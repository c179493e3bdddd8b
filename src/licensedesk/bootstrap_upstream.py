"""Composition of the upstream link (issue 8): the Partner Center client and the provisioning worker."""

from __future__ import annotations

from datetime import timedelta

from licensedesk.config import Settings
from licensedesk.services.ports_upstream import PartnerCenter
from licensedesk.services.provisioning import Provisioner


def partner_center(settings: Settings) -> PartnerCenter | None:
    """The Partner Center client, or None when no upstream is configured."""
    if not settings.upstream_url:
        return None
    from licensedesk.adapters.partner_center.client import MsalToken, PartnerCenterClient, StaticToken, TokenProvider

    tokens: TokenProvider
    if settings.upstream_tenant_id and settings.upstream_client_id and settings.upstream_client_secret:
        tokens = MsalToken(settings.upstream_tenant_id, settings.upstream_client_id, settings.upstream_client_secret)
    else:
        tokens = StaticToken(settings.upstream_token)
    return PartnerCenterClient(settings.upstream_url, tokens, timeout=settings.upstream_timeout_seconds)


def provisioner(settings: Settings) -> Provisioner | None:
    client = partner_center(settings)
    if client is None:
        return None
    return Provisioner(upstream=client, catalog=dict(settings.upstream_catalog),
                       admin_url=settings.upstream_admin_url, max_attempts=settings.upstream_max_attempts,
                       backoff=timedelta(seconds=settings.upstream_backoff_seconds))
