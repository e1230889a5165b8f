"""The counter page (``/counter``): clerk login, matter picker, QR scan (camera or pasted code), waiting for the
citizen's consent, the pulled licences with their verification verdicts and the matter's checklist.
Wide two-column layout; all behaviour is in ``static/js/counter.js``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exchange.web.templating import render

router = APIRouter()


@router.get("/counter", name="counter", response_class=HTMLResponse)
def counter_page(request: Request) -> HTMLResponse:
    return render(request, "counter.html", body_class="layout-counter")
