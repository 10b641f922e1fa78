"""Retention: scans of finished-with requests are purged after the configured period; the
audit log and the rows' metadata stay."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from core.db import unit_of_work, utcnow
from core.models import AuditEvent, DocumentRequest, RequestState, RequestUpload
from core.requests.retention import purge_uploads
from core.requests.states import transition
from core.storage import storage_from_settings
from tests.core.request_helpers import AGUS, SITI, api, finished_request, ok, stored_files


def _purge(settings, days_later: int) -> int:
    with unit_of_work() as s:
        return purge_uploads(s, settings, storage_from_settings(settings),
                             now=utcnow() + timedelta(days=days_later))


def test_purges_only_old_finished_with_requests(client, demo, settings):
    done = finished_request(client, demo)
    rid = done["id"]
    siti = demo.headers(SITI)
    ok(client.post(api(f"/requests/{rid}/handover"), headers=siti, json={"method": "pickup"}))
    pickup_code = ok(client.get(api(f"/requests/{rid}/pickup"), headers=siti))["pickup_code"]
    ok(client.post(api(f"/operator/requests/{rid}/counter-handover"),
                   headers=demo.headers("operator.mekarjaya"),
                   json={"pickup_code": pickup_code,
                         "originals_checked": ["surat_lahir", "kk", "ktp", "buku_nikah"]}))
    open_one = finished_request(client, demo, resident=AGUS)["id"]  # finished, not completed
    with unit_of_work() as s:
        audit_before = s.scalar(select(func.count(AuditEvent.id)))
        keys = {u.request_id.hex: u.storage_key for u in s.scalars(select(RequestUpload))}
    files_before = stored_files()
    assert settings.upload_retention_days == 365

    assert _purge(settings, 364) == 0  # not old enough yet
    assert stored_files() == files_before

    purged = _purge(settings, 366)
    assert purged == 5  # four scans and the signed document of the completed request
    with unit_of_work() as s:
        rows = list(s.scalars(select(RequestUpload)))
        gone = [u for u in rows if str(u.request_id) == rid]
        kept = [u for u in rows if str(u.request_id) == open_one]
        assert all(u.storage_key is None and u.purged_at for u in gone)
        assert all(u.storage_key and u.purged_at is None for u in kept)
        assert all(u.sha256 and u.display_name for u in gone)  # metadata stays
        assert s.scalar(select(func.count(AuditEvent.id))) == audit_before + 5
    assert len(stored_files()) == len(files_before) - 5
    storage = storage_from_settings(settings)
    assert not any(storage.exists(k) for k in keys.values() if k and k in
                   {u.storage_key for u in gone})
    # The purged scans answer 404; the request and its history are still there.
    scan = ok(client.get(api(f"/requests/{rid}"), headers=siti))["uploads"][0]
    assert client.get(api(f"/requests/{rid}/uploads/{scan['id']}"),
                      headers=siti).status_code == 404
    assert ok(client.get(api(f"/requests/{rid}/history"), headers=siti))
    assert _purge(settings, 400) == 0  # idempotent


def test_retention_period_is_configurable(client, demo, monkeypatch):
    from core.settings import get_settings, reset_settings_cache

    rid = finished_request(client, demo)["id"]
    monkeypatch.setenv("SIPOKE_UPLOAD_RETENTION_DAYS", "30")
    reset_settings_cache()
    settings = get_settings()
    with unit_of_work() as s:
        request = s.get(DocumentRequest, uuid.UUID(rid))
        transition(s, request, RequestState.completed, actor=None, note="tanpa kertas")
    assert _purge(settings, 29) == 0
    assert _purge(settings, 31) == 5


def test_purge_task_is_registered_and_scheduled():
    import workers.request_tasks  # noqa: F401
    from workers.celery_app import TASK_MODULES, app

    assert "workers.request_tasks" in TASK_MODULES
    assert "requests.purge_uploads" in app.tasks
    entry = next(e for e in app.conf.beat_schedule.values()
                 if e["task"] == "requests.purge_uploads")
    assert entry["options"]["expires"] > 0
