"""Shared plumbing for the benchmarks: back ends, throw-away databases, child processes, tables, profiles.

Every benchmark runs once per back end. With more than one back end the parent
re-runs the same script in a child process per back end (``--database-url X
--result-file F``), so each measurement starts from a fresh interpreter and its
peak RSS is its own; the parent collects the results and prints one table.

A back end is named by ``--database-url``:

* ``sqlite`` (or any ``sqlite…`` URL): a fresh database file in a temporary
  directory, removed afterwards;
* a ``postgresql+psycopg://…`` server URL: a fresh database ``ld_bench_<name>_<pid>``
  is created on that server and dropped (``WITH (FORCE)``) afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_BACKENDS = ("sqlite", DEFAULT_POSTGRES)

Result = dict[str, Any]


# ----------------------------------------------------------------- arguments
def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", action="append", metavar="URL",
                   help="'sqlite' (a fresh file in a temp dir) or a PostgreSQL server URL (a fresh ld_bench_* "
                        "database is created there and dropped afterwards); repeatable. "
                        f"Default: sqlite, then {DEFAULT_POSTGRES}")
    p.add_argument("--profile", metavar="FILE.prof",
                   help="profile the timed part with cProfile; writes FILE.<backend>.prof and prints the top 25")
    p.add_argument("--result-file", help=argparse.SUPPRESS)  # set by the parent for its child processes
    return p


def backend_label(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    return url.split(":", 1)[0]


# ----------------------------------------------------------------- databases
@contextmanager
def bench_database(spec: str, name: str) -> Iterator[str]:
    """A fresh, empty database for ``spec``; yields its SQLAlchemy URL and removes it afterwards."""
    if spec.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix=f"ld_bench_{name}_") as tmp:
            yield f"sqlite+pysqlite:///{tmp}/bench.sqlite3"
        return
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    admin = create_engine(spec, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    db = f"ld_bench_{name}_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        try:
            yield make_url(spec).set(database=db).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    finally:
        admin.dispose()


def migrated_engine(url: str) -> Any:
    """The application's engine on ``url`` with the schema migrated to head (Alembic, as ``db upgrade``).

    When the migrations do not (yet) produce every table and column the code defines — a tree in the
    middle of a change — the schema is rebuilt from the table definitions instead (as ``simulate``
    does) and a warning names what was missing, so the benchmark measures the code as it stands.
    """
    from sqlalchemy import inspect

    from licensedesk.adapters.db.engine import create_engine, create_schema, upgrade

    engine = create_engine(url)
    try:
        upgrade(engine)
    except Exception as exc:
        print(f"!! migrations failed ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})", flush=True)
    missing = _missing_schema(engine, inspect)
    if missing:
        print(f"!! the migrations lack {', '.join(missing[:6])}{' …' if len(missing) > 6 else ''}: "
              "building the schema from the table definitions instead", flush=True)
        from licensedesk.adapters.db.engine import metadata

        metadata.drop_all(engine)
        create_schema(engine)
    global LAST_SCHEMA
    LAST_SCHEMA = "table definitions (migrations incomplete)" if missing else "migrations (alembic head)"
    return engine


LAST_SCHEMA = ""  # how the last migrated_engine() built its schema, for the results


def _missing_schema(engine: Any, inspect: Any) -> list[str]:
    from licensedesk.adapters.db.engine import metadata

    insp = inspect(engine)
    present = set(insp.get_table_names())
    missing = []
    for table in metadata.sorted_tables:
        if table.name not in present:
            missing.append(f"table {table.name}")
            continue
        columns = {col["name"] for col in insp.get_columns(table.name)}
        missing += [f"{table.name}.{col.name}" for col in table.columns if col.name not in columns]
    return missing


def source_state() -> str:
    """The commit benchmarked and whether the work tree had changes (others edit it concurrently)."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], capture_output=True,
                               text=True, check=False).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes in src/' if dirty else ''}"


# ----------------------------------------------------------------- measuring
def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.start


