"""Run a handler inside the caller's unit of work, so two use cases commit as one transaction.

Handlers open their own unit of work (``with svc.uow() as uow``). ``lend(svc, uow)`` gives them
services whose ``uow()`` is the caller's open one: entering it changes nothing and its ``commit`` waits
for the caller's. Used where a capability wraps a core handler (an order plus its ordering party; a
transfer plan plus the auto-renew changes it makes).
"""

from __future__ import annotations

from dataclasses import replace
from types import TracebackType
from typing import Any, cast

from .context import Services
from .ports import UnitOfWork


class _Lent:
    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _Lent:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def commit(self) -> None:
        """The lender commits everything at once."""

    def rollback(self) -> None:
        raise RuntimeError("a lent unit of work cannot roll back alone; raise to abort the lender's transaction")


def lend(svc: Services, uow: UnitOfWork) -> Services:
    lent = cast(UnitOfWork, _Lent(uow))
    return replace(svc, uow=lambda: lent)
