"""The whole schema: the core tables plus every capability's tables, on one MetaData.

Migrations (Alembic ``env.py``) and ``create_schema`` read ``metadata`` from here, so a capability's
tables module only has to be imported below.
"""

from __future__ import annotations

from . import (
    tables,
    tables_agreements,
    tables_api,
    tables_archive,
    tables_billing,
    tables_outbox,
    tables_parties,
    tables_upstream,
    tables_web,
)
from .tables import metadata

TABLE_MODULES = (tables, tables_billing, tables_parties, tables_agreements, tables_api, tables_outbox, tables_web,
                 tables_upstream, tables_archive)

__all__ = ["TABLE_MODULES", "metadata"]
