"""The web base without a browser: landing page, headers, language cookie, static files, page discovery."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.web import VersionedStaticFiles, build_pages_router, mount_static, pages_router
from exchange.web.templating import CSP, STATIC_DIR, static_url


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(pages_router)
    mount_static(app)
    return TestClient(app)


def test_landing_in_chinese_by_default(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in r.text
    assert "长沙市" in r.text and "无证明城市" in r.text and "电子证照" in r.text
    for path in ("/citizen", "/counter", "/kiosk", "/verify", "/docs"):
        assert f'href="{path}"' in r.text
    assert 'href="/?lang=en"' in r.text
    assert "set-cookie" not in r.headers


def test_landing_sends_strict_headers(client: TestClient) -> None:
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert csp == CSP
    for directive in (
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-language"] == "zh-CN"


def test_no_inline_script_or_style(client: TestClient) -> None:
    html = client.get("/").text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "<style" not in html and " style=" not in html and "onclick" not in html


def test_query_switches_to_english_and_sets_cookie(client: TestClient) -> None:
    r = client.get("/?lang=en")
    assert '<html lang="en">' in r.text and "Changsha" in r.text
    assert 'href="/?lang=zh-CN"' in r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("lang=en;") and "SameSite=lax" in cookie and "Path=/" in cookie
    r = client.get("/")  # the client keeps the cookie
    assert '<html lang="en">' in r.text


def test_switch_url_keeps_other_query_parameters(client: TestClient) -> None:
    r = client.get("/?matter=m1&lang=en")
    assert 'href="/?matter=m1&amp;lang=zh-CN"' in r.text


def test_messages_for_scripts_are_embedded_as_json(client: TestClient) -> None:
    html = client.get("/?lang=en").text
    assert '<script type="application/json" id="i18n-messages">' in html
    assert '"js.camera.denied"' in html


def test_pages_are_not_in_the_openapi_schema(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["paths"] == {}


def test_page_modules_are_discovered() -> None:
    app = FastAPI()
    app.include_router(build_pages_router())
    assert app.url_path_for("landing") == "/"  # from exchange/web/landing.py's ``router``


def test_static_urls_are_versioned_and_cached_long(client: TestClient) -> None:
    url = static_url("js/qrscan.js")
    assert re.fullmatch(r"/static/js/qrscan\.js\?v=[0-9a-f]{12}", url)
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["x-content-type-options"] == "nosniff"
    unversioned = client.get("/static/js/qrscan.js")
    assert unversioned.headers["cache-control"] == "no-cache"
    assert "etag" in unversioned.headers
    again = client.get("/static/js/qrscan.js", headers={"If-None-Match": unversioned.headers["etag"]})
    assert again.status_code == 304


def test_static_mime_types(client: TestClient) -> None:
    assert client.get("/static/css/app.css").headers["content-type"] == "text/css; charset=utf-8"
    assert client.get("/static/vendor/jsqr/jsQR.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/img/emblem.svg").headers["content-type"] == "image/svg+xml"
    assert client.get("/static/nope.js").status_code == 404
    assert client.get("/static/../i18n.py").status_code == 404


def test_wasm_is_served_as_application_wasm(tmp_path: Path) -> None:
    (tmp_path / "decoder.wasm").write_bytes(b"\0asm\1\0\0\0")
    app = FastAPI()
    app.mount("/static", VersionedStaticFiles(directory=tmp_path), name="static")
    r = TestClient(app).get("/static/decoder.wasm?v=1")
    assert r.status_code == 200 and r.headers["content-type"] == "application/wasm"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_static_url_refuses_missing_or_escaping_paths() -> None:
    with pytest.raises(FileNotFoundError):
        static_url("js/missing.js")
    with pytest.raises(FileNotFoundError):
        static_url("../i18n.py")


def test_vendored_jsqr_has_its_licence() -> None:
    vendor = STATIC_DIR / "vendor"
    assert (vendor / "jsqr" / "jsQR.js").stat().st_size > 200_000
    assert "Apache License" in (vendor / "jsqr" / "LICENSE").read_text()
    assert "jsqr" in (vendor / "VENDORED.md").read_text() and "1.4.0" in (vendor / "VENDORED.md").read_text()
