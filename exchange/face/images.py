"""Safe decoding of uploaded images into RGB ``uint8`` arrays for the face engine.

Uploads come from a phone (``getUserMedia`` frames drawn to a canvas and posted as JPEG) or from the licence
on record (a base64 JPEG). Before any pixel is decoded we check the byte size, the container format (JPEG, PNG
and WebP only; Pillow is told not to try its other plug-ins) and the declared pixel count, so a decompression
bomb is refused from its header. JPEG files are decoded in Pillow's draft mode (DCT scaling) when they are
much larger than we need, the EXIF orientation is applied, transparency is flattened onto white and the long
side is brought down to ``max_side`` (640 px by default: enough for a face of 80 px or more, and detection
cost grows with the area).

Every failure is a :class:`~exchange.face.engine.FaceError` with code ``BAD_IMAGE``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from exchange.face.errors import FaceError, FaceErrorCode

ALLOWED_FORMATS: Final = ("JPEG", "PNG", "WEBP")


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Bounds for one uploaded image."""

    max_bytes: int = 2 * 1024 * 1024
    max_pixels: int = 4096 * 4096
    max_side: int = 640
    min_side: int = 32


DEFAULT_LIMITS: Final = ImageLimits()

RGBImage = npt.NDArray[np.uint8]


def decode_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> RGBImage:
    """Decode JPEG/PNG/WebP bytes into an ``(h, w, 3)`` RGB ``uint8`` array, long side ≤
    ``limits.max_side``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _bad("image must be bytes")
    if len(data) == 0:
        raise _bad("empty image")
    if len(data) > limits.max_bytes:
        raise _bad(f"image is {len(data)} bytes, more than {limits.max_bytes}")
    try:
        img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError as exc:
        raise _bad("not a JPEG, PNG or WebP image") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise _bad(f"unreadable image header: {exc}") from exc
    try:
        with img:
            width, height = img.size
            if width <= 0 or height <= 0 or width * height > limits.max_pixels:
                raise _bad(f"image is {width}x{height} pixels, more than {limits.max_pixels} pixels")
            if min(width, height) < limits.min_side:
                raise _bad(f"image is {width}x{height} pixels, too small")
            if img.format == "JPEG":
                # DCT-domain downscaling: decodes at 1/2, 1/4 or 1/8 while staying ≥ the requested size.
                img.draft("RGB", (limits.max_side, limits.max_side))
            img.load()
            rgb = _to_rgb(ImageOps.exif_transpose(img))
            rgb.thumbnail((limits.max_side, limits.max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
            arr = np.asarray(rgb, dtype=np.uint8)
    except FaceError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        # Truncated or corrupt data surfaces here, at load() time.
        raise _bad(f"corrupt image data: {exc}") from exc
    return np.ascontiguousarray(arr)


def normalise_array(image: npt.NDArray[np.generic], limits: ImageLimits = DEFAULT_LIMITS) -> RGBImage:
    """Validate an in-memory image (grey ``(h, w)`` or ``(h, w, 3|4)`` ``uint8``) and bring it to RGB, long
    side ≤ ``limits.max_side``. The array is not modified."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise _bad("image array must be uint8")
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif not (image.ndim == 3 and image.shape[2] == 3):
        raise _bad(f"image array has shape {image.shape}, expected (h, w), (h, w, 3) or (h, w, 4)")
    height, width = image.shape[:2]
    if width * height > limits.max_pixels:
        raise _bad(f"image is {width}x{height} pixels, more than {limits.max_pixels} pixels")
    if min(width, height) < limits.min_side:
        raise _bad(f"image is {width}x{height} pixels, too small")
    if max(width, height) > limits.max_side:
        pil = Image.fromarray(np.ascontiguousarray(image), mode="RGB")
        pil.thumbnail((limits.max_side, limits.max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return np.ascontiguousarray(np.asarray(pil, dtype=np.uint8))
    return np.ascontiguousarray(image, dtype=np.uint8)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _bad(detail: str) -> FaceError:
    return FaceError(FaceErrorCode.BAD_IMAGE, detail)
