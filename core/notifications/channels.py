"""Notification channels: where a message to a resident actually goes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from core.settings import NotificationChannelName, Settings

log = logging.getLogger("sipoke.notify")


class ChannelError(Exception):
    """The channel could not send; ``transient`` says whether a retry may help."""

    persist_changes = False  # see core.db.unit_of_work

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class NotificationChannel(Protocol):
    name: str

    def send(self, recipient: str, text: str) -> None: ...


class ConsoleChannel:
    """Development channel: the message goes to the log (and so to the terminal)."""

    name = "console"

    def send(self, recipient: str, text: str) -> None:
        # Its own logger at INFO: the only log line that may carry a code or a PIN
        # (core.logging hides the text in production).
        logging.getLogger("sipoke.notify.console").info(
            "notification to %s: %s", recipient, text,
            extra={"channel": self.name, "recipient": recipient})


class HttpGatewayChannel:
    """A WhatsApp/SMS gateway reached over HTTP: POST {to, message} with a bearer token."""

    name = "http"

    def __init__(self, url: str, token: str | None, *, timeout: float = 10.0,
                 client: httpx.Client | None = None) -> None:
        self.url = url
        self.token = token
        self.client = client or httpx.Client(timeout=timeout)

    def send(self, recipient: str, text: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self.client.post(self.url, json={"to": recipient, "message": text},
                                        headers=headers)
        except httpx.TransportError as exc:
            raise ChannelError(f"gateway unreachable: {exc.__class__.__name__}",
                               transient=True) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ChannelError(f"gateway answered {response.status_code}", transient=True)
        if response.status_code >= 400:
            raise ChannelError(f"gateway refused: {response.status_code} {response.text[:200]}",
                               transient=False)


@dataclass(frozen=True)
class Channels:
    """Where messages go: the configured channel and, behind WhatsApp, the SMS gateway a
    message falls back to (once) when WhatsApp cannot deliver it."""

    primary: Any  # a NotificationChannel, or the WhatsAppChannel (core.notifications.whatsapp)
    fallback: NotificationChannel | None = None


def _gateway(settings: Settings) -> HttpGatewayChannel | None:
    if not settings.notify_gateway_url:
        return None
    token = settings.notify_gateway_token
    return HttpGatewayChannel(settings.notify_gateway_url,
                              token.get_secret_value() if token else None)


def channel_from_settings(settings: Settings) -> Channels:
    if settings.notify_channel is NotificationChannelName.whatsapp:
        from core.notifications.whatsapp import WhatsAppChannel

        assert settings.whatsapp_access_token is not None
        whatsapp = WhatsAppChannel(settings.whatsapp_api_url,
                                   settings.whatsapp_access_token.get_secret_value(),
                                   default_sender=settings.whatsapp_phone_number_id)
        return Channels(whatsapp, fallback=_gateway(settings))
    if settings.notify_channel is NotificationChannelName.http:
        gateway = _gateway(settings)
        assert gateway is not None
        return Channels(gateway)
    return Channels(ConsoleChannel())
