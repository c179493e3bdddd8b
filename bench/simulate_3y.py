"""``licensedesk simulate`` on a three-year scenario (goal: ≤ 1 s).

Writes a format-1 scenario to a temp dir — 3 customers, 10 subscriptions across the three presets
(mca-nce P1Y monthly / P1M / P1Y annual / P3Y / co-termed, monthly-prorated, annual-prepaid paid and
activated, one renewal left unpaid), seat increases and decreases, a scheduled renewal quantity, an
auto-renew opt-out, a cancellation, prepaid renewal payments, then ``advance`` to +3 years — and times it
``--repeat`` times:

* in-process: YAML load + ``scenario.parse`` + ``services.simulate.simulate`` (interpreter start and
  imports excluded; the first run in the process is reported separately);
* subprocess: ``licensedesk simulate FILE --json`` as a user runs it (start-up and imports included),
  and ``licensedesk --help`` alone for the start-up share. licensedesk's modules are compiled to
  bytecode first, as an installed command has them (an editable install with PYTHONDONTWRITEBYTECODE
  set would compile them in every run).

Back ends: ``memory`` is what ``licensedesk simulate`` uses (a fresh in-memory SQLite database per
run). ``sqlite`` / a PostgreSQL URL run the same in-process simulation on a fresh database of that
kind, for comparison only. Default: memory, sqlite, then PostgreSQL.

    .venv/bin/python bench/simulate_3y.py
    .venv/bin/python bench/simulate_3y.py --database-url memory --keep-scenario /tmp/three-years.yaml
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common as c

GOAL_SECONDS = 1.0
START = "2026-06-18T10:00:00+09:00"
END = "2029-06-18T10:00:00+09:00"


def at(day: str, hour: str = "10:00") -> str:
    return f"{day}T{hour}:00+09:00"


def scenario() -> dict[str, Any]:
    """The three-year scenario. Dates were worked out with the rules (see the comments), and the
    ``expect`` block makes the benchmark fail loudly if the run does not do what it should."""
    steps: list[dict[str, Any]] = [
        {"customer": {"ref": "acme", "name": "株式会社アクメ", "entity": "corporation", "country": "JP",
                      "segment": "commercial"}},
        {"tenant": {"ref": "t-acme", "customer": "acme", "domain": "acme.onmicrosoft.com", "country": "JP"}},
        {"customer": {"ref": "beta", "name": "ベータ商事株式会社", "entity": "corporation", "country": "JP"}},
        {"tenant": {"ref": "t-beta", "customer": "beta", "domain": "beta.onmicrosoft.com", "country": "JP"}},
        # zeta sorts last, so on the days its prepaid renewal invoices are issued they are the last invoice
        {"customer": {"ref": "zeta", "name": "ゼータ工業株式会社", "entity": "corporation", "country": "JP"}},
        {"tenant": {"ref": "t-zeta", "customer": "zeta", "domain": "zeta.onmicrosoft.com", "country": "JP"}},
        # mca-nce
        {"order": {"ref": "s1", "tenant": "t-acme", "offer": "M365-E3", "term": "P1Y", "billing": "monthly",
                   "quantity": 10, "policy": "mca-nce"}},
        {"order": {"ref": "s2", "tenant": "t-acme", "offer": "M365-BUSINESS-BASIC", "term": "P1M",
                   "billing": "monthly", "quantity": 25, "policy": "mca-nce"}},
        {"order": {"ref": "s3", "tenant": "t-acme", "offer": "O365-E3", "term": "P1Y", "billing": "annual",
                   "quantity": 5, "policy": "mca-nce"}},
        # annual-prepaid: order, pay the order invoice at once, activate on the next business days
        {"order": {"ref": "s8", "tenant": "t-zeta", "offer": "M365-E3", "term": "P1Y", "billing": "annual",
                   "quantity": 15, "policy": "annual-prepaid"}},
        {"pay": {"invoice": "last"}},
        {"at": at("2026-06-20", "09:00"), "change_quantity": {"subscription": "s1", "quantity": 12}},
        {"at": at("2026-06-21", "11:00"), "change_quantity": {"subscription": "s1", "quantity": 11}},
        {"at": at("2026-06-22"), "activate": {"subscription": "s8"}},  # term 2026-06-22 … 2027-06-21
        {"at": at("2026-07-01"), "order": {"ref": "s5", "tenant": "t-beta", "offer": "M365-E3", "term": "P1Y",
                                           "billing": "monthly", "quantity": 20, "policy": "monthly-prorated"}},
        {"order": {"ref": "s6", "tenant": "t-beta", "offer": "M365-BUSINESS-STANDARD", "term": "P1Y",
                   "billing": "monthly", "quantity": 12, "policy": "monthly-prorated"}},
        {"order": {"ref": "s7", "tenant": "t-beta", "offer": "M365-E3", "term": "P3Y", "billing": "monthly",
                   "quantity": 30, "policy": "mca-nce"}},
        {"at": at("2026-07-10"), "order": {"ref": "s4", "tenant": "t-acme", "offer": "M365-BUSINESS-STANDARD",
                                           "term": "P1Y", "billing": "monthly", "quantity": 8,
                                           "policy": "mca-nce", "align_with": "s1"}},
        {"at": at("2026-07-15"), "order": {"ref": "s9", "tenant": "t-zeta", "offer": "O365-E3", "term": "P1Y",
                                           "billing": "annual", "quantity": 6, "policy": "annual-prepaid"}},
        {"pay": {"invoice": "last"}},
        {"at": at("2026-07-17"), "activate": {"subscription": "s9"}},  # renewal invoice 2027-06-17, left unpaid
        {"at": at("2026-08-03"), "order": {"ref": "s10", "tenant": "t-acme", "offer": "M365-E3", "term": "P1Y",
                                           "billing": "monthly", "quantity": 3, "policy": "mca-nce"}},
        {"at": at("2026-08-05"), "cancel": {"subscription": "s10"}},  # inside 168 h: prorated credit
        {"at": at("2026-08-10"), "change_quantity": {"subscription": "s5", "quantity": 25}},
        # P1M: the opt-out deadline is term end − 30 days, or the term end for a term shorter than that
        {"at": at("2026-09-20"), "change_quantity": {"subscription": "s2", "quantity": 20, "at_renewal": True}},
        {"at": at("2026-11-15"), "change_quantity": {"subscription": "s5", "quantity": 18}},
        {"at": at("2027-02-01"), "change_quantity": {"subscription": "s7", "quantity": 35}},
        {"at": at("2027-04-01"), "set_auto_renew": {"subscription": "s3", "enabled": False}},
        # s8 renewal invoices: issued add_months(next term start, −1) = 05-22, paid the same day
        {"at": at("2027-05-22", "12:00"), "pay": {"invoice": "last"}},
        {"at": at("2027-09-01"), "change_quantity": {"subscription": "s6", "quantity": 15}},
        {"at": at("2028-02-20"), "change_quantity": {"subscription": "s2", "quantity": 22, "at_renewal": True}},
        {"at": at("2028-05-22", "12:00"), "pay": {"invoice": "last"}},
        {"at": at("2028-09-01"), "change_quantity": {"subscription": "s5", "quantity": 22}},
        {"at": at("2029-05-22", "12:00"), "pay": {"invoice": "last"}},
        {"advance": END},
    ]
    return {
        "format": 1,
        "name": "three years, three presets, ten subscriptions (benchmark)",
        "start": START,
        "timezone": "Asia/Tokyo",
        "policy": "mca-nce",
        "steps": steps,
        "expect": {
            "rejections": [],
            "subscriptions.s1.status": "active",
            "subscriptions.s1.term_start": "2029-06-18",  # renewed on the last day simulated
            "subscriptions.s2.status": "active",
            "subscriptions.s2.quantity": 22,
            "subscriptions.s3.status": "deleted",
            "subscriptions.s5.status": "active",
            "subscriptions.s7.status": "active",
            "subscriptions.s8.status": "active",
            "subscriptions.s8.term_start": "2028-06-22",
            "subscriptions.s9.status": "deleted",
            "subscriptions.s10.status": "deleted",
        },
    }


def write_scenario(path: Path) -> None:
    import yaml

    path.write_text(yaml.safe_dump(scenario(), sort_keys=False, allow_unicode=True), encoding="utf-8")


def main(argv: list[str]) -> int:
    p = c.parser(__doc__ or "")
    p.set_defaults(database_url=None)
    p.add_argument("--repeat", type=int, default=5, help="runs per measurement (default 5)")
    p.add_argument("--keep-scenario", metavar="FILE", help="also copy the generated scenario to FILE")
    args = p.parse_args(argv)
    if not args.database_url:
        args.database_url = ["memory", "sqlite", c.DEFAULT_POSTGRES]
    return c.run(args, argv, bench, report)


def _in_process(path: Path, make: Any) -> tuple[float, dict[str, Any]]:
    import yaml

    from licensedesk.services.scenario import parse
    from licensedesk.services.simulate import simulate

    watch = c.Stopwatch()
    scen = parse(yaml.safe_load(path.read_text(encoding="utf-8")))
    rep = simulate(scen, make)
    return watch.seconds(), rep


def _maker(spec: str) -> Any:
    """``make_services`` for the back end: the product's own for memory, else a fresh database per run."""
    from licensedesk.config import Settings

    if spec == "memory":
        from licensedesk.bootstrap import simulation_services

        return simulation_services(Settings())
    from licensedesk.adapters.db.engine import create_engine, create_schema
    from licensedesk.bootstrap import uow_factory
    from licensedesk.services.context import Services

    settings = Settings()
    state: dict[str, Any] = {}

    def make(scen: Any) -> Any:
        engine = create_engine(state["url"])
        create_schema(engine)
        state["engine"] = engine
        return Services(uow=uow_factory(engine), zone=scen.zone, calendar=settings.business_calendar,
                        default_policy=scen.policy or settings.default_policy)

    make.state = state  # type: ignore[attr-defined]
    return make


