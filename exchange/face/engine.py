"""Face detection, quality checks and 128-d embeddings with dlib, loaded once per process.

Models come from the ``face-recognition-models`` package, found without importing it (its ``__init__`` imports
``pkg_resources``): dlib's HOG frontal face detector, the 5-point shape predictor (face alignment for the
embedding), the ResNet face recognition model (128-d embedding, compared by L2 distance) and the 68-point
shape predictor (landmarks for the head-turn liveness check in :mod:`exchange.face.liveness`).

Measured on the offline test faces (``testkit/faces.py``: person A = ``skimage.data.astronaut()``,
person B = matplotlib's ``grace_hopper.jpg``), upsample 0, images normalised to a long side of 640 px, L2
distance between embeddings:

* same person, reference JPEG vs. each variant (tight/loose crop, face 118 px and 290 px, brightness ×0.6 and
  ×1.25, JPEG q=30 and q=10, rotation ±10°, PNG): A 0.06–0.33 (worst: JPEG q=10, then q=30 0.18), B 0.08–0.15;
  any two variants of one person: 0.03–0.39;
* same person, synthetic head-turn frames vs. the reference: frontal 0.08, most turned 0.34–0.47;
* different persons, reference vs. the other person's variants: 0.658–0.713; any cross pair of variants:
  0.625–0.722.

dlib's customary threshold 0.6 (the field notes' figure) leaves only 0.025 below the closest different-person
pair, so the default here is :data:`DEFAULT_THRESHOLD` = 0.5, about midway between the worst same-person pair
(0.39) and the best different-person pair (0.625). It is configurable (``FaceConfig.threshold`` or per
call) and both sides are tested. Two persons are no estimate of error rates: before production, measure
false accepts and false rejects on a consented set of real ID photos and selfies, and pick the threshold from
that.

Thread safety: dlib's DNN keeps per-call state in the network object and dlib does not release the GIL, so
calls into the models are serialised by a lock; run several worker processes for parallel throughput.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt

from exchange.face import images
from exchange.face.errors import FaceError as FaceError
from exchange.face.errors import FaceErrorCode as FaceErrorCode
from exchange.face.images import ImageLimits

DEFAULT_THRESHOLD: Final = 0.5

FloatArray = npt.NDArray[np.float64]
RGBImage = npt.NDArray[np.uint8]
ImageInput = bytes | npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class FaceConfig:
    """Tunables. The defaults were chosen on the test faces (see the module docstring and the tests)."""

    threshold: float = DEFAULT_THRESHOLD
    upsample: int = 0
    """Detector upsampling. 0 finds faces ≥ ~80 px (all a usable selfie needs) at a third of the cost of 1."""
    retry_upsample: bool = True
    """When nothing is found, look again at ``upsample + 1`` so a small face gets "move closer" (LOW_QUALITY)
    rather than "no face"."""
    min_face_px: int = 80
    """Smallest accepted face box side, in pixels of the normalised (≤ 640 px) image."""
    min_brightness: float = 40.0
    max_brightness: float = 220.0
    """Mean luma (0–255) of the face box."""
    min_sharpness: float = 15.0
    """Variance of the 4-neighbour Laplacian of the face box (box-filtered down to 128×128 grey when larger).
    Usable faces on the test images score 70–3000; a Gaussian blur of σ = 3 px (astronaut) or 4 px (Grace
    Hopper) on a 180 px face brings it below 15. It scales with contrast, so a very dark face scores low
    too."""
    multi_face_min_score: float = 0.5
    multi_face_rel_size: float = 0.5
    """A second detection counts as another face (MULTIPLE_FACES) only when its detector score is at least
    ``multi_face_min_score`` and its box side is at least ``multi_face_rel_size`` × the best box's side. The
    mission patch on the astronaut photo scores ≤ 0.12 at upsample 1 (−0.05 at upsample 0); a real second face
    scores > 1."""
    landmark_fits: int = 9
    """The 68-point fit depends on the detector box, and its nose/contour geometry can swing by ±0.07 yaw
    units between two frames of a still photo shaken by 2 px (measured on the Grace Hopper photo). The
    landmarks are therefore averaged over fits from this many boxes (the detector box shifted by ±5 % of its
    side; 1 = one fit, up to 9). Each fit costs ≈ 1 ms."""
    num_jitters: int = 0
    """dlib's embedding jitter count; 0 = one forward pass (jittering multiplies the cost for little gain
    here)."""


@dataclass(frozen=True, slots=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def side(self) -> int:
        return min(self.width, self.height)

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0)


@dataclass(frozen=True, slots=True)
class FaceQuality:
    face_px: int
    brightness: float
    sharpness: float


@dataclass(frozen=True, slots=True)
class FaceAnalysis:
    """One face in one image. Coordinates are in the normalised image (``image_size`` = (width, height))."""

    embedding: FloatArray = field(repr=False)  # (128,)
    box: Box
    score: float
    landmarks68: FloatArray = field(repr=False)  # (68, 2) x, y
    quality: FaceQuality
    image_size: tuple[int, int]
    other_detections: tuple[tuple[Box, float], ...] = ()
    """Weaker detections that were ignored (mission patches, faces in the background)."""


@dataclass(frozen=True, slots=True)
class MatchResult:
    matched: bool
    distance: float
    threshold: float


def models_dir() -> str:
    """Directory holding the ``.dat`` model files, found without importing ``face_recognition_models``."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceError(FaceErrorCode.MODEL_UNAVAILABLE, "package face-recognition-models is not installed")
    return os.path.join(next(iter(spec.submodule_search_locations)), "models")


