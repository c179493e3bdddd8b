"""Who holds the locks orders wait for: samples ``pg_stat_activity`` while ``bench/api_orders.py`` runs.

Every ``--every`` seconds for ``--seconds``, reads the sessions of the benchmark's databases (``bench_api_*``) and,
for those that block another (``pg_blocking_pids``), their state, wait event and statement. Prints, per state,
the average number of sessions in it, and for the blockers how often each (state, statement) held a lock others
waited for: a blocker "idle in transaction" is waiting for the application (Python) while holding the lock.

    .venv/bin/python bench/api_orders.py --workers 2 --requests 5000 &   # then, once it measures:
    .venv/bin/python bench/api_lock_sample.py --seconds 8
"""

from __future__ import annotations

import sys
import time
from collections import Counter

import _common as c

_SESSIONS = ("SELECT state, coalesce(wait_event_type, '-'), coalesce(wait_event, '-') FROM pg_stat_activity "
             "WHERE datname LIKE 'bench_api_%' AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
_BLOCKERS = ("SELECT DISTINCT b.pid, b.state, coalesce(b.wait_event, '-'), left(b.query, 40) FROM pg_stat_activity b "
             "WHERE b.pid IN (SELECT unnest(pg_blocking_pids(a.pid)) FROM pg_stat_activity a "
             "WHERE a.datname LIKE 'bench_api_%')")


def main(argv: list[str]) -> int:
    p = c.parser(__doc__ or "")
    p.add_argument("--seconds", type=float, default=8.0, help="how long to sample (default 8)")
    p.add_argument("--every", type=float, default=0.005, help="seconds between samples (default 0.005)")
    args = p.parse_args(argv)
    import psycopg

    url = (args.database_url or [c.DEFAULT_POSTGRES])[0].replace("postgresql+psycopg://", "postgresql://")
    sessions, blockers, samples, blocked = Counter[tuple[str, ...]](), Counter[tuple[str, ...]](), 0, 0
    with psycopg.connect(url, autocommit=True) as conn:
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            for row in conn.execute(_SESSIONS).fetchall():
                sessions[tuple(row)] += 1
            found = conn.execute(_BLOCKERS).fetchall()
            blocked += bool(found)
            for _, state, wait, query in found:
                blockers[(state, wait, " ".join(query.split()))] += 1
            samples += 1
            time.sleep(args.every)
    if not samples or not sessions:
        print("no benchmark sessions seen: start bench/api_orders.py first")
        return 0
    print(f"{samples} samples over {args.seconds:.0f} s; some session blocked in {100 * blocked / samples:.0f} % of them")
    print("\nsessions by state (average number):")
    for key, n in sessions.most_common(10):
        print(f"  {n / samples:5.2f}  {key}")
    print("\nblockers by state and statement (share of samples):")
    for key, n in blockers.most_common(10):
        print(f"  {100 * n / samples:5.1f} %  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
