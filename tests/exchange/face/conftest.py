"""Shared, session-scoped face fixtures: the models load once and each synthetic sequence is analysed once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from exchange.face.engine import FaceAnalysis, FaceEngine
from testkit import faces


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine.shared()


@pytest.fixture(scope="session")
def references(engine: FaceEngine) -> dict[str, FaceAnalysis]:
    return {person: engine.analyse(faces.reference_jpeg(person)) for person in faces.PERSONS}


@pytest.fixture(scope="session")
def turn_analyses(engine: FaceEngine) -> Callable[[str, str], list[FaceAnalysis | None]]:
    cache: dict[tuple[str, str], list[FaceAnalysis | None]] = {}

    def get(person: str, direction: str) -> list[FaceAnalysis | None]:
        key = (person, direction)
        if key not in cache:
            frames = faces.head_turn_frames(person, direction)  # type: ignore[arg-type]
            cache[key] = engine.analyse_frames(frames)
        return cache[key]

    return get
