from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from exchange.face.engine import FaceError, FaceErrorCode
from exchange.face.images import ImageLimits, decode_image, normalise_array


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _gradient(w: int, h: int) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.float64)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.float64)[:, None].repeat(w, 1)
    arr = np.stack([x, y, (x + y) / 2], axis=-1).astype(np.uint8)
    return Image.fromarray(arr, mode="RGB")


def _code(exc: pytest.ExceptionInfo[FaceError]) -> FaceErrorCode:
    return exc.value.face_code


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_allowed_formats_decode_to_rgb_uint8_and_are_downscaled(fmt: str) -> None:
    arr = decode_image(_encode(_gradient(1280, 960), fmt))
    assert arr.dtype == np.uint8
    assert arr.shape == (480, 640, 3)
    assert arr.flags["C_CONTIGUOUS"]


def test_small_image_is_not_upscaled() -> None:
    assert decode_image(_encode(_gradient(300, 200), "PNG")).shape == (200, 300, 3)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_refused(fmt: str) -> None:
    with pytest.raises(FaceError) as exc:
        decode_image(_encode(_gradient(100, 100), fmt))
    assert _code(exc) is FaceErrorCode.BAD_IMAGE


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", os.urandom(4096), b"\xff\xd8\xff\xe0" + b"\x00" * 64],
    ids=["empty", "text", "random", "jpeg-magic-only"],
)
def test_garbage_is_bad_image(data: bytes) -> None:
    with pytest.raises(FaceError) as exc:
        decode_image(data)
    assert _code(exc) is FaceErrorCode.BAD_IMAGE
    assert exc.value.message and exc.value.message_zh


def test_truncated_jpeg_is_bad_image() -> None:
    data = _encode(_gradient(640, 480), "JPEG", quality=95)
    with pytest.raises(FaceError) as exc:
        decode_image(data[: len(data) // 3])
    assert _code(exc) is FaceErrorCode.BAD_IMAGE


def test_too_many_bytes_is_refused_before_decoding() -> None:
    data = _encode(_gradient(64, 64), "PNG")
    with pytest.raises(FaceError) as exc:
        decode_image(data, ImageLimits(max_bytes=len(data) - 1))
    assert "bytes" in str(exc.value)


def test_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = _encode(Image.new("L", (5000, 4000)), "PNG")  # 20 Mpx in a few kB
    assert len(bomb) < 100_000
    with pytest.raises(FaceError) as exc:
        decode_image(bomb)
    assert _code(exc) is FaceErrorCode.BAD_IMAGE
    assert "pixels" in str(exc.value)


def test_exif_orientation_is_applied() -> None:
    img = _gradient(200, 100)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    arr = decode_image(_encode(img, "JPEG", exif=exif.tobytes()))
    assert arr.shape == (200, 100, 3)


def test_transparency_is_flattened_onto_white() -> None:
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    arr = decode_image(_encode(img, "PNG"))
    assert arr.shape == (64, 64, 3)
    assert arr.min() == 255


def test_normalise_array_accepts_grey_and_rgba_and_downscales() -> None:
    grey = np.zeros((100, 80), dtype=np.uint8)
    assert normalise_array(grey).shape == (100, 80, 3)
    rgba = np.zeros((1000, 500, 4), dtype=np.uint8)
    assert normalise_array(rgba).shape == (640, 320, 3)


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros((64, 64, 3), dtype=np.float32),
        np.zeros((64, 64, 2), dtype=np.uint8),
        np.zeros((8, 8, 3), np.uint8),
    ],
    ids=["float", "two-channels", "tiny"],
)
def test_normalise_array_refuses_bad_arrays(arr: np.ndarray) -> None:
    with pytest.raises(FaceError) as exc:
        normalise_array(arr)
    assert _code(exc) is FaceErrorCode.BAD_IMAGE
