"""The synthetic test faces are what the other face tests (and the browser test's fake camera) rely on."""

from __future__ import annotations

import numpy as np
import pytest

from exchange.face.engine import FaceAnalysis, FaceEngine
from testkit import faces


@pytest.mark.parametrize("person", faces.PERSONS)
def test_face_box_constant_matches_the_detector(engine: FaceEngine, person: str) -> None:
    found = engine.detect(faces.photo(person), upsample=0)  # type: ignore[arg-type]
    box = found[0][0]
    assert (box.left, box.top, box.right, box.bottom) == faces.FACE_BOX[person]  # type: ignore[index]


@pytest.mark.parametrize("person", faces.PERSONS)
def test_head_turn_frames_are_fixed_size_rgb_with_frontal_start(person: str) -> None:
    frames = faces.head_turn_frames(person, "left", n=8)  # type: ignore[arg-type]
    assert len(frames) == 8
    assert all(f.shape == (480, 640, 3) and f.dtype == np.uint8 for f in frames)
    assert np.array_equal(frames[0], frames[2])  # three frontal frames first
    assert not np.array_equal(frames[2], frames[3])
    assert not np.array_equal(frames[3], frames[-1])


@pytest.mark.parametrize("person", faces.PERSONS)
def test_turn_frames_still_match_the_reference(
    turn_analyses: object, references: dict[str, FaceAnalysis], person: str
) -> None:
    for direction in ("left", "right"):
        analyses = turn_analyses(person, direction)  # type: ignore[operator]
        distances = [FaceEngine.distance(references[person], a) for a in analyses]
        print(person, direction, "distance to reference", " ".join(f"{d:.3f}" for d in distances))
        assert max(distances) < 0.6


def test_still_frames() -> None:
    exact = faces.still_frames("hopper", 4)
    assert len(exact) == 4 and all(np.array_equal(exact[0], f) for f in exact)
    shaken = faces.still_frames("hopper", 4, jitter=True)
    assert not np.array_equal(shaken[0], shaken[1])
    assert shaken[0].shape == (480, 640, 3)
