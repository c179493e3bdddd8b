"""The daily tick: run all work due up to now, day by day, idempotently.

For each day, only customers whose subscriptions have ``next_due`` on or before it are loaded (an
indexed column), so a tick costs what is due, not what exists. The day's customers go in chunks of
``CHUNK``, one transaction each, set-based: the chunk's due subscriptions are read with one query,
the domain runs in memory exactly as for a single customer, and what it decided is written with one
statement per table (docs/architecture.md, "The batched tick"). Each customer gets at most one
document per due rule (POLICIES.md §0: one document per customer per day). A crash leaves whole
chunks done or not done; re-running finishes the rest and never bills twice (``processed_through``
per subscription, and the unique charge key on document lines). A chunk that loses a race (a
concurrent change, another worker) is rolled back and redone one customer per transaction.

Several tick processes may run at once: each claims its chunk's customers (PostgreSQL ``SKIP
LOCKED``) and leaves those another worker holds to it, so nothing is done twice.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from licensedesk.domain import subscription as subs
from licensedesk.domain.subscription import ChargeLine, Event, Notice, Subscription

from . import agreements as vl
from . import documents, dunning, party_deadlines
from .context import CatalogPrices, Services
from .ports import Conflict, UnitOfWork
from .subscriptions import wanted_documents

CHUNK = 500  # customers per transaction: big enough to amortise round trips, small enough to redo
TICK_YOUNG_OBJECTS = 10_000  # the cycle collector's first threshold while the tick runs (Python: 700); D-TICK-GC


@dataclass
class TickReport:
    first_day: date | None = None
    last_day: date | None = None
    customers: int = 0
    subscriptions: int = 0
    documents: list[str] = field(default_factory=list)


def tick(svc: Services, until: datetime) -> TickReport:
    """Run every day whose 00:00 has passed by ``until``, in order, jumping over days with nothing due.

    The next day with work is ``MIN(next_due)`` (indexed), so an idle tick is one query.
    """
    with _older_objects_not_scanned():
        return _tick(svc, until)


@contextmanager
def _older_objects_not_scanned() -> Iterator[None]:
    """Python's cycle collector leaves alone what lived before the tick (``gc.freeze``) and looks at new objects
    every ``TICK_YOUNG_OBJECTS`` allocations instead of 700, until the tick ends (D-TICK-GC).

    A batch of 500 customers keeps thousands of objects alive at once, so collections run often, and each full one
    walked every object of the process (the code, SQLAlchemy's metadata): about a fifth of the invoice run's CPU.
    Nothing is lost: objects created during the tick are collected as usual, and the last tick to end (ticks may
    overlap in a server's threads) hands the older ones back to the collector and its thresholds back. A process
    that had frozen objects itself before (the server's start-up, D-API-GC; ``simulate``'s, D-CLI-SIMULATE-GC)
    freezes nothing more: its start-up, the bulk of what full collections walked, is out of their way already,
    and ``gc.unfreeze`` would hand back everything frozen, not only what the tick froze, so a second freeze
    could never be undone (a server ticking every minute would keep every cycle alive at a tick's start)."""
    with _GC_LOCK:
        global _TICKS_RUNNING, _THRESHOLDS, _UNFREEZE
        if _TICKS_RUNNING == 0:
            _THRESHOLDS, _UNFREEZE = gc.get_threshold(), gc.get_freeze_count() == 0
            if _UNFREEZE:
                gc.freeze()
            gc.set_threshold(TICK_YOUNG_OBJECTS, *_THRESHOLDS[1:])
        _TICKS_RUNNING += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _TICKS_RUNNING -= 1
            if _TICKS_RUNNING == 0:
                gc.set_threshold(*_THRESHOLDS)
                if _UNFREEZE:
                    gc.unfreeze()


_GC_LOCK = threading.Lock()
_TICKS_RUNNING = 0
_THRESHOLDS: tuple[int, ...] = gc.get_threshold()
_UNFREEZE = True  # whether the running ticks froze the process themselves (nothing was frozen before them)


def _tick(svc: Services, until: datetime) -> TickReport:
    report = TickReport()
    today = svc.when(until).today
    other: OtherWorkDue = {}
    with svc.uow() as uow:
        last = uow.scheduler.last_day()
        upcoming = uow.subscriptions.next_due_day()
        read_other_work_due(uow, other)
    while upcoming is not None:
        day = upcoming if last is None else max(upcoming, last + timedelta(days=1))
        if day > today:
            break
        run_other_work(svc, day - timedelta(days=1), other)
        issued = len(report.documents)
        run_day(svc, day, report)
        if len(report.documents) > issued:
            other.pop(OTHER_WORK[0], None)  # new invoices have dunning dates: read dunning's next day again
        upcoming = _mark_done(svc, day, look_ahead=other)
        last = day
    run_other_work(svc, today, other)
    if last is None or last < today:
        _mark_done(svc, today)
    return report


@dataclass(frozen=True)
class OtherWork:
    run: Callable[[Services, date], object]
    next_due: Callable[[UnitOfWork], date | None]  # an indexed MIN(); None: nothing scheduled


OTHER_WORK = (  # dunning first: run_day invalidates its next day (above)
    # payment reminders and overdue notices (documents.dunning_on, indexed)
    OtherWork(dunning.run_through, lambda uow: uow.billing.next_dunning_day()),
    # onboarding logins, relationship requests (RULES.md §2, §6)
    OtherWork(party_deadlines.run_due, lambda uow: uow.parties.deadlines.next_due_day()),
    # enrollment terminations, 60-day notices, expiries, COCPs taking effect (§7)
    OtherWork(vl.run_day, vl.next_due_day),
)

OtherWorkDue = dict[OtherWork, date | None]  # per tick: each pass's next due day, as last read


def run_other_work(svc: Services, through: date, known: OtherWorkDue) -> None:
    """Work kept by other capabilities, each dated at its own due date and run once, up to ``through``.

    A pass runs only when its next due day (read once per tick, and again after it ran) has come, so
    days without such work cost nothing. Several tick workers take turns on the passes (a lock held
    while they run in their own transactions); the one that comes second finds nothing left to do.
    """
    if any(work not in known for work in OTHER_WORK):
        with svc.uow() as uow:
            read_other_work_due(uow, known)
    due = [work for work in OTHER_WORK if (on := known[work]) is not None and on <= through]
    if not due:
        return
    with svc.uow() as turn:
        turn.scheduler.lock_other_work()
        for work in due:
            work.run(svc, through)
            del known[work]


def read_other_work_due(uow: UnitOfWork, known: OtherWorkDue) -> None:
    """Read the next due day of each pass not in ``known`` (the tick reads them with its other reads, so that
    ``run_other_work`` needs no unit of work of its own for them)."""
    for work in OTHER_WORK:
        if work not in known:
            known[work] = work.next_due(uow)


def _mark_done(svc: Services, day: date, *, look_ahead: OtherWorkDue | None = None) -> date | None:
    """Record ``day`` as done; with ``look_ahead``, then read (after the commit, in the same unit of work) the next
    day any subscription has work due, and the next due day of each other pass not in it."""
    with svc.uow() as uow:
        uow.scheduler.set_last_day(day)
        uow.commit()  # also begins the next transaction
        if look_ahead is None:
            return None
        read_other_work_due(uow, look_ahead)
        return uow.subscriptions.next_due_day()


def run_day(svc: Services, day: date, report: TickReport) -> None:
    report.first_day = report.first_day or day
    report.last_day = day
    with svc.uow() as uow:
        customers = uow.subscriptions.customers_due(day)
    for i in range(0, len(customers), CHUNK):
        chunk = customers[i:i + CHUNK]
        try:
            run_customers(svc, chunk, day, report)
        except Conflict:  # someone got to one of them first: the others still progress, one by one
            for customer in chunk:
                run_customers(svc, [customer], day, report)


@dataclass
class CustomerDay:
    """What the domain decided for one customer's due subscriptions on one day, before anything is written."""
    customer: str
    due: list[Subscription]
    events: list[tuple[str, list[Event]]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    voids: list[tuple[str, str]] = field(default_factory=list)
    charges: list[ChargeLine] = field(default_factory=list)


def run_customers(svc: Services, customers: list[str], day: date, report: TickReport) -> None:
    """One transaction: these customers' work due on ``day``, read and written a table at a time."""
    start = svc.start_of(day)
    with svc.uow() as uow:
        claimed = uow.scheduler.claim(customers)  # those another worker holds are its to do
        due = uow.subscriptions.due_for_customers(claimed, day)
        prices = CatalogPrices(uow)
        work = [decide(svc, customer, due[customer], day, prices) for customer in claimed if customer in due]
        uow.subscriptions.save_all([sub for w in work for sub in w.due])
        uow.subscriptions.add_events_all([recorded for w in work for recorded in w.events])
        for ref, key in (void for w in work for void in w.voids):
            uow.documents.void_charge(ref, key, start, "BILL-NONPAY-STOP")
        issued = documents.issue_all(uow, day, start, [
            wanted for w in work if w.charges for wanted in wanted_documents(w.customer, w.charges, w.due[0].policy)])
        notices = {w.customer: [(notice, w.customer) for notice in w.notices] for w in work}
        for customer, _, notice in issued:
            notices[customer].append((notice, customer))
        uow.notices.add_all([n for w in work for n in notices[w.customer]], start)
        uow.commit()
    report.customers += len(work)
    report.subscriptions += sum(len(w.due) for w in work)
    report.documents += [number for _, number, _ in issued]


def decide(svc: Services, customer: str, due: list[Subscription], day: date, prices: CatalogPrices) -> CustomerDay:
    """The domain alone, in memory: run each due subscription through ``day`` and keep what it recorded."""
    work = CustomerDay(customer, due)
    for sub in due:
        subs.run_due(sub, day, svc.start_of, prices)
        events, lines, notices, voids = sub.drain()
        work.events.append((sub.ref, events))
        work.notices += notices
        work.voids += [(sub.ref, key) for key in voids]
        work.charges += lines
    return work


def tick_workers(make_services: Callable[[], Services], until: datetime, workers: int) -> TickReport:
    """``tick`` in ``workers`` processes at once (PostgreSQL): each claims the chunks no other holds (SKIP LOCKED)
    and takes its turn on the other passes, so together they do each customer-day once, in about 1/``workers`` of
    the time when the database and the cores allow. ``make_services`` runs in each worker, after the fork, so
    every worker has connections of its own. One report for all; documents in issue order of their numbers."""
    if workers <= 1:
        return tick(make_services(), until)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _WORKER_JOB
    _WORKER_JOB = (make_services, until)  # inherited by the forked workers (a closure cannot be pickled)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            reports = list(pool.map(_tick_in_worker, range(workers)))
    finally:
        _WORKER_JOB = None
    days = [d for r in reports for d in (r.first_day, r.last_day) if d is not None]
    return TickReport(first_day=min(days, default=None), last_day=max(days, default=None),
                      customers=sum(r.customers for r in reports), subscriptions=sum(r.subscriptions for r in reports),
                      documents=sorted(n for r in reports for n in r.documents))


_WORKER_JOB: tuple[Callable[[], Services], datetime] | None = None


def _tick_in_worker(_: int) -> TickReport:
    assert _WORKER_JOB is not None, "tick_workers sets the job before it forks"
    make_services, until = _WORKER_JOB
    return tick(make_services(), until)
