"""Where one API order's time goes, deterministically: SQL statements per order, and a cProfile.

Seeds a fresh PostgreSQL database exactly as ``bench/api_orders.py`` does, builds the ASGI app in this
process (``create_app(Settings(), run_scheduler=False)``, the same app the server runs) and sends
``--orders`` ``POST /api/v1/subscriptions`` one after the other through Starlette's TestClient, each
with its own Idempotency-Key and the benchmark's body. An engine event counts every statement sent
to the database (and ``commit``s); ``--show`` prints the statements of the last order with the time
each took. The process's CPU time per order is printed too (server side plus TestClient's own, which
stands in for uvicorn's). ``--profile FILE.prof`` runs cProfile over the orders in the threads that run
the sync dependencies and endpoints (FastAPI's thread pool), i.e. the server's own work.

Statement counts do not depend on the machine's load, so they compare trees exactly:

    .venv/bin/python bench/api_order_profile.py --orders 200
    PYTHONPATH=/tmp/old/src .venv/bin/python /tmp/old/bench/api_order_profile.py --orders 200
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import _common as c
from api_orders import _database, seed


def main(argv: list[str]) -> int:
    p = c.parser(__doc__ or "")
    p.add_argument("--orders", type=int, default=200, help="orders sent (default 200)")
    p.add_argument("--warmup", type=int, default=20, help="orders before counting (default 20)")
    p.add_argument("--customers", type=int, default=200, help="customers the orders spread over (default 200)")
    p.add_argument("--show", action="store_true", help="print every statement of the last order (its first 150 "
                   "characters; with --full, all of it)")
    p.add_argument("--full", action="store_true", help="with --show: each statement's whole text")
    p.add_argument("--whole", action="store_true",
                   help="drive the ASGI app directly in one event loop (no TestClient), the thread pool's calls "
                        "made inline, so the CPU per order is the worker's own and --profile covers all of it: "
                        "routing, dependencies, validation, the handler, the response")
    args = p.parse_args(argv)
    spec = (args.database_url or [c.DEFAULT_POSTGRES])[0]
    url, drop = _database(spec)
    try:
        token = c.in_child(seed, url, args.customers)
        run(url, token, args)
    finally:
        drop()
    return 0


def run(url: str, token: str, args: Any) -> None:
    import os

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    os.environ["LICENSEDESK_DATABASE_URL"] = url
    from licensedesk.config import Settings
    from licensedesk.entrypoints.api.app import create_app

    app = create_app(Settings(), run_scheduler=False)
    engine = app.state.services.uow().engine  # type: ignore[attr-defined]
    log: list[tuple[str, float]] = []
    commits = [0]
    started: dict[int, float] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        log.append((" ".join(statement.split()), time.perf_counter() - started.pop(id(cursor), time.perf_counter())))

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        commits[0] += 1

    headers = {"Authorization": f"Bearer {token}"}

    def order(client: TestClient, i: int) -> None:
        body = {"ref": f"s{i:07d}", "tenant": f"t{i % args.customers:05d}", "offer": "M365-E3", "term": "P1Y",
                "billing": "monthly", "quantity": 1 + i % 50}
        r = client.post("/api/v1/subscriptions", json=body, headers={**headers, "Idempotency-Key": f"bench-{i}"})
        assert r.status_code == 201, r.text

    if args.whole:
        seconds, cpu, mark = _whole(app, token, args, log, commits)
        _print(args, log, commits, seconds, cpu, mark)
        return
    if args.profile:
        _profile_thread_pool(profiler)
    with TestClient(app) as client:
        for i in range(args.warmup):
            order(client, i)
        log.clear()
        commits[0] = 0
        watch, cpu = c.Stopwatch(), time.process_time()
        profiler.enabled = bool(args.profile)
        for i in range(args.warmup, args.warmup + args.orders - 1):
            order(client, i)
        mark = len(log)
        order(client, args.warmup + args.orders - 1)
        profiler.enabled = False
        seconds, cpu = watch.seconds(), time.process_time() - cpu
    _print(args, log, commits, seconds, cpu, mark)


def _print(args: Any, log: list[tuple[str, float]], commits: list[int], seconds: float, cpu: float, mark: int) -> None:
    last = log[mark:]
    kinds = Counter(s.split(" ", 1)[0].upper() for s, _ in log)
    print(f"{args.orders} orders in {seconds:.2f} s ({1000 * seconds / args.orders:.2f} ms each, one at a time, "
          f"in process); tree {c.source_state()}")
    print(f"SQL statements per order: {len(log) / args.orders:.2f} "
          f"({', '.join(f'{k} {n / args.orders:.2f}' for k, n in kinds.most_common())}); "
          f"commits per order: {commits[0] / args.orders:.2f}")
    print(f"time inside cursor.execute per order: {1000 * sum(t for _, t in log) / args.orders:.2f} ms; "
          f"this process's CPU per order: {1000 * cpu / args.orders:.2f} ms")
    if args.profile:
        profiler.report(args.profile, args.orders)
    if args.show:
        print(f"\nthe last order's {len(last)} statements:")
        for n, (statement, took) in enumerate(last, 1):
            print(f"{n:3d} {1000 * took:7.2f} ms  {statement if args.full else statement[:150]}")


def _whole(app: Any, token: str, args: Any, log: list[tuple[str, float]], commits: list[int]
           ) -> tuple[float, float, int]:
    """``args.orders`` orders as raw ASGI calls on this thread; (wall s, CPU s, index of the last order's first
    statement). FastAPI's thread-pool hop is replaced by a direct call, so everything runs under one profiler."""
    import asyncio

    inline_thread_pool()
    order = asgi_order(app, token, args.customers)

    async def run() -> tuple[float, float, int]:
        async with app.router.lifespan_context(app):
            for i in range(args.warmup):
                await order(i)
            log.clear()
            commits[0] = 0
            watch, cpu = c.Stopwatch(), time.process_time()
            if args.profile:
                profiler.prof.enable()
            for i in range(args.warmup, args.warmup + args.orders - 1):
                await order(i)
            mark = len(log)
            await order(args.warmup + args.orders - 1)
            if args.profile:
                profiler.prof.disable()
            return watch.seconds(), time.process_time() - cpu, mark

    return asyncio.run(run())


