"""The verification QR drawn as one vector path from segno's module matrix.

Encoding: the signed token is all QR-alphanumeric (``A-Z 2-7 .``); when it sits behind a check-page URL
(``http://…/v/<number>#LXP1.…``), the URL part goes in a byte segment and the token in an alphanumeric segment
(5.5 instead of 8 bits per character), so the symbol is three or four versions smaller than in byte mode alone —
fewer modules to print and to compute. The mask is fixed (segno spends most of its time scoring the eight
masks otherwise); error level M, no error boosting (so the level is predictable), quiet zone of 4 modules.

Drawing: horizontally adjacent dark modules are merged into one rectangle, written as an integer ``re`` operator
in module units under one ``cm`` transform, so a symbol is about a thousand short operators in a single fill
(reportlab's ``QrCodeWidget`` draws one shape per module and is several times slower).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import segno
from reportlab.pdfgen.canvas import Canvas
from segno import consts

from ..kit.qrdraw import dark_runs

QUIET_ZONE = 4
DEFAULT_MASK = 0  # any fixed mask decodes; skipping mask scoring saves 5-25 ms per symbol
#: the longest QR-alphanumeric tail (ISO/IEC 18004 table 5) worth a segment of its own
_ALNUM_TAIL = re.compile(r"[0-9A-Z $%*+\-./:]{24,}\Z")


@dataclass(frozen=True, slots=True)
class QrMatrix:
    version: int
    size: int  # modules per side, without the quiet zone
    runs: tuple[tuple[int, int, int], ...]  # (row, first column, length) of dark modules
    mode: str


def segments(text: str) -> str | list[tuple[str, int]]:
    """``text`` as segno content: one segment, or a byte head and an alphanumeric tail when that is smaller."""
    tail = _ALNUM_TAIL.search(text)
    if tail is None or tail.start() == 0:
        return text
    head = text[: tail.start()]
    return [(head, consts.MODE_BYTE), (tail.group(), consts.MODE_ALPHANUMERIC)]


@lru_cache(maxsize=256)
def qr_matrix(text: str, *, mask: int | None = DEFAULT_MASK, error: str = "m") -> QrMatrix:
    """Encode ``text`` and merge dark modules into runs and rectangles."""
    content = segments(text)
    qr = segno.make_qr(content, error=error, mask=mask, boost_error=False)  # type: ignore[arg-type]  # segments
    matrix = qr.matrix  # rows of 0/1 bytes
    runs = dark_runs(matrix)
    mode = str(qr.mode) if isinstance(content, str) else "byte+alphanumeric"
    return QrMatrix(version=int(qr.version), size=len(matrix), runs=tuple(runs), mode=mode)


def qr_version(text: str) -> int:
    return qr_matrix(text).version


def draw_qr(
    canvas: Canvas,
    x: float,
    y: float,
    side: float,
    text: str,
    *,
    quiet_zone: int = QUIET_ZONE,
    mask: int | None = DEFAULT_MASK,
) -> QrMatrix:
    """Draw the QR with its lower-left corner at (x, y), ``side`` points wide including the quiet zone."""
    m = qr_matrix(text, mask=mask)
    module = side / (m.size + 2 * quiet_zone)
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, side, side, stroke=0, fill=1)  # the quiet zone must be light whatever is below
    canvas.setFillColorRGB(0, 0, 0)
    # module units, y downwards from the symbol's top-left corner: (column, row) -> page
    canvas.transform(module, 0, 0, -module, x + quiet_zone * module, y + side - quiet_zone * module)
    canvas.addLiteral("\n".join([f"{c} {r} {n} 1 re" for r, c, n in m.runs] + ["f"]))
    canvas.restoreState()
    return m
