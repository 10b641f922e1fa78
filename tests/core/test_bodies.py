"""Request bodies (core.bodies): hostile JSON is a 400, never a crash; every body has a size
limit, refused with 413 before it is read whole; uploads keep their own, larger limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from core.bodies import parse_json
from core.errors import InvalidJson
from core.settings import reset_settings_cache
from tests.core.request_helpers import PDF, SITI, api, create, ok, upload, upload_rows

NESTED = b"[" * 50000 + b"]" * 50000
MB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


def _error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code and body["message"]
    return body


# --- hostile JSON -----------------------------------------------------------------------------

def test_nested_json_to_the_api_is_400_and_the_next_request_works(client, demo) -> None:
    for _ in range(3):
        body = _error(client.post(api("/auth/login"), content=NESTED, headers=JSON), 400,
                      "invalid_json")
        assert "recursion limit" in body["fields"][0]["message"]
    # The same inside a field of an otherwise sound body.
    wrapped = b'{"username": "admin.mekarjaya", "password": ' + NESTED + b"}"
    _error(client.post(api("/auth/login"), content=wrapped, headers=JSON), 400, "invalid_json")
    signed_in = client.post(api("/auth/login"), json={"username": "admin.mekarjaya",
                                                      "password": "demo-admin-123"})
    assert signed_in.status_code == 200, signed_in.text


def test_json_within_the_depth_limit_reaches_the_endpoint(client, demo) -> None:
    deep_but_fine = {"username": "admin.mekarjaya", "password": "demo-admin-123",
                     "extra": json.loads("[" * 150 + "]" * 150)}
    response = client.post(api("/auth/login"), json=deep_but_fine)
    assert response.status_code != 400, response.text


def test_parse_json_refuses_what_is_not_strict_json() -> None:
    assert parse_json(b'{"a": [1, 2.5, "x", null]}') == {"a": [1, 2.5, "x", None]}
    assert parse_json(b"[" * 200 + b"]" * 200) is not None
    for bad in (NESTED, b"[" * 250 + b"]" * 250, b'{"a": NaN}', b"[Infinity]", b"{", b"\xff",
                b'{"a": 1} trailing'):
        with pytest.raises(InvalidJson):
            parse_json(bad)


# --- size limits ------------------------------------------------------------------------------

def _call(app, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict, int]:
    """Call the ASGI app with a body that is announced but never sent: (status, JSON body,
    how many times the app asked for the body)."""
    asked = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal asked
        asked += 1
        await asyncio.sleep(3600)  # a client still uploading its 100 MB
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": headers,
             "client": ("203.0.113.9", 4000), "server": ("testserver", 80)}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), asked


def test_an_oversize_content_length_is_413_without_reading_the_body(app, engine) -> None:
    for path, content_type in (("/api/v1/auth/login", b"application/json"),
                               ("/webhooks/sandbox", b"application/json"),
                               ("/masuk/staf", b"application/x-www-form-urlencoded")):
        status, body, asked = _call(app, path, [(b"content-type", content_type),
                                                (b"content-length", b"104857600")])
        assert (status, body["error"]["code"], asked) == (413, "payload_too_large", 0), path


async def _stream(app, path: str, content_type: str, total: int,
                  chunk: int = 64 * 1024) -> tuple[httpx.Response, int]:
    """POST ``total`` bytes chunked (no Content-Length): the answer, and the bytes the
    client got to send."""
    pulled = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < total:
            pulled += chunk
            yield b" " * chunk

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        response = await c.post(path, content=chunks(), headers={"Content-Type": content_type})
    return response, pulled


def test_an_oversize_chunked_json_body_is_cut_off_at_the_limit(app, engine) -> None:
    response, pulled = asyncio.run(_stream(app, "/api/v1/auth/login", "application/json",
                                           100 * MB))
    body = _error(response, 413, "payload_too_large")
    assert body["details"]["max_bytes"] == MB
    assert pulled <= MB + 2 * 64 * 1024  # read up to the limit, not the 100 MB


def test_the_limit_is_a_setting(client, engine, monkeypatch) -> None:
    monkeypatch.setenv("SIPOKE_MAX_JSON_BODY_BYTES", "2048")
    reset_settings_cache()
    padded = {"username": "x" * 3000, "password": "y"}
    _error(client.post(api("/auth/login"), json=padded), 413, "payload_too_large")
    small = client.post(api("/auth/login"), json={"username": "x", "password": "y"})
    assert small.status_code != 413


def test_a_multipart_body_posted_to_a_json_route_is_cut_off_at_the_upload_limit(
        app, engine, monkeypatch) -> None:
    monkeypatch.setenv("SIPOKE_MAX_UPLOAD_BYTES", "4096")
    reset_settings_cache()
    response, pulled = asyncio.run(_stream(
        app, "/api/v1/auth/login", "multipart/form-data; boundary=b", 100 * MB))
    _error(response, 413, "payload_too_large")
    assert pulled <= 4096 + 64 * 1024 + 2 * 64 * 1024


def test_uploads_keep_their_own_larger_limit(client, demo) -> None:
    headers = demo.headers(SITI)
    rid = create(client, headers)["id"]
    scan = PDF + b"%" * (3 * MB // 2)  # larger than any JSON body may be
    ok(upload(client, headers, rid, "kk", scan, "kk.pdf", "application/pdf"), 201)
    assert upload_rows() == 1


def test_a_nul_character_in_json_is_400_not_a_database_error(client, demo):
    r = client.post("/api/v1/auth/login", content=b'{"username": "\\u0000", "password": "x"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
