"""``GET /metrics`` in Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Response

from delivery.metrics import install_collector, render

router = APIRouter(tags=["ops"])


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    install_collector()
    body, content_type = render()
    return Response(body, media_type=content_type)
