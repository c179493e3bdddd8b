"""The Japanese font a PDF is written in: a TrueType file embedded as a subset, or a CID fallback.

IPAexGothic (Debian ``fonts-ipaexfont``) is embedded, so the document renders the same in every
viewer and its text extracts (japan.md §4). Without the file, the CID font HeiseiKakuGo-W5 is used:
no file needed, but *not embedded* — viewers without Japanese fonts show blanks — so a warning is
logged. Characters the font cannot draw (e.g. non-BMP kanji like 𠮷) print as 〓 instead of a blank.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

CID_FALLBACK = "HeiseiKakuGo-W5"
MISSING_GLYPH = "〓"  # 下駄記号: the customary stand-in for a character that cannot be printed


@dataclass(frozen=True)
class PdfFont:
    name: str
    embedded: bool
    coverage: frozenset[int] | None  # code points the font draws; None = trust the font

    def printable(self, text: str) -> str:
        """``text`` with every character the font cannot draw replaced by 〓."""
        if self.coverage is None:
            return "".join(ch if ord(ch) <= 0xFFFF else MISSING_GLYPH for ch in text)
        return "".join(ch if ord(ch) in self.coverage or ch in "\n\t" else MISSING_GLYPH for ch in text)


_loaded: dict[str, PdfFont] = {}


def load_font(path: str | None) -> PdfFont:
    """Register (once per process) the TrueType font at ``path``, or the CID fallback with a warning."""
    key = path or ""
    if key in _loaded:
        return _loaded[key]
    file = Path(path) if path else None
    if file is not None and file.is_file():
        name = f"ld-{file.stem}"
        ttf = TTFont(name, str(file))
        pdfmetrics.registerFont(ttf)
        font = PdfFont(name, embedded=True, coverage=frozenset(ttf.face.charToGlyph))
    else:
        log.warning("PDF font file %s not found: using the CID font %s, which is NOT embedded "
                    "(viewers without Japanese fonts will show blanks); install fonts-ipaexfont or set "
                    "LICENSEDESK_PDF_FONT_PATH", path or "(none configured)", CID_FALLBACK)
        if CID_FALLBACK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
        font = PdfFont(CID_FALLBACK, embedded=False, coverage=None)
    _loaded[key] = font
    return font
