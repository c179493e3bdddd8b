"""Invoice PDFs: the Japanese font is embedded, and the T-number, total and 御中 extract as text (japan.md §4)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from licensedesk.adapters.db.engine import create_engine, create_schema
from licensedesk.adapters.pdf.fonts import CID_FALLBACK, load_font
from licensedesk.bootstrap import issuer, pdf_renderer, uow_factory
from licensedesk.config import Settings
from licensedesk.services import catalog, parties, printing, scheduler
from licensedesk.services import subscriptions as subs
from licensedesk.services.context import Services

JST = ZoneInfo("Asia/Tokyo")
POPPLER = shutil.which("pdffonts") and shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdffonts, pdftotext) is not installed")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture
def svc(sqlite_url: str) -> Services:
    engine = create_engine(sqlite_url)
    create_schema(engine)
    svc = Services(uow=uow_factory(engine), zone=JST)
    catalog.load_sample_catalog(svc)
    scheduler.tick(svc, at("2026-06-18T10:00:00"))
    parties.register_customer(svc, at("2026-06-18T10:00:00"), ref="acme", name="株式会社アクメ", entity="corporation",
                              country="JP")
    parties.register_tenant(svc, at("2026-06-18T10:00:00"), ref="t1", customer="acme",
                            domain="acme.onmicrosoft.com", country="JP")
    subs.order(svc, at("2026-06-18T10:00:00"), ref="s1", tenant="t1", offer="M365-E3", term="P1Y",
               billing="monthly", quantity=10)
    subs.cancel(svc, at("2026-06-19T09:00:00"), "s1")  # inside 24 h: the whole charge back, a credit note
    return svc


def _render(svc: Services, number: str, tmp_path: Path, settings: Settings | None = None) -> Path:
    settings = settings or Settings()
    out = tmp_path / f"{number}.pdf"
    out.write_bytes(printing.render_pdf(svc, number, issuer(settings), pdf_renderer(settings)))
    return out


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _fonts(pdf: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()[2:]]


@needs_poppler
def test_an_invoice_pdf_embeds_its_japanese_font_and_its_text_extracts(svc: Services, tmp_path: Path) -> None:
    if not Path(Settings().pdf_font_path).is_file():
        pytest.skip(f"IPAex font missing at {Settings().pdf_font_path} (apt-get install fonts-ipaexfont)")
    pdf = _render(svc, "INV-2026-000001", tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
    fonts = _fonts(pdf)
    assert fonts and all(row[-5] == "yes" for row in fonts), fonts  # the "emb" column: every font embedded
    assert any("IPAexGothic" in row[0] for row in fonts)
    text = _text(pdf)
    for expected in ("請求書", "T7010001008844", "¥59,774", "株式会社アクメ 御中", "INV-2026-000001",
                     "2026年6月18日～2026年7月17日", "2026年7月31日", "10%対象", "Microsoft 365 E3"):
        assert expected in text, expected


@needs_poppler
def test_a_credit_note_pdf_names_the_invoice_it_returns(svc: Services, tmp_path: Path) -> None:
    text = _text(_render(svc, "CN-2026-000001", tmp_path))
    assert "適格返還請求書" in text and "-¥59,774" in text
    assert "対象請求書 INV-2026-000001" in text


@needs_poppler
def test_without_the_font_file_it_falls_back_to_a_cid_font_and_warns(svc: Services, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(pdf_font_path=str(tmp_path / "missing.ttf"))
    pdf = _render(svc, "INV-2026-000001", tmp_path, settings)
    assert "NOT embedded" in caplog.text
    assert any(CID_FALLBACK in row[0] for row in _fonts(pdf))


def test_characters_the_font_cannot_draw_print_as_geta() -> None:
    font = load_font(Settings().pdf_font_path)
    assert font.printable("𠮷野家") == "〓野家"
