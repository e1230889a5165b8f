"""The sealing pipeline: sign the QR, render the page, PAdES-seal it — off the event loop, keys kept loaded.

A :class:`SealJob` is everything the CPU-bound part needs (the document without its QR plus the claims); the
result is the sealed PDF and its QR text. :class:`ProofPipeline` runs jobs in worker *processes* (PDF work is
pure-Python CPU: threads would share one GIL) or, with ``processes=0``, in the calling thread. Each worker keeps
one :class:`~exchange.proofs.sealing.PdfSealer` per department (key parsed once, ``bytes_reserved`` fixed) and
the fonts registered. Workers read the seal keys from the data directory with the key passphrase, given to them
through the pool's initialiser (a pipe, not the environment).

Callers block on :meth:`ProofPipeline.seal`; the HTTP routes that use it are sync routes, so FastAPI runs them
in its threadpool and the event loop never waits on a PDF.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from ..keyring import Keyring, SealKey
from ..kit.processes import exit_with
from .document import ProofDocument
from .qr_payload import make_proof_qr
from .render import render_proof_pdf
from .sealing import PdfSealer

if TYPE_CHECKING:
    from ..context import AppContext

log = logging.getLogger("licex.proofs")


@dataclass(frozen=True)
class SealJob:
    doc: ProofDocument  # without qr_text
    proof_id: str
    department_id: str
    issued_at: datetime
    base_url: str | None
    reason: str
    location: str
    status_list: tuple[int, str] | None = None  # (idx, uri) of the proof's status list entry


@dataclass(frozen=True)
class SealedPdf:
    pdf: bytes
    qr_text: str
    seal_fingerprint: str


class _Sealers:
    """One PdfSealer per department, built on first use and kept (per process) while the keyring hands out the
    same seal key and certificate (a seal certificate installed later is picked up at the next proof)."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._sealers: dict[str, tuple[SealKey, PdfSealer]] = {}
        self._lock = threading.Lock()

    def get(self, department_id: str) -> PdfSealer:
        return self.pair(department_id)[1]

    def pair(self, department_id: str) -> tuple[SealKey, PdfSealer]:
        """The seal key and the sealer made from it (one consistent pair even while a certificate changes)."""
        seal = self.keyring.seal(department_id)
        held = self._sealers.get(department_id)
        if held is None or held[0] is not seal:
            with self._lock:
                held = self._sealers.get(department_id)
                if held is None or held[0] is not seal:
                    held = self._sealers[department_id] = (seal, PdfSealer(seal.key, seal.cert, [self.keyring.root]))
        return held

    def run(self, job: SealJob) -> SealedPdf:
        seal, sealer = self.pair(job.department_id)
        qr = make_proof_qr(
            proof_id=job.proof_id, proof_type=job.doc.proof_type, department_id=job.department_id,
            issued_at=job.issued_at, canonical_data=job.doc.canonical_data(), key=seal.key, cert=seal.cert,
            base_url=job.base_url, status_list=job.status_list,
        )
        pdf = sealer.seal(render_proof_pdf(job.doc.with_qr(qr)), reason=job.reason, location=job.location)
        fingerprint = hashlib.sha256(sealer.cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        return SealedPdf(pdf=pdf, qr_text=qr, seal_fingerprint=fingerprint)


# -- worker-process side ------------------------------------------------------------------------------
_worker_sealers: _Sealers | None = None


def _init_worker(data_dir: str, passphrase: bytes, warm: tuple[str, ...], owner_pid: int) -> None:
    global _worker_sealers
    exit_with(owner_pid)  # a server killed with SIGKILL must not leave its proof workers behind
    _worker_sealers = _Sealers(Keyring(Path(data_dir), passphrase))
    from . import fonts

    fonts.ensure_primary()
    for dept in warm:
        try:
            _worker_sealers.get(dept)
        except Exception:  # a department without a seal: fails later, on a job, with its own error
            log.debug("no seal for %s", dept)


def _run_in_worker(job: SealJob) -> SealedPdf:
    if _worker_sealers is None:  # pragma: no cover - the initialiser always runs first
        raise RuntimeError("proof worker not initialised")
    return _worker_sealers.run(job)


# -- the pipeline ---------------------------------------------------------------------------------------
class ProofPipeline:
    def __init__(self, keyring: Keyring, data_dir: Path, passphrase: bytes, *, processes: int,
                 warm: tuple[str, ...] = ()) -> None:
        self.processes = max(0, processes)
        self._local = _Sealers(keyring)
        self._init_args = (str(data_dir), passphrase, warm)
        self._pool: Executor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> Executor:
        with self._lock:
            if self._pool is None:
                # forkserver: never fork a process that runs threads (uvicorn, the anyio threadpool)
                mp = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(self.processes, mp_context=mp, initializer=_init_worker,
                                                 initargs=(*self._init_args, os.getpid()))
            return self._pool

    def seal(self, job: SealJob) -> SealedPdf:
        if self.processes == 0:
            return self._local.run(job)
        for attempt in (1, 2):
            pool = self._executor()
            try:
                return pool.submit(_run_in_worker, job).result()
            except BrokenProcessPool:
                log.warning("proof worker pool broke (attempt %d); restarting it", attempt)
                with self._lock:
                    if self._pool is pool:
                        self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
        raise RuntimeError("the proof worker pool keeps breaking")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def default_processes() -> int:
    cpus = os.cpu_count() or 1
    return 0 if cpus < 2 else min(cpus, 8)


_pipeline_lock = threading.Lock()


def pipeline_for(ctx: AppContext) -> ProofPipeline:
    """The context's pipeline, built on first use (worker count from ``ctx.proof_workers``)."""
    pipeline = ctx.proof_pipeline
    if pipeline is not None:
        return pipeline
    with _pipeline_lock:
        pipeline = ctx.proof_pipeline
        if pipeline is None:
            processes = ctx.proof_workers
            pipeline = ProofPipeline(
                ctx.keyring, ctx.settings.data_dir, ctx.settings.key_passphrase_bytes(),
                processes=default_processes() if processes is None else int(processes),
                warm=tuple(sorted({d for pt in ctx.catalogue.proof_types.values() for d in pt.departments})),
            )
            ctx.proof_pipeline = pipeline
        return pipeline


def close_pipeline(ctx: AppContext) -> None:
    pipeline, ctx.proof_pipeline = ctx.proof_pipeline, None
    if pipeline is not None:
        pipeline.close()
