"""The name of every Celery task, in one place.

Services enqueue tasks by these names through the outbox (``core.outbox.enqueue``) and never
import the tasks themselves; ``workers/`` registers each task under its name, the beat
schedule and the queue routes refer to them here too. ``tests/workers/test_task_names.py``
checks that every name is registered, every scheduled or enqueued name is one of these, and
every route matches a task.
"""

from __future__ import annotations

# Notifications, the outbox and housekeeping.
NOTIFICATIONS_SEND = "notifications.send"
NOTIFICATIONS_SWEEP = "notifications.sweep"
OUTBOX_RELAY = "outbox.relay"
OUTBOX_PURGE = "outbox.purge"
LIMITS_PURGE = "limits.purge"
REQUESTS_PURGE_UPLOADS = "requests.purge_uploads"
BACKUP_NIGHTLY = "backup.nightly"
OPS_HEARTBEAT = "ops.heartbeat"

# Deliveries: provider calls (the dispatch queue) and their sweeps.
DELIVERY_QUOTE = "delivery.quote"
DELIVERY_BOOK = "delivery.book"
DELIVERY_CANCEL_ATTEMPT = "delivery.cancel_attempt"
DELIVERY_GIVE_UP_SEARCH = "delivery.give_up_search"
DELIVERY_SWEEP = "delivery.sweep"

# Tracking: provider events and the polling backstop.
TRACKING_APPLY_BATCH = "tracking.apply_batch"
# Tasks sent after commit (no outbox row) whose one list argument can be joined: what
# several commits send while the publisher is busy goes as one message, up to the size.
JOINABLE: dict[str, tuple[str, int]] = {TRACKING_APPLY_BATCH: ("event_ids", 2000)}
TRACKING_POLL = "tracking.poll"
TRACKING_POLL_DUE = "tracking.poll_due"
TRACKING_PURGE_RAW = "tracking.purge_raw"

# The office's own couriers.
INHOUSE_SWEEP_OFFERS = "inhouse.sweep_offers"

ALL = frozenset(value for key, value in dict(globals()).items()
                if key.isupper() and isinstance(value, str))

# Queue of each group of tasks (Celery ``task_routes`` patterns); the rest go to "default".
ROUTES: dict[str, str] = {
    "notifications.*": "notifications",
    "delivery.*": "dispatch",
    "tracking.*": "tracking",
}
