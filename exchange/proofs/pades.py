"""PAdES B-B sealing without re-parsing the PDF: the signature appended as one incremental update.

pyHanko parses the whole PDF into an object graph, writes the update through it and builds the CMS with
asn1crypto, re-encoding the certificates on every signature — about two thirds of a proof's sealing time.
:class:`IncrementalSealer` writes the same update directly:

* the input must be a *simple* PDF: one classic cross-reference table, no ``/Prev`` (a single revision), no
  encryption, no form and no annotations on the first page (what :func:`~exchange.proofs.render.render_proof_pdf`
  writes). Anything else is refused with :class:`NotSimplePdf` and the caller falls back to pyHanko;
* the update holds what pyHanko's update holds for an invisible approval signature: the first page again with
  ``/Annots``, the catalogue again with ``/AcroForm`` (``/SigFlags 3``) and the PAdES developer extensions, the
  signature field/widget (``/F 132``, empty ``/Rect``) and the signature dictionary (``/ETSI.CAdES.detached``,
  ``/M``, ``/Reason``, ``/Location``, ``/ByteRange``, ``/Contents`` zero-padded to ``bytes_reserved``);
* the CMS ``SignedData`` is assembled from DER pieces encoded once per seal key (certificates, signer id,
  algorithm identifiers, the content-type and ESS signing-certificate-v2 attributes, built with pyHanko's own
  helpers); per signature only the message-digest attribute and the ECDSA signature are new. Signed attributes
  are those pyHanko writes for PAdES B-B (content type, message digest, signing-certificate-v2; no signing-time
  attribute: the time is ``/M``), checked byte for byte against pyHanko in the tests.

The key is only asked to ``sign(data, ECDSA(SHA256))``, so a PKCS#11 token key works unchanged.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute

_OID_DATA = bytes.fromhex("06092a864886f70d010701")
_OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
_OID_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")
_VERSION_1 = b"\x02\x01\x01"
#: ``/ByteRange [0 a b c]`` is written with room for three 10-digit numbers, then filled in (space-padded).
_BYTE_RANGE_WIDTH = len("[0 0000000000 0000000000 0000000000]")
_BYTE_RANGE_PLACEHOLDER = b"/ByteRange " + b"[" + b" " * (_BYTE_RANGE_WIDTH - 2) + b"]"


class NotSimplePdf(ValueError):
    """The PDF is not the single-revision, classic-xref kind this writer handles (use pyHanko)."""


def der(tag: int, content: bytes) -> bytes:
    """One DER TLV (definite length)."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def pdf_text_string(text: str) -> bytes:
    """A PDF text string as UTF-16BE with BOM, hex-encoded (no escaping needed)."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


class CmsTemplate:
    """The CMS ``SignedData`` of one seal key, pre-encoded: per signature only digest and signature change."""

    def __init__(self, cert: x509.Certificate, chain: Sequence[x509.Certificate]) -> None:
        cert_der = cert.public_bytes(serialization.Encoding.DER)
        asn1_cert = asn1_x509.Certificate.load(cert_der)
        self.digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256", "parameters": core.Null()}).dump()
        self.signature_algorithm = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump()
        self.sid = cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number})}).dump()
        self.fixed_attrs = (
            simple_cms_attribute("content_type", "data").dump(),  # type: ignore[no-untyped-call]
            simple_cms_attribute(  # type: ignore[no-untyped-call]
                "signing_certificate_v2", as_signing_certificate_v2(asn1_cert)).dump(),
        )
        seen: set[bytes] = set()
        certs: list[bytes] = []
        for c in (cert, *chain):
            d = c.public_bytes(serialization.Encoding.DER)
            if d not in seen:
                seen.add(d)
                certs.append(d)
        self.certificates = der(0xA0, b"".join(certs))  # [0] IMPLICIT CertificateSet

    def signed_attributes(self, digest: bytes) -> bytes:
        """The content of the signed-attributes SET (DER: elements sorted by their encoding)."""
        md = der(0x30, _OID_MESSAGE_DIGEST + der(0x31, der(0x04, digest)))
        return b"".join(sorted((*self.fixed_attrs, md)))

    def to_be_signed(self, attrs: bytes) -> bytes:
        return der(0x31, attrs)  # signed as an explicit SET OF (RFC 5652 §5.4)

    def content_info(self, attrs: bytes, signature: bytes) -> bytes:
        signer_info = der(0x30, _VERSION_1 + self.sid + self.digest_algorithm + der(0xA0, attrs)
                          + self.signature_algorithm + der(0x04, signature))
        signed_data = der(0x30, _VERSION_1 + der(0x31, self.digest_algorithm) + der(0x30, _OID_DATA)
                          + self.certificates + der(0x31, signer_info))
        return der(0x30, _OID_SIGNED_DATA + der(0xA0, signed_data))


# --------------------------------------------------------------------------- the simple-PDF reader

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_REF = rb"(\d+)\s+0\s+R"


def _last_startxref(pdf: bytes) -> int:
    m = _STARTXREF.search(pdf, max(0, len(pdf) - 64))
    if m is None:
        raise NotSimplePdf("no startxref at the end")
    return int(m.group(1))


class SimplePdf:
    """The cross-reference table, trailer and a few objects of a single-revision PDF."""

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf
        xref_at = _last_startxref(pdf)
        if pdf[xref_at:xref_at + 4] != b"xref":
            raise NotSimplePdf("not a classic cross-reference table")
        trailer_at = pdf.find(b"trailer", xref_at)
        if trailer_at < 0:
            raise NotSimplePdf("no trailer")
        lines = pdf[xref_at + 4:trailer_at].split()
        if len(lines) < 2:
            raise NotSimplePdf("empty cross-reference table")
        first, count = int(lines[0]), int(lines[1])
        entries = lines[2:]
        if first != 0 or len(entries) != 3 * count:
            raise NotSimplePdf("more than one cross-reference subsection")
        self.offsets: dict[int, int] = {}
        for i in range(count):
            offset, generation, kind = entries[3 * i:3 * i + 3]
            if kind == b"n":
                if generation != b"00000":
                    raise NotSimplePdf("objects with a generation number")
                self.offsets[i] = int(offset)
        self.size = count
        trailer = b"\n".join(ln for ln in pdf[trailer_at + 7:pdf.rfind(b"startxref")].splitlines()
                             if not ln.lstrip().startswith(b"%"))
        if any(k in trailer for k in (b"/Prev", b"/Encrypt", b"/XRefStm")):
            raise NotSimplePdf("an updated, encrypted or hybrid file")
        size = re.search(rb"/Size\s+(\d+)", trailer)
        root = re.search(rb"/Root\s+" + _REF, trailer)
        info = re.search(rb"/Info\s+" + _REF, trailer)
        ident = re.search(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>", trailer)
        if size is None or root is None or int(size.group(1)) != count:
            raise NotSimplePdf("trailer without /Size or /Root")
        self.root = int(root.group(1))
        self.info = int(info.group(1)) if info else None
        self.first_id = bytes.fromhex(ident.group(1).decode("ascii")) if ident else None

    def dictionary(self, number: int) -> bytes:
        """The text ``<< ... >>`` of a (non-stream) dictionary object."""
        at = self.offsets.get(number)
        if at is None:
            raise NotSimplePdf(f"object {number} not in the cross-reference table")
        head = f"{number} 0 obj".encode("ascii")
        if self.pdf[at:at + len(head)] != head:
            raise NotSimplePdf(f"object {number} is not where the table says")
        end = self.pdf.find(b"endobj", at)
        body = self.pdf[at + len(head):end].strip()
        if end < 0 or not (body.startswith(b"<<") and body.endswith(b">>")) or b"stream" in body:
            raise NotSimplePdf(f"object {number} is not a plain dictionary")
        return body

    def first_page(self) -> int:
        pages = re.search(rb"/Pages\s+" + _REF, self.dictionary(self.root))
        if pages is None:
            raise NotSimplePdf("catalogue without /Pages")
        kids = re.search(rb"/Kids\s*\[\s*" + _REF, self.dictionary(int(pages.group(1))))
        if kids is None:
            raise NotSimplePdf("page tree without kids")
        page = int(kids.group(1))
        if re.search(rb"/Type\s*/Page(?![A-Za-z])", self.dictionary(page)) is None:
            raise NotSimplePdf("nested page tree")
        return page


def _with_entries(dictionary: bytes, entries: bytes) -> bytes:
    return dictionary[:-2].rstrip() + b"\n" + entries + b"\n>>"


_EXTENSIONS = (b"/Extensions << /ESIC << /Type /DeveloperExtensions /BaseVersion /1.7 /ExtensionLevel 1 >> "
               b"/ISO_ [ << /Type /DeveloperExtensions /BaseVersion /2.0 /ExtensionLevel 32002 "
               b"/URL (https://www.iso.org/standard/45875.html) /ExtensionRevision (:2022) >> ] >>")


class IncrementalSealer:
    """Appends a PAdES B-B signature to simple PDFs for one seal key (build once, reuse; thread-safe)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate,
                 chain: Sequence[x509.Certificate], *, field_name: str, bytes_reserved: int) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", field_name):
            raise ValueError("field names are plain ASCII here")
        self._key = key
        self.template = CmsTemplate(cert, chain)
        self.field_name = field_name
        self.bytes_reserved = bytes_reserved

    def seal(self, pdf: bytes, *, reason: str, location: str, contact: str | None = None,
             signed_at: datetime | None = None) -> bytes:
        src = SimplePdf(pdf)
        catalog = src.dictionary(src.root)
        page_no = src.first_page()
        page = src.dictionary(page_no)
        if b"/AcroForm" in catalog or b"/Extensions" in catalog or b"/Annots" in page:
            raise NotSimplePdf("the PDF already has a form, extensions or annotations")
        acroform, widget, sig = src.size, src.size + 1, src.size + 2
        moment = (signed_at or datetime.now(UTC)).astimezone(UTC)
        sig_dict = b"".join((
            b"<<\n/Type /Sig\n/Filter /Adobe.PPKLite\n/SubFilter /ETSI.CAdES.detached\n",
            f"/M (D:{moment:%Y%m%d%H%M%S}Z)\n".encode("ascii"),
            b"/Reason " + pdf_text_string(reason) + b"\n" if reason else b"",
            b"/Location " + pdf_text_string(location) + b"\n" if location else b"",
            b"/ContactInfo " + pdf_text_string(contact) + b"\n" if contact else b"",
            _BYTE_RANGE_PLACEHOLDER, b"\n/Contents <", b"0" * (2 * self.bytes_reserved), b">\n>>",
        ))
        objects = (
            (page_no, _with_entries(page, f"/Annots [ {widget} 0 R ]".encode("ascii"))),
            (src.root, _with_entries(catalog, f"/AcroForm {acroform} 0 R\n".encode("ascii") + _EXTENSIONS
                                     + b"\n/Version /2.0")),
            (acroform, f"<<\n/Fields [ {widget} 0 R ]\n/SigFlags 3\n>>".encode("ascii")),
            (widget, f"<<\n/FT /Sig\n/T ({self.field_name})\n/Type /Annot\n/Subtype /Widget\n/F 132\n"
                     f"/Rect [ 0 0 0 0 ]\n/P {page_no} 0 R\n/V {sig} 0 R\n>>".encode("ascii")),
            (sig, sig_dict),
        )
        out = bytearray(pdf)
        if not out.endswith(b"\n"):
            out += b"\n"
        offsets: dict[int, int] = {}
        sig_at = 0
        for number, body in objects:
            offsets[number] = len(out)
            if number == sig:
                sig_at = len(out)
            out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
        xref_at = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \n"
        for number in sorted(offsets):
            out += f"{number} 1\n{offsets[number]:010d} 00000 n \n".encode("ascii")
        first_id = src.first_id or secrets.token_bytes(16)
        trailer = f"/Size {sig + 1}\n/Root {src.root} 0 R\n" + (f"/Info {src.info} 0 R\n" if src.info else "")
        out += (f"trailer\n<<\n{trailer}/ID [ <{first_id.hex()}> <{secrets.token_hex(16)}> ]\n"
                f"/Prev {_last_startxref(pdf)}\n>>\nstartxref\n{xref_at}\n%%EOF\n").encode("ascii")

        # fill in /ByteRange, hash everything but the /Contents hole, sign, and write the CMS into the hole
        range_at = out.index(_BYTE_RANGE_PLACEHOLDER, sig_at) + len(b"/ByteRange ")
        hole_start = out.index(b"/Contents <", range_at) + len(b"/Contents ")
        hole_end = hole_start + 2 * self.bytes_reserved + 2
        byte_range = f"[0 {hole_start} {hole_end} {len(out) - hole_end}]".encode("ascii")
        out[range_at:range_at + _BYTE_RANGE_WIDTH] = byte_range.ljust(_BYTE_RANGE_WIDTH)
        view = memoryview(out)
        digest = hashlib.sha256(view[:hole_start])
        digest.update(view[hole_end:])
        attrs = self.template.signed_attributes(digest.digest())
        signature = self._key.sign(self.template.to_be_signed(attrs), ec.ECDSA(hashes.SHA256()))
        blob = self.template.content_info(attrs, signature).hex().upper().encode("ascii")
        view.release()
        if len(blob) > 2 * self.bytes_reserved:
            raise ValueError(f"the signature needs {len(blob) // 2} bytes, {self.bytes_reserved} are reserved")
        out[hole_start + 1:hole_start + 1 + len(blob)] = blob
        return bytes(out)
