"""Compare two versions of ``src/`` on a loaded machine: interleaved rounds, CPU time beside wall time.

When other work shares the machine, wall-clock figures swing by 2–5× from one minute to the next.
This script extracts ``--base`` (a git revision) into a temp dir and runs the same workload with it
(``PYTHONPATH``) and with the working tree, alternately, each run in a fresh interpreter, and reports
the min and median of wall time **and of the process's CPU time** (less sensitive to neighbours,
though still slowed by a throttled or shared CPU). The same venv serves both.

Workloads (``--what``):

* ``simulate``: the 3-year scenario of ``simulate_3y.py`` in process (parse + simulate, best of the
  2nd and 3rd run in the child) and as the command ``licensedesk simulate FILE --json``;
* ``pdf``: ``pdf_render.py``'s sheets, 300 PDFs each of the one-line and five-line invoice, and 300
  one-line invoices for 60 different customers (CPU time per PDF → PDFs/s).

    .venv/bin/python bench/ab_versions.py --base 6ca153a --what simulate,pdf --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"

SIMULATE = r"""
import sys, time, yaml
from pathlib import Path
from licensedesk.config import Settings
from licensedesk.bootstrap import simulation_services
from licensedesk.services.scenario import parse
from licensedesk.services.simulate import simulate
make = simulation_services(Settings())
text = Path(sys.argv[1]).read_text(encoding="utf-8")
runs = []
for _ in range(3):
    wall, cpu = time.perf_counter(), time.process_time()
    report = simulate(parse(yaml.safe_load(text)), make)
    assert report["expect"]["failed"] == 0, report["expect"]
    runs.append((time.perf_counter() - wall, time.process_time() - cpu))
print(min(r[0] for r in runs[1:]), min(r[1] for r in runs[1:]))
"""

PDF = r"""
import dataclasses, sys, time
sys.path.insert(0, sys.argv[1])
import pdf_render
from licensedesk.adapters.pdf.invoice import PdfRenderer
renderer = PdfRenderer(pdf_render.FONT)
sheets = pdf_render.sheets()
kanji = "山川田中村松本井上木下林森石原岡藤野小大高橋清水谷口池内西東南北新古長谷坂宮崎島浜沢竹光金銀星海空風花雪月春夏秋冬桜梅菊"
one = sheets["invoice, 1 line"]
customers = [dataclasses.replace(one, recipient="株式会社" + kanji[i % 60] + kanji[(i * 7) % 60] + " 御中",
                                 number=f"INV-2026-{100000 + i * 7919 % 900000:06d}") for i in range(300)]
for sheet in sheets.values():
    renderer.render(sheet)
rates = []
for batch in ([sheets["invoice, 1 line"]] * 300, [sheets["invoice, 5 lines"]] * 300, customers):
    cpu = time.process_time()
    for sheet in batch:
        renderer.render(sheet)
    rates.append(len(batch) / (time.process_time() - cpu))
print(*rates)
"""


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="git revision to compare the working tree with")
    p.add_argument("--what", default="simulate,pdf", help="simulate, pdf or both (comma-separated)")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ld_ab_") as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        scenario = Path(tmp) / "three-years.yaml"
        sys.path.insert(0, str(BENCH))
        import simulate_3y

        simulate_3y.write_scenario(scenario)
        envs = {args.base: {**os.environ, "PYTHONPATH": str(base / "src")}, "working tree": dict(os.environ)}
        what = args.what.split(",")
        results: dict[str, dict[str, list[float]]] = {name: {} for name in envs}
        for _ in range(args.rounds):
            for name, env in envs.items():
                if "simulate" in what:
                    _simulate(env, scenario, results[name])
                if "pdf" in what:
                    _pdf(env, results[name])
    print(f"interleaved A/B, {args.rounds} rounds, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, measures in results.items():
        print(f"\n{name}")
        for measure, values in measures.items():
            best = max(values) if measure.endswith("/s") else min(values)
            print(f"  {measure:<44} best {best:9.3f}  median {statistics.median(values):9.3f}")
    return 0


def _simulate(env: dict[str, str], scenario: Path, out: dict[str, list[float]]) -> None:
    done = subprocess.run([sys.executable, "-c", SIMULATE, str(scenario)], env=env, capture_output=True, text=True,
                          check=True, cwd=ROOT)
    wall, cpu = (float(x) for x in done.stdout.split())
    out.setdefault("simulate in process: wall s", []).append(wall)
    out.setdefault("simulate in process: CPU s", []).append(cpu)
    before, start = os.times(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "licensedesk", "simulate", str(scenario), "--json"], env=env,
                   capture_output=True, check=True, cwd=ROOT)
    after = os.times()
    out.setdefault("simulate command: wall s", []).append(time.perf_counter() - start)
    out.setdefault("simulate command: CPU s", []).append(
        after.children_user - before.children_user + after.children_system - before.children_system)


def _pdf(env: dict[str, str], out: dict[str, list[float]]) -> None:
    done = subprocess.run([sys.executable, "-c", PDF, str(BENCH)], env=env, capture_output=True, text=True,
                          check=True, cwd=ROOT)
    for label, value in zip(("PDF 1 line: PDFs/s", "PDF 5 lines: PDFs/s", "PDF 1 line, 60 customers: PDFs/s"),
                            done.stdout.split(), strict=True):
        out.setdefault(label, []).append(float(value))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
