"""A lean HTTP/1.1 load generator for ``api_orders.py``: asyncio streams, one keep-alive connection per
request in flight, each order's request bytes built once.

Why not httpx: on this 2-core machine the load generator shares the cores with the server it measures.
httpx (async) costs about 2–3 ms of CPU per request (request and response models, header objects,
its connection pool, anyio), a fifth of an order's whole CPU budget at 300 orders/s, which a real
deployment's clients would spend on their own machines. This client does the least a correct HTTP
client must: it writes the request, reads the status line and headers, reads the body by its
``Content-Length`` (or chunked), and checks every answer: the status is 201 and the JSON body is the
subscription asked for (ref, tenant, offer, quantity). httpx stays selectable (``--client httpx``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

PATH = "/api/v1/subscriptions"


class BadAnswer(Exception):
    """A response that is not the created order (counted with its status, never retried)."""


def request_bytes(host: str, token: str, key: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = (f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nIdempotency-Key: {key}\r\nContent-Length: {len(payload)}\r\n\r\n")
    return head.encode() + payload


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the server keeps the connection open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))  # the chunk and its CRLF
            if size == 0:
                break
        body = b"".join(p[:-2] for p in parts)
    else:
        raise BadAnswer(f"status {status}: a response without a length")
    return status, body, headers.get("connection", "").lower() != "close"


def check(status: int, body: bytes, order: dict[str, Any]) -> None:
    """The answer is the created subscription asked for, or ``BadAnswer``."""
    if status != 201:
        raise BadAnswer(f"status {status}: {body[:200]!r}")
    view = json.loads(body)
    got = (view.get("ref"), view.get("tenant"), view.get("offer"), view.get("quantity"))
    if got != (order["ref"], order["tenant"], order["offer"], order["quantity"]):
        raise BadAnswer(f"answer for another order: {got}")


async def drive(host: str, port: int, token: str, orders: list[tuple[str, dict[str, Any]]], concurrency: int,
                clock: Callable[[], float] = time.perf_counter) -> tuple[list[float], Counter[int], list[str]]:
    """Send ``orders`` ((Idempotency-Key, body) each), ``concurrency`` at a time on keep-alive connections;
    (each latency in s, the statuses (0: no answer), the first few problems)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    queue = iter(orders)
    authority = f"{host}:{port}"

    async def one_client() -> None:
        reader = writer = None
        for key, body in queue:
            wire = request_bytes(authority, token, key, body)
            began = clock()
            status = 0
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(wire)
                status, answer, keep = await read_response(reader)
                check(status, answer, body)
                if not keep:
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, BadAnswer, ValueError) as exc:
                if len(problems) < 5:
                    problems.append(f"{type(exc).__name__}: {exc}")
                if writer is not None:
                    writer.close()
                reader = writer = None
                if status == 201:  # a 201 whose body is wrong is an error too
                    status = -1
            statuses[status] += 1
            latencies.append(clock() - began)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return latencies, statuses, problems
