"""Document request tasks: thin wrappers over core.requests services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import task_names
from core.requests.retention import purge_uploads
from core.settings import get_settings
from core.storage import storage_from_settings
from workers.base import db_task

PURGE_UPLOADS = task_names.REQUESTS_PURGE_UPLOADS


@db_task(PURGE_UPLOADS)
def purge_request_uploads(session: Session) -> int:
    """Delete the scans of requests finished with longer ago than the retention period."""
    settings = get_settings()
    return purge_uploads(session, settings, storage_from_settings(settings))
