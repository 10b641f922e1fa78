"""Request ids (echoed or generated, carried into logs and audit rows), the access line, and
the log formats: JSON in production, text with timestamps elsewhere."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core.db import unit_of_work
from core.logging import (
    CONSOLE_CHANNEL_LOGGER,
    HIDDEN_TEXT,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    reset_request_id,
    set_request_id,
)
from core.models import AuditEvent
from core.notifications.channels import ConsoleChannel
from core.settings import load_settings
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


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(JsonFormatter().format(r)) for r in caplog.records
            if r.name == "sipoke.access"]


def test_every_request_logs_one_access_line(client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sipoke.access")
    client.get("/api/v1/offices", headers={"X-Request-ID": "req-1"})
    (line,) = _access_lines(caplog)
    assert line["msg"] == "request" and line["level"] == "info"
    assert line["request_id"] == "req-1"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/api/v1/offices", 200)
    assert isinstance(line["duration_ms"], float)
    assert line["ts"].endswith("+00:00")


def test_the_access_line_names_the_route_template_not_the_path(
        client, caplog: pytest.LogCaptureFixture) -> None:
    """A path can carry a token or a code; the template carries neither, and keeps the
    response counter's labels few."""
    caplog.set_level(logging.INFO, logger="sipoke.access")
    secret_part = "0c1d2e3f-0000-4000-8000-00000000abcd"
    client.get(f"/api/v1/requests/{secret_part}?code=123456")
    client.post("/webhooks/nosuchprovider", content=b"{}")
    client.get("/no/such/page")
    client.request("BREW", "/healthz")
    client.get("/static/css/app.css")
    lines = _access_lines(caplog)
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("GET", "/api/v1/requests/{request_id}", 401),
        ("POST", "/webhooks/{provider}", 404),
        ("GET", "-", 404),
        ("OTHER", "/healthz", 405),
        ("GET", "/static/{path}", 200),
    ]
    assert not any(secret_part in r.getMessage() or "123456" in JsonFormatter().format(r)
                   for r in caplog.records)


def test_responses_are_counted_by_route_template_and_status(client) -> None:
    from core.access_log import RESPONSES

    def count() -> float:
        return RESPONSES.labels("POST", "/webhooks/{provider}", "404")._value.get()

    before = count()
    client.post("/webhooks/nosuchprovider", content=b"{}")
    assert count() == before + 1
    metrics = client.get("/metrics").text
    assert 'sipoke_http_responses_total{method="POST",route="/webhooks/{provider}",' \
           'status="404"}' in metrics


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
        assert isinstance(root.handlers[0].formatter, TextFormatter)
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


def test_text_lines_have_a_timestamp_and_the_extras() -> None:
    record = logging.LogRecord("sipoke.access", logging.INFO, __file__, 1, "request", (), None)
    record.route, record.status, record.error = "/api/v1/offices", 200, "a b"
    token = set_request_id("ctx-9")
    try:
        line = TextFormatter().format(record)
    finally:
        reset_request_id(token)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO sipoke\.access: request "
                        r'route=/api/v1/offices status=200 error="a b" request_id=ctx-9', line)
    # A library's own payloads (Celery's task data) are already in its message: left out.
    record = logging.LogRecord("celery.app.trace", logging.INFO, __file__, 1, "Task done", (),
                               None)
    record.data = {"id": "x"}
    assert TextFormatter().format(record).endswith(" INFO celery.app.trace: Task done")


@pytest.mark.parametrize(("env", "json_lines"), [("development", False), ("test", False),
                                                 ("production", True)])
def test_logs_are_json_in_production_and_text_elsewhere(
        monkeypatch: pytest.MonkeyPatch, env: str, json_lines: bool) -> None:
    monkeypatch.delenv("SIPOKE_LOG_JSON", raising=False)
    assert load_settings(env=env).log_json is json_lines
    monkeypatch.setenv("SIPOKE_LOG_JSON", "true")
    assert load_settings(env=env).log_json is True


@pytest.fixture
def logging_restored() -> Iterator[None]:
    root = logging.getLogger()
    console = logging.getLogger(CONSOLE_CHANNEL_LOGGER)
    saved = root.handlers[:], root.level, console.filters[:], console.level
    try:
        yield
    finally:
        root.handlers[:], level, console.filters[:], console_level = saved
        root.setLevel(level)
        console.setLevel(console_level)


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("show", [True, False])
def test_the_console_channel_shows_message_texts_outside_production_only(
        logging_restored: None, show: bool) -> None:
    configure_logging("warning", json_lines=False, show_message_texts=show)
    keep = _Keep()
    logging.getLogger().addHandler(keep)
    ConsoleChannel().send("+6281234560001", "Kode masuk SIP OKE Antar: 654321.")
    (record,) = keep.records  # shown even at a WARNING log level: it is there to be read
    assert record.levelno == logging.INFO
    text = TextFormatter().format(record)
    assert "notification to +6281234560001: " in text
    assert ("654321" in text) is show
    assert (HIDDEN_TEXT in text) is not show
