"""The Japanese font a PDF is written in: a TrueType file embedded as a subset, or a CID fallback.

IPAexGothic (Debian ``fonts-ipaexfont``) is embedded, so the document renders the same in every
viewer and its text extracts (japan.md §4). Without the file, the CID font HeiseiKakuGo-W5 is used:
no file needed, but *not embedded* — viewers without Japanese fonts show blanks — so a warning is
logged. Characters the font cannot draw (e.g. non-BMP kanji like 𠮷) print as 〓 instead of a blank.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfdoc, pdfmetrics
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
    _seen: set[str] = field(default_factory=set, compare=False, repr=False)  # strings known to be printable

    def printable(self, text: str) -> str:
        """``text`` with every character the font cannot draw replaced by 〓."""
        if text in self._seen:  # most strings (labels, amounts, names) recur from document to document
            return text
        if self.coverage is None:
            fixed = "".join(ch if ord(ch) <= 0xFFFF else MISSING_GLYPH for ch in text)
        else:
            fixed = "".join(ch if ord(ch) in self.coverage or ch in "\n\t" else MISSING_GLYPH for ch in text)
        if fixed == text and len(self._seen) < 100_000:
            self._seen.add(text)
        return fixed


class _Precompressed:
    """A stream filter whose content is already Flate-compressed (pdfdoc.PDFZCompress gives the same bytes)."""

    pdfname = "FlateDecode"

    @staticmethod
    def encode(content: bytes) -> bytes:
        return content


def _cache_subsets(ttf: TTFont, size: int = 512) -> None:
    """Build each distinct font subset (and its compressed stream) once per process, not once per PDF.

    reportlab re-reads the font's tables, rebuilds the subset and Flate-compresses it for every
    document; documents drawing the same characters in the same order embed identical bytes, so both
    are kept in an LRU keyed by the subset. The output is byte-identical to reportlab's own.
    """
    face: Any = ttf.face
    make_subset, add_objects = face.makeSubset, face.addSubsetObjects
    cache: OrderedDict[tuple[int, ...], tuple[bytes, bytes]] = OrderedDict()

    lock = threading.Lock()  # the server renders from request threads and the scheduler thread

    def entry(subset: list[int]) -> tuple[bytes, bytes]:
        key = tuple(subset)
        with lock:
            found = cache.get(key)
            if found is not None:
                cache.move_to_end(key)
                return found
        raw = make_subset(subset)
        built = (raw, zlib.compress(raw))
        with lock:
            cache[key] = built
            if len(cache) > size:
                cache.popitem(last=False)
        return built

    def add_subset_objects(doc: Any, fontname: str, subset: list[int]) -> Any:
        descriptor = add_objects(doc, fontname, subset)
        stream = doc.idToObject.get(f"fontFile:{face.filename}({fontname})")
        if doc.compression and isinstance(stream, pdfdoc.PDFStream):
            stream.content, stream.filters = entry(subset)[1], [_Precompressed]
        return descriptor

    face.makeSubset = lambda subset: entry(subset)[0]
    face.addSubsetObjects = add_subset_objects


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
        _cache_subsets(ttf)
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
