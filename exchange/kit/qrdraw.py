"""Drawing a QR symbol from segno's module matrix: the dark runs of each row, and an SVG of them.

segno encodes; drawing is ours because segno's writers are general (any colour, any module shape) and cost
several times the encoding's CPU for a small symbol. Horizontally adjacent dark modules form one run; a PDF
draws each run as a rectangle (:mod:`exchange.proofs.qr_art`), an SVG as one stroke of a single path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

_DARK: Final = re.compile(rb"\x01+")

Run = tuple[int, int, int]  # (row, first column, length) of dark modules


def dark_runs(matrix: Sequence[bytes | bytearray]) -> list[Run]:
    """Each row's runs of dark modules (segno's matrix holds one byte per module, 1 for dark)."""
    return [(r, m.start(), m.end() - m.start()) for r, row in enumerate(matrix) for m in _DARK.finditer(row)]


def svg(runs: Sequence[Run], size: int, *, scale: int, border: int) -> str:
    """An SVG of the symbol: ``size`` modules a side plus a light ``border`` of modules, each module ``scale``
    pixels. One path under ``scale(n)`` in module units: a 1-unit-wide stroke along the middle of each run
    (``M`` to a row's first run, relative ``m`` to the next run of the same row, ``h`` for the run)."""
    parts: list[str] = []
    row, end = -1, 0
    for r, first, length in runs:
        if r != row:
            parts.append(f"M{first + border} {r + border}.5h{length}")
            row = r
        else:
            parts.append(f"m{first - end} 0h{length}")
        end = first + length
    side = (size + 2 * border) * scale
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" '
            f'viewBox="0 0 {side} {side}"><path transform="scale({scale})" stroke="#000" '
            f'd="{"".join(parts)}"/></svg>')
