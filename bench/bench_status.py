"""IETF Token Status Lists: build cost and compressed size at 1 Mi and 24 M entries, and what a status check adds
to ``verify_licence``.

Run: ``.venv/bin/python -m bench.bench_status [--sizes 1048576,24000000] [--revoked 0.01] [--seconds S]``.
Prints one JSON object:

* ``lists[]``: per size, ``entries``, ``raw_bytes`` (2 bits each), the share of entries set non-valid (random
  indices, a mix of revoked and suspended), ``set_s`` (setting them), ``encode_s`` (zlib + base64url),
  ``lst_bytes`` (the ``lst`` string; zlib level 6, the default; ``*_level9`` beside it),
  ``token_sign_s`` / ``token_bytes`` (the signed statuslist+jwt) and
  ``decode_verify_s`` (a verifier parsing and verifying that token against the trust list);
* ``verify``: ``verify_licence`` per second without a status step (``require_status=False``, the baseline:
  the same call a competent first version makes) and with the status step reading a cached, already verified
  list (``StatusListClient`` within its ttl), interleaved; the status step's cost in microseconds both from
  their difference (noisy on a shared machine) and measured directly (``check_status`` alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

from schemas.catalogue import load_catalogue
from testkit.pki import build_pki, issue_test_licence
from verifier.licence import verify_licence
from verifier.status_check import check_status
from verifier.status_list import StatusList, StatusListClient, encode_status_list_token, parse_status_list_token

URI = "https://licex.example/api/v1/status-lists/0123456789abcdef"


def _rate(fn: Callable[[int], object], n: int, seconds: float) -> float:
    done, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for i in range(n):
            fn(i)
        done += n
    return done / (time.perf_counter() - start)


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _list_numbers(size: int, share: float, pki: object) -> dict[str, object]:
    rng = random.Random(size)
    lst = StatusList(size, 2)
    marks = rng.sample(range(size), int(size * share))
    set_s, _ = _timed(lambda: [lst.set(i, 1 if k % 4 else 2) for k, i in enumerate(marks)])
    encode_s, lst_text = _timed(lst.encode)
    encode9_s, lst9_text = _timed(lambda: lst.encode(9))
    sign_s, token = _timed(lambda: encode_status_list_token(
        uri=URI, status_list=lst, key=pki.exchange_key, cert=pki.exchange_cert,  # type: ignore[attr-defined]
        issued_at=pki.now, expires_at=pki.now + timedelta(days=1), ttl=300))  # type: ignore[attr-defined]
    parse_s, parsed = _timed(lambda: parse_status_list_token(
        str(token), pki.trust_list, uri=URI, now=pki.now))  # type: ignore[attr-defined]
    assert parsed.status(marks[0]) in (1, 2)  # type: ignore[attr-defined]
    return {
        "entries": size, "raw_bytes": len(lst.data), "non_valid_share": share, "non_valid": len(marks),
        "set_s": round(set_s, 3), "encode_s": round(encode_s, 3), "lst_bytes": len(str(lst_text)),
        "compression_ratio": round(len(lst.data) / len(str(lst_text)), 2),
        "encode_level9_s": round(encode9_s, 3), "lst_level9_bytes": len(str(lst9_text)),
        "token_sign_s": round(sign_s, 3), "token_bytes": len(str(token)), "decode_verify_s": round(parse_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default=f"{1 << 20},24000000")
    parser.add_argument("--revoked", type=float, default=0.01, help="share of entries not valid")
    parser.add_argument("--licences", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement (split over the rounds)")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds of with / without status")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    pki = build_pki()
    lists = [_list_numbers(int(s), args.revoked, pki) for s in args.sizes.split(",")]

    catalogue = load_catalogue()
    status = StatusList(1 << 20, 2)
    licences = [
        issue_test_licence(pki, "resident_id_card", serial=f"{2024000000 + i}", now=pki.now - timedelta(minutes=1),
                           status_list=(i * 7919 % (1 << 20), URI))
        for i in range(args.licences)
    ]
    token = encode_status_list_token(uri=URI, status_list=status, key=pki.exchange_key, cert=pki.exchange_cert,
                                     issued_at=pki.now, expires_at=pki.now + timedelta(days=1), ttl=300)
    client = StatusListClient(pki.trust_list, fetch=lambda _uri: token, clock=lambda: pki.now)
    trust, now, n = pki.trust_list, pki.now, len(licences)
    assert all(verify_licence(s, trust, now=now, catalogue=catalogue, status=client).valid for s in licences)
    assert client.fetches == 1

    # interleaved rounds (the machine is shared): the median of each, measured side by side
    rounds = max(3, int(args.rounds))
    without_runs, with_runs = [], []
    for _ in range(rounds):
        without_runs.append(_rate(lambda i: verify_licence(licences[i], trust, now=now, catalogue=catalogue,
                                                           require_status=False), n, args.seconds / rounds))
        with_runs.append(_rate(lambda i: verify_licence(licences[i], trust, now=now, catalogue=catalogue,
                                                        status=client), n, args.seconds / rounds))
    without, with_status = statistics.median(without_runs), statistics.median(with_runs)
    lookup = _rate(lambda i: client.lookup(URI, i), n, args.seconds)
    claims = [{"status_list": {"idx": i * 7919 % (1 << 20), "uri": URI}} for i in range(n)]
    step = _rate(lambda i: check_status(claims[i], "x", client), n, args.seconds)
    result = {
        "python": platform.python_version(), "machine": platform.machine(), "cpus": 1,
        "lists": lists,
        "verify": {
            "licences": n, "seconds_per_measurement": args.seconds, "interleaved_rounds": rounds,
            "verify_licence_no_status_per_s": round(without),
            "verify_licence_with_cached_status_list_per_s": round(with_status),
            "status_step_us_from_difference": round((1 / with_status - 1 / without) * 1e6, 1),
            "status_step_us_direct": round(1e6 / step, 1),
            "cached_lookup_per_s": round(lookup),
            "list_fetches": client.fetches,
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
