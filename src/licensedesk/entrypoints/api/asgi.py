"""ASGI application factories for servers that import the app by name (``uvicorn --factory``).

``uvicorn --workers N`` starts N processes that each import the app, so it needs a factory rather than
an app object. With several workers the scheduler must run once, elsewhere (``licensedesk tick`` from
cron, or one server with it): ``without_scheduler`` serves the web and the API only.

    uvicorn --factory licensedesk.entrypoints.api.asgi:without_scheduler --workers 2
"""

from __future__ import annotations

from fastapi import FastAPI

from licensedesk.config import Settings

from .app import create_app


def with_scheduler() -> FastAPI:
    """The whole service (settings from the environment), the tick running in-process."""
    return create_app(Settings())


def without_scheduler() -> FastAPI:
    """Web and API only (settings from the environment), for multi-process servers."""
    return create_app(Settings(), run_scheduler=False)
