"""The one beat schedule. Every entry expires, so a backlog never piles up copies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from celery.schedules import crontab

from core import task_names
from core.settings import Settings


def beat_schedule(settings: Settings) -> dict:
    relay_every = settings.outbox_relay_interval
    return {
        "outbox-relay": {
            "task": task_names.OUTBOX_RELAY,
            "schedule": timedelta(seconds=relay_every),
            "options": {"expires": max(relay_every * 2, 5)},
        },
        "notifications-sweep": {
            "task": task_names.NOTIFICATIONS_SWEEP,
            "schedule": timedelta(minutes=1),
            "options": {"expires": 50},
        },
        # Delivery: DB-scheduled polling, the sweeper (re-drive, watchdog, SLA timers).
        "tracking-poll-due": {
            "task": task_names.TRACKING_POLL_DUE,
            "schedule": timedelta(seconds=settings.delivery_sweep_interval),
            "options": {"expires": max(settings.delivery_sweep_interval * 2, 5)},
        },
        "delivery-sweep": {
            "task": task_names.DELIVERY_SWEEP,
            "schedule": timedelta(seconds=settings.delivery_sweep_interval),
            "options": {"expires": max(settings.delivery_sweep_interval * 2, 5)},
        },
        "tracking-purge-raw": {
            "task": task_names.TRACKING_PURGE_RAW,
            "schedule": timedelta(hours=12),
            "options": {"expires": 3600},
        },
        "outbox-purge": {
            "task": task_names.OUTBOX_PURGE,
            "schedule": timedelta(hours=6),
            "options": {"expires": 3600},
        },
        "limits-purge": {
            "task": task_names.LIMITS_PURGE,
            "schedule": timedelta(hours=6),
            "options": {"expires": 3600},
        },
        "inhouse-sweep-offers": {
            "task": task_names.INHOUSE_SWEEP_OFFERS,
            "schedule": timedelta(seconds=10),
            "options": {"expires": 9},
        },
        # Read by `sipoke doctor` (workers.heartbeat): beat, broker and a worker are alive.
        "heartbeat": {
            "task": task_names.OPS_HEARTBEAT,
            "schedule": timedelta(minutes=1),
            "options": {"expires": 50},
        },
        "requests-purge-uploads": {
            "task": task_names.REQUESTS_PURGE_UPLOADS,
            "schedule": timedelta(hours=6),
            "options": {"expires": 3600},
        },
        **_nightly_backup(settings),
    }


def _nightly_backup(settings: Settings) -> dict:
    """The nightly backup (SIPOKE_BACKUP_NIGHTLY), at SIPOKE_BACKUP_TIME in Asia/Jakarta; beat
    runs in UTC. Dropped when more than an hour late: the next night makes a new one."""
    if not settings.backup_nightly:
        return {}
    local = datetime.combine(date(2000, 1, 1), settings.backup_time,
                             tzinfo=ZoneInfo("Asia/Jakarta"))
    at = local.astimezone(UTC)
    return {"backup-nightly": {
        "task": task_names.BACKUP_NIGHTLY,
        "schedule": crontab(hour=at.hour, minute=at.minute),
        "options": {"expires": 3600},
    }}
