"""The fake-camera video writer used by the browser tests (tests/fixtures/y4m.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.y4m import qr_frames, qr_image, read_y4m, rgb_to_yuv420, write_y4m


def test_header_and_frame_layout(tmp_path: Path) -> None:
    frames = [np.full((4, 6, 3), v, dtype=np.uint8) for v in (0, 128, 255)]
    path = write_y4m(tmp_path / "x.y4m", frames, fps=10)
    data = path.read_bytes()
    assert data.startswith(b"YUV4MPEG2 W6 H4 F10:1 Ip A1:1 C420jpeg\nFRAME\n")
    assert len(data) == len(b"YUV4MPEG2 W6 H4 F10:1 Ip A1:1 C420jpeg\n") + 3 * (6 + 24 + 6 + 6)
    fields, planes = read_y4m(path)
    assert fields["W"] == "6" and fields["H"] == "4" and fields["C"] == "420jpeg"
    assert [p[0][0] for p in planes] == [0, 128, 255]  # grey: Y = value, U = V = 128
    assert all(set(u) == {128} and set(v) == {128} for _, u, v in planes)


def test_bt601_colours() -> None:
    red = np.zeros((2, 2, 3), dtype=np.uint8)
    red[..., 0] = 255
    y, u, v = rgb_to_yuv420(red)
    assert y[0] == 76 and u[0] == 85 and v[0] == 255


def test_rejects_odd_sizes_mixed_sizes_and_no_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        write_y4m(tmp_path / "a.y4m", [np.zeros((3, 4, 3), dtype=np.uint8)])
    with pytest.raises(ValueError, match="earlier frames"):
        write_y4m(
            tmp_path / "b.y4m", [np.zeros((4, 4, 3), dtype=np.uint8), np.zeros((6, 4, 3), dtype=np.uint8)]
        )
    with pytest.raises(ValueError, match="no frames"):
        write_y4m(tmp_path / "c.y4m", [])
    assert not (tmp_path / "c.y4m").exists()


def test_qr_frames_decode_back_to_the_text(tmp_path: Path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    frames = list(qr_frames("LX1TESTPAYLOAD", size=(640, 480), n=3))
    assert len(frames) == 3 and frames[0].shape == (480, 640, 3)
    path = write_y4m(tmp_path / "qr.y4m", frames)
    _, planes = read_y4m(path)
    luma = np.frombuffer(planes[0][0], dtype=np.uint8).reshape(480, 640)
    results = zxingcpp.read_barcodes(luma)
    assert [r.text for r in results] == ["LX1TESTPAYLOAD"]


def test_qr_image_is_centred_with_a_quiet_zone() -> None:
    img = qr_image("HELLO", (320, 240))
    dark = np.argwhere(img[..., 0] == 0)
    top, left = dark.min(axis=0)
    bottom, right = dark.max(axis=0)
    assert top > 10 and left > 10 and 240 - bottom > 10 and 320 - right > 10
    assert abs((left + right) / 2 - 160) <= 2 and abs((top + bottom) / 2 - 120) <= 2
