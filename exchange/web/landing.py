"""The landing page: what this service is and where each kind of user goes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exchange.web.templating import render

router = APIRouter()

#: (path, i18n key stem, icon character) of the landing cards; keys ``landing.<stem>_title`` / ``_desc``.
DESTINATIONS: tuple[tuple[str, str, str], ...] = (
    ("/citizen", "citizen", "证"),
    ("/counter", "counter", "窗"),
    ("/kiosk", "kiosk", "印"),
    ("/verify", "verify", "验"),
    ("/docs", "docs", "API"),
)


@router.get("/", name="landing", response_class=HTMLResponse)
def landing(request: Request) -> HTMLResponse:
    return render(request, "landing.html", destinations=DESTINATIONS)
