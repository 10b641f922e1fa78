"""Pages anyone may open: the home page with each office's catalog."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from core.offices import service as offices
from web.context import PageDep

router = APIRouter()

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@router.get("/")
def home(p: PageDep) -> Response:
    return p.render("home.html", offices=offices.list_public(p.db), days=DAYS)
