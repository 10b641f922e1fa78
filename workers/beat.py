"""The one beat schedule. Every entry expires, so a backlog never piles up copies."""

from __future__ import annotations

from datetime import timedelta

from core.settings import Settings


def beat_schedule(settings: Settings) -> dict:
    relay_every = settings.outbox_relay_interval
    return {
        "outbox-relay": {
            "task": "outbox.relay",
            "schedule": timedelta(seconds=relay_every),
            "options": {"expires": max(relay_every * 2, 5)},
        },
        "notifications-sweep": {
            "task": "notifications.sweep",
            "schedule": timedelta(minutes=1),
            "options": {"expires": 50},
        },
        "outbox-purge": {
            "task": "outbox.purge",
            "schedule": timedelta(hours=6),
            "options": {"expires": 3600},
        },
    }
