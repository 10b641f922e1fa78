"""Log lines carrying the request id: one JSON object a line (production), or readable text
with a timestamp and the extras as ``key=value`` (``make run``).

Secrets never go into the log. Sign-in codes, pickup codes and handover PINs travel only in
notification texts, and only the development console channel writes those out, on its own
logger (:data:`CONSOLE_CHANNEL_LOGGER`); in production it hides the text
(:func:`configure_logging`).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# The console notification channel's logger: where messages to residents are shown in
# development instead of being sent (core.notifications.channels).
CONSOLE_CHANNEL_LOGGER = "sipoke.notify.console"
HIDDEN_TEXT = "(isi pesan tidak dicatat di produksi)"


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None):
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime",
    "color_message",  # uvicorn's copy of the message with terminal colours
}


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {key: value for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = current_request_id()
        if rid:
            body["request_id"] = rid
        body.update(_extras(record))
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)


def _text_value(value: object) -> str:
    text = str(value)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """``2025-06-01 09:30:00.123 INFO sipoke.access: request method=GET route=/healthz ...``:
    local time, for a person reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).astimezone()
        line = (f"{when:%Y-%m-%d %H:%M:%S}.{int(record.msecs):03d} {record.levelname} "
                f"{record.name}: {record.getMessage()}")
        # Our own extras only: libraries (Celery's task payloads) already say it in the message.
        extras = _extras(record) if record.name.startswith("sipoke") else {}
        rid = current_request_id()
        if rid and "request_id" not in extras:
            extras["request_id"] = rid
        if extras:
            line += " " + " ".join(f"{key}={_text_value(value)}" for key, value in extras.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class HideMessageTexts(logging.Filter):
    """In production the console channel logs that a message would have gone to a
    recipient, but not its text: a sign-in code or a PIN must never reach shipped logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if len(record.args or ()) == 2:
            record.args = (record.args[0], HIDDEN_TEXT)
        else:
            record.msg, record.args = HIDDEN_TEXT, ()
        return True


def configure_logging(level: str = "INFO", *, json_lines: bool = True,
                      show_message_texts: bool = True) -> None:
    """Send every log line to stderr. ``show_message_texts`` False (production) hides the
    console notification channel's message texts."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log is off: our own access line (core.app.RequestContext) has the
    # request id and the route template, and one line per request is enough.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    console = logging.getLogger(CONSOLE_CHANNEL_LOGGER)
    # The console channel exists to be read: its lines show even at a WARNING log level.
    console.setLevel(logging.INFO)
    for old in [f for f in console.filters if isinstance(f, HideMessageTexts)]:
        console.removeFilter(old)
    if not show_message_texts:
        console.addFilter(HideMessageTexts())


def configure_from_settings(settings: Settings) -> None:
    """The logging every process of the product sets up from its settings."""
    from core.settings import Environment

    configure_logging(settings.log_level, json_lines=bool(settings.log_json),
                      show_message_texts=settings.env is not Environment.production)
