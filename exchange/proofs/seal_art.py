"""The round red seal (电子印章 appearance) drawn as vector paths on a reportlab canvas.

Layout, as on a Chinese government seal: a rim ~1.2 mm wide; the unit's name running clockwise in an
arc along the upper rim, each character rotated to the tangent and spaced evenly over up to ~230°; a
five-pointed star in the centre; the seal's purpose (e.g. 电子证明专用章) in a straight line below it.

The characters are drawn from the fonts' glyph outlines (fontTools), not as PDF text: the seal is
artwork, so it must not leak into text extraction (it lies over the issuer's name and date), and it
cannot be re-typed by editing a text operator. Outlines are cached per character.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cache, lru_cache

from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTFont as FtFont
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.pathobject import PDFPathObject

from exchange.proofs import fonts

SEAL_RED = (0xD4 / 255, 0.0, 0.0)
MIN_DIAMETER_MM = 42.0
MAX_DIAMETER_MM = 50.0
RIM_MM = 1.2

PathOp = tuple[str, tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class Glyph:
    ops: tuple[PathOp, ...]  # in font units
    advance: float
    units_per_em: int
    y_min: float
    y_max: float


class _Recorder(BasePen):  # type: ignore[misc]  # fontTools is untyped
    def __init__(self, glyph_set: object) -> None:
        super().__init__(glyph_set)
        self.ops: list[PathOp] = []
        self._last = (0.0, 0.0)

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(("m", (float(pt[0]), float(pt[1]))))
        self._last = pt

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(("l", (float(pt[0]), float(pt[1]))))
        self._last = pt

    def _curveToOne(self, p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float]) -> None:
        self.ops.append(("c", (p1[0], p1[1], p2[0], p2[1], p3[0], p3[1])))
        self._last = p3

    def _qCurveToOne(self, p1: tuple[float, float], p2: tuple[float, float]) -> None:
        # Quadratic -> cubic: control points at 2/3 of the way to the quadratic control point.
        p0 = self._getCurrentPoint()
        c1 = (p0[0] + 2 / 3 * (p1[0] - p0[0]), p0[1] + 2 / 3 * (p1[1] - p0[1]))
        c2 = (p2[0] + 2 / 3 * (p1[0] - p2[0]), p2[1] + 2 / 3 * (p1[1] - p2[1]))
        self._curveToOne(c1, c2, p2)

    def _closePath(self) -> None:
        self.ops.append(("h", ()))

    def _endPath(self) -> None:
        self.ops.append(("h", ()))


@cache
def _ft_font(name: str) -> FtFont:
    spec = next(f for f in fonts.font_files() if f.name == name)
    if not spec.path.is_file():
        raise fonts.FontMissingError(f"font file {spec.path} is missing: install {spec.package}")
    return FtFont(str(spec.path), fontNumber=spec.subfont_index, lazy=True)


@cache
def glyph(ch: str) -> Glyph:
    """Outline of ``ch`` from the same face the text uses (fallback faces for rare characters)."""
    font = _ft_font(fonts.font_for_char(ch))
    cmap = font.getBestCmap()
    glyph_set = font.getGlyphSet()
    name = cmap.get(ord(ch))
    if name is None:  # pragma: no cover - font_for_char already checked coverage
        raise fonts.MissingGlyphError(f"no outline for U+{ord(ch):04X}")
    pen = _Recorder(glyph_set)
    glyph_set[name].draw(pen)
    ys = [v for op, args in pen.ops for i, v in enumerate(args) if i % 2 == 1] or [0.0]
    return Glyph(
        ops=tuple(pen.ops),
        advance=float(glyph_set[name].width),
        units_per_em=int(font["head"].unitsPerEm),
        y_min=min(ys),
        y_max=max(ys),
    )


def _glyph_path(canvas: Canvas, g: Glyph) -> PDFPathObject:
    path = canvas.beginPath()
    for op, args in g.ops:
        if op == "m":
            path.moveTo(*args)
        elif op == "l":
            path.lineTo(*args)
        elif op == "c":
            path.curveTo(*args)
        else:
            path.close()
    return path


def _draw_glyph(
    canvas: Canvas, ch: str, x: float, y: float, size: float, *, angle_deg: float = 0.0, x_scale: float = 1.0
) -> None:
    """Draw ``ch`` with its baseline centre at (x, y), rotated by ``angle_deg`` (counter-clockwise)."""
    if ch.isspace():
        return
    g = glyph(ch)
    scale = size / g.units_per_em
    canvas.saveState()
    canvas.translate(x, y)
    if angle_deg:
        canvas.rotate(angle_deg)
    canvas.scale(scale * x_scale, scale)
    canvas.translate(-g.advance / 2, 0)
    canvas.drawPath(_glyph_path(canvas, g), stroke=0, fill=1, fillMode=0)  # TrueType: non-zero winding
    canvas.restoreState()


def _star(canvas: Canvas, cx: float, cy: float, outer: float) -> None:
    inner = outer * math.sin(math.radians(18)) / math.sin(math.radians(54))  # regular pentagram, ≈0.382
    path = canvas.beginPath()
    for i in range(10):
        r = outer if i % 2 == 0 else inner
        a = math.radians(90 + i * 36)
        px, py = cx + r * math.cos(a), cy + r * math.sin(a)
        if i == 0:
            path.moveTo(px, py)
        else:
            path.lineTo(px, py)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


def draw_seal(
    canvas: Canvas,
    cx: float,
    cy: float,
    *,
    name: str,
    purpose: str = "电子证明专用章",
    diameter_mm: float = 42.0,
    color: tuple[float, float, float] = SEAL_RED,
    alpha: float = 0.85,
    span_deg: float = 230.0,
) -> None:
    """Draw the seal centred at (cx, cy) (points).

    The seal's paths (rim, the name's glyph outlines, star, purpose) are laid out once per (name, purpose, size)
    around the origin and kept as PDF operators; each proof sets the colour and transparency and places them
    with one ``cm``."""
    if not MIN_DIAMETER_MM <= diameter_mm <= MAX_DIAMETER_MM:
        raise ValueError(f"seal diameter must be {MIN_DIAMETER_MM}-{MAX_DIAMETER_MM} mm, got {diameter_mm}")
    ops = seal_operators(name, purpose, diameter_mm, span_deg)
    canvas.saveState()
    canvas.setFillColorRGB(*color)
    canvas.setStrokeColorRGB(*color)
    canvas.setFillAlpha(alpha)
    canvas.setStrokeAlpha(alpha)
    canvas.transform(1, 0, 0, 1, cx, cy)
    canvas.addLiteral(ops)
    canvas.restoreState()


@lru_cache(maxsize=256)
def seal_operators(name: str, purpose: str, diameter_mm: float, span_deg: float) -> str:
    """The seal's drawing operators centred at the origin, in the current colour (cached: seals repeat)."""
    scratch = Canvas(io.BytesIO())
    start = len(scratch._code)
    _draw_seal_paths(scratch, 0.0, 0.0, name=name, purpose=purpose, diameter_mm=diameter_mm, span_deg=span_deg)
    return "\n".join(scratch._code[start:])


