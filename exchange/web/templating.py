"""Server-rendered pages: one Jinja environment, one ``render`` helper, one Content-Security-Policy.

A page is a template that extends ``base.html`` plus a route that calls ``render``::

    @router.get("/citizen", name="citizen")
    def citizen_page(request: Request) -> HTMLResponse:
        return render(request, "citizen.html", body_class="layout-citizen")

``render`` gives every template ``t`` (translate), ``lang``, ``other_lang``, ``lang_switch_url``,
``static_url`` (cache-busted ``/static/...`` URL), ``csp_nonce`` and ``js_messages``; it sets the CSP and the
other security headers, and remembers ``?lang=`` in a cookie. No inline scripts or styles: the CSP forbids
them, so every page's JS is a file under ``static/js`` loaded with ``<script type="module" src=...>``.
Templates use ``StrictUndefined``: test optional variables with ``{% if x is defined %}``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from exchange.kit import cntime
from exchange.web import i18n

WEB_DIR: Final = Path(__file__).parent
TEMPLATE_DIR: Final = WEB_DIR / "templates"
STATIC_DIR: Final = WEB_DIR / "static"
STATIC_PREFIX: Final = "/static"
DEFAULT_USAGE_RETENTION_DAYS: Final = 365

CSP: Final = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; script-src 'self'; "
    "style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    # pages may show a citizen's (masked) data: never keep them in shared caches or the back/forward cache
    "Cache-Control": "no-store",
}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    env.filters["for_people"] = cntime.for_people  # {{ iso|for_people(lang) }}: China time, as people read it
    return env


@lru_cache(maxsize=512)
def _file_version(path: Path, mtime_ns: int) -> str:
    del mtime_ns  # part of the cache key only: a changed file gets a new version
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(path: str) -> str:
    """``/static/<path>?v=<content hash>``: versioned URLs may be cached for a year (see ``mount_static``)."""
    clean = path.lstrip("/")
    file = (STATIC_DIR / clean).resolve()
    if not file.is_relative_to(STATIC_DIR.resolve()) or not file.is_file():
        raise FileNotFoundError(f"no static file {clean!r} under {STATIC_DIR}")
    return f"{STATIC_PREFIX}/{clean}?v={_file_version(file, file.stat().st_mtime_ns)}"


templates: Final = Jinja2Templates(env=_environment())


def lang_switch_url(request: Request, lang: str) -> str:
    """The current path and query with ``lang`` set to ``lang`` (relative: no scheme or host)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != i18n.QUERY_PARAM]
    params.append((i18n.QUERY_PARAM, lang))
    return f"{request.url.path}?{urlencode(params)}"


def _usage_retention_days(request: Request) -> int:
    state = request.app.state
    settings = getattr(state, "settings", None) or getattr(getattr(state, "ctx", None), "settings", None)
    days = getattr(settings, "usage_retention_days", None)
    return days if isinstance(days, int) else DEFAULT_USAGE_RETENTION_DAYS


def render(
    request: Request,
    template: str | jinja2.Template,
    /,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` for ``request`` in the negotiated language, with the security headers set.

    ``template`` is a name under ``templates/`` or a ``jinja2.Template`` (e.g. ``templates.env.from_string``
    in a test). Extra keyword arguments become template variables and override the defaults.

    ``body_class`` picks the layout: ``layout-page`` (default), ``layout-citizen`` (phone, ≤ 420 px),
    ``layout-counter`` (wide, two columns), ``kiosk`` (large type).
    """
    lang, set_cookie = i18n.choose_language(request)
    other = i18n.other_language(lang)
    nonce = secrets.token_urlsafe(16)
    request.state.csp_nonce = nonce
    base: dict[str, Any] = {
        "t": partial(i18n.translate, lang),
        "lang": lang,
        "other_lang": other,
        "other_lang_label": i18n.LANG_LABELS[other],
        "lang_switch_url": lang_switch_url(request, other),
        "csp_nonce": nonce,
        "js_messages": i18n.js_messages(lang),
        "usage_retention_days": _usage_retention_days(request),
        "body_class": "layout-page",
    }
    base.update(context)
    # jinja's get_template passes a Template through, so a Template object works as the "name"
    response = templates.TemplateResponse(
        request,
        template,  # type: ignore[arg-type]
        base,
        status_code=status_code,
    )
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    if headers:
        response.headers.update(headers)
    if set_cookie:
        response.set_cookie(
            i18n.COOKIE_NAME, lang, max_age=i18n.COOKIE_MAX_AGE_S, path="/", samesite="lax", httponly=True
        )
    return response
