"""Demo data for a first look: a few customers, tenants and subscriptions under each preset."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import catalog, parties, scheduler
from . import subscriptions as subscription_service
from .context import Services

DEMO_CUSTOMERS = [
    ("acme", "株式会社アクメ", "commercial", "acme"),
    ("sakura", "さくら工業株式会社", "commercial", "sakuraind"),
    ("minato-u", "学校法人みなと学園", "education", "minatogakuen"),
]


def load_demo(svc: Services, now: datetime) -> bool:
    """Load demo data into an empty database; returns False (and changes nothing) when data exists."""
    with svc.uow() as uow:
        if uow.customers.list():
            return False
    catalog.load_sample_catalog(svc)
    for ref, name, segment, domain in DEMO_CUSTOMERS:
        parties.register_customer(svc, now, ref=ref, name=name, entity="corporation", country="JP", segment=segment)
        parties.register_tenant(svc, now, ref=f"{ref}-tenant", customer=ref, domain=f"{domain}.onmicrosoft.com",
                                country="JP")
    ordered = now - timedelta(days=40)
    scheduler.tick(svc, ordered)
    subscription_service.order(svc, ordered, ref="ACME-E3", tenant="acme-tenant", offer="M365-E3", term="P1Y",
                               billing="monthly", quantity=25)
    subscription_service.order(svc, ordered, ref="SAKURA-BB", tenant="sakura-tenant", offer="M365-BUSINESS-BASIC",
                               term="P1M", billing="monthly", quantity=10)
    scheduler.tick(svc, now - timedelta(days=2))
    subscription_service.order(svc, now - timedelta(days=2), ref="MINATO-O365", tenant="minato-u-tenant",
                               offer="O365-E3", term="P1Y", billing="annual", quantity=120)
    scheduler.tick(svc, now)
    return True
