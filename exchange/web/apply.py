"""``/citizen/apply``: the citizen applies for a proof issued after department review and follows it.

The page reuses the citizen session of ``/citizen`` (the face-verified token in this tab's sessionStorage, key
``licex.citizen.token``); without one it sends the citizen to ``/citizen`` to log in. Apply (type + purpose, and the
details a type needs), then the list of applications with status, the reviewer's reason when rejected, and the
sealed PDF to download once approved. The kiosk shows the same applications read-only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exchange.web.templating import render

router = APIRouter()


@router.get("/citizen/apply", name="citizen_apply", response_class=HTMLResponse)
def apply_page(request: Request) -> HTMLResponse:
    return render(request, "apply.html", body_class="layout-citizen")
