"""A proof to render: a typed, frozen model holding exactly what is printed on the page.

Text is NFC-normalised (never NFKC: that would fold full-width forms). Sequences are stored as tuples so the
model is hashable and immutable. :meth:`ProofDocument.canonical_data` is the proof DATA (everything but the QR
text, which is derived from it) as canonical JSON; its SHA-256 is what the verification QR binds.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


@dataclass(frozen=True, slots=True)
class ProofTable:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    col_widths: tuple[float, ...] | None = None  # relative widths; equal when None

    def __post_init__(self) -> None:
        headers = tuple(_nfc(h) for h in self.headers)
        rows = tuple(tuple(_nfc(c) for c in row) for row in self.rows)
        for row in rows:
            if len(row) != len(headers):
                raise ValueError(f"table row has {len(row)} cells, headers have {len(headers)}")
        if self.col_widths is not None and len(self.col_widths) != len(headers):
            raise ValueError("col_widths must have one entry per header")
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "rows", rows)
        if self.col_widths is not None:
            object.__setattr__(self, "col_widths", tuple(float(w) for w in self.col_widths))

    @classmethod
    def of(
        cls,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        col_widths: Sequence[float] | None = None,
    ) -> ProofTable:
        return cls(
            tuple(headers),
            tuple(tuple(r) for r in rows),
            None if col_widths is None else tuple(col_widths),
        )


@dataclass(frozen=True, slots=True)
class ProofDocument:
    """Everything printed on one proof (证明).

    ``holder_rows``: (label, value) pairs printed as the holder block (e.g. ("查询申请人", "张三")).
    ``body``: paragraphs printed before the table. ``result_text``: e.g. "张三名下无不动产登记记录。".
    ``extracted_by`` 信息提取单位, ``produced_by`` 制作单位, ``extracted_at`` 提取时间.
    ``issuer_name``: the department whose seal the proof carries; ``issued_on``: the date under it.
    ``qr_text``: the verification QR content (see :mod:`exchange.proofs.qr_payload`).
    """

    title: str
    number: str
    holder_rows: tuple[tuple[str, str], ...]
    result_text: str
    issuer_name: str
    issued_on: date
    extracted_by: str
    produced_by: str
    extracted_at: datetime
    qr_text: str = ""
    subtitle: str | None = None
    body: tuple[str, ...] = ()
    table: ProofTable | None = None
    notes: tuple[str, ...] = ()
    validity_note: str = ""
    seal_purpose: str = "电子证明专用章"
    lang: str = "zh"
    proof_type: str = ""
    footer: str = "本证明由电子证照共享平台即时生成，加盖电子印章，与纸质证明具有同等效力。"
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                object.__setattr__(self, f.name, _nfc(value))
            elif f.name in {"holder_rows", "extra"}:
                object.__setattr__(self, f.name, tuple((_nfc(a), _nfc(b)) for a, b in value))
            elif f.name in {"body", "notes"}:
                object.__setattr__(self, f.name, tuple(_nfc(p) for p in value))
        if not self.title or not self.number:
            raise ValueError("a proof needs a title and a number")
        if self.lang != "zh":
            raise ValueError("only lang='zh' is rendered so far")

    def canonical_data(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces, UTF-8) of the proof data, without ``qr_text``."""
        data: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "qr_text":
                continue
            data[f.name] = _jsonable(getattr(self, f.name))
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    def data_digest(self) -> bytes:
        """SHA-256 of :meth:`canonical_data` (32 bytes)."""
        return hashlib.sha256(self.canonical_data()).digest()

    def field_values(self) -> tuple[str, ...]:
        """Every value printed on the page (for tests and text-extraction checks)."""
        values: list[str] = [self.title, self.number, self.result_text, self.issuer_name]
        values += [v for _, v in self.holder_rows] + [v for _, v in self.extra]
        values += list(self.body) + list(self.notes)
        values += [self.validity_note, self.extracted_by, self.produced_by]
        if self.subtitle:
            values.append(self.subtitle)
        if self.table is not None:
            values += list(self.table.headers) + [c for row in self.table.rows for c in row]
        return tuple(v for v in values if v)

    def with_qr(self, qr_text: str) -> ProofDocument:
        from dataclasses import replace

        return replace(self, qr_text=qr_text)


def _jsonable(value: object) -> object:
    if isinstance(value, ProofTable):
        return {"headers": list(value.headers), "rows": [list(r) for r in value.rows]}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
