"""Same verification results before and after a change to the verifier: build a corpus, dump the results.

``python -m bench.verify_equivalence corpus OUT.json`` writes a corpus (a signed trust list, a moment and a few
hundred credentials: valid licences of every type the fixtures can issue, partial disclosures, decoys, and
tampered, foreign, re-signed, schema-breaking, expired and malformed variants).
``python -m bench.verify_equivalence results CORPUS.json OUT.json`` verifies each credential twice (cold, then
warm where the verifier memoises) with whatever ``verifier`` package is on ``PYTHONPATH`` and writes every
result field. Run ``results`` with an old and a new tree and compare the two files (``cmp``).
"""

from __future__ import annotations

import base64
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


def corpus(out: Path) -> None:
    from issuers.demo import bulk_drafts
    from schemas.catalogue import load_catalogue
    from testkit.pki import SAMPLE_FIELDS, build_pki, issue_test_licence
    from verifier.sdjwt import select_disclosures

    rng = random.Random(1)
    pki = build_pki(departments=[(d.id, d.name, d.uscc) for d in load_catalogue().departments.values()])
    creds: list[str] = []
    for i, key in enumerate(sorted(SAMPLE_FIELDS)):
        creds.append(issue_test_licence(pki, key, serial=f"{2024000100 + i}", decoys=i % 3))
    base = issue_test_licence(pki, "resident_id_card")
    creds += [select_disclosures(base, keep) for keep in ([], ["name"], ["name", "id_number"], ["photo"])]
    creds += [
        issue_test_licence(pki, "resident_id_card", field_updates={"sex": "X"}),
        issue_test_licence(pki, "resident_id_card", field_updates={"birth_date": "1990-02-30"}),
        issue_test_licence(pki, "resident_id_card", field_updates={"id_number": "430102199003071235"}),
        issue_test_licence(pki, "resident_id_card", field_updates={"favourite_colour": "red"}),
        issue_test_licence(pki, "resident_id_card", now=pki.now - timedelta(days=4000),
                           valid_from=(pki.now - timedelta(days=4000)).date()),
        issue_test_licence(pki, "resident_id_card", now=pki.now + timedelta(hours=2)),
        issue_test_licence(pki, "business_licence", issuer_id="psb", signer_id="psb"),
    ]
    jws, *disclosures, _kb = base.split("~")
    other = issue_test_licence(pki, "resident_id_card", serial="2024000999")
    creds += [
        jws + "~" + "~".join([*disclosures[:-1], disclosures[-1][:-2] + "AA"]) + "~",
        jws + "~" + "~".join([*disclosures, other.split("~")[1]]) + "~",
        other.split("~")[0] + "~" + "~".join(disclosures) + "~",
        jws[:-4] + "AAAA~" + "~".join(disclosures) + "~",
        "", "garbage", "a.b.c~", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA~", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA~~",
    ]
    for d in list(bulk_drafts(300, seed=5)):
        fields = dict(d.fields)
        if rng.random() < 0.3 and fields:
            name = rng.choice(sorted(fields))
            fields[name] = rng.choice(["", "X" * 300, 7, None, "2024-13-01"])
        try:
            creds.append(issue_test_licence(pki, d.type_key, fields=fields, serial=d.serial,
                                            issuer_id=d.department_id))
        except (KeyError, ValueError, TypeError) as exc:
            print("skipped a draft:", type(exc).__name__, exc, file=sys.stderr)
    doc = {"trust": base64.b64encode(pki.trust_list.to_bytes()).decode(), "now": pki.now.isoformat(),
           "credentials": creds}
    out.write_text(json.dumps(doc, ensure_ascii=False))
    print(f"{len(creds)} credentials -> {out}")


def _plain(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def results(corpus_path: Path, out: Path) -> None:
    from verifier.licence import verify_licence
    from verifier.trust import TrustList

    doc = json.loads(corpus_path.read_text())
    now = datetime.fromisoformat(doc["now"])
    trust = TrustList.load(base64.b64decode(doc["trust"]), now=now)
    rows = []
    for cred in doc["credentials"]:
        for _ in range(2):  # cold, then warm
            r = verify_licence(cred, trust, now=now)
            rows.append(_plain({"valid": r.valid, "codes": r.codes, "verdict": r.verdict, "subject": r.subject,
                                "issuer": r.issuer, "details": r.details, "disclosed": r.disclosed,
                                "metadata": r.metadata}))
    out.write_text(json.dumps(rows, ensure_ascii=False, sort_keys=True, indent=1))
    codes: dict[str, int] = {}
    for row in rows[::2]:
        key = ",".join(row["codes"]) or "VALID"
        codes[key] = codes.get(key, 0) + 1
    print(json.dumps({"credentials": len(doc["credentials"]), "outcomes": codes}, ensure_ascii=False))


if __name__ == "__main__":
    if sys.argv[1:2] == ["corpus"]:
        corpus(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["results"]:
        results(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        raise SystemExit(__doc__)
