"""Overload answers 503 + Retry-After, never 500: a dry pool, a locked SQLite, a full gate."""

from __future__ import annotations

import threading
import time

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core.app import install_concurrency_limit, install_error_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/locked")
    def locked() -> None:
        raise OperationalError("UPDATE x", {}, Exception("database is locked"))

    @app.get("/dry")
    def dry() -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 20 reached")

    return app


def test_database_unavailable_is_503_with_retry_after() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    for path in ("/locked", "/dry"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert response.json()["error"]["code"] == "database_busy"


def test_gate_queues_then_sheds_load() -> None:
    app = FastAPI()
    release = threading.Event()

    @app.get("/slow")
    def slow() -> dict:
        release.wait(5)
        return {"ok": True}

    install_concurrency_limit(app, 1, queue_timeout=0.3)
    client = TestClient(app)
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(client.get("/slow").status_code))
    first.start()
    time.sleep(0.2)  # the first request holds the only place
    second = client.get("/slow")
    assert second.status_code == 503 and second.headers["Retry-After"] == "1"
    release.set()
    first.join(5)
    assert results == [200]
    assert client.get("/slow").status_code == 200  # the place was given back
