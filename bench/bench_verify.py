"""Offline licence verification throughput on one core, next to the raw ES256 verify rate.

Run: ``.venv/bin/python -m bench.bench_verify [--licences N] [--seconds S]``. Prints one JSON object:
``verify_licence_per_s`` (full check: parse, trust lookup, signature, chain, disclosures, schema),
``verify_licence_no_schema_per_s``, ``cryptography_es256_verify_per_s`` (bare ECDSA P-256 verify of the same
signing inputs) and ``pyjwt_decode_per_s`` (PyJWT decode of the issuer-signed JWS, ES256 pinned).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import timedelta

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from schemas.canonical import b64u_decode
from schemas.catalogue import load_catalogue
from testkit.pki import build_pki, issue_test_licence
from verifier.licence import verify_licence


def _rate(fn: Callable[[int], object], n: int, seconds: float) -> float:
    """Calls per second of ``fn(i)`` cycling over ``n`` inputs for about ``seconds``."""
    done, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for i in range(n):
            fn(i)
        done += n
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--licences", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    pki = build_pki()
    catalogue = load_catalogue()
    licences = [
        issue_test_licence(
            pki,
            "resident_id_card" if i % 2 else "business_licence",
            serial=f"{2024000000 + i}",
            now=pki.now - timedelta(minutes=1),
        )
        for i in range(args.licences)
    ]
    trust, now = pki.trust_list, pki.now
    assert all(verify_licence(s, trust, now=now, catalogue=catalogue).valid for s in licences)

    jws = [s.split("~", 1)[0] for s in licences]
    parts = [j.split(".") for j in jws]
    inputs = [f"{h}.{p}".encode() for h, p, _ in parts]
    sigs = []
    for _h, _p, s in parts:
        raw = b64u_decode(s)
        sigs.append(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")))
    keys = {d.id: d.licence_cert.public_key() for d in pki.departments.values()}
    key_for = [keys["psb"] if i % 2 else keys["amr"] for i in range(len(licences))]
    pems = {
        k: v.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        for k, v in keys.items()
    }
    pem_for = [pems["psb"] if i % 2 else pems["amr"] for i in range(len(licences))]
    ecdsa = ec.ECDSA(hashes.SHA256())

    def raw_verify(i: int) -> None:
        key = key_for[i]
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(sigs[i], inputs[i], ecdsa)

    def pyjwt_decode(i: int) -> None:
        pyjwt.decode(
            jws[i], pem_for[i], algorithms=["ES256"], options={"verify_exp": False, "verify_nbf": False}
        )

    n = len(licences)
    result = {
        "licences": n,
        "seconds_per_measurement": args.seconds,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "verify_licence_per_s": round(
            _rate(lambda i: verify_licence(licences[i], trust, now=now, catalogue=catalogue), n, args.seconds)
        ),
        "verify_licence_no_schema_per_s": round(
            _rate(lambda i: verify_licence(licences[i], trust, now=now, check_schema=False), n, args.seconds)
        ),
        "cryptography_es256_verify_per_s": round(_rate(raw_verify, n, args.seconds)),
        "pyjwt_decode_per_s": round(_rate(pyjwt_decode, n, args.seconds)),
        "mean_licence_bytes": round(sum(map(len, licences)) / n),
    }
    result["verify_licence_vs_raw_es256"] = round(
        result["verify_licence_per_s"] / result["cryptography_es256_verify_per_s"], 3
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
