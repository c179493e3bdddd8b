"""Order placement through the REST API on PostgreSQL with several server processes
(goal: ≥ 300 requests/s with p99 ≤ 100 ms).

Seeds a fresh PostgreSQL database ``bench_api_<pid>`` (migrated to head, sample catalog, ``--customers``
customers with one tenant each, one ``sales`` user with a bearer token), starts
``uvicorn --factory licensedesk.entrypoints.api.asgi:without_scheduler --workers W`` as a child process,
and drives ``--requests`` ``POST /api/v1/subscriptions`` (each with its own Idempotency-Key, spread over
the tenants) from ``--concurrency`` concurrent clients: by default a lean keep-alive HTTP/1.1 client on asyncio
streams (``bench/_lean_http.py``: on 2 shared cores, httpx's own ~2–3 ms of CPU per request would be taken
from the server it measures), or httpx (async) with ``--client httpx``. Every answer is checked (status
201, its JSON body the subscription asked for) and after the run every order must be in the database
with its issued invoice. Each order is the whole path: bearer
token lookup, the parties' checks, the subscription, its first invoice (numbered from the locked counter),
the notice, the outbox mail, the audit entry and the idempotency record, in one transaction.

A warm-up of ``--warmup`` orders (not counted) comes first. Prints requests/s, latency p50/p95/p99/max
and the errors by status. The client runs on the same machine and takes CPU from the server: the CPU
time (user + system, from /proc) spent during the timed orders by the server's processes, by the
PostgreSQL backends connected to the benchmark's database and by the client itself is printed per
order, with the machine's idle share and the number of PostgreSQL sessions opened meanwhile. How the client's
keep-alive connections are split over the server's processes is sampled from ``/proc`` every 0.5 s (a burst
of connections tends to land on one process; D-API-KEEPALIVE-SPREAD).
``--concurrency`` takes a comma-separated list for a sweep (one server and database per value).

    .venv/bin/python bench/api_orders.py                     # PostgreSQL on 127.0.0.1, workers = cores
    .venv/bin/python bench/api_orders.py --workers 2 --requests 3000 --concurrency 16
    .venv/bin/python bench/api_orders.py --workers 2 --requests 3000 --repeat 10   # how often the goal holds
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import _common as c
import _lean_http as lean

GOAL_RPS = 300.0
GOAL_P99_MS = 100.0
ZONE = ZoneInfo("Asia/Tokyo")


def main(argv: list[str]) -> int:
    p = c.parser(__doc__ or "")
    p.add_argument("--requests", type=int, default=3000, help="orders measured (default 3,000)")
    p.add_argument("--warmup", type=int, default=200, help="orders before measuring (default 200)")
    p.add_argument("--concurrency", default="16", help="requests in flight (default 16); a comma-separated "
                   "list runs one measurement per value")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="uvicorn worker processes "
                   "(default: the number of cores)")
    p.add_argument("--customers", type=int, default=200, help="customers (one tenant each) the orders spread "
                   "over (default 200)")
    p.add_argument("--client", choices=("lean", "httpx"), default="lean",
                   help="load generator: lean (default; asyncio streams, keep-alive HTTP/1.1, see bench/_lean_http.py) "
                        "or httpx (async); both check every answer's status and JSON body")
    p.add_argument("--server-option", action="append", default=[], metavar="ARG",
                   help="an extra uvicorn argument, repeatable (e.g. --server-option=--loop=asyncio "
                        "--server-option=--http=h11 to compare without uvloop/httptools)")
    p.add_argument("--repeat", type=int, default=1, help="runs per concurrency value, each with its own database "
                   "and server (default 1); with more, a summary says in how many the goal was met")
    args = p.parse_args(argv)
    if not args.database_url:
        args.database_url = [c.DEFAULT_POSTGRES]
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    sweep = [int(n) for n in str(args.concurrency).split(",")]
    results = []
    for n in sweep:
        args.concurrency = n
        for _ in range(args.repeat):
            results.append(bench(args.database_url[0], args))
    report(results, args)
    if args.repeat > 1:
        for n in sweep:
            print(summary([r for r in results if r["concurrency"] == n]))
    return 0


def _met(r: c.Result) -> bool:
    return r["rps"] >= GOAL_RPS and r["p99_ms"] <= GOAL_P99_MS and not r["errors"]


def summary(runs: list[c.Result]) -> str:
    """One line over repeated runs of one concurrency: the spread of req/s and p99, and how often the goal held."""
    def spread(key: str) -> str:
        values = sorted(r[key] for r in runs)
        return f"{values[0]:.1f} / {statistics.median(values):.1f} / {values[-1]:.1f}"

    return (f"{len(runs)} runs at {runs[0]['concurrency']} in flight: req/s {spread('rps')}, p99 ms {spread('p99_ms')} "
            f"(lowest / median / highest); goal met in {sum(map(_met, runs))} of {len(runs)}")


def _ticks(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by ``pids`` (those still alive)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def _processes(group: int) -> tuple[list[int], list[int]]:
    """(the server's processes: its process group; every ``postgres`` process)."""
    server, postgres = [], []
    for pid, name, fields in c.processes():
        if int(fields[2]) == group:
            server.append(pid)
        elif name == "postgres" or name.startswith("postgres:"):
            postgres.append(pid)
    return server, postgres


def _sockets(pid: int) -> set[int]:
    """The socket inodes process ``pid`` holds open."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    except OSError:
        pass
    return inodes


def _is_worker(pid: int) -> bool:
    """Whether ``pid`` is one of uvicorn's worker processes (spawned by multiprocessing), not its supervisor
    or multiprocessing's resource tracker."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"spawn_main" in cmdline.read()
    except OSError:
        return False


def connection_split(pids: list[int], port: int) -> list[int]:
    """How many established connections to ``port`` each of ``pids`` holds, busiest first (from /proc)."""
    held = {pid: _sockets(pid) for pid in pids}
    established = set()
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                established.add(int(fields[9]))
    return sorted((len(inodes & established) for inodes in held.values()), reverse=True)


class SplitSampler:
    """Samples ``connection_split`` every ``every`` s in a thread while the orders run: how evenly the
    server's processes share the client's keep-alive connections (D-API-KEEPALIVE-SPREAD)."""

    def __init__(self, pids: list[int], port: int, every: float = 0.5) -> None:
        self.samples: list[list[int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pids, port, every), daemon=True)

    def _run(self, pids: list[int], port: int, every: float) -> None:
        while not self._stop.wait(every):
            split = connection_split(pids, port)
            if sum(split):
                self.samples.append(split)

    def __enter__(self) -> SplitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        if not self.samples:
            return "no sample"
        busiest = statistics.fmean(s[0] / sum(s) for s in self.samples)
        shown = lambda s: "/".join(map(str, s))  # noqa: E731
        return (f"first {shown(self.samples[0])}, last {shown(self.samples[-1])}, the busiest process held "
                f"{100 * busiest:.0f} % on average over {len(self.samples)} samples")


def _backends(url: str) -> tuple[list[int], int]:
    """The PostgreSQL backends connected to the benchmark's database now, and its sessions opened so far."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            pids = [int(r[0]) for r in conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))]
            sessions = int(conn.execute(text(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()")).scalar_one())
    finally:
        engine.dispose()
    return pids, sessions


def _machine_idle() -> tuple[float, float]:
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


def _database(spec: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    if not spec.startswith("postgresql"):
        raise SystemExit("this benchmark runs on PostgreSQL (several server processes share the database)")
    admin = create_engine(spec, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name = f"bench_api_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(spec).set(database=name).render_as_string(hide_password=False), drop


def seed(url: str, customers: int) -> str:
    """Catalog, customers and tenants through the handlers, one sales user; returns its bearer token."""
    from licensedesk.bootstrap import build
    from licensedesk.config import Settings
    from licensedesk.entrypoints.api import security
    from licensedesk.services import parties
    from licensedesk.services.catalog import load_sample_catalog

    engine = c.migrated_engine(url)
    svc = build(Settings(database_url=url), engine)
    now = datetime(2026, 6, 18, 10, tzinfo=ZONE)
    load_sample_catalog(svc)
    for i in range(customers):
        parties.register_customer(svc, now, ref=f"c{i:05d}", name=f"ベンチ株式会社{i}", entity="corporation",
                                  country="JP")
        parties.register_tenant(svc, now, ref=f"t{i:05d}", customer=f"c{i:05d}",
                                domain=f"bench{i}.onmicrosoft.com", country="JP")
    security.add_user(svc, now, "bench", "sales", None, None)
    token = security.create_token(svc, now, "bench")
    engine.dispose()
    return token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(url: str, workers: int, port: int, options: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LICENSEDESK_DATABASE_URL": url, "PYTHONPATH": str(c.ROOT / "src")}
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "licensedesk.entrypoints.api.asgi:without_scheduler",
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
           "--no-access-log", *options]
    return subprocess.Popen(cmd, env=env, start_new_session=True)


async def _wait_ready(base: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not answer /healthz within 60 s")


def orders(start: int, n: int, customers: int) -> list[tuple[str, dict[str, Any]]]:
    """(Idempotency-Key, body) of orders ``start`` … ``start + n - 1``, spread over the tenants."""
    return [(f"bench-{i}", {"ref": f"s{i:07d}", "tenant": f"t{i % customers:05d}", "offer": "M365-E3",
                            "term": "P1Y", "billing": "monthly", "quantity": 1 + i % 50})
            for i in range(start, start + n)]


async def drive(base: str, token: str, start: int, n: int, concurrency: int, customers: int, client: str = "lean"
                ) -> tuple[list[float], Counter[int], float]:
    """``n`` orders, ``concurrency`` in flight; returns each latency (s), the statuses, the wall time.

    Every answer is checked (status 201, the JSON body is the subscription asked for); a wrong body
    counts as status -1, no answer as 0."""
    todo = orders(start, n, customers)
    if client == "lean":
        host, port = base.removeprefix("http://").rsplit(":", 1)
        watch = c.Stopwatch()
        latencies, statuses, problems = await lean.drive(host, int(port), token, todo, concurrency)
        seconds = watch.seconds()
        for problem in problems:
            print(f"  ! {problem}", flush=True)
        return latencies, statuses, seconds
    return await _drive_httpx(base, token, todo, concurrency)


async def _drive_httpx(base: str, token: str, todo: list[tuple[str, dict[str, Any]]], concurrency: int
                       ) -> tuple[list[float], Counter[int], float]:
    import httpx

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = iter(todo)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def one_client(client: httpx.AsyncClient) -> None:
        for key, body in queue:
            began = time.perf_counter()
            try:
                response = await client.post("/api/v1/subscriptions", json=body,
                                             headers={**headers, "Idempotency-Key": key})
                lean.check(response.status_code, response.content, body)
                statuses[response.status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1
            except (lean.BadAnswer, ValueError):
                statuses[-1 if response.status_code == 201 else response.status_code] += 1
            latencies.append(time.perf_counter() - began)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        watch = c.Stopwatch()
        await asyncio.gather(*(one_client(client) for _ in range(concurrency)))
        return latencies, statuses, watch.seconds()


def _invoiced(url: str) -> tuple[int, int, str]:
    """(subscriptions ordered, of which billed by an issued document, the audit chain's and numbers' check): after
    the run, every order must be both, the chain must verify and the numbers be gapless."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            subs = int(conn.execute(text("SELECT count(*) FROM subscriptions")).scalar_one())
            billed = int(conn.execute(text(
                "SELECT count(DISTINCT l.subscription_ref) FROM document_lines l JOIN documents d ON d.id = l.document_id"
                " WHERE d.status = 'issued' AND d.kind = 'invoice'")).scalar_one())
            numbers = [r[0] for r in conn.execute(text("SELECT number FROM documents ORDER BY number"))]
            chain = [dict(r) for r in conn.execute(text("SELECT * FROM audit_log ORDER BY id")).mappings()]
    finally:
        engine.dispose()
    return subs, billed, _chain_and_numbers(chain, numbers)


def _chain_and_numbers(chain: list[dict[str, Any]], numbers: list[str]) -> str:
    """Whether the audit chain verifies and the invoice numbers are gapless, as ``ok`` or what is wrong."""
    from licensedesk.entrypoints.api.audit import GENESIS, digest

    prev = GENESIS
    for row in chain:
        if row["prev_hash"] != prev or digest(prev, row) != row["hash"]:
            return f"audit entry {row['id']} does not chain"
        prev = row["hash"]
    if [int(n.rsplit("-", 1)[1]) for n in numbers] != list(range(1, len(numbers) + 1)):
        return "the invoice numbers have a gap or a duplicate"
    return "ok"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench(spec: str, args: Any) -> c.Result:
    label = c.backend_label(spec)
    res: c.Result = {"backend": label, "workers": args.workers, "concurrency": args.concurrency,
                     "requests": args.requests, "date": c.now_utc(), "machine": c.machine()}
    url, drop = _database(spec)
    proc = None
    try:
        print(f"[{label}] seeding {args.customers} customers …", flush=True)
        token = c.in_child(seed, url, args.customers)
        port = _free_port()
        proc = start_server(url, args.workers, port, args.server_option)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(_wait_ready(base, proc))
        res["cpu_ms_before"] = c.calibrate()
        _, warm, _ = asyncio.run(drive(base, token, 0, args.warmup, args.concurrency, args.customers, args.client))
        res["warmup_statuses"] = dict(warm)
        print(f"[{label}] {args.requests} orders, {args.concurrency} in flight, {args.workers} workers …", flush=True)
        server, _ = _processes(proc.pid)
        backends0, sessions0 = _backends(url)
        cpu0 = (_ticks(server), {pid: _ticks([pid]) for pid in backends0}, sum(os.times()[:2]), _machine_idle())
        workers = [pid for pid in server if _is_worker(pid)] or server
        with SplitSampler(workers, port) as split:
            latencies, statuses, wall = asyncio.run(drive(base, token, args.warmup, args.requests, args.concurrency,
                                                          args.customers, args.client))
        res["split"] = split.summary()
        idle1, total1 = _machine_idle()
        cpu = [_ticks(server) - cpu0[0], 0.0, sum(os.times()[:2]) - cpu0[2]]
        backends1, sessions1 = _backends(url)
        cpu[1] = sum(_ticks([pid]) - cpu0[1].get(pid, 0.0) for pid in backends1)
        res["sessions_opened"] = sessions1 - sessions0
        res["cpu_per_order_ms"] = [1000 * x / len(latencies) for x in cpu]
        res["idle_share"] = (idle1 - cpu0[3][0]) / max(1.0, total1 - cpu0[3][1])
        res["cpu_ms_after"] = c.calibrate()
        res["client"], res["invoiced"] = args.client, _invoiced(url)
        res.update(rps=len(latencies) / wall, wall_s=wall, p50_ms=_pct(latencies, 0.50),
                   p95_ms=_pct(latencies, 0.95), p99_ms=_pct(latencies, 0.99), max_ms=1000 * max(latencies),
                   mean_ms=1000 * statistics.fmean(latencies), statuses=dict(statuses),
                   errors=sum(n for s, n in statuses.items() if s != 201), load=os.getloadavg())
        res["expected"] = warm[201] + statuses[201]
        if res["invoiced"] != (res["expected"], res["expected"], "ok"):
            res["errors"] += 1  # an order answered 201 without its subscription or invoice in the database
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        drop()
    return res


def report(results: list[c.Result], args: Any) -> None:
    rows = [[r["backend"], r["workers"], r["concurrency"], r["requests"], r["rps"], r["p50_ms"], r["p95_ms"],
             r["p99_ms"], r["max_ms"], r["errors"]] for r in results]
    print()
    print(c.table(rows, ["backend", "workers", "in flight", "orders", "req/s", "p50 ms", "p95 ms", "p99 ms",
                         "max ms", "errors"]))
    for r in results:
        print(f"statuses {r['statuses']}; CPU calibration {r['cpu_ms_before']:.0f} → {r['cpu_ms_after']:.0f} ms; "
              f"load average after {tuple(round(x, 2) for x in r['load'])}; {r['machine']}; {r['date']}")
        server, pg, client = r["cpu_per_order_ms"]
        subs, billed, checked = r["invoiced"]
        print(f"after the run: {subs} subscriptions in the database, {billed} of them billed by an issued invoice "
              f"(expected {r['expected']}: the orders answered 201, warm-up {r['warmup_statuses']} included); "
              f"audit chain and gapless invoice numbers: {checked}")
        print(f"CPU per order (in flight {r['concurrency']}): server {server:.2f} ms, PostgreSQL {pg:.2f} ms, "
              f"client ({r['client']}) {client:.2f} ms, total {server + pg + client:.2f} ms; machine idle {100 * r['idle_share']:.0f} %; "
              f"{r['sessions_opened']} PostgreSQL sessions opened while measuring (a backend that exited is "
              "missing from the PostgreSQL figure)")
        print(f"keep-alive connections per server process (sampled every 0.5 s): {r['split']}")
        print(f"goal ≥ {GOAL_RPS:.0f} req/s and p99 ≤ {GOAL_P99_MS:.0f} ms: {'met' if _met(r) else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
