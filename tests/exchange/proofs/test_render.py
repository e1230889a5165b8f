"""Rendered proofs: text, fonts, rare glyphs, the QR as printed, determinism (real PDFs, real tools)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exchange.proofs import fonts
from exchange.proofs.qr_art import qr_matrix
from exchange.proofs.render import render_proof_pdf
from testkit.proof_samples import RARE_NAME, SAMPLES, proof_pki, sealed
from verifier.proof import verify_proof_qr

ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts" / "proofs"
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None or shutil.which("pdffonts") is None,
    reason="poppler-utils (pdftotext, pdftoppm, pdffonts) is not installed",
)


def _write(name: str, data: bytes) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / name
    path.write_bytes(data)
    return path


def test_split_runs_uses_fallback_fonts_for_rare_characters() -> None:
    runs = fonts.split_runs(f"申请人{RARE_NAME}（李𬱖）")
    assert "".join(run for _, run in runs) == f"申请人{RARE_NAME}（李𬱖）"
    by_char = {ch: font for font, run in runs for ch in run}
    assert by_char["王"] == fonts.PRIMARY
    assert by_char["𠇔"] == fonts.FALLBACK_B
    assert by_char["𬱖"] == fonts.FALLBACK_B
    assert by_char["䶮"] == fonts.FALLBACK_A


def test_missing_fallback_font_names_the_debian_package(tmp_path: Path) -> None:
    code = (
        "from exchange.proofs import fonts\n"
        "assert fonts.split_runs('张三') == [(fonts.PRIMARY, '张三')]\n"  # the primary font alone is enough
        "fonts.split_runs('王𠇔')\n"
    )
    env = {**os.environ, "LICEX_HANAZONO_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode != 0
    assert "FontMissingError" in proc.stderr
    assert "fonts-hanazono" in proc.stderr


def test_render_is_deterministic() -> None:
    doc = sealed("real_estate_none").doc
    assert render_proof_pdf(doc) == render_proof_pdf(doc)


def test_qr_version_is_measured_and_small_enough() -> None:
    m = qr_matrix(sealed("real_estate_with_property").qr_text)
    assert m.mode == "alphanumeric"
    assert m.version <= 10


@needs_poppler
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_text_and_fonts(name: str) -> None:
    proof = sealed(name)
    path = _write(f"{name}.pdf", proof.pdf)
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    for value in proof.doc.field_values():
        assert re.sub(r"\s+", "", value) in flat, value
    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = listing.splitlines()[2:]
    assert rows, listing
    for row in rows:
        # columns: name type encoding emb sub uni object ID; "emb" must be yes for every font
        cols = row.split()
        assert cols[-5] == "yes", row
        assert cols[-4] == "yes", row  # subset


def _bbox_of(path: Path, word: str) -> tuple[float, float, float, float]:
    html = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html
    ):
        if m.group(5) == word:
            return float(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))
    raise AssertionError(f"{word!r} not found in the bbox output")


@needs_poppler
def test_rare_name_glyphs_are_drawn_and_qr_decodes_and_verifies() -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    proof = sealed("real_estate_with_property")
    path = _write("rare_name.pdf", proof.pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(ARTEFACTS / "rare_name")],
                   check=True)  # fmt: skip
    image = Image.open(ARTEFACTS / "rare_name.png").convert("L")
    scale = 150 / 72
    x0, y0, x1, y1 = _bbox_of(path, "王𠇔䶮")  # the holder row: 查询申请人：王𠇔䶮
    width = (x1 - x0) / 3
    for i, ch in enumerate(RARE_NAME):  # each character's cell has ink: no blank box, no missing glyph
        box = (
            int((x0 + i * width) * scale) + 1,
            int(y0 * scale),
            int((x0 + (i + 1) * width) * scale) - 1,
            int(y1 * scale),
        )
        cell = image.crop(box)
        dark = sum(cell.histogram()[:128])
        total = cell.width * cell.height
        assert 0.04 * total < dark < 0.6 * total, (ch, dark, total)

    results = zxingcpp.read_barcodes(image)
    texts = [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert texts == [proof.qr_text]
    result = verify_proof_qr(texts[0], proof_pki().trust_list, canonical_data=proof.doc.canonical_data())
    assert result.valid, result.verdict
    assert result.issuer == "长沙市不动产登记中心"
