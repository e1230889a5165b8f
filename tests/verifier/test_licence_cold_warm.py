"""Every verify_licence case gives the same result cold (all memos empty) and warm (memoised parse, header,
certificate and chain check), and the compiled schema check never accepts what jsonschema rejects (it may
send a valid instance such as an integer written 7.0 to jsonschema: then jsonschema decides).

The cases of ``test_licence.py`` are re-run here with ``verify_licence`` replaced by a wrapper that verifies
each input cold, then twice warm, then once more without keeping its parse (``memoise=False``), and compares
the four results field by field before handing the cold one to the test's own assertions.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import verifier.licence as licence_module
from schemas.catalogue import load_catalogue
from schemas.fastcheck import compile_fast_check
from tests.verifier import test_licence as base
from tests.verifier.test_licence import *  # noqa: F403  (re-collect every case of test_licence.py here)
from verifier.result import LicenceVerification

_real_verify = licence_module.verify_licence
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "sdjwt"


def _snapshot(result: LicenceVerification) -> dict[str, Any]:
    return {
        "valid": result.valid,
        "codes": result.codes,
        "verdict": result.verdict,
        "subject": result.subject,
        "issuer": result.issuer,
        "details": dict(result.details),
        "disclosed": dict(result.disclosed),
        "metadata": dict(result.metadata),
    }


def _cold_then_warm(sd_jwt: str, trust: Any, **kwargs: Any) -> LicenceVerification:
    status = kwargs.get("status")
    answers: list[tuple[str, Any]] = []
    if status is not None:  # the status source is asked once (cold); warm runs get its recorded answers

        def recording(licence_id: str) -> Any:
            try:
                answer = status(licence_id)
            except Exception as exc:
                answers.append(("raise", exc))
                raise
            answers.append(("return", answer))
            return answer

        kwargs["status"] = recording
    licence_module.clear_caches()
    cold = _real_verify(sd_jwt, trust, **kwargs)
    if status is not None:

        def replay(_licence_id: str) -> Any:
            kind, value = answers[0]
            if kind == "raise":
                raise value
            return value

        kwargs["status"] = replay
    warm = [_real_verify(sd_jwt, trust, **kwargs) for _ in range(2)]
    for again in warm:
        assert _snapshot(again) == _snapshot(cold)
    if isinstance(sd_jwt, str):  # memoise=False: the same result, and nothing kept for this credential
        licence_module.forget(sd_jwt)
        unkept = _real_verify(sd_jwt, trust, **{**kwargs, "memoise": False})
        assert _snapshot(unkept) == _snapshot(cold)
        assert sd_jwt not in licence_module._MEMO
    return cold


@pytest.fixture(autouse=True)
def _compare_cold_and_warm(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(base, "verify_licence", _cold_then_warm)
    yield
    licence_module.clear_caches()


def test_the_wrapper_is_in_place() -> None:
    assert vars(base)["verify_licence"] is _cold_then_warm


def test_fast_schema_check_covers_every_licence_type() -> None:
    catalogue = load_catalogue()
    for lt in catalogue.licence_types.values():
        assert compile_fast_check(lt.fields) is not None, lt.code


def _mutations(value: Any, rng: random.Random) -> Iterator[Any]:
    yield None
    yield 7
    yield 7.0
    yield True
    yield ["x"]
    yield {"a": 1}
    if isinstance(value, str):
        yield ""
        yield value + "X"
        yield value * 40
        yield value[:-1]
        yield value.upper()
        yield " " + value
        yield "".join(rng.sample(value, len(value)))
        yield "2024-02-30"
        yield "2024-02-29"
    if isinstance(value, int):
        yield value + 1
        yield -1
        yield 10**9


def test_fast_schema_check_agrees_with_jsonschema() -> None:
    """For each licence type's samples and their mutations: fast accepts only what jsonschema accepts, and it
    accepts the samples (so real licences take the fast path)."""
    from issuers.demo import bulk_drafts
    from testkit.pki import SAMPLE_FIELDS

    drafts = list(bulk_drafts(400, seed=3))
    rng = random.Random(11)
    catalogue = load_catalogue()
    checked = accepted = 0
    for lt in catalogue.licence_types.values():
        fast = compile_fast_check(lt.fields)
        assert fast is not None
        slow = Draft202012Validator(lt.fields, format_checker=Draft202012Validator.FORMAT_CHECKER)
        samples = [dict(d.fields) for d in drafts if d.type_key == lt.key][:3]
        if lt.key in SAMPLE_FIELDS:
            samples.append(dict(SAMPLE_FIELDS[lt.key]))
        instances: list[dict[str, Any]] = [{}]
        for sample in samples:
            instances.append(sample)
            for name, value in sample.items():
                for mutated in _mutations(value, rng):
                    instances.append({**sample, name: mutated})
                instances.append({k: v for k, v in sample.items() if k != name})
            instances.append({**sample, "unknown_field": "x"})
        for sample in samples:
            assert fast(sample) and slow.is_valid(sample), lt.key  # the fast path is taken for real licences
        for instance in instances:
            slow_ok = slow.is_valid(instance)
            fast_ok = fast(instance)
            assert slow_ok or not fast_ok, (lt.key, json.dumps(instance, ensure_ascii=False)[:200])
            checked += 1
            accepted += fast_ok
    assert checked > 1000 and accepted > 30, (checked, accepted)
