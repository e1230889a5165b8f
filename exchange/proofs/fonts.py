"""CJK fonts for proofs: registered once per process, chosen per character.

Primary face: WenQuanYi Micro Hei (TrueType, shipped in the ``paperang-p2-fonts-cjk`` wheel).
Fallback faces: HanaMinA / HanaMinB (Debian ``fonts-hanazono``) for characters Micro Hei lacks, including
CJK Extension A (䶮 U+4DAE) and Extension B and later (𠇔 U+201D4, 𬱖 U+2CC56) outside the BMP.
The fallback files are 20-30 MB each, so they are parsed only when a character needs them.

Every string is drawn run by run (:func:`split_runs`) so that no character falls into a font that lacks it:
a character no face covers raises :class:`MissingGlyphError` instead of printing a blank box (tofu).
reportlab embeds each face as a TrueType subset.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

PRIMARY = "LicexWQYMicroHei"
FALLBACK_A = "LicexHanaMinA"
FALLBACK_B = "LicexHanaMinB"

HANAZONO_DIR = Path(os.environ.get("LICEX_HANAZONO_DIR", "/usr/share/fonts/truetype/hanazono"))


class FontError(RuntimeError):
    """A font the proofs need is missing or cannot cover a character."""

    code = "FONT_ERROR"


class FontMissingError(FontError):
    code = "FONT_MISSING"


class MissingGlyphError(FontError):
    code = "MISSING_GLYPH"


@dataclass(frozen=True, slots=True)
class FontFile:
    name: str
    path: Path
    subfont_index: int
    package: str  # what to install when the file is missing


def _primary_path() -> Path:
    spec = importlib.util.find_spec("paperang_p2_fonts_cjk")
    if spec is None or not spec.submodule_search_locations:
        raise FontMissingError(
            "WenQuanYi Micro Hei not found: install the PyPI package 'paperang-p2-fonts-cjk'"
        )
    for location in spec.submodule_search_locations:
        for candidate in sorted(Path(location).rglob("*")):
            if candidate.suffix.lower() in {".ttc", ".ttf"} and "microhei" in candidate.name.lower():
                return candidate
    raise FontMissingError("'paperang-p2-fonts-cjk' is installed but carries no wqy-microhei .ttc/.ttf")


@cache
def font_files() -> tuple[FontFile, ...]:
    """The faces in order of preference."""
    return (
        FontFile(PRIMARY, _primary_path(), 0, "paperang-p2-fonts-cjk (PyPI)"),
        FontFile(FALLBACK_A, HANAZONO_DIR / "HanaMinA.ttf", 0, "fonts-hanazono (Debian)"),
        FontFile(FALLBACK_B, HANAZONO_DIR / "HanaMinB.ttf", 0, "fonts-hanazono (Debian)"),
    )


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap with characters outside the BMP written as UTF-16BE surrogate pairs.

    reportlab writes ``"<%04X>" % codepoint``, which for 𠇔 (U+201D4) gives the invalid ``<201D4>``: text
    extraction, search and copy-paste then return the wrong character. PDF requires UTF-16BE here.
    """
    entries = [
        f"<{i:02X}> <{chr(v).encode('utf-16-be', 'surrogatepass').hex().upper()}>"
        for i, v in enumerate(subset)
    ]
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo",
            f"<< /Registry ({fontname})",
            f"/Ordering ({fontname})",
            "/Supplement 0",
            ">> def",
            f"/CMapName /{fontname} def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            f"<00> <{len(subset) - 1:02X}>",
            "endcodespacerange",
            f"{len(subset)} beginbfchar",
            *entries,
            "endbfchar",
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )


# reportlab looks the helper up as a module global when it writes each font subset.
ttfonts.makeToUnicodeCMap = _to_unicode_cmap

_lock = threading.RLock()
_loaded: dict[str, TTFont] = {}


def _load(name: str) -> TTFont:
    """Parse and register one face with reportlab (once per process)."""
    font = _loaded.get(name)
    if font is not None:
        return font
    with _lock:
        font = _loaded.get(name)
        if font is not None:
            return font
        spec = next(f for f in font_files() if f.name == name)
        if not spec.path.is_file():
            raise FontMissingError(
                f"font file {spec.path} is missing: install the package {spec.package} "
                f"(needed for characters the primary CJK font lacks)"
            )
        font = TTFont(spec.name, str(spec.path), subfontIndex=spec.subfont_index)
        # reportlab copies whole tables out of the file for every subset it writes (the 3.5 MB glyf table of
        # Micro Hei, for every proof): the tables never change, so keep one copy per face
        font.face.get_table = functools.cache(font.face.get_table)
        pdfmetrics.registerFont(font)
        _loaded[name] = font
        return font


def ensure_primary() -> str:
    """Load the primary face (call at process start to pay the ~100 ms once) and return its name."""
    _load(PRIMARY)
    return PRIMARY


def _covers(name: str, codepoint: int) -> bool:
    return codepoint in _load(name).face.charToGlyph


def _is_layout_neutral(ch: str) -> bool:
    # Whitespace and controls take the font of their neighbours; they never need a glyph of their own.
    return ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf"}


@cache
def font_for_char(ch: str) -> str:
    """The registered font name to draw ``ch`` with (cached per character)."""
    cp = ord(ch)
    if _covers(PRIMARY, cp):
        return PRIMARY
    # Outside the BMP HanaMinB is the likely face; try it first so HanaMinA is not parsed for nothing.
    order = (FALLBACK_B, FALLBACK_A) if cp > 0xFFFF else (FALLBACK_A, FALLBACK_B)
    for name in order:
        if _covers(name, cp):
            return name
    raise MissingGlyphError(f"no proof font covers U+{cp:04X} {unicodedata.name(ch, '?')}")


