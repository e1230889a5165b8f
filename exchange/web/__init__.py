"""Server-rendered web pages (citizen, counter, kiosk, verify) and their static files.

Wiring, in the app factory::

    from exchange.web import mount_static, pages_router
    app.include_router(pages_router)
    mount_static(app)

Adding a page is a template plus a route: create ``exchange/web/<page>.py`` with a module-level
``router = APIRouter()`` whose handlers ``return render(request, "<page>.html", ...)``, and
``exchange/web/templates/<page>.html`` extending ``base.html``. Every module of this package that defines
a module-level ``router`` (an ``APIRouter``) is included in ``pages_router`` automatically, in module-name
order, so no edit here is needed. Page modules do no I/O and build no engines at import time; they call
features only through their declared interfaces (``exchange.proofs.service``, ...; see docs/architecture.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Final

from fastapi import APIRouter, FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from exchange.web.templating import STATIC_DIR, STATIC_PREFIX, render

__all__ = [
    "STATIC_PREFIX",
    "VersionedStaticFiles",
    "build_pages_router",
    "mount_static",
    "pages_router",
    "render",
]

_NOT_PAGE_MODULES: Final = frozenset({"i18n", "templating"})

#: Content types set explicitly: the platform's ``mimetypes`` may lack ``.wasm`` or call JS ``text/plain``.
CONTENT_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".map": "application/json",
}
LONG_CACHE: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"


class VersionedStaticFiles(StaticFiles):
    """StaticFiles with caching fit for versioned URLs and explicit JS/WASM content types.

    ``/static/x.js?v=<hash>`` (what ``static_url`` makes) is cached for a year, immutable; an unversioned URL
    (a module's relative ``import``) is cached but revalidated each time (ETag / Last-Modified → 304).
    """

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            query = scope.get("query_string", b"")
            versioned = any(part.startswith(b"v=") for part in query.split(b"&"))
            response.headers["Cache-Control"] = LONG_CACHE if versioned else REVALIDATE
            response.headers["X-Content-Type-Options"] = "nosniff"
            suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
            if response.status_code == 200 and suffix in CONTENT_TYPES:
                response.headers["Content-Type"] = CONTENT_TYPES[suffix]
        return response


def mount_static(app: FastAPI) -> None:
    """Serve ``exchange/web/static`` at ``/static`` (name ``static``)."""
    app.mount(STATIC_PREFIX, VersionedStaticFiles(directory=STATIC_DIR), name="static")


def build_pages_router() -> APIRouter:
    """A router with the ``router`` of every page module in this package (hidden from the OpenAPI schema)."""
    router = APIRouter(include_in_schema=False)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.ispkg or info.name.startswith("_") or info.name in _NOT_PAGE_MODULES:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        page_router = getattr(module, "router", None)
        if isinstance(page_router, APIRouter):
            router.include_router(page_router)
    return router


pages_router: APIRouter = build_pages_router()
