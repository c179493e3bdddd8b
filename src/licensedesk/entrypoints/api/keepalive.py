"""Spread keep-alive clients over the server's processes again (D-API-KEEPALIVE-SPREAD).

``uvicorn --workers N`` shares one listening socket, and the event loop that wakes first accepts every
connection waiting (libuv and asyncio both accept until the queue is empty). A client that opens its
connections in a burst lands them mostly on one process, which keeps them for as long as they stay alive:
sixteen opened at once were seen split 16/0, 15/1 and 13/3 between two processes (``bench/api_orders.py``
prints the split). At 16/0 one process did all the work and the machine stood 27–30 % idle.

Like nginx's ``keepalive_requests``, a process answers now and then with ``Connection: close``, and the
more requests it has in flight the more often (``SpreadKeepAlive``). The client opens a new connection,
which the less busy process, waiting in ``accept`` rather than running handlers, usually takes. A client
that honours HTTP/1.1 sees nothing but a new TCP connection now and then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CLOSE = (b"connection", b"close")


class SpreadKeepAlive:
    """ASGI middleware: a process with more requests in flight asks its clients to reconnect more often.

    Each request adds the number of requests this process has in flight (itself included) to a tally; when
    the tally reaches ``every × threads`` the response carries ``Connection: close`` and the tally starts
    again. At ``threads`` requests in flight that is one response in ``every``; a process holding twice the
    connections of another sends twice as many of them away, so the split evens out instead of wandering.
    """

    def __init__(self, app: ASGIApp, every: int, threads: int) -> None:
        if every < 1 or threads < 1:
            raise ValueError("every and threads must be at least 1")
        self.app = app
        self.threshold = every * threads
        self.in_flight = 0  # one event loop per process: no lock
        self.tally = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        try:
            self.tally += self.in_flight
            if self.tally < self.threshold:
                await self.app(scope, receive, send)
                return
            self.tally -= self.threshold

            async def send_closing(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = [h for h in message.get("headers", ()) if h[0].lower() != b"connection"]
                    message = {**message, "headers": [*headers, _CLOSE]}
                await send(message)

            await self.app(scope, receive, send_closing)
        finally:
            self.in_flight -= 1
