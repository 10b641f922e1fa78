"""The public page a document's QR opens: is this paper genuine? (``core.requests.
verification.lookup``, the same answer as the JSON endpoint, in the site's style.)"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from core.errors import NotFound, TooManyRequests
from core.requests import verification
from web.context import PageDep

router = APIRouter()


@router.get("/verify")
def verify_form(p: PageDep, code: str = "") -> Response:
    """Type the code printed under the QR (for phones without a QR scanner)."""
    if code.strip():
        return p.redirect(f"/verify/{verification.normalize_code(code)[:40]}")
    return p.render("verify.html", result=None, code="", message=None)


@router.get("/verify/{code}")
def verify_page(code: str, p: PageDep) -> Response:
    try:
        result = verification.lookup(p.db, code, client_ip=p.client_ip)
    except (NotFound, TooManyRequests) as exc:  # the page's commit keeps the counted try
        return p.render("verify.html", status_code=exc.status_code, result=None,
                        code=code[:40], message=p.t.service(exc.message))
    response = p.render("verify.html", result=result, code=result.code, message=None)
    return response
