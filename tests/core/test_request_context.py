"""Request ids (echoed or generated, carried into logs and audit rows) and JSON log lines."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from core.db import unit_of_work
from core.logging import JsonFormatter, configure_logging, reset_request_id, set_request_id
from core.models import AuditEvent
from tests.core.test_auth import REGISTRATION


def test_a_given_request_id_is_echoed(client) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "kel-42.abc"})
    assert r.headers["X-Request-ID"] == "kel-42.abc"


def test_a_missing_or_unsafe_request_id_is_replaced(client) -> None:
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert client.get("/healthz").headers["X-Request-ID"] != generated
    forged = client.get("/healthz", headers={"X-Request-ID": 'x", "level": "critical'})
    assert forged.headers["X-Request-ID"] != 'x", "level": "critical'
    assert len(client.get("/healthz", headers={"X-Request-ID": "a" * 65})
               .headers["X-Request-ID"]) == 32


def test_errors_carry_the_request_id_too(client) -> None:
    r = client.get("/api/v1/me", headers={"X-Request-ID": "req-401"})
    assert r.status_code == 401 and r.headers["X-Request-ID"] == "req-401"


def test_every_request_logs_one_json_line(client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sipoke.http")
    client.get("/api/v1/offices", headers={"X-Request-ID": "req-1"})
    (record,) = [r for r in caplog.records if r.name == "sipoke.http"]
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request" and line["level"] == "info"
    assert line["request_id"] == "req-1"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/offices", 200)
    assert isinstance(line["ms"], float)
    assert line["ts"].endswith("+00:00")


def test_the_request_id_reaches_the_audit_log(client, demo) -> None:
    r = client.post("/api/v1/auth/register", json=REGISTRATION,
                    headers={"X-Request-ID": "daftar-7"})
    assert r.status_code == 201
    with unit_of_work() as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "resident.registered")).one()
    assert event.request_id == "daftar-7"


def test_log_lines_include_the_current_request_id_and_extras() -> None:
    record = logging.LogRecord("sipoke.test", logging.WARNING, __file__, 1,
                               "sent %s", ("x",), None)
    record.outbox_id = 5
    token = set_request_id("ctx-9")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        reset_request_id(token)
    assert line == {**line, "msg": "sent x", "level": "warning", "logger": "sipoke.test",
                    "request_id": "ctx-9", "outbox_id": 5}


def test_exceptions_stay_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("sipoke.test", logging.ERROR, __file__, 1, "failed", (),
                                   sys.exc_info())
    text = JsonFormatter().format(record)
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exc"]


def test_configure_logging_installs_the_json_formatter() -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        configure_logging("debug", json_lines=True)
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        assert root.level == logging.DEBUG
        configure_logging("info", json_lines=False)
        assert not isinstance(root.handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
