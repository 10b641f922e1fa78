"""Retention: the scans of finished-with requests are purged after a configurable period.

A request is finished-with when it is completed, rejected or cancelled; its uploads are
purged ``settings.upload_retention_days`` after that last state change. The row keeps its
metadata (name, size, hash, dates) with ``storage_key`` cleared and ``purged_at`` set; the
audit log is never touched. Files are deleted only after the commit that clears their
references (core.storage), so a failed run never leaves a row pointing at nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.models import RequestState as S
from core.requests.repository import RequestRepository
from core.settings import Settings
from core.storage import Storage, delete_after_commit

PURGEABLE_STATES = (S.completed, S.rejected, S.cancelled)
# A partial upload older than this belongs to a request that died mid-transfer.
STALE_INCOMING_SECONDS = 6 * 3600


def purge_uploads(session: Session, settings: Settings, storage: Storage, *,
                  now: datetime | None = None, batch: int = 500) -> int:
    now = now or utcnow()
    before = now - timedelta(days=settings.upload_retention_days)
    uploads = RequestRepository(session).purgeable_uploads(
        states=PURGEABLE_STATES, before=before, limit=batch)
    for upload in uploads:
        assert upload.storage_key is not None
        delete_after_commit(session, storage, upload.storage_key)
        upload.storage_key = None
        upload.purged_at = now
        audit.record(session, action="request.upload_purged", entity_type="document_request",
                     entity_id=upload.request_id, office_id=upload.office_id,
                     data={"upload_id": str(upload.id), "kind": str(upload.kind)})
    session.flush()
    storage.sweep_incoming(STALE_INCOMING_SECONDS)
    return len(uploads)