class FaceEngine:
    """dlib models plus the policy around them. Build one per process: :meth:`shared`."""

    _shared: ClassVar[FaceEngine | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    MODEL_FILES: ClassVar[dict[str, str]] = {
        "sp5": "shape_predictor_5_face_landmarks.dat",
        "sp68": "shape_predictor_68_face_landmarks.dat",
        "rec": "dlib_face_recognition_resnet_model_v1.dat",
    }

    def __init__(
        self,
        config: FaceConfig | None = None,
        *,
        model_dir: str | None = None,
        limits: ImageLimits | None = None,
    ) -> None:
        """Load the models (≈ 0.6–1 s). Raises ``FaceError(MODEL_UNAVAILABLE)`` when they cannot be loaded."""
        self.config = config or FaceConfig()
        self.limits = limits
        started = time.perf_counter()
        try:
            import dlib
        except ImportError as exc:
            raise FaceError(FaceErrorCode.MODEL_UNAVAILABLE, "dlib is not installed") from exc
        directory = model_dir or models_dir()
        paths = {key: os.path.join(directory, name) for key, name in self.MODEL_FILES.items()}
        missing = [p for p in paths.values() if not os.path.isfile(p)]
        if missing:
            raise FaceError(FaceErrorCode.MODEL_UNAVAILABLE, f"model files missing: {', '.join(missing)}")
        try:
            self._detector: Any = dlib.get_frontal_face_detector()
            self._sp5: Any = dlib.shape_predictor(paths["sp5"])
            self._sp68: Any = dlib.shape_predictor(paths["sp68"])
            self._rec: Any = dlib.face_recognition_model_v1(paths["rec"])
        except RuntimeError as exc:
            raise FaceError(FaceErrorCode.MODEL_UNAVAILABLE, f"cannot load models: {exc}") from exc
        self._dlib: Any = dlib
        self._lock = threading.Lock()
        self.load_seconds = time.perf_counter() - started

    @classmethod
    def shared(cls) -> FaceEngine:
        """The process-wide engine, built on first use (thread-safe)."""
        engine = cls._shared
        if engine is None:
            with cls._shared_lock:
                engine = cls._shared
                if engine is None:
                    engine = cls()
                    cls._shared = engine
        return engine

    # -- images ---------------------------------------------------------------------------------------------

    def load_image(self, image: ImageInput) -> RGBImage:
        """Bytes (JPEG/PNG/WebP) or an array → normalised RGB ``uint8`` array (see
        :mod:`exchange.face.images`)."""
        limits = self.limits or images.DEFAULT_LIMITS
        if isinstance(image, bytes | bytearray | memoryview):
            return images.decode_image(bytes(image), limits)
        return images.normalise_array(image, limits)

    # -- analysis -------------------------------------------------------------------------------------------

    def detect(self, rgb: RGBImage, upsample: int | None = None) -> list[tuple[Box, float]]:
        """All detections with score ≥ 0 in an already-normalised image, best first."""
        ups = self.config.upsample if upsample is None else upsample
        with self._lock:
            rects, scores, _ = self._detector.run(rgb, ups, 0.0)
        found = [
            (Box(r.left(), r.top(), r.right(), r.bottom()), float(s))
            for r, s in zip(rects, scores, strict=True)
        ]
        found.sort(key=lambda item: item[1], reverse=True)
        return found

    def analyse(self, image: ImageInput, *, upsample: int | None = None) -> FaceAnalysis:
        """Find the one face in ``image``, check its quality and compute its embedding and landmarks.

        Raises ``FaceError`` with NO_FACE, MULTIPLE_FACES, LOW_QUALITY or BAD_IMAGE.
        """
        cfg = self.config
        rgb = self.load_image(image)
        height, width = rgb.shape[:2]
        ups = cfg.upsample if upsample is None else upsample
        found = self.detect(rgb, ups)
        if not found and cfg.retry_upsample:
            found = self.detect(rgb, ups + 1)
        if not found:
            raise FaceError(FaceErrorCode.NO_FACE, f"no detection in {width}x{height} image")
        best, best_score = found[0]
        others = tuple(found[1:])
        for box, score in others:
            if score >= cfg.multi_face_min_score and box.side >= cfg.multi_face_rel_size * best.side:
                raise FaceError(
                    FaceErrorCode.MULTIPLE_FACES,
                    f"second face score {score:.2f} side {box.side}px (best {best_score:.2f}, {best.side}px)",
                )
        quality = self._quality(rgb, best)
        if quality.face_px < cfg.min_face_px:
            raise FaceError(
                FaceErrorCode.LOW_QUALITY, f"face is {quality.face_px}px, below {cfg.min_face_px}px"
            )
        if not cfg.min_brightness <= quality.brightness <= cfg.max_brightness:
            raise FaceError(
                FaceErrorCode.LOW_QUALITY, f"face brightness {quality.brightness:.0f} out of range"
            )
        if quality.sharpness < cfg.min_sharpness:
            raise FaceError(FaceErrorCode.LOW_QUALITY, f"face sharpness {quality.sharpness:.1f} too low")
        dlib = self._dlib
        rect = dlib.rectangle(best.left, best.top, best.right, best.bottom)
        with self._lock:
            shape5 = self._sp5(rgb, rect)
            descriptor = self._rec.compute_face_descriptor(rgb, shape5, cfg.num_jitters)
            landmarks = self._landmarks68(rgb, best)
        embedding = np.asarray(descriptor, dtype=np.float64).reshape(128)
        return FaceAnalysis(
            embedding=embedding,
            box=best,
            score=best_score,
            landmarks68=landmarks,
            quality=quality,
            image_size=(width, height),
            other_detections=others,
        )

    def embed(self, image: ImageInput) -> FloatArray:
        """The 128-d embedding of the one face in ``image``."""
        return self.analyse(image).embedding

    @staticmethod
    def distance(a: FloatArray | FaceAnalysis, b: FloatArray | FaceAnalysis) -> float:
        """L2 distance between two embeddings (smaller = more alike; same person typically < 0.4)."""
        va = a.embedding if isinstance(a, FaceAnalysis) else np.asarray(a, dtype=np.float64)
        vb = b.embedding if isinstance(b, FaceAnalysis) else np.asarray(b, dtype=np.float64)
        if va.shape != (128,) or vb.shape != (128,):
            raise ValueError(f"embeddings must have shape (128,), got {va.shape} and {vb.shape}")
        return float(np.linalg.norm(va - vb))

    def match(
        self,
        reference: ImageInput | FaceAnalysis,
        probe: ImageInput | FaceAnalysis,
        threshold: float | None = None,
    ) -> MatchResult:
        """Is ``probe`` the same person as ``reference``? Each side may be image bytes, an RGB array, a
        :class:`FaceAnalysis` or a (128,) embedding. ``matched`` is ``distance < threshold``."""
        limit = self.config.threshold if threshold is None else threshold
        dist = self.distance(self._embedding_of(reference), self._embedding_of(probe))
        return MatchResult(matched=dist < limit, distance=dist, threshold=limit)

    def analyse_frames(self, frames: Sequence[ImageInput]) -> list[FaceAnalysis | None]:
        """Analyse liveness frames: a frame without a usable face (NO_FACE, LOW_QUALITY) becomes ``None``;
        BAD_IMAGE and MULTIPLE_FACES propagate (a second person in a liveness sequence is not a dropped
        frame)."""
        out: list[FaceAnalysis | None] = []
        for frame in frames:
            try:
                out.append(self.analyse(frame))
            except FaceError as exc:
                if exc.face_code in (FaceErrorCode.NO_FACE, FaceErrorCode.LOW_QUALITY):
                    out.append(None)
                else:
                    raise
        return out

    # -- internals ------------------------------------------------------------------------------------------

    def _embedding_of(self, item: ImageInput | FaceAnalysis) -> FloatArray:
        if isinstance(item, FaceAnalysis):
            return item.embedding
        if isinstance(item, np.ndarray) and item.ndim == 1:
            return np.asarray(item, dtype=np.float64)
        return self.analyse(item).embedding

    def _landmarks68(self, rgb: RGBImage, box: Box) -> FloatArray:
        """68 landmarks averaged over fits from slightly shifted boxes (see ``FaceConfig.landmark_fits``)."""
        step = 0.05 * box.side
        # centre, then the four side neighbours, then the diagonals: any prefix is roughly symmetric
        grid = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1), (-1, 1), (1, -1)]
        offsets = [(dx * step, dy * step) for dx, dy in grid]
        fits = []
        for dx, dy in offsets[: max(1, min(self.config.landmark_fits, len(offsets)))]:
            rect = self._dlib.rectangle(
                round(box.left + dx), round(box.top + dy), round(box.right + dx), round(box.bottom + dy)
            )
            shape = self._sp68(rgb, rect)
            fits.append([(p.x, p.y) for p in shape.parts()])
        mean = np.asarray(fits, dtype=np.float64).reshape(-1, 68, 2).mean(axis=0)
        return np.asarray(mean, dtype=np.float64)

    @staticmethod
    def _quality(rgb: RGBImage, box: Box) -> FaceQuality:
        height, width = rgb.shape[:2]
        left, top = max(box.left, 0), max(box.top, 0)
        right, bottom = min(box.right, width), min(box.bottom, height)
        if right - left < 8 or bottom - top < 8:
            return FaceQuality(face_px=0, brightness=0.0, sharpness=0.0)
        crop = rgb[top:bottom, left:right].astype(np.float64)
        grey = crop @ np.array([0.299, 0.587, 0.114])
        return FaceQuality(
            face_px=box.side,
            brightness=float(grey.mean()),
            sharpness=laplacian_variance(_resample(grey, 128)),
        )


def laplacian_variance(grey: FloatArray) -> float:
    """Variance of the 4-neighbour Laplacian (a standard focus measure); numpy only."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * grey[1:-1, 1:-1]
    return float(lap.var())


def _resample(grey: FloatArray, size: int) -> FloatArray:
    """Box-filter down to ``size``×``size`` so the focus measure depends little on the face size."""
    h, w = grey.shape
    ys = (np.arange(size + 1) * h / size).astype(int)
    xs = (np.arange(size + 1) * w / size).astype(int)
    if h >= size and w >= size:
        # box filter via cumulative sums
        integral = np.zeros((h + 1, w + 1))
        integral[1:, 1:] = grey.cumsum(0).cumsum(1)
        y0, y1 = ys[:-1][:, None], ys[1:][:, None]
        x0, x1 = xs[:-1][None, :], xs[1:][None, :]
        total = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
        return np.asarray(total / ((y1 - y0) * (x1 - x0)), dtype=np.float64)
    # Smaller faces are measured as they are: upsampling would add edges of its own.
    return grey
