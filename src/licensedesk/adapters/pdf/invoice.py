"""An A4 Japanese invoice / credit note drawn with reportlab's canvas from a ``Sheet``.

Layout, top to bottom: title; number, issue date and due date (right); recipient 御中
(left) and issuer with address and registration number (right); the headline total;
the lines (item and period, quantity, unit amount, amount), continued on further pages
when needed; the subtotal and tax per rate; the total; the invoices a credit note
returns; bank details. ``invariant`` output: the same document always gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from reportlab import rl_config
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from licensedesk.domain.invoice_sheet import Sheet, SheetLine

from .fonts import PdfFont, load_font

rl_config.useA85 = 0  # binary (Flate) streams: smaller and faster than ASCII85 text
WIDTH, HEIGHT = A4
LEFT, RIGHT, TOP, BOTTOM = 42.0, WIDTH - 42.0, HEIGHT - 48.0, 56.0
COL_QTY, COL_UNIT, COL_AMOUNT = 380.0, 462.0, RIGHT - 4  # right edges of the number columns
DESC_WIDTH = 270.0
GREY = Color(0.92, 0.92, 0.92)
LINE_GREY = Color(0.6, 0.6, 0.6)


class PdfRenderer:
    """Implements ``services.ports.DocumentRenderer``."""

    def __init__(self, font_path: str | None) -> None:
        self.font = load_font(font_path)

    def render(self, sheet: Sheet) -> bytes:
        buf = io.BytesIO()
        canvas = Canvas(buf, pagesize=A4, invariant=1, initialFontName=self.font.name)  # no stray Helvetica
        canvas.setTitle(f"{sheet.title} {sheet.number}")
        canvas.setAuthor(sheet.issuer.name)
        canvas.setCreator("licensedesk")
        _Page(canvas, self.font, sheet).draw()
        canvas.save()
        return buf.getvalue()


class _Page:
    def __init__(self, canvas: Canvas, font: PdfFont, sheet: Sheet) -> None:
        self.c, self.font, self.sheet = canvas, font, sheet
        self.y = TOP
        self.page = 1

    # ------------------------------------------------------------ primitives
    def text(self, x: float, y: float, value: str, size: float, align: str = "left") -> None:
        value = self.font.printable(value)
        self.c.setFont(self.font.name, size)
        if align == "right":
            self.c.drawRightString(x, y, value)
        elif align == "center":
            self.c.drawCentredString(x, y, value)
        else:
            self.c.drawString(x, y, value)

    def wrap(self, value: str, width: float, size: float) -> Iterator[str]:
        """Break ``value`` into lines no wider than ``width`` (Japanese breaks between any characters)."""
        value = self.font.printable(value)
        if stringWidth(value, self.font.name, size) <= width:
            yield value
            return
        line, used = "", 0.0
        for ch in value:
            w = stringWidth(ch, self.font.name, size)
            if line and used + w > width:
                yield line
                line, used = "", 0.0
            line, used = line + ch, used + w
        yield line

    def rule(self, y: float, x0: float = LEFT, x1: float = RIGHT) -> None:
        self.c.setStrokeColor(LINE_GREY)
        self.c.setLineWidth(0.5)
        self.c.line(x0, y, x1, y)

    # ------------------------------------------------------------ sections
    def draw(self) -> None:
        self.header()
        self.parties()
        self.headline()
        self.table_header()
        for line in self.sheet.lines:
            self.row(line)
        self.summary()
        self.footer_notes()
        self.page_number()

    def header(self) -> None:
        s = self.sheet
        self.text(WIDTH / 2, self.y - 10, s.title, 20, "center")
        y = self.y - 40
        for label, value in (("書類番号", s.number), ("発行日", s.issue_date), ("お支払期限", s.due_date)):
            if value:
                self.text(RIGHT, y, f"{label}: {value}", 9, "right")
                y -= 13
        if s.void_note:
            self.c.setFillColor(Color(0.75, 0, 0))
            self.text(LEFT, self.y - 40, s.void_note, 10)
            self.c.setFillColor(black)
        self.y = y - 8

    def parties(self) -> None:
        s, top = self.sheet, self.y
        lines = list(self.wrap(s.recipient, 250, 14))
        y = top - 14
        for part in lines:
            self.text(LEFT, y, part, 14)
            y -= 18
        self.rule(y + 12, LEFT, LEFT + 260)
        self.text(LEFT, y - 6, s.greeting, 9)
        left_bottom = y - 6
        y = top - 12
        self.text(RIGHT, y, s.issuer.name, 11, "right")
        for part in (s.issuer.address, f"登録番号 {s.issuer.registration_number}"):
            y -= 14
            self.text(RIGHT, y, part, 8.5, "right")
        self.y = min(left_bottom, y) - 22

    def headline(self) -> None:
        s = self.sheet
        self.c.setFillColor(GREY)
        self.c.rect(LEFT, self.y - 26, 300, 30, stroke=0, fill=1)
        self.c.setFillColor(black)
        self.text(LEFT + 8, self.y - 16, s.total_label, 10)
        self.text(LEFT + 292, self.y - 17, s.total, 15, "right")
        self.y -= 48

    def table_header(self) -> None:
        self.c.setFillColor(GREY)
        self.c.rect(LEFT, self.y - 5, RIGHT - LEFT, 17, stroke=0, fill=1)
        self.c.setFillColor(black)
        self.text(LEFT + 4, self.y, "品目・期間", 8.5)
        self.text(COL_QTY, self.y, "数量", 8.5, "right")
        self.text(COL_UNIT, self.y, "単価（税抜）", 8.5, "right")
        self.text(COL_AMOUNT, self.y, "金額（税抜）", 8.5, "right")
        self.y -= 20

    def row(self, line: SheetLine) -> None:
        parts = list(self.wrap(line.description, DESC_WIDTH, 9))
        height = 12 * len(parts) + (11 if line.period else 0) + 6
        if self.y - height < BOTTOM:
            self.new_page()
        y = self.y
        for i, part in enumerate(parts):
            self.text(LEFT + 4, y, part, 9)
            if i == 0:
                self.text(COL_QTY, y, line.quantity, 9, "right")
                self.text(COL_UNIT, y, line.unit_amount, 9, "right")
                self.text(COL_AMOUNT, y, line.amount, 9, "right")
            y -= 12
        if line.period:
            self.text(LEFT + 12, y + 1, line.period, 7.5)
            y -= 11
        self.rule(y + 6)
        self.y = y - 6

    def summary(self) -> None:
        s = self.sheet
        needed = 16 * (2 * len(s.rate_rows) + 1) + 20
        if self.y - needed < BOTTOM:
            self.new_page(table=False)
        x_label = COL_UNIT - 10
        y = self.y - 6
        for r in s.rate_rows:
            self.text(x_label, y, f"{r.label} 小計", 9, "right")
            self.text(COL_AMOUNT, y, r.net, 9, "right")
            y -= 15
            self.text(x_label, y, r.tax_label, 9, "right")
            self.text(COL_AMOUNT, y, r.tax, 9, "right")
            y -= 15
        self.rule(y + 10, x_label - 120, RIGHT)
        self.text(x_label, y - 4, "合計（税込）", 10.5, "right")
        self.text(COL_AMOUNT, y - 4, s.total, 10.5, "right")
        self.y = y - 30

    def footer_notes(self) -> None:
        s = self.sheet
        notes = [*s.references, *([f"お振込先: {s.bank}"] if s.bank else [])]
        if s.bank:
            notes.append("恐れ入りますが、振込手数料はご負担くださいますようお願い申し上げます。")
        for note in notes:
            for part in self.wrap(note, RIGHT - LEFT, 8.5):
                if self.y < BOTTOM:
                    self.new_page(table=False)
                self.text(LEFT, self.y, part, 8.5)
                self.y -= 13

    def new_page(self, table: bool = True) -> None:
        self.page_number()
        self.c.showPage()
        self.page += 1
        self.text(LEFT, TOP, f"{self.sheet.title} {self.sheet.number}（続き）", 10)
        self.y = TOP - 28
        if table:
            self.table_header()

    def page_number(self) -> None:
        self.text(WIDTH / 2, BOTTOM - 24, f"- {self.page} -", 8, "center")
