"""Materials satisfied as the matter declares them, and the personal e-archive (SQLite and PostgreSQL).

* Teacher qualification for persona 0 (李建华): 8 materials; e-licences (ID card, household register, diploma,
  Putonghua certificate), two department checks with answers signed by the departments' seal keys, a commitment
  confirmed by approving the consent — exactly one left: the photo.
* Archive: upload at the counter → clerk accepts → the case completes and files its materials → a later case
  reuses the photo with consent (nothing left) → the citizen lists, downloads and deletes; case-filed material is
  retained; every step in the usage log.
* Hostile files (JavaScript PDF, polyglots, oversize, wrong content type) are refused with a 4xx, nothing stored.
"""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography import x509
from PIL import Image
from reportlab.pdfgen import canvas

from exchange.archive import service as archive_service
from exchange.archive.models import ArchiveItem
from exchange.kit.db import unit_of_work, utcnow
from tests.exchange.counter.flow import PERSONA_A, bearer, citizen_token, clerk_token, decide, scan, usage
from tests.fixtures.exchange import ExchangeEnv

TEACHER = "teacher_qualification_recognition"


def _photo(colour: tuple[int, int, int] = (200, 180, 160)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (295, 413), colour).save(out, "JPEG", quality=85)
    return out.getvalue()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(out, "PNG")
    return out.getvalue()


def _clean_pdf() -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 720, "Purchase contract (synthetic)")
    c.save()
    return out.getvalue()


