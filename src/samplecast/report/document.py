"""The typesetting of a report: an A4 fpdf2 document with DejaVu fonts (from matplotlib, so no system fonts are
needed), numbered sections, paragraphs, bullets, tables and figures that never split across pages, and page numbers.

Text in a script the fonts have no glyphs for (CJK, Devanagari, Thai, emoji), or that would need shaping they cannot
do (Arabic, Hebrew), is transliterated to Latin letters (:func:`in_font`, with ``anyascii``: nothing is downloaded
at run time, and a font covering every script would weigh tens of MB); the report then says so. A table cell longer
than :data:`MAX_CELL_LINES` lines (a very long label, hundreds of sizes) is cut, ending in a note.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import matplotlib
from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos
from matplotlib.figure import Figure

from samplecast.report.page import MARGIN_MM

FONT = "DejaVu"
MONO = "DejaVuMono"
_FONT_FILES = {(FONT, ""): "DejaVuSans.ttf", (FONT, "B"): "DejaVuSans-Bold.ttf", (FONT, "I"): "DejaVuSans-Oblique.ttf",
               (FONT, "BI"): "DejaVuSans-BoldOblique.ttf", (MONO, ""): "DejaVuSansMono.ttf"}
INK = (33, 33, 33)
MUTED = (110, 110, 110)
ACCENT = (31, 78, 121)
RULE = (190, 190, 190)
HEADING_FILL = (232, 238, 244)
EMPHASIS_FILL = (255, 244, 214)
CODE_FILL = (244, 244, 244)
BODY_PT = 9.5
LINE_MM = 4.8
_TABLE_LINE_MM = 4.0
#: Vertical and horizontal padding of a table cell, mm.
_CELL_PADDING = (0.9, 1.4)
#: Most lines a table cell wraps to; a longer one is cut and ends in :data:`CUT_NOTE` (the plan document has it all).
MAX_CELL_LINES = 6
CUT_NOTE = " … (cut)"


def font_folder() -> Path:
    """The DejaVu fonts shipped with matplotlib, used by the PDF and the figures alike."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@cache
def _drawable() -> frozenset[int]:
    """Code points the regular DejaVu Sans draws as they are: those it has glyphs for, less right-to-left scripts,
    which need a shaping and reordering the PDF writer does not do without extra libraries."""
    from fontTools.ttLib import TTFont

    return frozenset(code for code in TTFont(font_folder() / _FONT_FILES[(FONT, "")]).getBestCmap()
                     if unicodedata.bidirectional(chr(code)) not in ("R", "AL"))


def in_font(text: str) -> str:
    """``text`` with every character the report's font cannot draw transliterated to Latin letters, e.g.
    ``息肉 / depth 3`` becomes ``XiRou / depth 3``; ``text`` itself when it needs none."""
    drawable = _drawable()
    if all(ord(ch) in drawable for ch in text):
        return text
    from anyascii import anyascii

    return "".join(ch if ord(ch) in drawable else anyascii(ch) for ch in text)


_MARKDOWN_MARKER = re.compile(r"(\*\*|__|~~|--)")


def markdown_literal(text: str) -> str:
    """``text`` escaped for fpdf2's markdown, so a label set inside a ``**bold**`` span shows as written
    (``a**b**c --u--`` is neither bold nor underlined): backslashes doubled, each marker preceded by one."""
    return _MARKDOWN_MARKER.sub(r"\\\1", text.replace("\\", "\\\\"))