def split_runs(text: str) -> list[tuple[str, str]]:
    """Split ``text`` into ``(font_name, run)`` pairs, each run fully covered by its font."""
    return list(_split_runs(text))


# Layout results are pure functions of the text and the registered faces, and a catalogue's proofs repeat most
# of their text (titles, labels, notes): kept per process in bounded caches.
@lru_cache(maxsize=16384)
def _split_runs(text: str) -> tuple[tuple[str, str], ...]:
    runs: list[tuple[str, str]] = []
    current_font: str | None = None
    buf: list[str] = []
    pending: list[str] = []  # neutral characters not yet attached to a run
    for ch in text:
        if _is_layout_neutral(ch):
            (buf if current_font is not None else pending).append(ch)
            continue
        font = font_for_char(ch)
        if font != current_font:
            if current_font is not None and buf:
                runs.append((current_font, "".join(buf)))
            buf = [*pending, ch]
            pending = []
            current_font = font
        else:
            buf.append(ch)
    if current_font is not None and buf:
        runs.append((current_font, "".join(buf)))
    elif pending:
        runs.append((ensure_primary(), "".join(pending)))
    return tuple(runs)


@lru_cache(maxsize=16384)
def string_width(text: str, size: float) -> float:
    """Width in points of ``text`` drawn run by run at ``size``."""
    return float(sum(pdfmetrics.stringWidth(run, font, size) for font, run in _split_runs(text)))


def draw_string(canvas: Canvas, x: float, y: float, text: str, size: float, *, align: str = "left") -> float:
    """Draw ``text`` with per-character font fallback; return its width. ``align``: left, center, right."""
    runs = _split_runs(text)
    widths = [float(pdfmetrics.stringWidth(run, font, size)) for font, run in runs]
    total: float = sum(widths)
    if align == "center":
        x -= total / 2
    elif align == "right":
        x -= total
    for (font, run), width in zip(runs, widths, strict=True):
        canvas.setFont(font, size)
        canvas.drawString(x, y, run)
        x += width
    return total


#: Chinese line-breaking rules (GB/T 15834 punctuation, W3C clreq "kinsoku"): never at the start of a line…
NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉〗”’…‥·%％‰℃,.;:?!)]}")
#: …and never at the end of one.
NO_LINE_END = frozenset("（《「『【〔〈〖“‘([{")


def wrap_text(text: str, width: float, size: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (see :func:`_wrap_text`)."""
    return list(_wrap_text(text, width, size))


@lru_cache(maxsize=8192)
def _wrap_text(text: str, width: float, size: float) -> tuple[str, ...]:
    """Break ``text`` into lines no wider than ``width``.

    CJK text breaks between any two characters, Latin words and digit runs (ID numbers, certificate numbers)
    stay whole unless wider than the line, and Chinese line-breaking rules hold: a line never starts with a
    closing mark (，。、）》…) nor ends with an opening one (（《“…) — the character before such a mark moves down
    with it (the line ends a little short rather than break the rule).
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        out: list[list[str]] = [[]]
        line_width = 0.0
        tokens = _tokens(paragraph)
        tokens.reverse()
        while tokens:
            token = tokens.pop()
            w = string_width(token, size)
            if w > width and len(token) > 1:  # a word wider than the column: break it per character
                tokens.extend(reversed(token))
                continue
            current = out[-1]
            if current and line_width + w > width:
                carried: list[str] = []
                # keep closing marks off the next line's start and opening marks off this line's end
                if token[0] in NO_LINE_START:
                    while len(current) > 1 and (not carried or carried[0][0] in NO_LINE_START
                                                or current[-1][-1] in NO_LINE_END):
                        carried.insert(0, current.pop())
                        if carried[0][0] not in NO_LINE_START and current[-1][-1] not in NO_LINE_END:
                            break
                while len(current) > 1 and current[-1][-1] in NO_LINE_END:
                    carried.insert(0, current.pop())
                if token.strip() == "" and not carried:
                    out.append([])  # a space at the break is dropped
                    line_width = 0.0
                    continue
                new = [t for t in carried] + [token]
                if new and new[0].strip() == "":
                    new = new[1:]
                out.append(new)
                line_width = string_width("".join(new), size)
            else:
                current.append(token)
                line_width += w
        lines.extend("".join(ln).rstrip() for ln in out)
    return tuple(lines)


def longest_token_width(text: str, size: float) -> float:
    """Width of the widest piece of ``text`` that :func:`wrap_text` keeps whole (a word, a number, a CJK
    character together with a following closing mark)."""
    widest = 0.0
    tokens = _tokens(text)
    for i, token in enumerate(tokens):
        piece = token + (tokens[i + 1] if i + 1 < len(tokens) and tokens[i + 1][0] in NO_LINE_START else "")
        widest = max(widest, string_width(piece, size))
    return widest


def _tokens(text: str) -> list[str]:
    """CJK characters stand alone; runs of Latin letters/digits stay together (with one trailing space)."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if (ch.isascii() and ch.isalnum()) or ch in "-_./:@":
            word += ch
            continue
        if word:
            tokens.append(word)
            word = ""
        tokens.append(ch)
    if word:
        tokens.append(word)
    return tokens
