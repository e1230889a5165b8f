"""Reading a "check this proof" request — the one parser behind the department API (``POST
/api/v1/proofs/verify``) and the public page's ``POST /verify/check``, so both accept the same inputs with the
same limits:

- ``multipart/form-data`` with the PDF in the field ``file`` (at most ``limit`` bytes);
- ``application/pdf``, the PDF as the body (at most ``limit`` bytes);
- ``application/json`` ``{"qr_text": "..."}``: a scanned proof QR (or, on the public page, a ``/v/`` address or
  a proof number), at most :data:`MAX_QR_TEXT` characters, surrounding whitespace removed.

Returns the PDF's bytes or the QR text; anything else is a 4xx with a code.
"""

from __future__ import annotations

import json
from typing import Final

from starlette.datastructures import UploadFile
from starlette.requests import Request

from ..kit.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

MAX_QR_TEXT: Final = 1024


async def read_proof_input(request: Request, limit: int) -> bytes | str:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=4)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("send the proof as the multipart field 'file'", code="FILE_MISSING",
                                   field="file")
            data = await upload.read(limit + 1)
        finally:
            await form.close()
        return _within(data, limit)
    if ctype == "application/pdf":
        return _within(await request.body(), limit)
    if ctype == "application/json":
        try:
            doc = json.loads(await request.body())
        except ValueError as exc:
            raise InvalidInput("body is not JSON", code="INVALID_JSON", field="body") from exc
        text = doc.get("qr_text") if isinstance(doc, dict) else None
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_QR_TEXT:
            raise InvalidInput(f'expected {{"qr_text": "..."}} (at most {MAX_QR_TEXT} characters)', field="qr_text")
        return text.strip()
    raise UnsupportedMediaType("send multipart/form-data with file=PDF, application/pdf, or JSON {qr_text}",
                               field="content-type")


def _within(data: bytes, limit: int) -> bytes:
    if len(data) > limit:
        raise PayloadTooLarge(f"the file exceeds {limit} bytes", field="file")
    return data
