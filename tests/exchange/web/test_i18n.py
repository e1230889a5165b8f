"""Message catalogues (zh-CN and en have the same keys and placeholders) and language negotiation."""

from __future__ import annotations

import json
import string

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from exchange.web import i18n


def _placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def _raw(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(i18n.catalogue_path(lang).read_text(encoding="utf-8"))
    return data


def test_catalogues_have_the_same_keys() -> None:
    zh, en = _raw("zh-CN"), _raw("en")
    assert sorted(set(zh) - set(en)) == [], "keys missing in en.json"
    assert sorted(set(en) - set(zh)) == [], "keys missing in zh-CN.json"


def test_catalogues_have_the_same_placeholders_and_no_empty_messages() -> None:
    zh, en = _raw("zh-CN"), _raw("en")
    for key in zh:
        assert zh[key].strip() and en[key].strip(), key
        assert _placeholders(zh[key]) == _placeholders(en[key]), key


def test_keys_follow_the_convention() -> None:
    for key in _raw("zh-CN"):
        assert key == key.strip() and " " not in key, key
        head = key.split(".", 1)[0]
        assert "." in key and head == head.lower(), f"{key!r}: dotted, lower-case group first"


def test_english_catalogue_has_no_chinese_left() -> None:
    for key, message in _raw("en").items():
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in message), f"{key}: {message}"


def test_translate_formats_and_falls_back() -> None:
    assert i18n.translate("zh-CN", "site.city") == "长沙市"
    assert i18n.translate("en", "site.city") == "Changsha"
    assert "30 天" in i18n.translate("zh-CN", "footer.privacy", retention_days=30)
    assert i18n.translate("en", "no.such.key") == "no.such.key"
    with pytest.raises(ValueError):
        i18n.catalogue("fr")


def test_js_messages_are_the_js_keys() -> None:
    messages = i18n.js_messages("en")
    assert messages and all(k.startswith("js.") for k in messages)
    assert messages["js.camera.denied"].startswith("Cannot use the camera")


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("EN_us", "en"),
        ("zh", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("fr", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise(tag: str | None, expected: str | None) -> None:
    assert i18n.normalise(tag) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr-FR, en;q=0.5, zh;q=0.7", "zh-CN"),
        ("fr-FR, de;q=0.9", None),
        ("en;q=0, zh;q=0.1", "zh-CN"),
        ("en;q=bogus", None),
        ("", None),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert i18n.parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        (None, None, None, "zh-CN"),
        (None, None, "en-US,en;q=0.9", "en"),
        (None, "zh-CN", "en-US", "zh-CN"),
        (None, "en", "zh-CN", "en"),
        ("zh-CN", "en", "en", "zh-CN"),
        ("en", None, "zh-CN", "en"),
        ("xx", "en", None, "en"),
        (None, "garbage", None, "zh-CN"),
    ],
)
def test_negotiate_order_query_cookie_header_default(
    query: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.negotiate(query, cookie, accept) == expected


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()

    @app.get("/lang")
    def lang(request: Request) -> dict[str, object]:
        chosen, set_cookie = i18n.choose_language(request)
        return {"lang": chosen, "set_cookie": set_cookie}

    return TestClient(app)


def test_choose_language_on_requests(client: TestClient) -> None:
    assert client.get("/lang").json() == {"lang": "zh-CN", "set_cookie": False}
    assert client.get("/lang", headers={"Accept-Language": "en"}).json() == {
        "lang": "en",
        "set_cookie": False,
    }
    assert client.get("/lang?lang=en").json() == {"lang": "en", "set_cookie": True}
    client.cookies.set("lang", "en")
    assert client.get("/lang?lang=en").json() == {"lang": "en", "set_cookie": False}
    assert client.get("/lang").json() == {"lang": "en", "set_cookie": False}
    assert client.get("/lang?lang=zh-CN").json() == {"lang": "zh-CN", "set_cookie": True}
