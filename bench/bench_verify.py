"""Offline licence verification throughput on one core, next to the raw ES256 verify rate.

Run: ``.venv/bin/python -m bench.bench_verify [--licences N] [--seconds S]``. Prints one JSON object:
``verify_licence_per_s`` (full check: parse, trust lookup, signature, chain, disclosures, schema),
``verify_licence_no_schema_per_s``, ``cryptography_es256_verify_per_s`` (bare ECDSA P-256 verify of the same
signing inputs) and ``pyjwt_decode_per_s`` (PyJWT decode of the issuer-signed JWS, ES256 pinned).

``verify_licence_per_s`` is warm: the same credentials come round again (as stored licences do in counter
pulls), so their parse is memoised; the signature, chain, revocation, times and authorisation are checked on
every call. ``verify_licence_cold_per_s`` forgets each credential's parse first (what a bulk import of new
licences sees). All rates are measured interleaved in the same process.
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
from verifier.licence import forget, verify_licence


def _rates(fns: dict[str, Callable[[int], object]], n: int, seconds: float, chunk: int
           ) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Calls per second of each ``fn(i)`` cycling over ``n`` inputs, about ``seconds`` each, and the seconds
    each function spent on every round.

    The machine is shared, so the measurements are interleaved in short rounds (``chunk`` inputs per function
    per round): a burst of load from elsewhere then slows all of them alike, and ratios are taken per round.
    """
    done = dict.fromkeys(fns, 0)
    spent = dict.fromkeys(fns, 0.0)
    rounds: dict[str, list[float]] = {name: [] for name in fns}
    deadline = time.perf_counter() + seconds * len(fns)
    offset = 0
    while time.perf_counter() < deadline:
        items = [(offset + k) % n for k in range(chunk)]
        offset += chunk
        for name, fn in fns.items():
            start = time.perf_counter()
            for i in items:
                fn(i)
            took = time.perf_counter() - start
            spent[name] += took
            rounds[name].append(took)
            done[name] += chunk
    return {name: done[name] / spent[name] for name in fns}, rounds


def _best_ratio(rounds: dict[str, list[float]], fast: str, slow: str) -> float:
    """(fastest round of ``fast``) / (fastest round of ``slow``): each function's own cost when nothing else
    interrupted it (the ``timeit`` convention), so the ratio survives a machine shared with other work."""
    return round(min(rounds[fast]) / min(rounds[slow]), 3)


def _total_ratio(rates: dict[str, float], fast: str, slow: str) -> float:
    return round(rates[slow] / rates[fast], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--licences", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    parser.add_argument("--chunk", type=int, default=20, help="inputs per function per interleaved round")
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

    def cold(i: int) -> None:
        forget(licences[i])  # this credential's parse is forgotten; certificate and header memos stay
        verify_licence(licences[i], trust, now=now, catalogue=catalogue)

    rates, rounds = _rates({
        "verify_licence_per_s": lambda i: verify_licence(licences[i], trust, now=now, catalogue=catalogue),
        "verify_licence_cold_per_s": cold,
        "verify_licence_no_schema_per_s": lambda i: verify_licence(licences[i], trust, now=now,
                                                                   check_schema=False),
        "cryptography_es256_verify_per_s": raw_verify,
        "pyjwt_decode_per_s": pyjwt_decode,
    }, n, args.seconds, args.chunk)
    result: dict[str, object] = {
        "licences": n,
        "seconds_per_measurement": args.seconds,
        "interleaved": True,
        "python": platform.python_version(),
        "machine": platform.machine(),
        **{k: round(v) for k, v in rates.items()},
        "mean_licence_bytes": round(sum(map(len, licences)) / n),
        "rounds": len(rounds["verify_licence_per_s"]),
        "best_round_per_s": {k: round(args.chunk / min(v)) for k, v in rounds.items()},
        "verify_licence_vs_raw_es256": _best_ratio(rounds, "cryptography_es256_verify_per_s",
                                                   "verify_licence_per_s"),
        "verify_licence_cold_vs_raw_es256": _best_ratio(rounds, "cryptography_es256_verify_per_s",
                                                        "verify_licence_cold_per_s"),
        "verify_licence_no_schema_vs_raw_es256": _best_ratio(rounds, "cryptography_es256_verify_per_s",
                                                             "verify_licence_no_schema_per_s"),
        "verify_licence_vs_pyjwt_decode": _best_ratio(rounds, "pyjwt_decode_per_s", "verify_licence_per_s"),
        "ratios": "fastest interleaved round of each (its own cost without interference from other processes)",
        "ratios_by_totals": {
            "verify_licence_vs_raw_es256": _total_ratio(rates, "cryptography_es256_verify_per_s",
                                                        "verify_licence_per_s"),
            "verify_licence_cold_vs_raw_es256": _total_ratio(rates, "cryptography_es256_verify_per_s",
                                                             "verify_licence_cold_per_s"),
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
