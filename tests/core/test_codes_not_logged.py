"""Sign-in codes never reach a log line, at any level, except the development console
channel's own line (logger ``sipoke.notify.console``) that shows the message it stands in
for."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
import respx

from core.logging import CONSOLE_CHANNEL_LOGGER, JsonFormatter, TextFormatter
from tests.fixtures import RESIDENT_A

GATEWAY = "https://gateway.test/send"
CODE = re.compile(r"Kode masuk SIP OKE Antar: (\d{6})")


def _lines_with(code: str, records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records
            if code in JsonFormatter().format(r) or code in TextFormatter().format(r)]


def test_a_code_sent_through_the_gateway_is_in_no_log_line(
        client, demo, outbox, tune, caplog: pytest.LogCaptureFixture) -> None:
    tune(notify_channel="http", notify_gateway_url=GATEWAY,
         notify_gateway_token="gateway-token-123")
    caplog.set_level(logging.DEBUG)
    with respx.mock() as gateway:
        sent = gateway.post(GATEWAY).mock(return_value=httpx.Response(200))
        assert client.post("/api/v1/auth/otp", json={"phone": RESIDENT_A}).status_code == 202
        outbox()
    (call,) = sent.calls
    code = CODE.search(json.loads(call.request.content)["message"]).group(1)
    assert caplog.records, "the logs were captured"
    assert _lines_with(code, caplog.records) == []


def test_with_the_console_channel_only_its_own_line_shows_the_code(
        client, demo, outbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert client.post("/api/v1/auth/otp", json={"phone": RESIDENT_A}).status_code == 202
    outbox()
    (shown,) = [r for r in caplog.records if CODE.search(r.getMessage())]
    code = CODE.search(shown.getMessage()).group(1)
    assert shown.name == CONSOLE_CHANNEL_LOGGER and shown.levelno == logging.INFO
    assert _lines_with(code, caplog.records) == [shown]
