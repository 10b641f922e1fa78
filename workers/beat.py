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
        # Delivery: DB-scheduled polling, the sweeper (re-drive, watchdog, SLA timers).
        "tracking-poll-due": {
            "task": "tracking.poll_due",
            "schedule": timedelta(seconds=settings.delivery_sweep_interval),
            "options": {"expires": max(settings.delivery_sweep_interval * 2, 5)},
        },
        "delivery-sweep": {
            "task": "delivery.sweep",
            "schedule": timedelta(seconds=settings.delivery_sweep_interval),
            "options": {"expires": max(settings.delivery_sweep_interval * 2, 5)},
        },
        "tracking-purge-raw": {
            "task": "tracking.purge_raw",
            "schedule": timedelta(hours=12),
            "options": {"expires": 3600},
        },
        "outbox-purge": {
            "task": "outbox.purge",
            "schedule": timedelta(hours=6),
            "options": {"expires": 3600},
        },
        "limits-purge": {
            "task": "limits.purge",
            "schedule": timedelta(hours=6),
            "options": {"expires": 3600},
        },
        "inhouse-sweep-offers": {
            "task": "inhouse.sweep_offers",
            "schedule": timedelta(seconds=10),
            "options": {"expires": 9},
        },
        "requests-purge-uploads": {
            "task": "requests.purge_uploads",
            "schedule": timedelta(hours=6),
            "options": {"expires": 3600},
        },
    }
