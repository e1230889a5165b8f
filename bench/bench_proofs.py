"""Sealed-proof throughput: the tuned pipeline next to a naive one, measured in the same run.

Tuned: fonts registered once per process, QR drawn as one path from segno's matrix with a fixed mask,
:class:`~exchange.proofs.sealing.PdfSealer` built once (key parsed once, ``bytes_reserved`` set).
Baseline ("naive"): the straightforward pipeline a competent engineer writes first, with its libraries loaded
once — fonts registered, key and certificate loaded and a pyHanko ``SimpleSigner`` built once per process —
but the QR drawn with reportlab's ``QrCodeWidget`` (default mask search) and no ``bytes_reserved`` (so pyHanko
makes a dry-run signature to size the field). (An earlier version of this baseline re-parsed the fonts and
decrypted the key for every document, which inflated the speed-up.)

Both pipelines produce a signed QR payload, an A4 page with the same content and a PAdES B-B seal.
Prints one JSON object. ``python -m bench.bench_proofs [--seconds N]``; the whole run stays under ~60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PASSPHRASE = b"bench-only-passphrase"


def _sample_doc(i: int) -> Any:
    """The has-property 有无房证明 sample of the proof tests (rare glyphs, a table), numbered per iteration."""
    from testkit.proof_samples import real_estate_with_property

    return replace(real_estate_with_property(), number=f"BDC-2024-1121-{i:06d}")


def make_keys(directory: Path) -> dict[str, str]:
    """A throwaway root and seal certificate, written as files (the naive signer loads them every time)."""
    from issuers.pki import cert_to_pem, create_root_ca, issue_certificate, private_key_to_pem

    root_key, root = create_root_ca()
    key, cert = issue_certificate(
        root_key, root, subject_cn="长沙市不动产登记中心 电子印章", org="长沙市不动产登记中心",
        department_id="cs-bdc", uscc="12430100MB1234567X", use="seal",
    )  # fmt: skip
    paths = {
        "key": directory / "seal.key.pem",
        "cert": directory / "seal.pem",
        "root": directory / "root.pem",
    }
    paths["key"].write_bytes(private_key_to_pem(key, PASSPHRASE))
    paths["cert"].write_text(cert_to_pem(cert))
    paths["root"].write_text(cert_to_pem(root))
    return {k: str(v) for k, v in paths.items()}


class Tuned:
    def __init__(self, paths: dict[str, str]) -> None:
        from cryptography.hazmat.primitives import serialization

        from exchange.proofs import fonts
        from exchange.proofs.sealing import PdfSealer

        self.key = serialization.load_pem_private_key(Path(paths["key"]).read_bytes(), PASSPHRASE)
        cert_pem, root_pem = Path(paths["cert"]).read_bytes(), Path(paths["root"]).read_bytes()
        self.sealer = PdfSealer.from_pem(Path(paths["key"]).read_bytes(), PASSPHRASE, cert_pem, root_pem)
        fonts.ensure_primary()
        self.run(0)  # warm: loads fallback faces and seal outlines once

    def run(self, i: int) -> bytes:
        from exchange.proofs.qr_payload import make_proof_qr
        from exchange.proofs.render import render_proof_pdf

        doc = _sample_doc(i)
        qr = make_proof_qr(
            proof_id=doc.number, proof_type=doc.proof_type, department_id="cs-bdc",
            issued_at=datetime.now(UTC), canonical_data=doc.canonical_data(),
            key=self.key, cert=self.sealer.cert,  # type: ignore[arg-type]
        )  # fmt: skip
        return self.sealer.seal(render_proof_pdf(doc.with_qr(qr)))


class Naive:
    """What a first version typically does (each step is a real, working pipeline)."""

    def __init__(self, paths: dict[str, str]) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from pyhanko.sign import signers

        self.paths = paths
        self._register_fonts()
        self.key = serialization.load_pem_private_key(Path(paths["key"]).read_bytes(), PASSPHRASE)
        self.cert = x509.load_pem_x509_certificate(Path(paths["cert"]).read_bytes())
        self.signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
            paths["key"], paths["cert"], ca_chain_files=(paths["root"],), key_passphrase=PASSPHRASE)

    def _register_fonts(self) -> None:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        from exchange.proofs import fonts

        for spec in fonts.font_files():  # once per process
            pdfmetrics.registerFont(TTFont(spec.name, str(spec.path), subfontIndex=spec.subfont_index))

    def run(self, i: int) -> bytes:
        import io

        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
        from reportlab.graphics import renderPDF
        from reportlab.graphics.barcode.qr import QrCodeWidget
        from reportlab.graphics.shapes import Drawing
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.pdfgen.canvas import Canvas

        from exchange.proofs import render
        from exchange.proofs.qr_payload import make_proof_qr

        key, cert = self.key, self.cert
        doc = _sample_doc(i)
        qr = make_proof_qr(
            proof_id=doc.number, proof_type=doc.proof_type, department_id="cs-bdc",
            issued_at=datetime.now(UTC), canonical_data=doc.canonical_data(),
            key=key, cert=cert,  # type: ignore[arg-type]
        )  # fmt: skip
        buf = io.BytesIO()
        c = Canvas(buf, pagesize=A4, invariant=1)
        page = replace(doc, qr_text="")
        # Same page, QR by QrCodeWidget (reportlab's encoder chooses the mask by scoring all eight).
        widget = QrCodeWidget(qr, barLevel="M", barBorder=4)
        x0, y0, x1, y1 = widget.getBounds()
        side = render.QR_SIDE
        drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, c, render.MARGIN_X - 2 * mm, render.BODY_BOTTOM + 6 * mm)
        render.draw_proof(c, page)
        c.save()
        meta = signers.PdfSignatureMetadata(field_name="Seal1", subfilter=fields.SigSeedSubFilter.PADES)
        out = io.BytesIO()
        signers.PdfSigner(meta, self.signer).sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(buf.getvalue())), output=out
        )
        return out.getvalue()


def _measure(fn: Callable[[int], bytes], seconds: float, max_n: int) -> dict[str, Any]:
    latencies: list[float] = []
    start = time.perf_counter()
    i = 0
    while i < max_n and (time.perf_counter() - start < seconds or i < 3):
        t0 = time.perf_counter()
        fn(i)
        latencies.append(time.perf_counter() - t0)
        i += 1
    wall = time.perf_counter() - start
    return {
        "n": i,
        "proofs_per_s": round(i / wall, 2),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000, 1),
    }


_worker: Tuned | None = None


def _init_worker(paths: dict[str, str]) -> None:
    global _worker
    _worker = Tuned(paths)


def _work(i: int) -> int:
    assert _worker is not None
    return len(_worker.run(i))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0, help="time per single-process measurement")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_keys(Path(tmp))
        t0 = time.perf_counter()
        tuned = Tuned(paths)
        startup = time.perf_counter() - t0
        tuned_stats = _measure(tuned.run, args.seconds, 2000)
        naive_stats = _measure(Naive(paths).run, args.seconds, 200)

        n = max(40, int(tuned_stats["proofs_per_s"] * args.seconds))
        with ProcessPoolExecutor(args.workers, initializer=_init_worker, initargs=(paths,)) as pool:
            list(pool.map(_work, range(args.workers * 2)))  # warm every worker
            t1 = time.perf_counter()
            sizes = list(pool.map(_work, range(n), chunksize=4))
            mp_wall = time.perf_counter() - t1
    result = {
        "cpu_count": os.cpu_count(),
        "tuned": {**tuned_stats, "startup_ms": round(startup * 1000, 1)},
        "naive": naive_stats,
        "speedup": round(tuned_stats["proofs_per_s"] / naive_stats["proofs_per_s"], 2),
        "tuned_multiprocess": {
            "workers": args.workers,
            "n": n,
            "proofs_per_s": round(n / mp_wall, 2),
            "mean_pdf_bytes": int(statistics.mean(sizes)),
        },
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
