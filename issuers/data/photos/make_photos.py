"""Regenerate the shipped demo photos (dev-only: needs scikit-image and matplotlib).

    .venv/bin/python issuers/data/photos/make_photos.py

Writes ``person_a.jpg`` (skimage ``astronaut``), ``person_b.jpg`` (matplotlib ``grace_hopper.jpg``) and
``silhouette.jpg`` (a drawn neutral placeholder) next to this file.  Crops are head-and-shoulders, 360×450
(ID-photo aspect 4:5), JPEG quality 85.  The output is what the runtime uses; this script is not imported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT = 360, 450
QUALITY = 85
# dlib frontal-detector face boxes (left, top, right, bottom) on the original photos (testkit/faces.py)
FACE_BOX = {"astronaut": (179, 83, 266, 170), "hopper": (161, 137, 376, 352)}


def _source(person: str) -> Image.Image:
    if person == "astronaut":
        from skimage import data

        return Image.fromarray(np.ascontiguousarray(data.astronaut(), dtype=np.uint8))  # type: ignore[no-untyped-call]
    from matplotlib import cbook

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as img:
        return img.convert("RGB")


def _crop(img: Image.Image, box: tuple[int, int, int, int], factor: float) -> Image.Image:
    left, top, right, bottom = box
    cx, cy = (left + right) / 2, (top + bottom) / 2
    w = min((right - left) * factor, img.width)
    h = min(w * HEIGHT / WIDTH, img.height)
    w = h * WIDTH / HEIGHT
    x0 = min(max(cx - w / 2, 0), img.width - w)
    y0 = min(max(cy - 0.42 * h, 0), img.height - h)
    return img.crop((round(x0), round(y0), round(x0 + w), round(y0 + h))).resize(
        (WIDTH, HEIGHT), Image.Resampling.LANCZOS
    )


def _silhouette() -> Image.Image:
    img = Image.new("RGB", (WIDTH, HEIGHT), (222, 230, 238))
    d = ImageDraw.Draw(img)
    grey = (160, 168, 178)
    d.ellipse((110, 70, 250, 240), fill=grey)  # head
    d.ellipse((40, 270, 320, 560), fill=grey)  # shoulders
    d.rectangle((155, 225, 205, 290), fill=grey)  # neck
    return img


def main() -> None:
    for person, name, factor in (("astronaut", "person_a.jpg", 2.4), ("hopper", "person_b.jpg", 2.3)):
        _crop(_source(person), FACE_BOX[person], factor).save(
            HERE / name, "JPEG", quality=QUALITY, optimize=True
        )
    _silhouette().save(HERE / "silhouette.jpg", "JPEG", quality=QUALITY, optimize=True)
    for p in sorted(HERE.glob("*.jpg")):
        print(p.name, p.stat().st_size)


if __name__ == "__main__":
    main()
