"""D-API-KEEPALIVE-SPREAD: a server process asks its keep-alive clients to reconnect now and then, more often the
more requests it has in flight, so that the connections of ``uvicorn --workers N`` even out over the processes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from licensedesk.entrypoints.api.keepalive import SpreadKeepAlive


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain"),
                                                                           (b"Connection", b"keep-alive")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _one(app: SpreadKeepAlive) -> list[tuple[bytes, bytes]]:
    """One request on its own; the headers the client receives."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    asyncio.run(app({"type": "http"}, receive, send))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == b"ok"
    return list(sent[0]["headers"])


def test_one_request_in_flight_closes_every_nth_response_and_replaces_the_connection_header() -> None:
    app = SpreadKeepAlive(_answer, every=3, threads=1)  # alone in flight: the tally grows by 1 per request
    closing = []
    for _ in range(9):
        headers = _one(app)
        connection = [v for k, v in headers if k.lower() == b"connection"]
        assert len(connection) == 1  # never two Connection headers
        closing.append(connection == [b"close"])
        assert (b"content-type", b"text/plain") in headers
    assert closing == [False, False, True] * 3
    assert app.in_flight == 0


def test_threads_scale_the_interval() -> None:
    app = SpreadKeepAlive(_answer, every=2, threads=3)  # one request alone adds 1; a close every 6
    closing = [(b"connection", b"close") in _one(app) for _ in range(12)]
    assert closing == [False] * 5 + [True] + [False] * 5 + [True]


def _closes_with(in_flight: int, requests: int, every: int = 10, threads: int = 2) -> int:
    """How many of ``requests`` answers carry ``Connection: close`` while ``in_flight`` requests overlap."""
    closes = 0

    async def run() -> None:
        nonlocal closes
        release = asyncio.Event()

        async def held(scope: Any, receive: Any, send: Any) -> None:
            if scope.get("held"):
                await release.wait()
            await _answer(scope, receive, send)

        app = SpreadKeepAlive(held, every=every, threads=threads)

        async def send(message: dict[str, Any]) -> None:
            nonlocal closes
            if message["type"] == "http.response.start" and (b"connection", b"close") in message["headers"]:
                closes += 1

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        background = [asyncio.create_task(app({"type": "http", "held": True}, receive, send))
                      for _ in range(in_flight - 1)]
        await asyncio.sleep(0)  # the held requests are in flight now
        assert app.in_flight == in_flight - 1
        for _ in range(requests):
            await app({"type": "http"}, receive, send)
        release.set()
        await asyncio.gather(*background)
        assert app.in_flight == 0

    asyncio.run(run())
    return closes


def test_a_busier_process_sends_more_clients_away() -> None:
    # every 10 × threads 2 = a tally of 20 per close; each request adds the requests in flight, itself included
    assert _closes_with(in_flight=2, requests=100) == 10  # 100 × 2 / 20: one in every = 10 at threads in flight
    assert _closes_with(in_flight=6, requests=100) == 30  # three times the load, three times the closes
    assert _closes_with(in_flight=1, requests=100) == 5


def test_other_scopes_pass_untouched_and_uncounted() -> None:
    seen = []

    async def lifespan_app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    app = SpreadKeepAlive(lifespan_app, every=1, threads=1)
    asyncio.run(app({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"] and app.tally == 0 and app.in_flight == 0


def test_a_failing_handler_leaves_the_count_right() -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    app = SpreadKeepAlive(failing, every=5, threads=1)
    with pytest.raises(RuntimeError):
        asyncio.run(app({"type": "http"}, None, None))
    assert app.in_flight == 0 and app.tally == 1


def test_bad_settings_are_refused() -> None:
    from licensedesk.config import Settings

    with pytest.raises(ValueError):
        SpreadKeepAlive(_answer, every=0, threads=4)
    with pytest.raises(ValueError, match="api_keepalive_requests"):
        Settings(api_keepalive_requests=-1)


def test_the_server_takes_the_interval_from_the_settings(tmp_path: Path) -> None:
    """LICENSEDESK_API_KEEPALIVE_REQUESTS: with 2 and 4 threads, alone in flight, every 8th answer closes; 0: none."""
    from fastapi.testclient import TestClient

    from licensedesk.config import Settings
    from licensedesk.entrypoints.api.app import create_app

    url = f"sqlite+pysqlite:///{tmp_path / 'keepalive.sqlite3'}"
    for every, expected in ((2, [False] * 7 + [True] + [False] * 7 + [True]), (0, [False] * 16)):
        app = create_app(Settings(database_url=url, api_keepalive_requests=every, api_threads=4), run_scheduler=False)
        with TestClient(app) as client:
            answers = [client.get("/healthz") for _ in range(16)]
        assert all(a.status_code == 200 for a in answers)
        assert [a.headers.get("connection") == "close" for a in answers] == expected
