def test_health(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_ready(client):
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "broker": "ok"}


def _paths(routes) -> list[str]:
    """Paths in matching order; FastAPI keeps an included router as one entry."""
    out: list[str] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out += _paths(inner.routes) if inner is not None else [getattr(route, "path", "")]
    return out


def test_webhooks_and_metrics_are_matched_first(app):
    """The busiest callers skip the walk past ~130 page and API routes."""
    assert _paths(app.router.routes)[:2] == ["/webhooks/{provider}", "/metrics"]
