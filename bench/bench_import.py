"""Verified import throughput (licences/s) next to the raw ES256 verify rate, and a naive importer.

Run: ``.venv/bin/python -m bench.bench_import [--licences N] [--postgres] [--workers W]``. Prints one JSON object.

- ``import_batched_per_s``: ``licex import``'s code path (``exchange.licences.importer.import_jsonl``):
  every line fully verified (signature, chain, trust list, authorisation, identifiers, schema) in ``--workers``
  processes forked from a fork server (default: one per CPU), batches of ``--batch-size`` rows stored with
  ``COPY`` on PostgreSQL and committed together with the checkpoint (resumable, idempotent).
- ``import_batched_steady_per_s``: the same run from its first committed batch to its last (worker start-up
  excluded: about 1.5 CPU-seconds, paid once per import); ``first_batch_committed_s`` says when that was.
- ``import_with_status_entries_per_s`` (and ``..._steady_per_s``): the same path for a second file of
  ``--licences / 2`` licences that each carry a status list entry allocated to their department (as the
  departments' pushes do): each entry is checked and bound in the batch's transaction.
- ``import_one_process_per_s``: the same code path with one process (no pool), on a second file.
- ``import_naive_per_s``: the straightforward importer a competent engineer writes first: the trust list
  loaded once, then for each line verify (the same checks), insert, commit — one transaction per licence.
- ``cpu_us_per_licence`` (batched run): CPU microseconds per licence of the importing process, of PostgreSQL
  and of the whole machine (``machine_busy`` includes the workers, and anything else running at the time).
- ``cryptography_es256_verify_per_s``: bare ECDSA P-256 verifications of the same licences' signing inputs on
  one core; ``..._all_cpus`` is that times the CPUs used (the crypto ceiling for the pool).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bench.cpu import machine_busy_seconds, postgres_seconds, process_seconds
from exchange.config import Settings
from exchange.context import AppContext
from exchange.licences import service
from exchange.licences.importer import import_jsonl
from exchange.provision import demo_department_dir, provision
from exchange.status import service as status_lists
from exchange.trust.service import current_trust_list
from issuers.demo import bulk_drafts
from issuers.department import DepartmentSigner
from schemas.canonical import b64u_decode


def _env(tmp: Path, url: str | None) -> AppContext:
    settings = Settings(data_dir=tmp / "data", database_url=url, demo=True)
    provision(settings, demo=False, all_parties_locally=True)
    return AppContext.build(settings)


def _sign_all(ctx: AppContext, n: int, seed: int, *, with_status: bool = False) -> list[str]:
    """``n`` bulk drafts signed by their departments; ``with_status``: each carries a status list entry
    allocated to its department (as the departments' own pushes do)."""
    drafts = list(bulk_drafts(n, seed=seed))
    refs: dict[str, list[tuple[int, str]]] = {}
    if with_status:
        wanted: dict[str, int] = {}
        for draft in drafts:
            wanted[draft.department_id] = wanted.get(draft.department_id, 0) + 1
        with ctx.sessions() as session, session.begin():
            for department, count in wanted.items():
                refs[department] = [(r.idx, r.uri) for r in status_lists.allocate(ctx, session, owner=department,
                                                                                   count=count)]
    signers: dict[str, DepartmentSigner] = {}
    out = []
    for draft in drafts:
        if draft.department_id not in signers:
            dept = ctx.catalogue.departments[draft.department_id]
            signers[dept.id] = DepartmentSigner.load(demo_department_dir(ctx.settings.data_dir, dept.id), dept,
                                                     ctx.settings.key_passphrase_bytes())
        entry = refs[draft.department_id].pop() if with_status else None
        out.append(signers[draft.department_id].sign(draft, status_list=entry))
    return out


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of this (importing) process, of PostgreSQL's processes, and of the whole machine (busy
    time of every CPU: the verification workers, forked from a fork server, are counted there)."""
    import psutil

    return {"importer": process_seconds(psutil.Process()), "postgres": postgres_seconds(),
            "machine_busy": machine_busy_seconds()}


def _raw_verify_rate(ctx: AppContext, credentials: list[str]) -> float:
    signer = DepartmentSigner.load(demo_department_dir(ctx.settings.data_dir, "blood"),
                                   ctx.catalogue.departments["blood"], ctx.settings.key_passphrase_bytes())
    public = signer.licence_cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    items = []
    for cred in credentials[:2000]:
        jws = cred.split("~", 1)[0]
        head, payload, sig = jws.split(".")
        raw = b64u_decode(sig)
        items.append((f"{head}.{payload}".encode(), encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                                                         int.from_bytes(raw[32:], "big"))))
    start = time.perf_counter()
    done = 0
    while time.perf_counter() - start < 2.0:
        for data, der in items:
            # other departments' licences fail against this key: a failed verify costs the same
            with contextlib.suppress(InvalidSignature):
                public.verify(der, data, ec.ECDSA(hashes.SHA256()))
        done += len(items)
    return done / (time.perf_counter() - start)


def _naive(ctx: AppContext, credentials: list[str]) -> float:
    start = time.perf_counter()
    with ctx.sessions() as session:
        trust = current_trust_list(ctx, session)
    for cred in credentials:
        with ctx.sessions() as session, session.begin():
            prepared = service.prepare(cred, trust=trust, catalogue=ctx.catalogue, pushing_department=None)
            service.store(session, prepared, ctx.protector, ctx=ctx)
    return len(credentials) / (time.perf_counter() - start)


def _steady_rate(commits: list[tuple[float, int]]) -> float | None:
    """Lines per second from the first batch's commit to the last one's: the rate once the worker processes
    are up (their start-up is a fixed cost, paid once per import however long the file)."""
    if len(commits) < 2 or commits[-1][0] <= commits[0][0]:
        return None
    return (commits[-1][1] - commits[0][1]) / (commits[-1][0] - commits[0][0])


def run(n: int, postgres: bool, workers: int, batch_size: int) -> dict[str, object]:
    from testkit.databases import database_url

    result: dict[str, object] = {"licences": n, "python": platform.python_version(), "cpus": os.cpu_count(),
                                 "workers": workers, "batch_size": batch_size}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        with database_url("postgresql" if postgres else "sqlite", tmp) as url:
            ctx = _env(tmp, url)
            try:
                credentials = _sign_all(ctx, n, seed=7)
                path = tmp / "bench.jsonl"
                path.write_text("".join(json.dumps({"credential": c}) + "\n" for c in credentials))
                commits: list[tuple[float, int]] = []  # (time, lines committed) at each batch's commit
                cpu0 = _cpu_seconds()
                started = time.perf_counter()
                report = import_jsonl(ctx, path, batch_size=batch_size, workers=workers,
                                      progress=lambda done, _total: commits.append((time.perf_counter(), done)))
                batched = n / (time.perf_counter() - started)
                cpu1 = _cpu_seconds()
                steady = _steady_rate(commits[1:-1])  # without the start and finish reports
                assert report.imported == n, report
                status_n = max(500, n // 2)
                status_path = tmp / "with-status.jsonl"
                status_path.write_text("".join(json.dumps({"credential": c}) + "\n"
                                               for c in _sign_all(ctx, status_n, seed=10, with_status=True)))
                status_commits: list[tuple[float, int]] = []
                t0 = time.perf_counter()
                with_status = import_jsonl(ctx, status_path, batch_size=batch_size, workers=workers,
                                           progress=lambda d, _t: status_commits.append((time.perf_counter(), d)))
                status_rate = status_n / (time.perf_counter() - t0)
                status_steady = _steady_rate(status_commits[1:-1])
                assert with_status.imported == status_n, with_status
                single_n = max(500, n // 5)
                single_path = tmp / "single.jsonl"
                single_path.write_text("".join(json.dumps({"credential": c}) + "\n"
                                               for c in _sign_all(ctx, single_n, seed=9)))
                t0 = time.perf_counter()
                single = import_jsonl(ctx, single_path, batch_size=batch_size, workers=1)
                one_process = single_n / (time.perf_counter() - t0)
                assert single.imported == single_n, single
                naive_set = _sign_all(ctx, max(200, n // 20), seed=8)
                raw = _raw_verify_rate(ctx, credentials)
                result.update({
                    "database": "postgresql" if postgres else "sqlite",
                    "import_batched_per_s": round(batched, 1),
                    "import_batched_steady_per_s": None if steady is None else round(steady, 1),
                    "first_batch_committed_s": round(commits[1][0] - started, 2) if len(commits) > 2 else None,
                    "cpu_us_per_licence": {k: round((cpu1[k] - cpu0[k]) * 1e6 / n, 1) for k in cpu0},
                    "import_with_status_entries_per_s": round(status_rate, 1),
                    "import_with_status_entries_steady_per_s": (None if status_steady is None
                                                                else round(status_steady, 1)),
                    "with_status_entries_sample": status_n,
                    "import_one_process_per_s": round(one_process, 1),
                    "one_process_sample": single_n,
                    "import_naive_per_s": round(_naive(ctx, naive_set), 1),
                    "naive_sample": len(naive_set),
                    "cryptography_es256_verify_per_s": round(raw, 1),
                    "cryptography_es256_verify_per_s_all_cpus": round(raw * workers, 1),
                })
                result["batched_vs_naive"] = round(batched / float(result["import_naive_per_s"]), 2)  # type: ignore[arg-type]
                result["batched_vs_raw_verify_all_cpus"] = round(batched / (raw * workers), 3)
            finally:
                ctx.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--licences", type=int, default=5000)
    parser.add_argument("--postgres", action="store_true", help="use the PostgreSQL test database")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch-size", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(run(args.licences, args.postgres, args.workers, args.batch_size)))


if __name__ == "__main__":
    main()
