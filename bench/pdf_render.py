"""PDF rendering: invoices per second on one core (goal: ≥ 150 PDFs/s per core).

Renders prepared sheets (``domain.invoice_sheet``) with the reportlab adapter and the embedded
IPAexGothic font, in this one process (= one core), after a warm-up: a 1-line invoice, a 5-line
invoice, a 60-line invoice (two pages) and a credit note. No database: this measures the adapter.
Each PDF is checked to start with ``%PDF`` and to carry the font (``FontFile2``).

    .venv/bin/python bench/pdf_render.py
    .venv/bin/python bench/pdf_render.py --count 2000 --profile /tmp/pdf.prof
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import _common as c

GOAL_PER_S = 150.0
FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"


def sheets() -> dict[str, Any]:
    from licensedesk.domain.billing import DocumentKind, TaxSummary
    from licensedesk.domain.invoice_sheet import DocumentFacts, Issuer, LineFacts, OriginalInvoice, build_sheet
    from licensedesk.domain.money import tax_on
    from licensedesk.domain.subscription import LineKind

    issuer = Issuer("ライセンスデスク株式会社", "〒100-0005 東京都千代田区丸の内1-1-1", "T7010001008844",
                    "みずほ銀行 本店 普通 1234567 ライセンスデスク（カ")
    start = date(2026, 6, 18)
    offers = ("Microsoft 365 E3", "Microsoft 365 Business Premium", "Office 365 E3", "Microsoft 365 Business Basic")

    def invoice(n: int) -> Any:
        lines = [LineFacts(offers[i % 4], LineKind.CYCLE, 10 + i, 5434, 5434 * (10 + i), start + timedelta(days=i),
                           start + timedelta(days=29 + i)) for i in range(n)]
        net = sum(x.amount for x in lines)
        facts = DocumentFacts(DocumentKind.INVOICE, f"INV-2026-{n:06d}", start, date(2026, 7, 31), "株式会社アクメ",
                              lines, [TaxSummary(Fraction(1, 10), net, tax_on(net))], net + tax_on(net))
        return build_sheet(facts, issuer)

    credit = build_sheet(DocumentFacts(
        DocumentKind.CREDIT_NOTE, "CN-2026-000001", date(2026, 6, 21), None, "株式会社アクメ",
        [LineFacts(offers[0], LineKind.CANCEL, 12, -4890, -58680, date(2026, 6, 21), date(2026, 7, 17))],
        [TaxSummary(Fraction(1, 10), -58680, -5868)], -64548,
        [OriginalInvoice("INV-2026-000001", start, start, date(2026, 7, 17))]), issuer)
    return {"invoice, 1 line": invoice(1), "invoice, 5 lines": invoice(5), "invoice, 60 lines": invoice(60),
            "credit note": credit}


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    from licensedesk.adapters.pdf.invoice import PdfRenderer

    renderer = PdfRenderer(args.font)
    rows = []
    for name, sheet in sheets().items():
        data = renderer.render(sheet)  # warm-up: font subsetting tables, caches
        assert data.startswith(b"%PDF") and (b"FontFile2" in data or not renderer.font.embedded)
        count = args.count if "60" not in name else max(1, args.count // 10)
        with c.maybe_profile(args.profile if name == "invoice, 5 lines" else None, "pdf"):
            watch = c.Stopwatch()
            for _ in range(count):
                renderer.render(sheet)
            secs = watch.seconds()
        rows.append({"kind": name, "count": count, "seconds": secs, "per_s": count / secs,
                     "ms": 1000 * secs / count, "kib": len(data) / 1024})
    return rows


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=500, help="PDFs per kind (default 500; a tenth for 60 lines)")
    p.add_argument("--font", default=FONT, help=f"TrueType font file (default {FONT})")
    p.add_argument("--profile", metavar="FILE.prof", help="profile the 5-line run with cProfile")
    args = p.parse_args(argv)
    if not Path(args.font).is_file():
        print(f"note: {args.font} is missing: the CID fallback (not embedded) is measured instead", file=sys.stderr)
    calib = c.calibrate()
    rows = measure(args)
    print(f"\nPDF rendering — {c.now_utc()}, {c.machine()}; one process = one core; goal ≥ {GOAL_PER_S:g} PDFs/s "
          f"per core; CPU calibration {calib:.0f} ms (lower = faster)")
    print(c.table([(r["kind"], r["count"], r["seconds"], r["per_s"], r["ms"], r["kib"],
                    "yes" if r["per_s"] >= GOAL_PER_S else ("n/a" if "60" in r["kind"] else "NO")) for r in rows],
                  ["document", "PDFs", "seconds", "PDFs/s", "ms/PDF", "KiB", "goal met"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
