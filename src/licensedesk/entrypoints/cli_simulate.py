"""``licensedesk simulate FILE [--json] [--explain]``: run a scenario file and print its report.

The Typer command in ``cli.py`` calls ``simulate`` below. ``main`` (the ``licensedesk`` script) runs a
well-formed ``simulate`` command line here directly, before Typer is imported: Typer validates every
argument with a pydantic TypeAdapter, and building the app, importing Typer and pydantic's schema
machinery cost ≈ 0.15 s of a command whose goal is 1 s (issue #3, D-CLI-SIMULATE-DIRECT). Any other
command line — help, a typo, an unknown option — goes to Typer, which answers as before. This module
imports neither Typer nor pydantic (tests/e2e/test_cli_imports.py).
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

FLAGS = {"--json": "as_json", "--explain": "explain"}
YOUNG_OBJECTS = 10_000  # the collector's first threshold for the run (Python's default: 700); D-CLI-SIMULATE-GC


def main() -> None:
    """The ``licensedesk`` command."""
    argv = sys.argv[1:]
    direct = direct_simulate(argv)
    if direct is None:
        from .cli import main as typer_main

        typer_main()
        return
    _start_up()
    from licensedesk.domain.errors import DomainError

    try:
        code = simulate(**direct)
    except DomainError as err:  # as cli.main answers it
        _err(f"{err.code}: {err.message('en')}")
        code = 1
    sys.exit(code)


def _start_up() -> None:
    """Import what ``simulate`` runs with the cycle collector off, then set it aside (D-CLI-SIMULATE-GC).

    Start-up allocates the modules, classes and SQLAlchemy's tables, all of which live until the process ends:
    the 129 collections it triggered (one of them full) found next to nothing to free. ``gc.freeze`` keeps the
    collector from walking them again; during the run it collects young objects every ``YOUNG_OBJECTS``
    allocations instead of every 700 (cyclic garbage is still collected: the 3-year run's peak memory grows by
    about 0.3 MB). Only this one-shot command does this: a server keeps Python's defaults.
    """
    gc.disable()
    try:
        import yaml  # noqa: F401

        import licensedesk.bootstrap
        import licensedesk.config_simulation
        import licensedesk.services.scenario
        import licensedesk.services.simulate  # noqa: F401
    finally:
        gc.freeze()
        gc.set_threshold(YOUNG_OBJECTS)
        gc.enable()


def direct_simulate(argv: list[str]) -> dict[str, Any] | None:
    """``simulate``'s arguments when ``argv`` is exactly ``simulate FILE`` with ``--json`` and/or ``--explain``
    (each at most once, in any order); None for anything else, which Typer parses."""
    if not argv or argv[0] != "simulate":
        return None
    options: dict[str, Any] = {"as_json": False, "explain": False}
    files = []
    for arg in argv[1:]:
        if arg in FLAGS and not options[FLAGS[arg]]:
            options[FLAGS[arg]] = True
        elif arg and not arg.startswith("-"):
            files.append(arg)
        else:
            return None
    if len(files) != 1:
        return None
    return {"file": Path(files[0]), **options}


def simulate(file: Path, as_json: bool, explain: bool) -> int:
    """Run the scenario in ``file``; the exit code. 0: expectations hold; 1: some failed; 2: malformed."""
    import yaml

    from licensedesk.bootstrap import simulation_services
    from licensedesk.config_simulation import simulation_settings
    from licensedesk.services.scenario import ScenarioError, parse
    from licensedesk.services.simulate import simulate as run

    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        scenario = parse(data)
    except OSError as exc:
        return _err(f"{file}: cannot read: {exc}", 2)
    except yaml.YAMLError as exc:
        return _err(f"{file}: not valid YAML: {exc}", 2)
    except ScenarioError as exc:
        return _err(f"{file}: malformed scenario: {exc}", 2)
    try:
        settings = simulation_settings()
    except ValueError as exc:
        return _err(f"configuration error: {exc}", 2)
    report = run(scenario, simulation_services(settings), explain=explain)
    if as_json:
        print_json(report)
    else:
        print_report(report, _out)
    return 0 if report["expect"]["failed"] == 0 else 1


def print_json(data: Any) -> None:
    """``data`` as indented JSON on standard output, dates in ISO 8601 (every command's ``--json``)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=json_default) + "\n")


def json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_report(report: dict[str, Any], echo: Callable[[str], Any]) -> None:
    echo(f"{report['name']}  (clock {report['clock']})")
    echo("\nSubscriptions")
    for ref, s in report["subscriptions"].items():
        echo(f"  {ref:<10} {s['status']:<16} {s['offer']} {s['term']}/{s['billing']} ×{s['quantity']}  "
             f"{s['term_start']} … {s['term_end']}  auto-renew {'on' if s['auto_renew'] else 'off'}")
    echo("\nDocuments")
    for i, d in enumerate(report["documents"]):
        echo(f"  [{i}] {d['kind']:<12} {d['number']}  {d['issue_date']}  {d['status']:<7} total {d['total']:>12,}")
        for line in d["lines"]:
            echo(f"        {line['kind']:<18} {line['subscription']:<8} {line['quantity']:>4} × {line['unit_amount']:>10,}"
                 f" = {line['amount']:>12,}  {line['period_start'] or ''} … {line['period_end'] or ''}  [{line['rule']}]")
    echo("\nNotices")
    for n in report["notices"]:
        echo(f"  {n['date']}  {n['kind']:<24} {n['customer']:<10} {n['subject']}")
    echo("\nRejections")
    for r in report["rejections"]:
        echo(f"  step {r['step']} {r['action']}: {r['code']} — {r['message']}")
    e = report["expect"]
    echo(f"\nExpectations: {e['passed']} passed, {e['failed']} failed")
    for f in e["failures"]:
        echo(f"  ✗ {f['path']}: expected {f['expected']!r}, got {f['actual']!r}")


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _err(line: str, code: int = 1) -> int:
    sys.stdout.flush()
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    return code