def _pdf_with(extra_catalog: str) -> bytes:
    """A minimal, well-formed PDF whose catalogue carries ``extra_catalog`` (with a correct xref table)."""
    objs = [f"<< /Type /Catalog /Pages 2 0 R {extra_catalog} >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    body = b"%PDF-1.7\n"
    offsets = []
    for i, o in enumerate(objs, start=1):
        offsets.append(len(body))
        body += f"{i} 0 obj\n{o}\nendobj\n".encode()
    xref = len(body)
    body += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    body += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return body


def _pdf_js_in_object_stream() -> bytes:
    """JavaScript inside a compressed object stream: no ``/JS`` in the raw bytes, only the parse finds it."""
    from pyhanko.pdf_utils import generic, writer

    w = writer.PdfFileWriter(stream_xrefs=True)
    stream = w.prepare_object_stream()
    action = generic.DictionaryObject({generic.NameObject("/S"): generic.NameObject("/JavaScript"),
                                       generic.NameObject("/JS"): generic.TextStringObject("app.alert(1)")})
    w.root[generic.NameObject("/OpenAction")] = w.add_object(action, obj_stream=stream)
    out = io.BytesIO()
    w.write(out)
    data = out.getvalue()
    assert b"/JS" not in data and b"/JavaScript" not in data
    return data


def _teacher_case(env: ExchangeEnv, clerk: str, citizen: str) -> tuple[str, dict[str, Any]]:
    scanned = scan(env, clerk, citizen, TEACHER)
    assert {u["mode"] for u in scanned["uses"]} == {"department_check", "archive", "commitment"}
    assert decide(env, citizen, scanned["consent_id"]).status_code == 200
    pulled = env.client.post(f"/api/v1/counter/cases/{scanned['case_id']}/pull", headers=bearer(clerk))
    assert pulled.status_code == 200, pulled.text
    return scanned["case_id"], pulled.json()


def _count(env: ExchangeEnv) -> int:
    return env.count(ArchiveItem)


def test_teacher_matter_leaves_only_the_photo(exchange: ExchangeEnv) -> None:
    clerk, citizen = clerk_token(exchange), citizen_token(exchange, PERSONA_A)
    _case_id, pulled = _teacher_case(exchange, clerk, citizen)
    items = {i["material"]: i for i in pulled["checklist"]}
    assert len(items) == 8
    assert pulled["remaining"] == ["photo"]
    assert [m for m, i in items.items() if not i["satisfied"]] == ["photo"]
    assert {m: i["how"] for m, i in items.items()} == {
        "identity": "licence", "residence": "licence", "diploma": "licence", "mandarin_certificate": "licence",
        "exam_certificate": "department_check", "health_check": "department_check", "photo": None,
        "commitment": "commitment"}
    assert items["mandarin_certificate"]["by"]["type"] == "mandarin_certificate"
    # a department check is the department's signed answer: verify it with the seal certificate in x5c
    check = items["exam_certificate"]["by"]
    header = jwt.get_unverified_header(check["signed"])
    seal = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    claims = jwt.decode(check["signed"], seal.public_key(), algorithms=["ES256"])  # type: ignore[arg-type]
    assert claims["result"] is True and claims["check"] == "teacher_exam_result"
    assert claims["iss"] == exchange.ctx.catalogue.departments["edu"].uscc
    assert seal.fingerprint(seal.signature_hash_algorithm) == exchange.ctx.keyring.seal("edu").cert.fingerprint(  # type: ignore[arg-type]
        seal.signature_hash_algorithm)  # type: ignore[arg-type]
    assert "本人承诺" in items["commitment"]["by"]["statement"]
    actions = [e["action"] for e in usage(exchange, citizen)]
    for action in ("commitment_confirmed", "department_check", "materials_satisfied", "pull"):
        assert action in actions
    # the pull's events are logged in the order they happened (written together in one insert)
    oldest_first = list(reversed(actions))
    start = oldest_first.index("pull")
    assert oldest_first[start:] == ["pull", "department_check", "department_check", "materials_satisfied"]


def test_pulling_a_case_again_replaces_its_evidence(exchange: ExchangeEnv) -> None:
    clerk, citizen = clerk_token(exchange), citizen_token(exchange, PERSONA_A)
    case_id, _ = _teacher_case(exchange, clerk, citizen)
    after_first = _count(exchange)
    again = exchange.client.post(f"/api/v1/counter/cases/{case_id}/pull", headers=bearer(clerk))
    assert again.status_code == 200, again.text
    assert _count(exchange) == after_first


def test_upload_accept_file_reuse_delete(exchange: ExchangeEnv) -> None:
    clerk, citizen = clerk_token(exchange), citizen_token(exchange, PERSONA_A)
    case1, pulled = _teacher_case(exchange, clerk, citizen)
    assert pulled["remaining"] == ["photo"]
    photo = _photo()
    up = exchange.client.post(f"/api/v1/counter/cases/{case1}/materials?material_type=photo&title=免冠照片",
                              content=photo, headers={**bearer(clerk), "Content-Type": "image/jpeg"})
    assert up.status_code == 201, up.text
    item = up.json()
    assert item["accepted"] is False and item["media_type"] == "image/jpeg"
    acc = exchange.client.post(f"/api/v1/counter/cases/{case1}/materials/{item['id']}/accept", headers=bearer(clerk))
    assert acc.status_code == 200 and acc.json()["accepted"] is True
    done = exchange.client.post(f"/api/v1/counter/cases/{case1}/complete", headers=bearer(clerk))
    assert done.status_code == 200, done.text
    filed = done.json()["filed"]
    assert {f["origin"] for f in filed} >= {"presentation", "check", "upload"}
    assert all(f["retain_until"] for f in filed)

    # a later case reuses the accepted photo with the citizen's consent: nothing left
    _case2, pulled2 = _teacher_case(exchange, clerk, citizen)
    assert pulled2["remaining"] == []
    photo_item = next(i for i in pulled2["checklist"] if i["material"] == "photo")
    assert photo_item["how"] == "archive" and photo_item["by"]["archive_id"] == item["id"]

    # the citizen's view: list, download (re-encoded JPEG), delete
    listed = exchange.client.get("/api/v1/archive", headers=bearer(citizen))
    assert listed.status_code == 200
    assert item["id"] in {i["id"] for i in listed.json()["items"]}
    got = exchange.client.get(f"/api/v1/archive/{item['id']}", headers=bearer(citizen))
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(got.content)).size == (295, 413)
    # filed with case 1: part of the case record, retained
    kept = exchange.client.delete(f"/api/v1/archive/{item['id']}", headers=bearer(citizen))
    assert kept.status_code == 409 and kept.json()["error"] == "MATERIAL_RETAINED"
    # the citizen's own upload, not part of any case: deleted, content wiped
    own = exchange.client.post("/api/v1/archive?material_type=vehicle_licence_copy&title=行驶证", content=_png(),
                               headers={**bearer(citizen), "Content-Type": "image/png"})
    assert own.status_code == 201, own.text
    gone = exchange.client.delete(f"/api/v1/archive/{own.json()['id']}", headers=bearer(citizen))
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert exchange.client.get(f"/api/v1/archive/{own.json()['id']}", headers=bearer(citizen)).status_code == 404
    with exchange.session() as s:
        row = s.get(ArchiveItem, own.json()["id"])
        assert row is not None and row.content_enc is None and row.deleted_at is not None
        stored = s.get(ArchiveItem, item["id"])
        assert stored is not None and stored.content_enc is not None and photo[:64] not in stored.content_enc
    actions = [e["action"] for e in usage(exchange, citizen)]
    for action in ("material_uploaded", "material_accepted", "case_filed", "material_reused",
                   "material_downloaded", "material_deleted"):
        assert action in actions, action
    # someone else cannot see or delete it
    other = citizen_token(exchange, 1)
    assert exchange.client.get(f"/api/v1/archive/{item['id']}", headers=bearer(other)).status_code == 404
    assert exchange.client.delete(f"/api/v1/archive/{item['id']}", headers=bearer(other)).status_code == 404