def bench(spec: str, args: Any) -> c.Result:
    label = "memory" if spec == "memory" else c.backend_label(spec)
    res: c.Result = {"backend": label, "date": c.now_utc(), "machine": c.machine(), "repeat": args.repeat,
                     "calib_before_ms": c.calibrate()}
    with tempfile.TemporaryDirectory(prefix="ld_bench_sim_") as tmp:
        path = Path(tmp) / "three-years.yaml"
        write_scenario(path)
        if args.keep_scenario:
            shutil.copy(path, args.keep_scenario)
        res["steps"] = len(scenario()["steps"])
        make = _maker(spec)
        runs: list[float] = []
        for i in range(args.repeat + 1):  # the first run pays one-time costs; reported apart
            with _database(spec, make), c.maybe_profile(args.profile if i == args.repeat else None, label):
                secs, rep = _in_process(path, make)
            if i == 0:
                res["first_s"] = secs
                res["documents"] = len(rep["documents"])
                res["notices"] = len(rep.get("notices", []))
                res["expect_failed"] = rep["expect"]["failed"]
                res["expect_passed"] = rep["expect"].get("passed")
                if rep["expect"]["failed"]:
                    print(f"!! [{label}] expectations failed: {rep['expect']}", file=sys.stderr)
            else:
                runs.append(secs)
        res["in_process_min_s"] = min(runs)
        res["in_process_median_s"] = statistics.median(runs)
        if spec == "memory":
            res.update(_subprocess(path, args.repeat))
    res["peak_rss_mib"] = c.peak_rss_mib()
    res["calib_after_ms"] = c.calibrate()
    return res