def _draw_seal_paths(canvas: Canvas, cx: float, cy: float, *, name: str, purpose: str, diameter_mm: float,
                     span_deg: float) -> None:
    radius = diameter_mm * mm / 2
    rim = RIM_MM * mm
    canvas.saveState()

    # Rim.
    canvas.setLineWidth(rim)
    canvas.circle(cx, cy, radius - rim / 2, stroke=1, fill=0)

    # Unit name along the upper rim, clockwise, tops facing outwards.
    chars = [c for c in name if not c.isspace()]
    n = len(chars)
    if n:
        text_size = radius * 0.32
        outer = radius - rim - 0.9 * mm  # glyph tops stop just inside the rim
        baseline_r = outer - text_size * 0.88
        step = min(span_deg / max(n - 1, 1), 38.0) if n > 1 else 0.0
        used = step * (n - 1)
        arc_per_char = math.radians(step) * baseline_r if n > 1 else text_size
        x_scale = min(1.0, max(0.55, arc_per_char * 0.92 / text_size))
        for i, ch in enumerate(chars):
            theta = 90 + used / 2 - i * step  # degrees, standard orientation; decreasing = clockwise
            t = math.radians(theta)
            px, py = cx + baseline_r * math.cos(t), cy + baseline_r * math.sin(t)
            _draw_glyph(canvas, ch, px, py, text_size, angle_deg=theta - 90, x_scale=x_scale)

    # Star.
    _star(canvas, cx, cy + radius * 0.02, radius * 0.30)

    # Purpose, straight, below the star.
    if purpose:
        size = radius * 0.19
        width = sum(glyph(c).advance / glyph(c).units_per_em * size for c in purpose)
        max_width = radius * 1.1
        xs = min(1.0, max_width / width) if width else 1.0
        x = cx - width * xs / 2
        y = cy - radius * 0.6
        for ch in purpose:
            adv = glyph(ch).advance / glyph(ch).units_per_em * size * xs
            _draw_glyph(canvas, ch, x + adv / 2, y, size, x_scale=xs)
            x += adv
    canvas.restoreState()
