"""``/review``: a department's reviewer works the queue of proof applications (户籍证明, 无犯罪记录证明, …).

Login with a reviewer account (POST /api/v1/counter/login; the clerk token is kept in this tab's
sessionStorage), the department's queue (GET /api/v1/review/applications) with what the department's records say,
approve (the proof is made and sealed) or reject with a reason the citizen reads (POST
/api/v1/review/applications/{id}).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exchange.web.templating import render

router = APIRouter()


@router.get("/review", name="review", response_class=HTMLResponse)
def review_page(request: Request) -> HTMLResponse:
    return render(request, "review.html", body_class="layout-counter")
