"""The font subset cache of the PDF adapter (issue #3): faster, never a wrong glyph, same bytes as before."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from licensedesk.adapters.pdf.invoice import PdfRenderer
from licensedesk.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import pdf_render  # the benchmark's sheets: 1 line, 5 lines, 60 lines, credit note)

FONT = Settings().pdf_font_path
pytestmark = pytest.mark.skipif(not (Path(FONT).is_file() and shutil.which("pdftotext")),
                                reason="needs fonts-ipaexfont and poppler-utils")


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_each_document_gets_its_own_glyphs_and_the_same_document_the_same_bytes(tmp_path: Path) -> None:
    renderer = PdfRenderer(FONT)
    one = pdf_render.sheets()["invoice, 1 line"]
    other = dataclasses.replace(one, recipient="株式会社龍虎鶴亀 御中", number="INV-2026-987654")
    first = renderer.render(one)
    between = renderer.render(other)  # different characters: a different subset, built and cached
    assert renderer.render(one) == first  # from the cache: identical bytes
    assert "株式会社龍虎鶴亀 御中" in _text(between, tmp_path) and "INV-2026-987654" in _text(between, tmp_path)
    assert "株式会社龍虎鶴亀" not in _text(first, tmp_path)


def test_a_fresh_process_renders_the_same_bytes_as_a_warm_one() -> None:
    probe = ("import sys, hashlib; sys.path.insert(0, 'bench'); import pdf_render;"
             "from licensedesk.adapters.pdf.invoice import PdfRenderer;"
             f"print(hashlib.sha256(PdfRenderer({FONT!r}).render(pdf_render.sheets()['invoice, 5 lines'])).hexdigest())")
    fresh = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[2]).stdout.strip()
    renderer = PdfRenderer(FONT)
    for sheet in pdf_render.sheets().values():  # warm the cache with every kind first
        renderer.render(sheet)
    import hashlib

    assert hashlib.sha256(renderer.render(pdf_render.sheets()["invoice, 5 lines"])).hexdigest() == fresh
