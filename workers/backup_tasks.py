"""The nightly backup (core.backup.service): beat sends it when SIPOKE_BACKUP_NIGHTLY is on."""

from __future__ import annotations

import logging

from core import task_names
from core.backup import BackupError
from core.backup.service import nightly_backup
from core.settings import get_settings
from workers.celery_app import app

NIGHTLY = task_names.BACKUP_NIGHTLY
# A large office's backup takes minutes, maybe hours: far beyond the default task limits.
SOFT_TIME_LIMIT = 4 * 3600

log = logging.getLogger("sipoke.backup")


# Acknowledged on receipt, unlike other tasks: a backup that outlives the broker's visibility
# timeout must not be handed to a second worker, and one cut short is simply made again the
# next night. It only reads the database, so running it again is always safe.
@app.task(name=NIGHTLY, acks_late=False, soft_time_limit=SOFT_TIME_LIMIT,
          time_limit=SOFT_TIME_LIMIT + 300)
def nightly() -> str:
    try:
        result, _removed = nightly_backup(get_settings())
    except BackupError as exc:
        log.error("nightly backup failed", extra={"reason": exc.code, "detail": exc.message})
        raise
    return str(result.path)