class ReportDocument(FPDF):
    """An A4 portrait page of 18 mm margins with a running head (after page 1) and a "page i of n" foot.

    Args:
        title: the document title, also the running head and the PDF metadata title.
        footer_note: printed at the left of every foot, e.g. the package and version.
    """

    #: Markdown links are off: the report's own markdown is bold only, and ``[x](url)`` in a label stays text.
    MARKDOWN_LINK_REGEX = re.compile(r"(?!)")

    def __init__(self, title: str, footer_note: str = ""):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.title_text = title
        self.footer_note = footer_note
        #: Whether any text was transliterated (:func:`in_font`), so the report can say so.
        self.transliterated = False
        for (family, style), name in _FONT_FILES.items():
            self.add_font(family, style, font_folder() / name)
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=MARGIN_MM)
        self.set_title(title)
        self.set_text_color(*INK)
        self.set_font(FONT, size=BODY_PT)
        self.section_number = 0

    def normalize_text(self, text: str) -> str:  # noqa: D102 - fpdf2's hook, called on every text it sets
        drawable = in_font(text)
        self.transliterated |= drawable != text
        return super().normalize_text(drawable)

    @property
    def text_width(self) -> float:
        """Width of the text block in mm."""
        return self.w - self.l_margin - self.r_margin

    @property
    def space_left(self) -> float:
        """Height left above the bottom margin of the current page, in mm."""
        return self.page_break_trigger - self.y

    def header(self) -> None:
        if self.page_no() > 1:
            self.set_font(FONT, size=7.5)
            self.set_text_color(*MUTED)
            self.set_y(9)
            self.cell(0, 4, self.title_text, align="L")
            self.set_text_color(*INK)
            self.set_y(MARGIN_MM)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, self.footer_note, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(*INK)

    def keep_together(self, height: float) -> None:
        """Start a new page if a block this tall (mm) would not fit on the rest of this one."""
        if height > self.space_left and self.y > self.t_margin + 1:
            self.add_page()

    def title_block(self, title: str, subtitle: str) -> None:
        """The document's title and a muted line under it."""
        self.set_font(FONT, "B", 18)
        self.set_text_color(*ACCENT)
        self.multi_cell(0, 8, title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, size=9)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 4.6, subtitle, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(2)

    def section(self, title: str, *, keep_with: float = 40) -> None:
        """A numbered section heading with a rule under it; starts a new page unless ``keep_with`` mm of what
        follows fit under it."""
        if self.space_left < 14 + keep_with:
            self.add_page()
        elif self.y > self.t_margin + 1:
            self.ln(4)
        self.section_number += 1
        self.set_font(FONT, "B", 12.5)
        self.set_text_color(*ACCENT)
        self.cell(0, 7, f"{self.section_number}   {title}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.35)
        self.line(self.l_margin, self.y, self.w - self.r_margin, self.y)
        self.set_text_color(*INK)
        self.ln(2.5)

    def subheading(self, text: str) -> None:
        """A bold line introducing a block (a model configuration, a list)."""
        if self.space_left < 20:
            self.add_page()
        self.set_font(FONT, "B", BODY_PT)
        self.multi_cell(0, LINE_MM, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(0.5)

    def paragraph(self, text: str, *, size: float = BODY_PT, muted: bool = False, after: float = 1.8,
                  markdown: bool = False) -> None:
        """Left-aligned body text; with ``markdown``, ``**bold**`` is set in bold (and ``--`` would underline, so
        text holding command-line options keeps it off)."""
        self.set_font(FONT, size=size)
        height = LINE_MM * size / BODY_PT
        self.keep_together(height * len(self.multi_cell(0, height, text, markdown=markdown, dry_run=True,
                                                         output="LINES")))
        if muted:
            self.set_text_color(*MUTED)
        self.multi_cell(0, height, text, align="L", markdown=markdown, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(after)

    def code(self, text: str, *, size: float = 7.8) -> None:
        """A command to type, in a monospaced font on a light box, wrapped at spaces."""
        self.set_font(MONO, size=size)
        self.set_fill_color(*CODE_FILL)
        self.multi_cell(0, 3.9, text, align="L", fill=True, padding=(1.5, 2), new_x=XPos.LMARGIN,
                        new_y=YPos.NEXT)
        self.set_font(FONT, size=BODY_PT)
        self.ln(2)

    def bullets(self, items: Sequence[str], *, size: float = BODY_PT, indent: float = 3) -> None:
        """A bulleted list; each item wraps under its own first word."""
        self.set_font(FONT, size=size)
        height = LINE_MM * size / BODY_PT
        for item in items:
            width = self.text_width - indent - 4
            self.keep_together(height * len(self.multi_cell(width, height, item, dry_run=True, output="LINES")))
            self.set_x(self.l_margin + indent)
            self.cell(4, height, "•")
            self.multi_cell(width, height, item, align="L",
                            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(0.8)
        self.ln(1)

    def table(self, rows: Sequence[Sequence[str]], col_widths: Sequence[float], *,
              align: Sequence[str] | None = None, emphasis: Sequence[int] = (), size: float = 8.0,
              title: str | None = None) -> None:
        """A table whose first row is the heading; ``emphasis`` lists body rows (0-based) to set in bold on a
        highlight; ``align`` gives ``L``/``C``/``R`` per column (default: the first left, numbers right).
        A table that fits on a page is never split: it moves to the next page whole, with its ``title``. A cell of
        more than :data:`MAX_CELL_LINES` lines is cut."""
        rows = self._cut_cells(rows, col_widths, size)
        height = self.table_height(rows, col_widths, size) + (LINE_MM + 0.5 if title else 0)
        if height <= self.h - self.t_margin - MARGIN_MM:
            self.keep_together(height)
        if title:
            self.subheading(title)
        self._draw_table(rows, col_widths, align, emphasis, size)
        self.ln(2.5)

    def _cell_widths(self, col_widths: Sequence[float]) -> list[float]:
        """The width in mm of each column's text, inside the cell padding."""
        return [self.text_width * w / sum(col_widths) - 2 * _CELL_PADDING[1] for w in col_widths]

    def _cut_cells(self, rows: Sequence[Sequence[str]], col_widths: Sequence[float], size: float) -> list[list[str]]:
        """``rows`` with every cell that wraps to more than :data:`MAX_CELL_LINES` lines cut to that many, ending in
        :data:`CUT_NOTE`: fpdf2 cannot draw a row taller than a page."""
        self.set_font(FONT, "B", size)  # the wider face, so a cut cell fits in either
        cut = []
        for values in rows:
            cells = []
            for value, width in zip(map(str, values), self._cell_widths(col_widths)):
                if self.get_string_width(value) > MAX_CELL_LINES * width:
                    lines = self.multi_cell(width, _TABLE_LINE_MM, value, dry_run=True, output="LINES")
                    if len(lines) > MAX_CELL_LINES:
                        last = lines[MAX_CELL_LINES - 1]
                        while last and self.get_string_width(last + CUT_NOTE) > width:
                            last = last[:-1]
                        value = " ".join([*lines[:MAX_CELL_LINES - 1], last]) + CUT_NOTE
                cells.append(value)
            cut.append(cells)
        self.set_font(FONT, size=BODY_PT)
        return cut

    def table_height(self, rows: Sequence[Sequence[str]], col_widths: Sequence[float], size: float = 8.0) -> float:
        """The height in mm a table takes: each row as tall as its most wrapped cell (measured, not drawn)."""
        widths = self._cell_widths(col_widths)
        height = 0.0
        for i, values in enumerate(rows):
            self.set_font(FONT, "B" if i == 0 else "", size)
            lines = max(1 if self.get_string_width(str(v)) <= w else  # most cells fit on a line: skip the wrapping
                        len(self.multi_cell(w, _TABLE_LINE_MM, str(v), dry_run=True, output="LINES"))
                        for v, w in zip(values, widths))
            height += lines * _TABLE_LINE_MM + 2 * _CELL_PADDING[0]
        self.set_font(FONT, size=BODY_PT)
        return height

    def _draw_table(self, rows, col_widths, align, emphasis, size) -> None:
        align = align or ["L", *["R"] * (len(col_widths) - 1)]
        self.set_font(FONT, size=size)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        heading = FontFace(emphasis="BOLD", fill_color=HEADING_FILL, color=INK)
        highlight = FontFace(emphasis="BOLD", fill_color=EMPHASIS_FILL)
        with super().table(col_widths=tuple(col_widths), width=self.text_width, align="LEFT",
                           borders_layout="HORIZONTAL_LINES", headings_style=heading, line_height=_TABLE_LINE_MM,
                           padding=_CELL_PADDING, v_align="MIDDLE", first_row_as_headings=True) as table:
            for i, values in enumerate(rows):
                style = highlight if i - 1 in emphasis else None
                row = table.row()
                for value, how in zip(values, align):
                    row.cell(str(value), align="C" if i == 0 and how != "L" else how, style=style)

    def figure_height(self, fig: Figure) -> float:
        """Height in mm that ``fig`` takes at the full text width."""
        width_in, height_in = fig.get_size_inches()
        return self.text_width * height_in / width_in

    def figure(self, fig: Figure, caption: str | None = None) -> None:
        """A matplotlib figure at the full text width (as a high-resolution PNG), with an optional caption,
        moved to the next page whole if it does not fit."""
        height = self.figure_height(fig)
        caption_mm = 10 if caption else 0
        if self.space_left < height + caption_mm:
            self.add_page()
        self.image(_png(fig), x=self.l_margin, w=self.text_width, h=height)
        if caption:
            self.ln(1)
            self.paragraph(caption, size=8, muted=True)
        else:
            self.ln(2)


def _png(fig: Figure, dpi: int = 200) -> io.BytesIO:
    """The figure as PNG bytes at print resolution, ready to embed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    return buffer