def test_retention_purges_expired_items(exchange: ExchangeEnv) -> None:
    citizen = citizen_token(exchange, 2)
    own = exchange.client.post("/api/v1/archive?material_type=sale_contract", content=_clean_pdf(),
                               headers={**bearer(citizen), "Content-Type": "application/pdf"})
    assert own.status_code == 201, own.text
    later = utcnow() + timedelta(days=exchange.settings.archive_retention_days + 400)
    with unit_of_work(exchange.ctx.sessions) as s:
        assert archive_service.purge_expired(exchange.ctx, s, now=later) >= 1
    with exchange.session() as s:
        assert s.get(ArchiveItem, own.json()["id"]) is None


ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"evil.js"

HOSTILE = [
    ("pdf_javascript", _pdf_with("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "application/pdf",
     422, "PDF_ACTIVE_CONTENT"),
    ("pdf_js_name_escaped", _pdf_with("/OpenAction << /S /JavaScript /J#53 (app.alert(1)) >>"), "application/pdf",
     422, "PDF_ACTIVE_CONTENT"),
    ("pdf_js_in_object_stream", _pdf_js_in_object_stream(), "application/pdf", 422, "PDF_ACTIVE_CONTENT"),
    ("pdf_embedded_file", _pdf_with("/Names << /EmbeddedFiles << /Names [(a.exe) 3 0 R] >> >>"),
     "application/pdf", 422, "PDF_ACTIVE_CONTENT"),
    ("pdf_zip_polyglot", _clean_pdf() + ZIP, "application/pdf", 422, "POLYGLOT_FILE"),
    ("jpeg_zip_polyglot", _photo() + ZIP, "image/jpeg", 422, "POLYGLOT_FILE"),
    ("jpeg_pdf_polyglot", _photo() + _clean_pdf(), "image/jpeg", 422, "POLYGLOT_FILE"),
    ("wrong_declared_type", _clean_pdf(), "image/png", 415, "WRONG_CONTENT_TYPE"),
    ("text_file", b"hello, not a material\n", "text/plain", 415, "WRONG_CONTENT_TYPE"),
    ("html_as_pdf", b"<html><script>alert(1)</script></html>", "application/pdf", 415, "WRONG_CONTENT_TYPE"),
]


@pytest.mark.parametrize(("name", "data", "ctype", "status", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_files_are_refused_and_nothing_stored(exchange: ExchangeEnv, name: str, data: bytes, ctype: str,
                                                      status: int, code: str) -> None:
    citizen = citizen_token(exchange, 3)
    before = _count(exchange)
    resp = exchange.client.post("/api/v1/archive?material_type=sale_contract", content=data,
                                headers={**bearer(citizen), "Content-Type": ctype})
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == code
    assert _count(exchange) == before


def test_oversize_is_refused_and_nothing_stored(exchange: ExchangeEnv) -> None:
    citizen = citizen_token(exchange, 3)
    before = _count(exchange)
    limit = exchange.settings.archive_max_bytes
    for size in (limit + 1, limit + 200_000):  # past the service's limit, and past the body limit too
        big = _clean_pdf()
        big = big[:-6] + b"%" + b"x" * (size - len(big)) + b"\n%%EOF\n"
        resp = exchange.client.post("/api/v1/archive?material_type=sale_contract", content=big,
                                    headers={**bearer(citizen), "Content-Type": "application/pdf"})
        assert resp.status_code == 413, resp.text
        assert resp.json()["error"] in ("FILE_TOO_LARGE", "PAYLOAD_TOO_LARGE")
    assert _count(exchange) == before


def test_clean_files_are_accepted_and_images_re_encoded(exchange: ExchangeEnv) -> None:
    citizen = citizen_token(exchange, 3)
    exif_jpeg = io.BytesIO()
    img = Image.new("RGB", (40, 40), (1, 2, 3))
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    img.save(exif_jpeg, "JPEG", exif=exif)
    for data, ctype in ((_clean_pdf(), "application/pdf"), (_png(), "image/png"), (exif_jpeg.getvalue(), "image/jpeg")):
        resp = exchange.client.post("/api/v1/archive?material_type=misc", content=data,
                                    headers={**bearer(citizen), "Content-Type": ctype})
        assert resp.status_code == 201, resp.text
        got = exchange.client.get(f"/api/v1/archive/{resp.json()['id']}", headers=bearer(citizen))
        assert got.status_code == 200
        if ctype == "image/jpeg":
            assert b"secret description" not in got.content
    assert exchange.client.get("/api/v1/archive").status_code == 401
