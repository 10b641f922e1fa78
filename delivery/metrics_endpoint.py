"""``GET /metrics`` in Prometheus text format, for the scraper that holds the token.

With ``SIPOKE_METRICS_TOKEN`` set, a request must carry ``Authorization: Bearer <token>``
(compared in constant time) or is answered 401. Without it, /metrics is open in development
and test (a local Prometheus, the benchmarks) and not served at all in production (404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from core.errors import NotFound, Unauthorized
from core.security import constant_time_equals
from core.settings import Environment, Settings, get_settings
from delivery.metrics import install_collector, render

router = APIRouter(tags=["ops"])


def check_scraper(settings: Settings, authorization: str | None) -> None:
    """Raise unless this request may read the metrics (see the module docstring)."""
    if settings.metrics_token is None:
        if settings.env is Environment.production:
            raise NotFound()
        return
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not constant_time_equals(
            credentials.strip(), settings.metrics_token.get_secret_value()):
        raise Unauthorized("Token metrics tidak valid.")


@router.get("/metrics", include_in_schema=False)
def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
    check_scraper(get_settings(), authorization)
    install_collector()
    body, content_type = render()
    return Response(body, media_type=content_type)
