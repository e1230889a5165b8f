"""What may enter the archive: PDF, JPEG or PNG, recognised by content (never by name or declared type alone),
size-limited, and made safe.

* The declared ``Content-Type`` must agree with what the bytes are (415 otherwise).
* Images are decoded with Pillow (pixel limit), must end where the format ends (bytes after JPEG EOI or PNG
  IEND are a polyglot), and are **re-encoded** — metadata and anything hidden in them do not survive.
* PDFs must start with ``%PDF-1.`` at offset 0 and end with ``%%EOF``; a ZIP, HTML or script signature inside
  is a polyglot; the document is parsed (pyHanko's reader) and every object reachable from the document
  catalogue is walked: JavaScript (``/JS``, ``/JavaScript``), embedded files (``/EmbeddedFile(s)``, ``/GoToE``), launch
  actions, forms that submit or import (``/SubmitForm``, ``/ImportData``, ``/XFA``) and rich media refuse it.
Every refusal names the problem with a stable code; nothing is stored.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, Final

from PIL import Image, UnidentifiedImageError

from ..kit.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

MEDIA_TYPES: Final = ("application/pdf", "image/jpeg", "image/png")
MAX_PIXELS: Final = 40_000_000
#: PDF names that make a document active or a container.
FORBIDDEN_PDF_NAMES: Final = frozenset({
    "/JS", "/JavaScript", "/EmbeddedFile", "/EmbeddedFiles", "/Launch", "/GoToE", "/SubmitForm", "/ImportData",
    "/XFA", "/RichMedia",
})
_FOREIGN_SIGNATURES: Final = (b"PK\x03\x04", b"PK\x05\x06", b"<script", b"<html", b"<!doctype", b"<svg", b"MZ\x90\x00")
_RAW_JS: Final = re.compile(rb"/(J#53|#4As|JavaScript|JS)\b")


@dataclass(frozen=True)
class CheckedContent:
    media_type: str
    data: bytes


def sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def _polyglot(detail: str) -> InvalidInput:
    return InvalidInput(f"refused: {detail}", code="POLYGLOT_FILE", field="content")


def _foreign(data: bytes, *, allow_pdf: bool) -> None:
    lowered = data.lower()
    for sig in _FOREIGN_SIGNATURES:
        if sig.lower() in lowered:
            raise _polyglot(f"another format's signature ({sig[:4]!r}…) is inside the file")
    if not allow_pdf and b"%PDF-" in data:
        raise _polyglot("a PDF is hidden inside the image")


def _image(data: bytes, media_type: str) -> bytes:
    _foreign(data, allow_pdf=False)
    if media_type == "image/jpeg":
        end = data.rfind(b"\xff\xd9")
        if end < 0 or data[end + 2:].strip(b"\x00\r\n ") != b"":
            raise _polyglot("data after the end of the JPEG image")
    else:
        end = data.rfind(b"IEND\xaeB`\x82")
        if end < 0 or data[end + 8:] != b"":
            raise _polyglot("data after the end of the PNG image")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise InvalidInput("image has too many pixels", code="IMAGE_TOO_LARGE", field="content")
            img.load()
            fmt = "JPEG" if media_type == "image/jpeg" else "PNG"
            if img.format != fmt:
                raise UnsupportedMediaType("the image is not what its header says", code="WRONG_CONTENT_TYPE")
            out = io.BytesIO()
            if fmt == "JPEG":
                img.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
            else:
                keep = img if img.mode in ("RGB", "RGBA", "L", "LA", "P") else img.convert("RGBA")
                keep.save(out, "PNG", optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"not a readable image ({type(exc).__name__})", code="BAD_IMAGE", field="content") from None


def _walk_pdf(root: Any) -> str | None:
    from pyhanko.pdf_utils import generic

    seen: set[tuple[int, int]] = set()
    stack = [root]
    steps = 0
    while stack:
        steps += 1
        if steps > 200_000:
            return "too many objects"
        node = stack.pop()
        if isinstance(node, generic.IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()  # type: ignore[no-untyped-call]
        if isinstance(node, generic.DictionaryObject):
            for k in node:
                if str(k) in FORBIDDEN_PDF_NAMES:
                    return str(k)
                stack.append(node.raw_get(k))
            if node.get("/S") in ("/JavaScript", "/Launch", "/GoToE", "/SubmitForm", "/ImportData"):
                return str(node.get("/S"))
        elif isinstance(node, generic.ArrayObject):
            stack.extend(node.raw_get(i) for i in range(len(node)))
    return None


def _pdf(data: bytes) -> bytes:
    if not data.startswith(b"%PDF-1.") and not data.startswith(b"%PDF-2."):
        raise UnsupportedMediaType("not a PDF header", code="WRONG_CONTENT_TYPE")
    tail = data.rstrip(b"\x00\r\n \t")
    if not tail.endswith(b"%%EOF"):
        raise _polyglot("data after the PDF's final %%EOF")
    _foreign(data, allow_pdf=True)
    if data.count(b"%PDF-") > 1:
        raise _polyglot("more than one PDF header")
    if _RAW_JS.search(data):
        raise InvalidInput("refused: the PDF contains JavaScript", code="PDF_ACTIVE_CONTENT", field="content")
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            raise InvalidInput("refused: encrypted PDF", code="PDF_ENCRYPTED", field="content")
        found = _walk_pdf(reader.root)
    except (PdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InvalidInput(f"not a readable PDF ({type(exc).__name__})", code="BAD_PDF", field="content") from None
    if found is not None:
        raise InvalidInput(f"refused: the PDF contains {found}", code="PDF_ACTIVE_CONTENT", field="content")
    return data


def check(data: bytes, declared: str | None, *, max_bytes: int) -> CheckedContent:
    """Validate and normalise one upload. Raises 413 / 415 / 422 ``ExchangeError`` subclasses."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the file exceeds {max_bytes} bytes", code="FILE_TOO_LARGE")
    if not data:
        raise InvalidInput("the file is empty", code="EMPTY_FILE", field="content")
    declared_type = (declared or "").split(";")[0].strip().lower()
    if declared_type not in MEDIA_TYPES:
        raise UnsupportedMediaType("upload PDF, JPEG or PNG (Content-Type application/pdf, image/jpeg, image/png)",
                                   code="WRONG_CONTENT_TYPE")
    actual = sniff(data)
    if actual is None:
        raise UnsupportedMediaType("the content is not a PDF, JPEG or PNG file", code="WRONG_CONTENT_TYPE")
    if actual != declared_type:
        raise UnsupportedMediaType(f"declared {declared_type} but the content is {actual}",
                                   code="WRONG_CONTENT_TYPE")
    clean = _pdf(data) if actual == "application/pdf" else _image(data, actual)
    return CheckedContent(actual, clean)
