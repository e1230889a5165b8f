"""``/kiosk``: the self-service terminal at a service station (自助终端).

ID number on an on-screen keypad → the same face gate as the citizen app (face/challenge, live frames,
face/login) → the citizen's licences (masked), past proofs and applications → an instant proof, shown and
printed through the browser. An idle timer logs out after ``DEFAULT_IDLE_S`` seconds without a touch; ``?idle=``
may shorten or lengthen it within ``IDLE_RANGE_S`` (service-station staff tune it; the tests shorten it).

The sealed PDF is fetched with the citizen's bearer token and shown from a ``blob:`` URL, so this page's CSP
allows ``frame-src 'self' blob:`` (the base CSP falls back to ``default-src 'self'`` for frames).
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exchange.web.templating import CSP, render

router = APIRouter()

DEFAULT_IDLE_S: Final = 90
IDLE_RANGE_S: Final = (5, 600)
#: The base policy plus PDF frames from blob: URLs (the sealed proof, fetched with the bearer token).
PDF_FRAME_CSP: Final = CSP + "; frame-src 'self' blob:"


def idle_seconds(raw: str | None) -> int:
    """The idle timeout from ``?idle=`` (clamped to ``IDLE_RANGE_S``), else ``DEFAULT_IDLE_S``."""
    if raw is None or not raw.strip().isdigit():
        return DEFAULT_IDLE_S
    low, high = IDLE_RANGE_S
    return max(low, min(high, int(raw.strip())))


@router.get("/kiosk", name="kiosk", response_class=HTMLResponse)
def kiosk_page(request: Request) -> HTMLResponse:
    return render(
        request,
        "kiosk.html",
        body_class="layout-page kiosk",
        idle_s=idle_seconds(request.query_params.get("idle")),
        brand_link=False,  # a public terminal: the logo leads nowhere (the landing page links to staff pages)
        headers={"Content-Security-Policy": PDF_FRAME_CSP},
    )