class _database:
    """A fresh database for one run on the sqlite/PostgreSQL back ends (not timed); nothing for memory."""

    def __init__(self, spec: str, make: Any) -> None:
        self.spec, self.make, self.ctx = spec, make, None

    def __enter__(self) -> None:
        if self.spec != "memory":
            self.ctx = c.bench_database(self.spec, "sim")
            self.make.state["url"] = self.ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self.ctx is not None:
            engine = self.make.state.pop("engine", None)
            if engine is not None:
                engine.dispose()
            self.ctx.__exit__(*exc)


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("licensedesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "licensedesk"]


def _compile_package() -> str:
    """Bytecode for licensedesk's modules, as an installed command has it (pip compiles a wheel's modules
    when it installs them). An editable install compiles none, and where PYTHONDONTWRITEBYTECODE is set
    (as on the team's machines) every run would compile ~120 modules again: ≈0.25 s CPU per command."""
    import compileall

    import licensedesk

    ok = compileall.compile_dir(Path(licensedesk.__file__).parent, quiet=1)
    return "compiled before timing" if ok else "NOT compiled (compileall failed)"


def _subprocess(path: Path, repeat: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENSEDESK_")}
    bytecode = _compile_package()
    full, help_only = [], []
    for _ in range(repeat):
        watch = c.Stopwatch()
        done = subprocess.run([*_cli(), "simulate", str(path), "--json"], capture_output=True, env=env, check=False)
        full.append(watch.seconds())
        if done.returncode != 0:
            print(f"!! licensedesk simulate exited {done.returncode}: {done.stderr.decode()[-500:]}", file=sys.stderr)
        watch = c.Stopwatch()
        subprocess.run([*_cli(), "--help"], capture_output=True, env=env, check=False)
        help_only.append(watch.seconds())
    return {"subprocess_min_s": min(full), "subprocess_median_s": statistics.median(full),
            "startup_min_s": min(help_only), "startup_median_s": statistics.median(help_only),
            "subprocess_exit": done.returncode, "bytecode": bytecode}


def report(results: list[c.Result], args: Any) -> None:
    print()
    print(f"simulate, 3-year scenario — {results[0]['date']}, {results[0]['machine']}; goal ≤ {GOAL_SECONDS:g} s; "
          f"{results[0]['steps']} steps, {results[0]['documents']} documents, {results[0]['notices']} notices")
    rows = []
    for r in results:
        rows.append((r["backend"], "in-process (parse + simulate)", r["first_s"], r["in_process_min_s"],
                     r["in_process_median_s"], "yes" if r["in_process_median_s"] <= GOAL_SECONDS else "NO",
                     "ok" if not r["expect_failed"] else f"{r['expect_failed']} FAILED"))
        if "subprocess_min_s" in r:
            rows.append((r["backend"], "subprocess `licensedesk simulate --json`", "", r["subprocess_min_s"],
                         r["subprocess_median_s"], "yes" if r["subprocess_median_s"] <= GOAL_SECONDS else "NO",
                         f"exit {r['subprocess_exit']}"))
            rows.append((r["backend"], "subprocess `licensedesk --help` (start-up)", "", r["startup_min_s"],
                         r["startup_median_s"], "", ""))
    print(c.table(rows, ["backend", "what", "first s", f"min s (of {args.repeat})", "median s", "goal met",
                         "expectations"]))
    for r in results:
        print(f"  {r['backend']}: CPU calibration {r['calib_before_ms']:.0f}/{r['calib_after_ms']:.0f} ms "
              "before/after (lower = faster CPU at the time; the VM's speed varies up to 2×)")
    for r in results:
        if "bytecode" in r:
            print(f"  {r['backend']}: licensedesk's bytecode {r['bytecode']} (PYTHONDONTWRITEBYTECODE="
                  f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})")
    print("  memory = the product path (fresh in-memory SQLite per run); sqlite/postgresql = the same in-process "
          "run on a fresh database of that kind, for comparison.")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