class _Profiler:
    def __init__(self) -> None:
        import cProfile

        self.prof, self.enabled = cProfile.Profile(), False

    def report(self, path: str, orders: int) -> None:
        import io
        import pstats

        self.prof.dump_stats(path)
        text = io.StringIO()
        stats = pstats.Stats(self.prof, stream=text).strip_dirs().sort_stats("cumulative")
        stats.print_stats(40)
        text.write("\n--- by own time ---\n")
        stats.sort_stats("tottime").print_stats(40)
        print(f"\n== cProfile of the thread pool's work, written to {path}: "
              f"{stats.total_calls / orders:,.0f} Python function calls per order ==")
        print(text.getvalue())


profiler = _Profiler()


def _profile_thread_pool(prof: _Profiler) -> None:
    """Profile what FastAPI runs in its thread pool (sync dependencies and endpoints), one call at a time."""
    import fastapi.dependencies.utils as deps
    import fastapi.routing as routing
    from starlette.concurrency import run_in_threadpool

    def profiled(func: Any) -> Any:
        def call(*a: Any, **kw: Any) -> Any:
            if not prof.enabled:
                return func(*a, **kw)
            prof.prof.enable()
            try:
                return func(*a, **kw)
            finally:
                prof.prof.disable()
        return call

    async def run(func: Any, *a: Any, **kw: Any) -> Any:
        return await run_in_threadpool(profiled(func), *a, **kw)

    routing.run_in_threadpool = run  # type: ignore[assignment]
    deps.run_in_threadpool = run  # type: ignore[assignment]


def inline_thread_pool() -> None:
    """FastAPI's thread-pool hop replaced by a direct call: sync dependencies and endpoints run on the caller's
    thread, so one profiler (or callgrind's toggle) sees all of an order."""
    import fastapi.dependencies.utils as deps
    import fastapi.routing as routing

    async def inline(func: Any, *a: Any, **kw: Any) -> Any:
        return func(*a, **kw)

    routing.run_in_threadpool = inline  # type: ignore[assignment]
    deps.run_in_threadpool = inline  # type: ignore[assignment]


def asgi_order(app: Any, token: str, customers: int) -> Callable[[int], Awaitable[None]]:
    """``order(i)``: the benchmark's i-th order as one raw ASGI call to ``app`` (each with its own Idempotency-Key,
    spread over ``customers`` tenants); asserts the answer is 201."""
    import json

    async def order(i: int) -> None:
        body = json.dumps({"ref": f"s{i:07d}", "tenant": f"t{i % customers:05d}", "offer": "M365-E3",
                           "term": "P1Y", "billing": "monthly", "quantity": 1 + i % 50}).encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/api/v1/subscriptions", "raw_path": b"/api/v1/subscriptions",
                 "root_path": "", "query_string": b"", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 1),
                 "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode()),
                             (b"authorization", f"Bearer {token}".encode()),
                             (b"idempotency-key", f"bench-{i}".encode())], "state": {}}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        assert sent[0]["status"] == 201, sent

    return order


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
