"""The citizen page (``/citizen``): face login, my licences (masked by the server), the dynamic QR, consent
requests and the usage log (用证记录). Phone-first; all behaviour is in ``static/js/citizen.js``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exchange.web.templating import render

router = APIRouter()


@router.get("/citizen", name="citizen", response_class=HTMLResponse)
def citizen_page(request: Request) -> HTMLResponse:
    return render(request, "citizen.html", body_class="layout-citizen")
