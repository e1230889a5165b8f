"""The QR drawing: the SVG path covers exactly segno's dark modules, and the picture decodes (zxing-cpp)."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import segno
import zxingcpp

from exchange.kit.qrdraw import dark_runs, svg
from exchange.qr.service import QR_MASK, render_svg

_STEP = re.compile(r"([Mmh])(-?\d+(?:\.\d+)?)(?: (-?\d+(?:\.\d+)?))?")


def _modules(picture: str) -> tuple[int, int, set[tuple[int, int]]]:
    """(pixels a side, scale, dark modules as (row, column) in the bordered grid) read back from the SVG."""
    side = int(re.search(r'width="(\d+)"', picture).group(1))  # type: ignore[union-attr]
    assert f'height="{side}"' in picture and f'viewBox="0 0 {side} {side}"' in picture
    scale = int(re.search(r'transform="scale\((\d+)\)"', picture).group(1))  # type: ignore[union-attr]
    path = re.search(r' d="([^"]*)"', picture).group(1)  # type: ignore[union-attr]
    assert "".join(m.group(0) for m in _STEP.finditer(path)) == path  # nothing but M, m and h steps
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for op, a, b in _STEP.findall(path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:  # a 1-unit stroke along the middle of a row: the modules x .. x+a-1 of row y-0.5
            assert y % 1 == 0.5 and float(a) >= 1
            dark.update((int(y - 0.5), int(x) + k) for k in range(int(a)))
            x += float(a)
    return side, scale, dark


def _raster(side_modules: int, dark: set[tuple[int, int]], scale: int = 5) -> np.ndarray:
    image = np.full((side_modules * scale, side_modules * scale), 255, dtype=np.uint8)
    for r, c in dark:
        image[r * scale:(r + 1) * scale, c * scale:(c + 1) * scale] = 0
    return image


_RNG = random.Random(20261207)  # fixed: the same test ids every run


@pytest.mark.parametrize("text", [
    "LX1:" + "".join(_RNG.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(60)),
    "LX1:" + "".join(_RNG.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(60)),
    "LX1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
])
def test_served_svg_covers_exactly_the_dark_modules_and_decodes(text: str) -> None:
    picture = render_svg(text)
    matrix = segno.make(text, error="m", mode="alphanumeric", mask=QR_MASK, micro=False, boost_error=False).matrix
    side, scale, dark = _modules(picture)
    border = 4
    assert scale == 4 and side == (len(matrix) + 2 * border) * scale
    expected = {(r + border, c + border) for r, row in enumerate(matrix) for c, v in enumerate(row) if v}
    assert dark == expected
    decoded = zxingcpp.read_barcodes(_raster(len(matrix) + 2 * border, dark))
    assert [d.text for d in decoded] == [text]


def test_runs_merge_adjacent_dark_modules_row_by_row() -> None:
    matrix = [bytearray(b"\x01\x01\x00\x01"), bytearray(b"\x00\x00\x00\x00"), bytearray(b"\x00\x01\x01\x01")]
    runs = dark_runs(matrix)
    assert runs == [(0, 0, 2), (0, 3, 1), (2, 1, 3)]
    assert 'd="M1 1.5h2m1 0h1M2 3.5h3"' in svg(runs, 4, scale=2, border=1)
    assert _modules(svg(runs, 4, scale=2, border=1))[2] == {(1, 1), (1, 2), (1, 4), (3, 2), (3, 3), (3, 4)}
