"""Issue 13: how every proof type reads on paper — checked on the sealed PDFs with poppler, not on our own model.

For every proof type in the catalogue (instant and reviewed, so the types other engineers add are covered too),
a proof is made from the demo department data through the real service and sealed; then, from the PDF:

* no line (or table-cell line) starts with a closing punctuation mark (Chinese line-breaking rules);
* every ID number printed is one unbroken word;
* one date format (``2026年12月1日``) and one time format (``12:07``): no ISO or slashed dates, no ``12时07分``;
* the creation date is the proof's own (China time), not invariant mode's 2000-01-01;
* the footer of a reviewed proof does not say 即时生成, an instant one does; the check address is printed.

The helpers are also used to look at the rendered pages (``tests/artefacts/proofs/typeset-*.png``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from exchange.kit.cntime import CHINA_TZ
from exchange.kit.db import unit_of_work
from exchange.proofs import service
from exchange.proofs.datasource import data_source
from exchange.proofs.fonts import NO_LINE_START, wrap_text
from exchange.usage.service import Actor
from schemas.catalogue import load_catalogue
from tests.fixtures.databases import database_url
from tests.fixtures.exchange import ExchangeEnv, make_env

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("pdftotext", "pdfinfo", "pdftoppm")),
    reason="poppler-utils (pdftotext, pdfinfo, pdftoppm) is needed",
)

ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts" / "proofs"
ALL_TYPES = sorted(load_catalogue().proof_types)
ID_RE = re.compile(r"(?<![0-9])\d{17}[\dX](?![0-9X])")
CONTEXT = {"purpose": "出国留学", "practice_cert_no": "14301200910123456", "law_firm": "湖南湘江律师事务所"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExchangeEnv]:
    """A provisioned exchange on SQLite (this is about paper, not about the database)."""
    tmp = tmp_path_factory.mktemp("typeset")
    with database_url("sqlite", tmp) as url:
        yield from make_env(tmp, url, "sqlite")


def make_pdf(env: ExchangeEnv, type_key: str) -> tuple[bytes, service.IssuedProof]:
    pt = env.ctx.catalogue.proof_types[type_key]
    source = data_source(env.ctx)
    holder = next((p.id_number for p in env.records.citizens
                   if source.holder_data(type_key, p.id_number, context=CONTEXT) is not None), None)
    if holder is None:
        pytest.fail(f"no demo citizen has data for {type_key}")
    data = service.read_holder_data(env.ctx, pt, holder, CONTEXT)
    with unit_of_work(env.ctx.sessions) as s:
        issued = service.seal_and_store(env.ctx, s, pt, data, requester=Actor("department", "审核员"))
    return issued.pdf, issued


def words(path: Path) -> list[str]:
    """Every word pdftotext finds, with its position (one entry per word box)."""
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [re.sub(r"<[^>]+>", "", w) for w in re.findall(r"<word[^>]*>(.*?)</word>", out)]


@pytest.mark.parametrize("type_key", ALL_TYPES)
def test_proof_typesetting(env: ExchangeEnv, tmp_path: Path, type_key: str) -> None:
    pdf, issued = make_pdf(env, type_key)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"typeset-{type_key}.pdf"
    path.write_bytes(pdf)
    pt = env.ctx.catalogue.proof_types[type_key]
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", "", text)
    ws = [w.replace("&amp;", "&") for w in words(path)]

    # no line or cell line starts with a closing mark: such a mark would stand alone as the first "word"
    bad = [w for w in ws if w and w[0] in NO_LINE_START]
    assert not bad, f"lines start with closing punctuation: {bad}"

    # ID numbers: each one printed is a single word (never split over two lines or cells)
    printed_ids = set(ID_RE.findall(flat))
    assert printed_ids or issued.record["id_masked_on_print"], "the holder's ID number is printed"
    for number in printed_ids:
        assert any(number in w for w in ws), f"ID number {number} is split"

    # one date format and one time format
    assert not re.search(r"\d{4}-\d{1,2}-\d{1,2}|\d{4}/\d{1,2}/\d{1,2}|\d{4}\.\d{1,2}\.\d{1,2}", flat), flat
    assert not re.search(r"\d+时\d+分", flat), "a second time format"
    assert not re.search(r"年0\d月|月0\d日", flat), "zero-padded dates beside unpadded ones"
    assert not re.search(r"\d{2}:\d{2}:\d{2}", flat), "seconds in one time and not in the other"
    issued_day = issued.proof.issued_at.replace(tzinfo=issued.proof.issued_at.tzinfo or CHINA_TZ)
    local = issued_day.astimezone(CHINA_TZ)
    assert f"{local.year}年{local.month}月{local.day}日" in flat

    # a real creation date: the proof's own time, in China time
    info = subprocess.run(["pdfinfo", "-isodates", str(path)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"CreationDate:\s+(\S+)", info)
    assert match, info
    created = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
    assert abs((created - issued_day).total_seconds()) < 120, (created, issued_day)

    # the footer says how the proof came about; the check address is printed for people who cannot scan
    if pt.mode == "reviewed":
        assert "即时生成" not in flat and "审核后出具" in flat
    else:
        assert "即时生成" in flat
    assert f"核验网址：{env.settings.public_base_url}/v/{issued.proof.id}" in flat


def test_wrap_text_keeps_chinese_line_breaking_rules() -> None:
    note = ("查询范围：长沙市芙蓉区、天心区、岳麓区、开福区、雨花区、望城区、长沙县已登记的不动产"
            "（不含浏阳市、宁乡市）。")
    for width in range(60, 480, 3):
        lines = wrap_text(note, width, 9.5)
        assert "".join(lines) == note
        assert all(ln[0] not in NO_LINE_START for ln in lines[1:] if ln), (width, lines)
        assert all(ln[-1] not in "（《“" for ln in lines[:-1] if ln), (width, lines)
    assert wrap_text("身份证号430102197805120625", 100, 9.0)[-1] == "430102197805120625"


@pytest.mark.parametrize("name", ["长沙市不动产登记中心", "长沙市公安局", "长沙市住房公积金管理中心"])
def test_seal_ring_text_is_centred(tmp_path: Path, name: str) -> None:
    """Render the seal alone (pdftoppm), find each ring character's ink by angle: the first and the last are
    mirror images about 12 o'clock (the ring text is centred), and the characters are evenly spaced."""
    import numpy as np
    from PIL import Image
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    from exchange.proofs import fonts
    from exchange.proofs.seal_art import draw_seal

    fonts.ensure_primary()
    pdf = tmp_path / "seal.pdf"
    c = Canvas(str(pdf), pagesize=(60 * mm, 60 * mm))
    draw_seal(c, 30 * mm, 30 * mm, name=name, purpose="", diameter_mm=42)  # no purpose line: ring text only
    c.save()
    subprocess.run(["pdftoppm", "-r", "300", "-png", "-singlefile", str(pdf), str(tmp_path / "seal")], check=True)
    im = np.asarray(Image.open(tmp_path / "seal.png").convert("RGB")).astype(int)
    red = (im[..., 0] > 150) & (im[..., 1] < 150) & (im[..., 2] < 150)
    ys, xs = np.nonzero(red)
    cx, cy, r = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2, (xs.max() - xs.min()) / 2
    d = np.hypot(xs - cx, ys - cy)
    band = (d > r * 0.55) & (d < r * 0.88)  # inside the rim, outside the star
    ang = np.degrees(np.arctan2(-(ys[band] - cy), xs[band] - cx))
    ang = np.where(ang < -90, ang + 360, ang)
    hist, edges = np.histogram(ang, bins=600, range=(-90, 270))
    runs: list[list[float]] = []
    for count, left in zip(hist, edges, strict=False):
        if count > 2 and runs and left - runs[-1][1] < 2.5:
            runs[-1][1] = left + 0.6
        elif count > 2:
            runs.append([left, left + 0.6])
    first, last = runs[-1][1], runs[0][0]  # counter-clockwise extent of the ink: from the last glyph to the first
    assert abs((first + last) / 2 - 90) < 3, f"ring text spans {last:.1f}°…{first:.1f}°: not centred on 12 o'clock"


@pytest.mark.parametrize(("given", "printed"), [
    ("2001-03-12", "2001年3月12日"),
    ("接种日期2004-06-01；", "接种日期2004年6月1日；"),
    ("2001年03月12日", "2001年3月12日"),
    ("2019年01月至2024年10月", "2019年1月至2024年10月"),
    ("2026-12-01T03:39:02+00:00", "2026年12月1日 11:39"),
    ("2026年12月01日11时39分", "2026年12月1日 11:39"),
    ("CS-BDC-20261201-X", "CS-BDC-20261201-X"),
    ("A-2001-03-12-B", "A-2001-03-12-B"),
    ("2024-13-45", "2024-13-45"),
])
def test_department_dates_are_printed_one_way(given: str, printed: str) -> None:
    from exchange.kit.cntime import normalise_dates

    assert normalise_dates(given) == printed
