"""Beat's heartbeat, read by ``sipoke doctor``.

A beat entry runs :func:`heartbeat` every minute on the default queue; it writes the time into
``<SIPOKE_VAR_DIR>/beat-heartbeat`` (the var folder every process of a deployment shares, as
it shares the uploads). A fresh heartbeat shows that beat is sending, the broker carrying and
a worker of the default queue running; a stale one that one of them is not.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from celery import shared_task

from core import task_names
from core.settings import Settings, get_settings

HEARTBEAT_TASK = task_names.OPS_HEARTBEAT
INTERVAL = timedelta(minutes=1)
# A few missed beats, not one late worker, make the heartbeat stale.
STALE_AFTER = timedelta(minutes=5)


def heartbeat_path(settings: Settings) -> Path:
    return settings.var_dir / "beat-heartbeat"


def write_heartbeat(settings: Settings, now: datetime | None = None) -> None:
    path = heartbeat_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text((now or datetime.now(UTC)).isoformat())
    tmp.replace(path)  # atomic: a reader never sees half a timestamp


def read_heartbeat(settings: Settings) -> datetime | None:
    """The last heartbeat, or None when there was none (or it cannot be read)."""
    try:
        when = datetime.fromisoformat(heartbeat_path(settings).read_text().strip())
    except (OSError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# A shared task, so reading the heartbeat (``sipoke doctor``) needs no Celery app.
@shared_task(name=HEARTBEAT_TASK, ignore_result=True)
def heartbeat() -> None:
    write_heartbeat(get_settings())
