"""Instructions per API order, for the server's Python (callgrind) and for PostgreSQL (``perf stat``).

Seeds a fresh PostgreSQL database as ``bench/api_orders.py`` does, builds the app in this process and sends
``--warmup`` then ``--orders`` ``POST /api/v1/subscriptions`` as raw ASGI calls on one event loop, FastAPI's
thread-pool hop replaced by a direct call (as ``api_order_profile.py --whole``). The measured orders, and only
they, run inside ``operator.call`` (the C function ``_operator_call``), so callgrind can count just them:

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=_operator_call \\
        --callgrind-out-file=/tmp/orders.cg .venv/bin/python bench/api_order_counts.py --orders 100
    callgrind_annotate /tmp/orders.cg | head -30        # "PROGRAM TOTALS" / orders = instructions per order

``--perf`` measures the CPU time (``perf stat -e task-clock -p``) of the PostgreSQL backend serving the orders,
over the measured orders only; run it without valgrind. (This machine's VM exposes no hardware counters, so
PostgreSQL's side is CPU time, not instructions: compare it A/B, several runs.) The instruction count varies
little from run to run (unlike CPU time on a shared machine), so it compares trees.
"""

from __future__ import annotations

import asyncio
import operator
import os
import signal
import subprocess
import sys
import time
from typing import Any

import _common as c
from api_order_profile import asgi_order, inline_thread_pool
from api_orders import _database, seed


def main(argv: list[str]) -> int:
    p = c.parser(__doc__ or "")
    p.add_argument("--orders", type=int, default=100, help="orders counted (default 100)")
    p.add_argument("--warmup", type=int, default=30, help="orders before counting (default 30)")
    p.add_argument("--customers", type=int, default=200, help="customers the orders spread over (default 200)")
    p.add_argument("--perf", action="store_true", help="the PostgreSQL backend's CPU time (perf stat)")
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
    os.environ["LICENSEDESK_DATABASE_URL"] = url
    from sqlalchemy import event, text

    from licensedesk.config import Settings
    from licensedesk.entrypoints.api.app import create_app

    inline_thread_pool()
    app = create_app(Settings(), run_scheduler=False)
    engine = app.state.services.uow().engine  # type: ignore[attr-defined]
    app.state.api.tokens.seconds = 3600.0  # under valgrind the orders outlast the token cache's 10 s
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    order = asgi_order(app, token, args.customers)

    async def orders(start: int, n: int) -> None:
        for i in range(start, start + n):
            await order(i)

    lifespan = app.router.lifespan_context(app)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(lifespan.__aenter__())
    loop.run_until_complete(orders(0, args.warmup))
    with engine.connect() as conn:  # the pool's one connection: the orders run one at a time
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    counter = _perf(backend) if args.perf else None
    statements[0] = 0
    cpu = time.process_time()
    operator.call(loop.run_until_complete, orders(args.warmup, args.orders))  # callgrind: --toggle-collect
    cpu = time.process_time() - cpu
    pg = _stop(counter) if counter is not None else None
    loop.run_until_complete(lifespan.__aexit__(None, None, None))
    loop.close()
    engine.dispose()
    print(f"{args.orders} orders; tree {c.source_state()}; SQL statements per order: {statements[0] / args.orders:.2f}; "
          f"this process's CPU per order: {1000 * cpu / args.orders:.2f} ms")
    if pg is not None:
        print(f"PostgreSQL backend {backend}: {pg / args.orders:.3f} ms CPU per order (perf task-clock)")


def _perf(pid: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "task-clock", "-p", str(pid)],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # perf attaches
    return proc


def _stop(proc: subprocess.Popen[str]) -> float:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    for line in err.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("task-clock"):
            return float(fields[0])
    raise RuntimeError(f"perf stat gave no task-clock: {err}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
