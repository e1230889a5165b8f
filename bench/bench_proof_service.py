"""Sealed proofs through the exchange's SERVICE pipeline, next to a naive pipeline, in the same run.

Both go the whole way a real request goes: read the department's records (demo data source), lay the page out
from the catalogue, sign the QR, render, PAdES-seal with the department's seal key, store the encrypted PDF and
its digests, append to the holder's usage log (SQLite in a temp data directory, committed per proof).

Service: :func:`exchange.proofs.service.create_instant` with the proof worker pool (``--workers`` processes,
each keeping one ``PdfSealer`` per department loaded), driven by ``--concurrency`` request threads as a server's
threadpool would; and the same service with no pool (``service_in_thread``: the PDF is sealed in the request
thread). Baseline ("naive"): the same steps in the calling thread, one proof at a time, with the libraries
loaded once (fonts registered, each department's seal key, certificate and pyHanko ``SimpleSigner`` loaded on
first use and kept), drawing the QR with reportlab's ``QrCodeWidget`` and letting pyHanko size the signature
with a dry run. The baseline lays the page out with the product's own ``render.draw_proof`` (so it shares the
product's layout caches and its process-wide reportlab stream settings: the gap it shows is QR, PDF writing and
sealing, not layout). Speed-ups compare like with like: ``speedup_in_thread`` is one thread against one thread;
``pooled_vs_in_thread`` says what the worker processes add. (An earlier version re-parsed the fonts and the
key per proof and compared two processes against one thread.)

Prints one JSON object. ``python -m bench.bench_proof_service [--seconds N] [--workers W] [--concurrency C]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TYPES = ("realty_query", "hpf_deposit", "household_registration", "gov_data_query_sheet")
CITIZENS = 120  # many holders, as at a real counter: concurrent proofs rarely share one holder's usage chain


def _stats(latencies: list[float], wall: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "n": len(latencies),
        "proofs_per_s": round(len(latencies) / wall, 2),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
    }


class Setup:
    def __init__(self, directory: Path, database_url: str | None = None) -> None:
        from exchange.config import Settings
        from exchange.context import AppContext
        from exchange.proofs.datasource import data_source, install_default
        from exchange.provision import provision
        from issuers.demo import SystemOfRecord

        self.settings = Settings(data_dir=directory / "data", demo=True, public_base_url="http://127.0.0.1:8000",
                                 database_url=database_url)
        provision(self.settings, demo=True, citizens=CITIZENS, seed=2024)
        self.ctx = AppContext.build(self.settings)
        install_default(self.ctx)
        records = SystemOfRecord.generate(seed=2024, citizens=CITIZENS)
        source = data_source(self.ctx)
        self.jobs = [(t, c.id_number) for c in records.citizens for t in TYPES
                     if source.holder_data(t, c.id_number, context={}) is not None]

    def job(self, i: int) -> tuple[str, str]:
        return self.jobs[i % len(self.jobs)]


def service_run(setup: Setup, *, workers: int, concurrency: int, seconds: float) -> dict[str, Any]:
    from exchange.kit.db import unit_of_work
    from exchange.proofs import service
    from exchange.proofs.pipeline import close_pipeline, pipeline_for
    from exchange.usage.service import Actor

    ctx = setup.ctx
    close_pipeline(ctx)
    ctx.proof_workers = workers
    actor = Actor("citizen", "本人")

    def one(i: int) -> float:
        type_key, holder = setup.job(i)
        t0 = time.perf_counter()
        with unit_of_work(ctx.sessions) as s:
            service.create_instant(ctx, s, type_key=type_key, id_number=holder, requester=actor)
        return time.perf_counter() - t0

    t0 = time.perf_counter()
    pipeline_for(ctx)
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(max(workers, 1) * 2)))  # start and warm every worker
        startup = time.perf_counter() - t0
        latencies: list[float] = []
        lock = threading.Lock()
        stop = time.perf_counter() + seconds
        counter = iter(range(10**9))

        def loop() -> None:
            while time.perf_counter() < stop:
                took = one(next(counter))
                with lock:
                    latencies.append(took)

        start = time.perf_counter()
        for f in [pool.submit(loop) for _ in range(concurrency)]:
            f.result()
        wall = time.perf_counter() - start
    close_pipeline(ctx)
    return {**_stats(latencies, wall), "workers": workers, "concurrency": concurrency,
            "startup_ms": round(startup * 1000, 1)}


_NAIVE_LOADED: dict[str, Any] = {}


def naive_seal(setup: Setup, doc: Any, proof_id: str, department_id: str, issued_at: datetime) -> tuple[bytes, str]:
    """Render and seal the way a first version does (see the module docstring)."""
    import io

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    from exchange.proofs import fonts, render
    from exchange.proofs.qr_payload import make_proof_qr

    if not _NAIVE_LOADED:  # libraries and fonts once per process
        for spec in fonts.font_files():
            pdfmetrics.registerFont(TTFont(spec.name, str(spec.path), subfontIndex=spec.subfont_index))
        _NAIVE_LOADED["fonts"] = True
    pki = setup.settings.data_dir / "pki"
    passphrase = setup.settings.key_passphrase_bytes()
    key_file, cert_file = pki / "seals" / f"{department_id}.key", pki / "seals" / f"{department_id}.crt"
    if department_id not in _NAIVE_LOADED:  # each department's key, certificate and signer once
        _NAIVE_LOADED[department_id] = (
            serialization.load_pem_private_key(key_file.read_bytes(), passphrase),
            x509.load_pem_x509_certificate(cert_file.read_bytes()),
            signers.SimpleSigner.load(str(key_file), str(cert_file),  # type: ignore[no-untyped-call]
                                      ca_chain_files=(str(pki / "root.crt"),), key_passphrase=passphrase))
    key, cert, signer = _NAIVE_LOADED[department_id]
    qr = make_proof_qr(proof_id=proof_id, proof_type=doc.proof_type, department_id=department_id,
                       issued_at=issued_at, canonical_data=doc.canonical_data(), key=key, cert=cert,
                       base_url=setup.settings.public_base_url)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=1)
    widget = QrCodeWidget(qr, barLevel="M", barBorder=4)
    x0, y0, x1, y1 = widget.getBounds()
    side = render.QR_SIDE
    drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, render.MARGIN_X - 2 * mm, render.BODY_BOTTOM + 6 * mm)
    render.draw_proof(c, replace(doc, qr_text=""))
    c.save()
    meta = signers.PdfSignatureMetadata(field_name="Seal1", subfilter=fields.SigSeedSubFilter.PADES)
    out = io.BytesIO()
    signers.PdfSigner(meta, signer).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(buf.getvalue())), output=out)
    return out.getvalue(), qr


def naive_run(setup: Setup, *, seconds: float, max_n: int = 300) -> dict[str, Any]:
    import hashlib
    from datetime import timedelta

    from cryptography.hazmat.primitives import hashes

    from exchange.kit.db import unit_of_work
    from exchange.models import Proof
    from exchange.proofs import builders, service
    from exchange.proofs.datasource import data_source
    from exchange.usage import service as usage
    from exchange.usage.service import Actor

    ctx = setup.ctx

    def one(i: int) -> None:
        type_key, holder = setup.job(i)
        pt = ctx.catalogue.proof_types[type_key]
        data = data_source(ctx).holder_data(type_key, holder, context={})
        assert data is not None
        at = datetime.now(UTC).replace(microsecond=0)
        number = service.new_proof_number(ctx, type_key, at)
        built = builders.build(ctx.catalogue, pt, data, number=number, issued_at=at, produced_by="bench")
        pdf, _qr = naive_seal(setup, built.doc, number, data.department_id, at)
        cert = ctx.keyring.seal(data.department_id).cert
        with unit_of_work(ctx.sessions) as s:
            s.add(Proof(id=number, type_key=type_key, department_id=data.department_id,
                        holder_hash=ctx.protector.holder_hash(holder),
                        data_enc=ctx.protector.encrypt(built.doc.canonical_data(), "proof-data"),
                        data_digest=hashlib.sha256(built.doc.canonical_data()).hexdigest(),
                        pdf_enc=ctx.protector.encrypt(pdf, "proof-pdf"), pdf_digest=hashlib.sha256(pdf).hexdigest(),
                        seal_fingerprint=cert.fingerprint(hashes.SHA256()).hex(), issued_at=at,
                        expires_at=at + timedelta(days=pt.validity_days), requested_by="bench"))
            usage.record(s, ctx.protector.holder_hash(holder), "proof_created", Actor("citizen", "本人"),
                         subject={"proof_id": number})

    one(0)  # warm imports
    latencies: list[float] = []
    start = time.perf_counter()
    i = 1
    while i <= max_n and (time.perf_counter() - start < seconds or i < 4):
        t0 = time.perf_counter()
        one(i)
        latencies.append(time.perf_counter() - t0)
        i += 1
    return _stats(latencies, time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time per pipeline")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="proof worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="concurrent requests (threads)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup = Setup(Path(tmp))
        try:
            naive = naive_run(setup, seconds=args.seconds)
            in_thread = service_run(setup, workers=0, concurrency=1, seconds=args.seconds)
            pooled = service_run(setup, workers=args.workers, concurrency=args.concurrency, seconds=args.seconds)
        finally:
            setup.ctx.close()
    result = {
        "cpu_count": os.cpu_count(),
        "database": "sqlite",
        "naive": naive,
        "service_in_thread": in_thread,
        "service": pooled,
        "speedup_in_thread": round(in_thread["proofs_per_s"] / naive["proofs_per_s"], 2),
        "speedup_p50_in_thread": round(naive["p50_ms"] / in_thread["p50_ms"], 2),
        "pooled_vs_in_thread": round(pooled["proofs_per_s"] / in_thread["proofs_per_s"], 2),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))



if __name__ == "__main__":
    main()
