"""Head-turn liveness challenge: did the face in these frames turn the way we asked?

The page asks for a random :class:`Challenge` (turn to your left or to your right), captures several frames
with ``getUserMedia`` and posts them; the server analyses each frame (:meth:`FaceEngine.analyse_frames`) and
calls :func:`check_liveness`. A still photo held up to the camera, or a replayed still image, shows no yaw
change and fails with ``STILL_IMAGE``.

Direction convention
    Frames are **un-mirrored**: what the camera sees, like a photo of the citizen. (Front-camera previews are
    usually shown mirrored via CSS; the page must send the frames as captured — ``drawImage`` of the video
    track onto a canvas, without a flipping transform.) In an un-mirrored frame the citizen's own left is on
    the image right. :func:`estimate_yaw` is positive when the nose points toward image +x, so ``TURN_LEFT``
    (the citizen turns to their own left) makes the yaw *increase* and ``TURN_RIGHT`` makes it *decrease*. A
    page that sent mirrored frames would see every challenge fail with ``WRONG_DIRECTION``.

Yaw proxy
    The nose tip (landmark 30) is projected onto the axis through the face contour points at ear level (0 and
    16) and, separately, onto the axis through the outer eye corners (36 and 45); each offset from the axis
    midpoint is divided by half the axis length, and the two are averaged. The projection makes the measure
    blind to in-plane rotation (head tilt) and to scale, and — being a ratio along one axis — to a flat photo
    being turned in front of the camera (an affine squeeze moves the nose and the outline together). A real
    turn moves the nose tip, which stands out of the face plane, further than the outline: frontal ≈ 0 (+0.01
    and +0.03 on the test faces), ≈ ±0.3 at a clear turn.

Measured with the synthetic head turns of ``testkit/faces.py`` (8 frames: 3 frontal, then a turn with a
warp up to 0.25 × the face side), landmarks averaged over 9 fits (``FaceConfig.landmark_fits``):
astronaut left +0.025 → +0.281, right +0.025 → −0.266; Grace Hopper left +0.009 → +0.181, right +0.009 →
−0.211. The same still photo shaken by 1–2 px with sensor noise moves the yaw by ≤ 0.011 (astronaut) and
≤ 0.055 (Grace Hopper; with a single landmark fit it swung by up to 0.27, enough to fake a turn — hence the
averaged fits). Embedding distance between consecutive frames of one turning person ≤ 0.30; at a swap of
persons 0.665.

What this does not stop: a replayed *video* of the citizen turning the right way (the random challenge only
makes that harder), masks, or injected frames. It is one factor; rate limits and lockout live in the service.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from exchange.face.engine import FaceAnalysis, FaceEngine


class Challenge(StrEnum):
    """What the page asks the citizen to do; "left" is the citizen's own left (see the module docstring)."""

    TURN_LEFT = "TURN_LEFT"
    TURN_RIGHT = "TURN_RIGHT"

    @property
    def sign(self) -> float:
        """+1 when the challenge makes :func:`estimate_yaw` grow, −1 when it makes it shrink."""
        return 1.0 if self is Challenge.TURN_LEFT else -1.0


class LivenessCode(StrEnum):
    PASSED = "PASSED"
    TOO_FEW_FRAMES = "TOO_FEW_FRAMES"
    NOT_FRONTAL = "NOT_FRONTAL"
    STILL_IMAGE = "STILL_IMAGE"
    WRONG_DIRECTION = "WRONG_DIRECTION"
    INSUFFICIENT_TURN = "INSUFFICIENT_TURN"
    ERRATIC_MOTION = "ERRATIC_MOTION"
    IDENTITY_CHANGED = "IDENTITY_CHANGED"


REASONS: Final[dict[LivenessCode, tuple[str, str]]] = {
    LivenessCode.PASSED: ("Liveness check passed.", "活体检测通过。"),
    LivenessCode.TOO_FEW_FRAMES: (
        "Your face was not seen clearly in enough pictures. Please try again in good light.",
        "未能在足够多的画面中清楚看到您的脸，请在光线充足处重试。",
    ),
    LivenessCode.NOT_FRONTAL: (
        "Please start by looking straight at the camera.",
        "请先正对摄像头。",
    ),
    LivenessCode.STILL_IMAGE: (
        "No head movement was seen. Please turn your head as asked.",
        "未检测到头部转动，请按提示转头。",
    ),
    LivenessCode.WRONG_DIRECTION: (
        "Your head turned the other way. Please turn to the side that is asked.",
        "转头方向不对，请按提示方向转头。",
    ),
    LivenessCode.INSUFFICIENT_TURN: (
        "Please turn your head a little further.",
        "请把头再多转一些。",
    ),
    LivenessCode.ERRATIC_MOTION: (
        "Please turn your head slowly and smoothly in one direction.",
        "请朝一个方向缓慢、平稳地转头。",
    ),
    LivenessCode.IDENTITY_CHANGED: (
        "The face changed during the check. Only the person signing in may be in front of the camera.",
        "检测过程中人脸发生了变化，请确保只有本人在摄像头前。",
    ),
}


