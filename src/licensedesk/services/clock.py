"""Clocks. Only entrypoints read one, once per request or tick (STYLE habit 5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to, and never backwards."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs an aware start instant")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def move_to(self, instant: datetime) -> None:
        if instant < self._now:
            raise ValueError(f"the clock never moves backward ({instant.isoformat()} < {self._now.isoformat()})")
        self._now = instant
