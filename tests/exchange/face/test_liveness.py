from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from exchange.face.engine import FaceAnalysis, FaceEngine
from exchange.face.liveness import (
    Challenge,
    LivenessCode,
    LivenessConfig,
    check_liveness,
    estimate_yaw,
)
from testkit import faces

TurnAnalyses = Callable[[str, str], list[FaceAnalysis | None]]
ASKED = {"left": Challenge.TURN_LEFT, "right": Challenge.TURN_RIGHT}
OPPOSITE = {"left": Challenge.TURN_RIGHT, "right": Challenge.TURN_LEFT}


@pytest.mark.parametrize("direction", ["left", "right"])
@pytest.mark.parametrize("person", faces.PERSONS)
def test_synthetic_turn_passes_the_asked_challenge(
    turn_analyses: TurnAnalyses, person: str, direction: str
) -> None:
    analyses = turn_analyses(person, direction)
    assert all(a is not None for a in analyses)
    result = check_liveness(analyses, ASKED[direction])
    print(f"{person:9s} {direction:5s} yaw", " ".join(f"{y:+.3f}" for y in result.yaw_series))
    assert result.passed, result
    assert result.code is LivenessCode.PASSED
    assert result.frontal_index == 0
    assert len(result.yaw_series) == len(analyses)


@pytest.mark.parametrize("direction", ["left", "right"])
@pytest.mark.parametrize("person", faces.PERSONS)
def test_synthetic_turn_fails_the_opposite_challenge(
    turn_analyses: TurnAnalyses, person: str, direction: str
) -> None:
    result = check_liveness(turn_analyses(person, direction), OPPOSITE[direction])
    assert not result.passed
    assert result.code is LivenessCode.WRONG_DIRECTION
    assert result.reason and result.reason_zh


@pytest.mark.parametrize("person", faces.PERSONS)
def test_yaw_sign_follows_the_convention(turn_analyses: TurnAnalyses, person: str) -> None:
    left = [estimate_yaw(a.landmarks68) for a in turn_analyses(person, "left") if a]
    right = [estimate_yaw(a.landmarks68) for a in turn_analyses(person, "right") if a]
    assert abs(left[0]) < 0.1 and abs(right[0]) < 0.1  # frontal start
    assert left[-1] - left[0] > 0.12  # citizen's own left = nose toward image +x = yaw up
    assert right[-1] - right[0] < -0.12


@pytest.mark.parametrize("jitter", [False, True], ids=["identical", "shaken"])
@pytest.mark.parametrize("person", faces.PERSONS)
def test_still_image_fails(engine: FaceEngine, person: str, jitter: bool) -> None:
    analyses = engine.analyse_frames(faces.still_frames(person, 8, jitter=jitter))  # type: ignore[arg-type]
    for challenge in Challenge:
        result = check_liveness(analyses, challenge)
        assert result.code is LivenessCode.STILL_IMAGE, (challenge, result.yaw_series)
        assert not result.passed


def test_identity_swap_mid_sequence_fails(turn_analyses: TurnAnalyses) -> None:
    first = turn_analyses("astronaut", "left")
    second = turn_analyses("hopper", "left")
    swapped = first[:4] + second[4:]
    result = check_liveness(swapped, Challenge.TURN_LEFT)
    assert result.code is LivenessCode.IDENTITY_CHANGED
    assert not result.passed


def test_identity_swap_is_caught_by_continuity_even_with_a_lax_identity_threshold(
    turn_analyses: TurnAnalyses,
) -> None:
    swapped = turn_analyses("hopper", "right")[:4] + turn_analyses("astronaut", "right")[4:]
    lax = LivenessConfig(identity_threshold=10.0)
    assert check_liveness(swapped, Challenge.TURN_RIGHT, lax).code is LivenessCode.IDENTITY_CHANGED


def test_too_few_frames(turn_analyses: TurnAnalyses) -> None:
    analyses = turn_analyses("astronaut", "left")
    assert check_liveness(analyses[:2], Challenge.TURN_LEFT).code is LivenessCode.TOO_FEW_FRAMES
    assert check_liveness([], Challenge.TURN_LEFT).code is LivenessCode.TOO_FEW_FRAMES
    only_two = [analyses[0], None, None, analyses[-1], None]
    result = check_liveness(only_two, Challenge.TURN_LEFT)
    assert result.code is LivenessCode.TOO_FEW_FRAMES
    assert result.frontal_index == 0


def test_frames_without_a_face_are_skipped(turn_analyses: TurnAnalyses) -> None:
    analyses = turn_analyses("hopper", "left")
    gappy: list[FaceAnalysis | None] = [None]
    for a in analyses:
        gappy += [a, None]
    result = check_liveness(gappy, Challenge.TURN_LEFT)
    assert result.passed
    assert result.frontal_index == 1


def test_starting_turned_is_not_frontal(turn_analyses: TurnAnalyses) -> None:
    backwards = list(reversed(turn_analyses("astronaut", "left")))
    assert check_liveness(backwards, Challenge.TURN_RIGHT).code is LivenessCode.NOT_FRONTAL


def test_small_turn_is_insufficient(turn_analyses: TurnAnalyses) -> None:
    analyses = turn_analyses("astronaut", "left")
    demanding = LivenessConfig(min_turn=0.6)
    assert check_liveness(analyses, Challenge.TURN_LEFT, demanding).code is LivenessCode.INSUFFICIENT_TURN


def test_back_and_forth_is_erratic(turn_analyses: TurnAnalyses) -> None:
    left = turn_analyses("astronaut", "left")
    right = turn_analyses("astronaut", "right")
    # frontal, a short turn the wrong way and back, then the asked turn
    wobble = [left[0], left[1], right[5], right[6], right[5], left[2], left[4], left[5], left[6], left[7]]
    result = check_liveness(wobble, Challenge.TURN_LEFT)
    assert result.code is LivenessCode.ERRATIC_MOTION, result.yaw_series


def test_mirrored_frames_turn_the_other_way(engine: FaceEngine) -> None:
    frames = faces.head_turn_frames("astronaut", "left")
    mirrored = [np.ascontiguousarray(f[:, ::-1]) for f in frames]
    analyses = engine.analyse_frames(mirrored)
    assert check_liveness(analyses, Challenge.TURN_LEFT).code is LivenessCode.WRONG_DIRECTION
    assert check_liveness(analyses, Challenge.TURN_RIGHT).passed


def test_estimate_yaw_ignores_roll_scale_and_shift(references: dict[str, FaceAnalysis]) -> None:
    pts = references["hopper"].landmarks68
    base = estimate_yaw(pts)
    angle = np.deg2rad(25)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = (pts - pts.mean(0)) @ rot.T * 1.7 + np.array([40.0, -13.0])
    assert estimate_yaw(moved) == pytest.approx(base, abs=1e-9)


def test_estimate_yaw_flips_sign_with_a_mirror(references: dict[str, FaceAnalysis]) -> None:
    pts = references["astronaut"].landmarks68.copy()
    pts[30, 0] += 15.0  # push the nose toward image +x
    mirrored = pts.copy()
    mirrored[:, 0] = -mirrored[:, 0]
    # a mirror also swaps the left/right landmark numbering; the nose tip (30) stays itself
    swap = list(range(16, -1, -1)) + list(range(17, 68))
    swap[36], swap[45] = 45, 36
    assert estimate_yaw(pts) > 0
    assert estimate_yaw(mirrored[swap]) == pytest.approx(-estimate_yaw(pts), abs=1e-9)


def test_estimate_yaw_checks_shape() -> None:
    with pytest.raises(ValueError):
        estimate_yaw(np.zeros((5, 2)))
