"""Message catalogues and language choice for the web pages.

Catalogues are flat JSON objects in ``exchange/web/i18n/<lang>.json`` (``zh-CN`` first, ``en`` second) with
the same keys in each; a test checks the parity. Key conventions:

- dotted, lower-case, grouped by page or part: ``site.*`` (header), ``footer.*``, ``common.*`` (shared words),
  ``landing.*``, ``citizen.*``, ``counter.*``, ``kiosk.*``, ``verify.*``;
- ``error.<CODE>`` for the stable error codes of the JSON API (``{"error": CODE, "detail": ...}``);
- ``js.*`` keys are shipped to the browser with every page (see ``js_messages``) so static scripts can show
  localised text: ``js.camera.*``, ``js.error.*``, ...;
- placeholders use ``str.format`` names: ``"剩余 {seconds} 秒"`` → ``t("citizen.qr_expires", seconds=30)``.

Language choice (``choose_language``): ``?lang=en|zh-CN`` (remembered in the ``lang`` cookie) → ``lang``
cookie → ``Accept-Language`` → ``zh-CN``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Final

from starlette.requests import Request

log = logging.getLogger(__name__)

SUPPORTED: Final[tuple[str, ...]] = ("zh-CN", "en")
DEFAULT_LANG: Final = "zh-CN"
COOKIE_NAME: Final = "lang"
QUERY_PARAM: Final = "lang"
COOKIE_MAX_AGE_S: Final = 365 * 24 * 3600
LANG_LABELS: Final[Mapping[str, str]] = {"zh-CN": "中文", "en": "English"}
JS_PREFIX: Final = "js."

CATALOGUE_DIR: Final = Path(__file__).with_name("i18n")


def catalogue_path(lang: str) -> Path:
    return CATALOGUE_DIR / f"{lang}.json"


@lru_cache(maxsize=len(SUPPORTED))
def catalogue(lang: str) -> Mapping[str, str]:
    """The messages of one supported language (read once, then cached)."""
    if lang not in SUPPORTED:
        raise ValueError(f"unsupported language {lang!r}; supported: {', '.join(SUPPORTED)}")
    data = json.loads(catalogue_path(lang).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{catalogue_path(lang)} must be a flat JSON object of strings")
    return dict(data)


def translate(lang: str, key: str, /, **params: object) -> str:
    """The message ``key`` in ``lang``; falls back to zh-CN, then to the key itself (and logs it)."""
    message = catalogue(lang).get(key)
    if message is None:
        message = catalogue(DEFAULT_LANG).get(key)
        if message is None:
            log.warning("missing i18n key %r", key)
            return key
    if params:
        try:
            return message.format(**params)
        except (KeyError, IndexError, ValueError):
            log.warning("bad placeholders for i18n key %r in %s", key, lang)
            return message
    return message


def js_messages(lang: str) -> dict[str, str]:
    """The ``js.*`` messages (prefix kept) that every page embeds for its scripts."""
    messages = catalogue(lang)
    fallback = catalogue(DEFAULT_LANG)
    keys = {k for k in fallback if k.startswith(JS_PREFIX)} | {k for k in messages if k.startswith(JS_PREFIX)}
    return {k: messages.get(k, fallback.get(k, k)) for k in sorted(keys)}


def normalise(tag: str | None) -> str | None:
    """Map a language tag to a supported one: ``en-GB`` → ``en``, ``zh``/``zh-Hans-CN``/``zh_cn`` → ``zh-CN``.

    Traditional-Chinese tags (``zh-TW``, ``zh-HK``, ``zh-Hant``) also map to ``zh-CN``: simplified Chinese is
    closer for those readers than English. Anything else → ``None``.
    """
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def parse_accept_language(header: str | None) -> str | None:
    """The best supported language in an ``Accept-Language`` header (q-values respected), or ``None``."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        fields = part.strip().split(";")
        tag = fields[0].strip()
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        lang = normalise(tag)
        if lang is not None and quality > 0:
            choices.append((-quality, index, lang))
    if not choices:
        return None
    return min(choices)[2]


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """Pure form of the language choice: query → cookie → Accept-Language → zh-CN."""
    for candidate in (normalise(query), normalise(cookie), parse_accept_language(accept_language)):
        if candidate is not None:
            return candidate
    return DEFAULT_LANG


def choose_language(request: Request) -> tuple[str, bool]:
    """The page language for ``request`` and whether the ``lang`` cookie should be (re)set.

    The cookie is set when ``?lang=`` names a supported language that the cookie does not already hold.
    """
    query = request.query_params.get(QUERY_PARAM)
    cookie = request.cookies.get(COOKIE_NAME)
    lang = negotiate(query, cookie, request.headers.get("accept-language"))
    from_query = normalise(query)
    return lang, from_query is not None and from_query != cookie


def request_language(request: Request) -> str:
    """The page language for ``request`` (usable as a FastAPI dependency)."""
    return choose_language(request)[0]


def other_language(lang: str) -> str:
    return "en" if lang == "zh-CN" else "zh-CN"