@contextmanager
def maybe_profile(path: str | None, label: str) -> Iterator[None]:
    """Profile the block with cProfile when ``path`` is given (adds overhead: time it separately)."""
    if not path:
        yield
        return
    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        out = Path(path)
        out = out.with_name(f"{out.stem}.{label}{out.suffix or '.prof'}")
        prof.dump_stats(out)
        text = io.StringIO()
        stats = pstats.Stats(prof, stream=text).strip_dirs().sort_stats("cumulative")
        stats.print_stats(25)
        text.write("\n--- by own time ---\n")
        stats.sort_stats("tottime").print_stats(25)
        print(f"\n== cProfile ({label}), written to {out} ==")
        print(text.getvalue())


def current_rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def in_child(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(*args)`` in a forked child and return its (picklable) result.

    Used for seeding, so that the memory the seed needs does not count in the
    measured process's peak RSS. The child makes its own database connections.
    """
    import multiprocessing
    import traceback

    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)

    def target() -> None:
        try:
            sender.send(("ok", fn(*args)))
        except BaseException:
            sender.send(("error", traceback.format_exc()))

    proc = ctx.Process(target=target)
    proc.start()
    sender.close()  # so that a child that dies makes recv() fail instead of waiting forever
    try:
        status, value = receiver.recv()
    except EOFError:
        status, value = "error", f"exit code {proc.join() or proc.exitcode}"
    proc.join()
    if status != "ok":
        raise RuntimeError(f"the seeding child failed:\n{value}")
    return value


def calibrate() -> float:
    """Milliseconds for a fixed pure-Python loop (best of 5).

    This machine is a VM whose CPU speed swings by up to 2× from minute to minute (neighbours on the
    host); the figure, taken before and after a measurement, says how fast the CPU was at the time.
    """
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i * i
        best = min(best, time.perf_counter() - start)
    return 1000 * best


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, code {source_state()}"


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# ----------------------------------------------------------------- output
def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, r in enumerate(cells):
        padded = (c.rjust(w) if n and _numeric(c) else c.ljust(w) for c, w in zip(r, widths, strict=True))
        lines.append("  ".join(padded).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "").replace("-", "").replace("%", "").isdigit()


# ----------------------------------------------------------------- driver
def run(args: argparse.Namespace, argv: Sequence[str], bench: Callable[[str, argparse.Namespace], Result],
        report: Callable[[list[Result], argparse.Namespace], None]) -> int:
    """Run ``bench`` once per back end (in a child process when there are several) and ``report`` the results."""
    backends = args.database_url or list(DEFAULT_BACKENDS)
    if len(backends) == 1:
        result = bench(backends[0], args)
        if args.result_file:
            Path(args.result_file).write_text(json.dumps(result, default=str))
        else:
            report([result], args)
        return 0
    results: list[Result] = []
    script = sys.argv[0]
    child_argv = _without_backends(list(argv))
    with tempfile.TemporaryDirectory(prefix="ld_bench_results_") as tmp:
        for i, url in enumerate(backends):
            out = Path(tmp) / f"{i}.json"
            cmd = [sys.executable, script, *child_argv, "--database-url", url, "--result-file", str(out)]
            print(f"-- {backend_label(url)}: running in a child process", flush=True)
            done = subprocess.run(cmd, check=False)
            if done.returncode != 0 or not out.exists():
                print(f"!! {backend_label(url)} failed (exit {done.returncode})", file=sys.stderr)
                return done.returncode or 1
            results.append(json.loads(out.read_text()))
    report(results, args)
    return 0


def _without_backends(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--database-url":
            skip = True
            continue
        if arg.startswith("--database-url="):
            continue
        out.append(arg)
    return out


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds of this process and its reaped children, e.g. forked tick workers; CPU seconds of every
    PostgreSQL process on this machine, counting exited backends through the postmaster's reaped-children
    times). Take it before and after the timed part; 0.0 for PostgreSQL when it does not run here."""

    own = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    ticks = sum(int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])  # utime stime cutime cstime
                for _, name, f in processes() if name == "postgres" or name.startswith("postgres:"))
    return own, ticks / os.sysconf("SC_CLK_TCK")


def processes() -> Iterator[tuple[int, str, list[str]]]:
    """Every process now: (pid, name, the /proc/PID/stat fields after the name: state, ppid, pgrp, …)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        yield int(entry), text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
