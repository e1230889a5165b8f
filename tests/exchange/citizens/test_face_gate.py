"""The face gate end to end, with real faces and the real dlib models, on SQLite and PostgreSQL.

Personas (issuers.demo): 0 = 李建华 with person A's photo (``skimage`` astronaut) on her ID card, 1 = 周雅琴
with person B's (Grace Hopper), 2 = 王𠇔 with a silhouette (no face on record).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from limits import parse_many

from exchange.citizens import face as face_service
from exchange.face.engine import FaceEngine
from exchange.models import FaceLockout
from schemas.identifiers import mask_citizen_id
from testkit import faces
from tests.exchange.counter.flow import bearer, usage
from tests.fixtures.exchange import ExchangeEnv
from tests.fixtures.metrics import face_outcomes

ASTRONAUT_PERSONA, HOPPER_PERSONA, SILHOUETTE_PERSONA = 0, 1, 2


@pytest.fixture(autouse=True)
def fresh_rate_limits(exchange: ExchangeEnv) -> Iterator[None]:
    """Each test starts with fresh rate-limit counters (they are tested in test_face_throttle.py)."""
    exchange.ctx.rate_limits = None
    yield


@functools.cache
def turn_jpegs(person: faces.Person, direction: faces.Direction) -> tuple[bytes, ...]:
    return tuple(faces.to_jpeg(f) for f in faces.head_turn_frames(person, direction))


def frames_for(person: faces.Person, action: str, *, opposite: bool = False) -> list[bytes]:
    left = action == "turn_left"
    return list(turn_jpegs(person, "right" if left == opposite else "left"))


def id_of(env: ExchangeEnv, index: int) -> str:
    return env.records.citizens[index].id_number


def challenge(env: ExchangeEnv, index: int) -> dict[str, Any]:
    resp = env.client.post("/api/v1/citizen/face/challenge", json={"id_number": id_of(env, index)})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    assert body["action"] in ("turn_left", "turn_right") and body["frames"] == 8 and body["interval_ms"] == 250
    return body


def login(env: ExchangeEnv, challenge_id: str, frames: list[bytes]) -> Any:
    files = [("frames", (f"f{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    return env.client.post("/api/v1/citizen/face/login", data={"challenge_id": challenge_id}, files=files)


def attempt(env: ExchangeEnv, index: int, person: faces.Person, **kw: Any) -> Any:
    ch = challenge(env, index)
    return login(env, ch["challenge_id"], frames_for(person, ch["action"], **kw))


def test_same_person_logs_in(exchange: ExchangeEnv) -> None:
    resp = attempt(exchange, ASTRONAUT_PERSONA, "astronaut")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    person = exchange.records.citizens[ASTRONAUT_PERSONA]
    assert body["holder"] == {"name_masked": person.name[0] + "*" * (len(person.name) - 1),
                              "id_masked": mask_citizen_id(person.id_number)}
    assert person.id_number not in resp.text
    token = body["token"]
    claims = exchange.ctx.tokens.decode("citizen", token)
    assert claims["amr"] == ["face"] and claims["typ"] == "citizen"
    assert person.id_number not in str(claims)
    assert exchange.client.get("/api/v1/citizen/licences", headers=bearer(token)).status_code == 200
    assert any(u["action"] == "face_login" and u["outcome"] == "ok" for u in usage(exchange, token))


def test_photo_on_record_matches_the_same_person_under_capture_changes(exchange: ExchangeEnv) -> None:
    engine = FaceEngine.shared()
    threshold = exchange.settings.face_threshold
    with exchange.session() as s:
        refs = {person: face_service.reference_of(exchange.ctx, s, exchange.ctx.protector.holder_hash(
            id_of(exchange, index))) for person, index in (("astronaut", 0), ("hopper", 1))}
    embeddings = {}
    for person, ref in refs.items():
        assert ref is not None and ref.photo is not None and ref.licence.type_key == "resident_id_card"
        embeddings[person] = engine.analyse(ref.photo).embedding
    for person in faces.PERSONS:
        other = "hopper" if person == "astronaut" else "astronaut"
        for name, variant in faces.variants(person).items():
            probe = engine.analyse(variant)
            assert engine.match(embeddings[person], probe, threshold).matched, (person, name)
            assert not engine.match(embeddings[other], probe, threshold).matched, (person, name)


def test_different_person_is_refused(exchange: ExchangeEnv) -> None:
    resp = attempt(exchange, HOPPER_PERSONA, "astronaut")
    assert resp.status_code == 401, resp.text
    body = resp.json()
    assert body["error"] == "FACE_MISMATCH"
    first_window = parse_many(exchange.settings.face_fail_throttle)[0].amount  # failures per (ID, address)
    assert body["detail"]["message_zh"] and body["detail"]["attempts_left"] == first_window - 1
    with exchange.session() as s:
        hid = exchange.ctx.protector.holder_hash(id_of(exchange, HOPPER_PERSONA))
        row = s.get(FaceLockout, hid)
        assert row is not None and row.failures == 1
    ok = attempt(exchange, HOPPER_PERSONA, "hopper")
    assert ok.status_code == 200, ok.text
    with exchange.session() as s:
        assert s.get(FaceLockout, hid) is None  # a success clears the count
    log = usage(exchange, ok.json()["token"])
    failed = [u for u in log if u["action"] == "face_login_failed"]
    assert failed and failed[-1]["subject"]["reason"] == "FACE_MISMATCH"


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        (lambda: [faces.to_jpeg(faces.no_face_photo())] * 4, "NO_FACE"),
        (lambda: [faces.two_faces_jpeg()] * 4, "MULTIPLE_FACES"),
        (lambda: [b"\xff\xd8\xff not really a jpeg"] * 4, "BAD_IMAGE"),
        (lambda: [faces.to_jpeg(faces.face_crop("astronaut", 2.4, 150))] * 4, "LOW_QUALITY"),
    ],
    ids=["no-face", "two-faces", "not-an-image", "face-too-small"],
)
def test_unusable_frames_get_a_clear_error(exchange: ExchangeEnv, frames: Any, code: str) -> None:
    ch = challenge(exchange, ASTRONAUT_PERSONA)
    resp = login(exchange, ch["challenge_id"], frames())
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["error"] == code
    assert body["detail"]["message"] and body["detail"]["message_zh"]
    if code == "NO_FACE":
        assert "No face" in body["detail"]["message"] and "未检测到人脸" in body["detail"]["message_zh"]
    with exchange.session() as s:  # not counted toward the lockout: no face was compared
        hid = exchange.ctx.protector.holder_hash(id_of(exchange, ASTRONAUT_PERSONA))
        row = s.get(FaceLockout, hid)
        assert row is None or row.failures == 0


def test_still_image_and_wrong_direction_fail_liveness(exchange: ExchangeEnv) -> None:
    still = [faces.to_jpeg(f) for f in faces.still_frames("astronaut", jitter=True)]
    ch = challenge(exchange, ASTRONAUT_PERSONA)
    resp = login(exchange, ch["challenge_id"], still)
    assert resp.status_code == 401 and resp.json()["error"] == "LIVENESS_FAILED"
    assert resp.json()["detail"]["reason"] == "STILL_IMAGE"
    resp = attempt(exchange, ASTRONAUT_PERSONA, "astronaut", opposite=True)
    assert resp.status_code == 401 and resp.json()["error"] == "LIVENESS_FAILED"
    assert resp.json()["detail"]["reason"] == "WRONG_DIRECTION"
    ok = attempt(exchange, ASTRONAUT_PERSONA, "astronaut")
    assert ok.status_code == 200
    reasons = [u["subject"]["reason"] for u in usage(exchange, ok.json()["token"])
               if u["action"] == "face_login_failed"]
    assert "LIVENESS_FAILED" in reasons


def test_challenge_is_single_use_and_checked(exchange: ExchangeEnv) -> None:
    ch = challenge(exchange, ASTRONAUT_PERSONA)
    frames = frames_for("astronaut", ch["action"])
    assert login(exchange, ch["challenge_id"], frames).status_code == 200
    again = login(exchange, ch["challenge_id"], frames)
    assert again.status_code == 401 and again.json()["error"] == "CHALLENGE_USED"
    bad = login(exchange, ch["challenge_id"][:-3] + "AAA", frames)
    assert bad.status_code == 401 and bad.json()["error"] == "CHALLENGE_INVALID"
    token = exchange.ctx.tokens.encode("citizen", {"hid": "0" * 64, "act": "turn_left"}, 60)
    assert login(exchange, token, frames).json()["error"] == "CHALLENGE_INVALID"
    ch = challenge(exchange, ASTRONAUT_PERSONA)
    few = login(exchange, ch["challenge_id"], frames[:2])
    assert few.status_code == 422 and few.json()["error"] == "BAD_FRAME_COUNT"
    many = login(exchange, ch["challenge_id"], frames + frames)
    assert many.status_code == 422 and many.json()["error"] == "BAD_FRAME_COUNT"
    # refusals before use did not spend the challenge
    assert login(exchange, ch["challenge_id"], frames_for("astronaut", ch["action"])).status_code == 200
    number = id_of(exchange, ASTRONAUT_PERSONA)
    bad_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    resp = exchange.client.post("/api/v1/citizen/face/challenge", json={"id_number": bad_check})
    assert resp.status_code == 422 and resp.json()["error"] == "BAD_CHECK_DIGIT"
    resp = exchange.client.post("/api/v1/citizen/face/challenge", json={"id_number": "1234"})
    assert resp.status_code == 422



def test_face_metric_counts_the_gates_own_outcomes(exchange: ExchangeEnv) -> None:
    """``licex_face_outcomes_total{mode="local"}`` is labelled by what the gate decided, not the HTTP status
    (no_match and liveness_failed are both 401; unusable frames and a bad check digit both 422)."""
    before = face_outcomes(exchange.client)
    assert attempt(exchange, ASTRONAUT_PERSONA, "astronaut").status_code == 200
    assert attempt(exchange, HOPPER_PERSONA, "astronaut").json()["error"] == "FACE_MISMATCH"
    assert attempt(exchange, ASTRONAUT_PERSONA, "astronaut", opposite=True).json()["error"] == "LIVENESS_FAILED"
    ch = challenge(exchange, ASTRONAUT_PERSONA)
    assert login(exchange, ch["challenge_id"], [faces.to_jpeg(faces.no_face_photo())] * 4).status_code == 422
    assert login(exchange, ch["challenge_id"] + "x", frames_for("astronaut", ch["action"])).status_code == 401
    number = id_of(exchange, ASTRONAUT_PERSONA)
    bad_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert exchange.client.post("/api/v1/citizen/face/challenge", json={"id_number": bad_check}).status_code == 422
    after = face_outcomes(exchange.client)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert {k: v for k, v in delta.items() if v} == {
        "match": 1, "no_match": 1, "liveness_failed": 1, "unusable_frames": 1, "challenge_invalid": 1,
        "invalid_request": 1}
    assert not any(label.isdigit() or len(label) > 20 for label in after)  # bounded labels, never an ID number
