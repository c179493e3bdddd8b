"""Demo data for a first look: a few customers, tenants and subscriptions under each preset."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import catalog, parties, scheduler
from . import subscriptions as subscription_service
from .context import Services

# (ref, name, segment, tenant domain, billing contact e-mail). The school has no contact on purpose: its
# mail fails visibly in the console's outbox ("no billing or primary contact"), as it would in real life.
DEMO_CUSTOMERS = [
    ("acme", "株式会社アクメ", "commercial", "acme", "keiri@acme.example"),
    ("sakura", "さくら工業株式会社", "commercial", "sakuraind", "billing@sakura-kogyo.example"),
    ("minato-u", "学校法人みなと学園", "education", "minatogakuen", None),
]


def load_demo(svc: Services, now: datetime) -> bool:
    """Load demo data into an empty database; returns False (and changes nothing) when data exists."""
    with svc.uow() as uow:
        if uow.customers.list():
            return False
    catalog.load_sample_catalog(svc)
    for ref, name, segment, domain, email in DEMO_CUSTOMERS:
        contacts = [{"name": "経理ご担当者", "email": email, "role": "billing"}] if email else None
        parties.register_customer(svc, now, ref=ref, name=name, entity="corporation", country="JP", segment=segment,
                                  contacts=contacts)
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