@dataclass(frozen=True, slots=True)
class LivenessConfig:
    min_frames: int = 3
    """Frames with a usable face needed."""
    frontal_max: float = 0.15
    """|baseline yaw| must be below this (test faces: 0.01 and 0.03)."""
    min_turn: float = 0.12
    """The (median-smoothed) yaw must move at least this far from the frontal baseline in the asked direction.
    Synthetic turns reach 0.17–0.27; a still photo shaken by 2 px with sensor noise moves ≤ 0.055 (Grace
    Hopper, 6 seeds; astronaut ≤ 0.011); a clear real turn of ~20° should give ≈ 0.2."""
    still_max: float = 0.06
    """If the yaw never moves this far from the baseline in either direction, nothing moved: STILL_IMAGE."""
    baseline_frames: int = 2
    """The baseline is the median yaw of this many first face frames."""
    max_backtrack: float = 0.5
    """Up to the peak, movement against the asked direction may add up to this fraction of the peak."""
    identity_threshold: float = 0.6
    """Every frame vs. the first: embedding distance must stay below this. Looser than the match threshold
    because a turned face is further from the frontal one (synthetic turns: up to 0.47 for one person);
    a swap of persons is caught mainly by ``continuity_threshold``."""
    continuity_threshold: float = 0.45
    """Consecutive face frames: embedding distance must stay below this (a swap of persons jumps ≥ 0.6;
    consecutive frames of one turning person differ by ≤ 0.30 on the test faces)."""


DEFAULT_LIVENESS: Final = LivenessConfig()


@dataclass(frozen=True, slots=True)
class LivenessResult:
    passed: bool
    code: LivenessCode
    yaw_series: tuple[float, ...]
    """Yaw of each frame that had a face, in order (frames without a face are skipped)."""
    reason: str
    reason_zh: str
    frontal_index: int | None = None
    """Index (into the analyses given) of the first face frame: the one to match against the photo on
    record."""


def estimate_yaw(landmarks68: npt.NDArray[np.float64]) -> float:
    """Signed, normalised yaw proxy from 68-point landmarks: > 0 when the nose points toward image +x (the
    citizen's own left in an un-mirrored frame), ≈ 0 frontal, about ±0.3 at a clear turn."""
    pts = np.asarray(landmarks68, dtype=np.float64)
    if pts.shape != (68, 2):
        raise ValueError(f"landmarks must have shape (68, 2), got {pts.shape}")
    nose = pts[30]
    return float((_offset_along(nose, pts[0], pts[16]) + _offset_along(nose, pts[36], pts[45])) / 2.0)


def _offset_along(
    point: npt.NDArray[np.float64], a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> float:
    axis = b - a
    length = float(np.linalg.norm(axis))
    if length < 1e-6:
        return 0.0
    unit = axis / length
    return float(np.dot(point - (a + b) / 2.0, unit) / (length / 2.0))


def _median3(values: list[float]) -> list[float]:
    """Median filter of width 3 (ends kept): one wild landmark fit must not make or break a turn."""
    if len(values) < 3:
        return list(values)
    out = [values[0]]
    out += [float(np.median(values[i - 1 : i + 2])) for i in range(1, len(values) - 1)]
    out.append(values[-1])
    return out


def check_liveness(
    analyses: Sequence[FaceAnalysis | None],
    challenge: Challenge,
    config: LivenessConfig = DEFAULT_LIVENESS,
) -> LivenessResult:
    """Decide whether ``analyses`` (one per captured frame, in capture order; ``None`` for a frame without a
    usable face) show one person turning their head as ``challenge`` asks."""
    indexed = [(i, a) for i, a in enumerate(analyses) if a is not None]
    yaws = tuple(estimate_yaw(a.landmarks68) for _, a in indexed)

    def result(code: LivenessCode) -> LivenessResult:
        en, zh = REASONS[code]
        return LivenessResult(
            passed=code is LivenessCode.PASSED,
            code=code,
            yaw_series=yaws,
            reason=en,
            reason_zh=zh,
            frontal_index=indexed[0][0] if indexed else None,
        )

    if len(indexed) < config.min_frames:
        return result(LivenessCode.TOO_FEW_FRAMES)

    faces = [a for _, a in indexed]
    first = faces[0]
    if any(FaceEngine.distance(first, a) >= config.identity_threshold for a in faces[1:]) or any(
        FaceEngine.distance(a, b) >= config.continuity_threshold for a, b in itertools.pairwise(faces)
    ):
        return result(LivenessCode.IDENTITY_CHANGED)

    baseline = float(np.median(yaws[: max(1, config.baseline_frames)]))
    if abs(baseline) > config.frontal_max:
        return result(LivenessCode.NOT_FRONTAL)
    directed = _median3([challenge.sign * (y - baseline) for y in yaws])
    peak_index = int(np.argmax(directed))
    peak = directed[peak_index]
    trough = min(directed)
    if max(peak, -trough) < config.still_max:
        return result(LivenessCode.STILL_IMAGE)
    if peak < config.min_turn:
        if trough <= -config.min_turn:
            return result(LivenessCode.WRONG_DIRECTION)
        return result(LivenessCode.INSUFFICIENT_TURN)
    backtrack = sum(max(0.0, directed[i] - directed[i + 1]) for i in range(peak_index))
    if backtrack > config.max_backtrack * peak:
        return result(LivenessCode.ERRATIC_MOTION)
    return result(LivenessCode.PASSED)
