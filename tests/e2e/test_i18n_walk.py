"""Issue 13, acceptance 2: walk every page as people see it, in Chinese and in English, with real data on it.

zh-CN: the visible text (``innerText``) holds no raw catalogue key or snake_case action name, no English sentence
from the server and no ISO timestamp. English: no Chinese label where an English one exists — no zh catalogue
string whose English differs, and no Chinese catalogue name (licence type, matter, proof type) that has an English
name. Data recorded in Chinese (names, addresses, a clerk's hall) stays as recorded.

Pages: landing, citizen (login; home with licences, a request answered, a log with a failed face login, a proof
viewed, a refused scan), apply (an approved application), counter (login; workspace with a matter), review
(login; queue), kiosk (start), verify (empty; a checked number; an error), /v/<number>, /v/<unknown>.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_pages_lived import (
    MATTER,
    bearer,
    citizen_page,
    citizen_session,
    clerk_login,
    demo_app_builder,
)
from tests.fixtures.browser import LiveServer

pytestmark = pytest.mark.e2e

CATALOGUES = Path(__file__).resolve().parents[2] / "exchange" / "web" / "i18n"
RAW_KEY_RE = re.compile(r"\b(?:js|site|footer|common|landing|citizen|counter|kiosk|verify|apply|review|error)"
                        r"\.[a-z_]+(?:\.[A-Za-z_]+)*\b")
SNAKE_RE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
ENGLISH_SENTENCE_RE = re.compile(r"[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,}){2,}")
ISO_RE = re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?(?![\w-])")  # ISO dates and times
CJK_RE = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def live_app_builder() -> Any:
    return demo_app_builder


@dataclass
class World:
    server: LiveServer
    token: str
    number: str
    clerk_password: str
    reviewer_password: str


@pytest.fixture
def world(live_server_factory: Callable[..., LiveServer]) -> World:
    """A demo exchange with a citizen who has done a bit of everything."""
    from exchange.citizens.face import UNKNOWN
    from exchange.counter.provision import demo_clerk_passwords
    from exchange.kit.db import unit_of_work
    from exchange.usage import service as usage

    server = live_server_factory()
    base = server.url
    token, id_number = citizen_session(server)
    with httpx.Client(base_url=base, timeout=120) as client:
        made = client.post("/api/v1/proofs", headers=bearer(token), json={"type": "realty_query"})
        assert made.status_code == 201, made.text
        number = made.json()["proof_id"]
        assert client.get(f"/api/v1/proofs/{number}?disposition=view", headers=bearer(token)).status_code == 200
        clerk = clerk_login(server)
        qr = client.post("/api/v1/citizen/qr", headers=bearer(token)).json()["qr_text"]
        scan = client.post("/api/v1/counter/scan", headers=bearer(clerk), json={"matter": MATTER, "qr_text": qr})
        assert scan.status_code == 200, scan.text
        declined = client.post(f"/api/v1/citizen/consents/{scan.json()['consent_id']}", headers=bearer(token),
                               json={"decision": "decline"})
        assert declined.status_code == 200, declined.text
        again = client.post("/api/v1/counter/scan", headers=bearer(clerk), json={"matter": MATTER, "qr_text": qr})
        assert again.status_code == 409  # QR_USED: a refusal in the log
        applied = client.post("/api/v1/proof-applications", headers=bearer(token),
                              json={"type": "no_criminal_record", "purpose": "出国留学", "details": {}})
        assert applied.status_code == 201, applied.text
        reviewer = clerk_login(server, "review_psb")
        decided = client.post(f"/api/v1/review/applications/{applied.json()['id']}", headers=bearer(reviewer),
                              json={"decision": "approve", "reason": None})
        assert decided.status_code == 200, decided.text
    ctx = server.app.state.ctx
    with unit_of_work(ctx.sessions) as s:  # a failed face login with this ID number, as the face gate logs it
        usage.record(s, ctx.protector.holder_hash(id_number), "face_login_failed", UNKNOWN, outcome="refused",
                     subject={"reason": "FACE_MISMATCH"})
    passwords = demo_clerk_passwords(server.data_dir)
    return World(server, token, number, passwords["clerk01"], passwords["review_psb"])


def zh_labels_with_english() -> list[str]:
    """Chinese UI strings (pieces between placeholders, ≥ 2 CJK characters) whose English differs."""
    zh = json.loads((CATALOGUES / "zh-CN.json").read_text(encoding="utf-8"))
    en = json.loads((CATALOGUES / "en.json").read_text(encoding="utf-8"))
    out: set[str] = set()
    for key, text in zh.items():
        if en.get(key, text) == text or key.startswith("apply.purpose_"):  # suggested purposes become data
            continue
        for piece in re.split(r"\{\w+\}", text):
            piece = piece.strip(" ：:，,。.（）()")
            if len(CJK_RE.findall(piece)) >= 2:
                out.add(piece)
    return sorted(out, key=len, reverse=True)


def catalogue_names_with_english() -> list[str]:
    from schemas.catalogue import load_catalogue

    cat = load_catalogue()
    names = {lt.name for lt in cat.licence_types.values() if lt.name_en and lt.name_en != lt.name}
    names |= {m.name for m in cat.matters.values() if m.name_en and m.name_en != m.name}
    names |= {p.name for p in cat.proof_types.values() if p.name_en and p.name_en != p.name}
    return sorted(names, key=len, reverse=True)


def visible_text(page: Page) -> str:
    page.wait_for_load_state("networkidle")
    text: str = page.evaluate("() => document.body.innerText")
    return text


def visible_leaves(page: Page) -> list[str]:
    """The text of every visible element that has no element children (a label, a button, a cell), except
    recorded data the page marks as Chinese (``lang="zh-CN"`` inside an English page: a licence's field values
    stay as the department recorded them)."""
    leaves: list[str] = page.evaluate(
        """() => [...document.body.querySelectorAll('*')]
              .filter((e) => !e.children.length && e.getClientRects().length && e.innerText)
              .filter((e) => !(document.documentElement.lang.startsWith('en') && e.closest('[lang^="zh"]')))
              .map((e) => e.innerText.trim())"""
    )
    return leaves


def problems_zh(text: str) -> list[str]:
    found = [f"raw key {m}" for m in RAW_KEY_RE.findall(text)]
    found += [f"raw name {m}" for m in SNAKE_RE.findall(text)]
    found += [f"English sentence {m!r}" for m in ENGLISH_SENTENCE_RE.findall(text)]
    found += [f"ISO time {m}" for m in ISO_RE.findall(text)]
    return found


def problems_en(text: str, leaves: list[str], labels: list[str], names: list[str]) -> list[str]:
    """A Chinese UI string is a problem where it stands as a label (a whole element's text, or a long sentence
    anywhere); short pieces such as 长沙市 also occur inside data recorded in Chinese, which stays as recorded."""
    found = [f"raw key {m}" for m in RAW_KEY_RE.findall(text)]
    found += [f"raw name {m}" for m in SNAKE_RE.findall(text)]
    found += [f"ISO time {m}" for m in ISO_RE.findall(text)]
    bare = {leaf.strip(" ：:，,。.（）()") for leaf in leaves}
    found += [f"Chinese label {s!r}" for s in labels if s in bare or (len(CJK_RE.findall(s)) >= 8 and s in text)]
    found += [f"Chinese name {s!r}" for s in names if s in bare]
    return found


def walk(browser: Browser, new_page: Callable[..., Page], w: World, lang: str,
         shot: Callable[[Page, str], Path]) -> Iterator[tuple[str, Page]]:
    """Open each page in ``lang``; yield (name, page) once its content is there."""
    base = w.server.url
    q = f"?lang={lang}"
    locale = "zh-CN" if lang == "zh-CN" else "en-GB"
    plain = new_page(browser, viewport=(1280, 900), locale=locale)
    for name, path, ready in (
        ("landing", "/", "main"),
        ("citizen-login", "/citizen", "#login-section"),
        ("counter-login", "/counter", "#clerk-login"),
        ("review-login", "/review", "#review-login"),
        ("kiosk-start", "/kiosk", "#step-id"),
        ("verify", "/verify", "#verify-qr-form"),
        ("record", f"/v/{w.number}", "[data-testid=verify-record]"),
        ("record-unknown", "/v/CS-BDC-20260101-AAAAAAAAAA-A", "[data-testid=verify-record]"),
    ):
        plain.goto(f"{base}{path}{q}")
        expect(plain.locator(ready).first).to_be_visible()
        yield name, plain

    plain.goto(f"{base}/verify{q}")
    plain.get_by_test_id("verify-qr").fill(w.number)
    plain.get_by_test_id("verify-qr-submit").click()
    expect(plain.get_by_test_id("verify-result")).to_be_visible()
    yield "verify-result", plain
    plain.get_by_test_id("verify-qr").fill("hello")
    plain.get_by_test_id("verify-qr-submit").click()
    expect(plain.get_by_test_id("verify-msg")).not_to_be_empty()
    yield "verify-error", plain

    citizen = citizen_page(browser, new_page, base, w.token, locale=locale)
    citizen.goto(f"{base}/citizen{q}")
    expect(citizen.locator('[data-testid=usage] [data-action="face_login_failed"]')).to_be_visible()
    expect(citizen.get_by_test_id("licences")).not_to_be_empty()
    for card in citizen.locator("[data-testid=licences] details").all()[:3]:
        card.locator("summary").click()  # open a few licence cards: their field titles count too
    yield "citizen-home", citizen
    citizen.goto(f"{base}/citizen/apply{q}")
    expect(citizen.get_by_test_id("application").first).to_be_visible()
    yield "apply", citizen

    counter = new_page(browser, viewport=(1366, 768), locale=locale)
    counter.goto(f"{base}/counter{q}")
    counter.get_by_test_id("username").fill("clerk01")
    counter.get_by_test_id("password").fill(w.clerk_password)
    counter.get_by_test_id("login-submit").click()
    expect(counter.get_by_test_id("clerk-bar")).to_be_visible()
    counter.get_by_test_id("matter").select_option(MATTER)
    expect(counter.get_by_test_id("materials").locator("li").first).to_be_visible()
    yield "counter-workspace", counter

    review = new_page(browser, viewport=(1366, 768), locale=locale)
    review.goto(f"{base}/review{q}")
    review.locator("#review-username").fill("review_psb")
    review.locator("#review-password").fill(w.reviewer_password)
    review.locator("#review-password").press("Enter")
    expect(review.locator("#review-app")).to_be_visible()
    review.get_by_test_id("filter-approved").click()
    expect(review.get_by_test_id("review-item").first).to_be_visible()
    yield "review-approved", review


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_page_speaks_the_page_language(
    world: World, browser_factory: Callable[..., Browser], new_page: Callable[..., Page],
    screenshot: Callable[[Page, str], Path], lang: str,
) -> None:
    browser = browser_factory()
    labels, names = zh_labels_with_english(), catalogue_names_with_english()
    report: dict[str, list[str]] = {}
    for name, page in walk(browser, new_page, world, lang, screenshot):
        text = visible_text(page)
        found = problems_zh(text) if lang == "zh-CN" else problems_en(text, visible_leaves(page), labels, names)
        if found:
            report[name] = sorted(set(found))
        screenshot(page, f"i13-walk-{lang}-{name}")
    assert not report, json.dumps(report, ensure_ascii=False, indent=1)
