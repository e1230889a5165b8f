"""The verification QR drawn as one vector path from segno's module matrix.

Horizontally adjacent dark modules are merged into one rectangle, so a version-10 symbol is a few hundred
``re`` operators in a single fill instead of thousands of shapes (reportlab's ``QrCodeWidget`` is ~3x slower).
The mask is fixed (segno spends most of its time scoring the eight masks otherwise); error level M, no error
boosting (so the level is predictable), quiet zone of 4 modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import segno
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE = 4
DEFAULT_MASK = 0  # any fixed mask decodes; skipping mask scoring saves 5-25 ms per symbol


@dataclass(frozen=True, slots=True)
class QrMatrix:
    version: int
    size: int  # modules per side, without the quiet zone
    runs: tuple[tuple[int, int, int], ...]  # (row, first column, length) of dark modules
    mode: str


@lru_cache(maxsize=256)
def qr_matrix(text: str, *, mask: int | None = DEFAULT_MASK, error: str = "m") -> QrMatrix:
    """Encode ``text`` and merge horizontal dark modules into runs."""
    qr = segno.make_qr(text, error=error, mask=mask, boost_error=False)
    matrix = qr.matrix
    runs: list[tuple[int, int, int]] = []
    for r, row in enumerate(matrix):
        c = 0
        n = len(row)
        while c < n:
            if row[c] & 1:
                start = c
                while c < n and row[c] & 1:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    return QrMatrix(version=int(qr.version), size=len(matrix), runs=tuple(runs), mode=str(qr.mode))


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
    top = y + side - quiet_zone * module
    left = x + quiet_zone * module
    path = canvas.beginPath()
    for r, c, length in m.runs:
        path.rect(left + c * module, top - (r + 1) * module, length * module, module)
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, side, side, stroke=0, fill=1)  # the quiet zone must be light whatever is below
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()
    return m
