"""Back up a running system (SQLite and PostgreSQL), restore it into an empty database and
upload folder, and the restored system serves the same requests, deliveries and files, byte
for byte; the NIKs decrypt with the same key."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from core import db as core_db
from core.backup.archive import read_verified
from core.backup.service import create_backup, restore_backup
from core.db import unit_of_work
from core.models import User
from core.security import decrypt_nik, nik_hash
from core.settings import reset_settings_cache
from sipoke.migrate import revisions
from sipoke.seed import RESIDENTS
from tests.core.backup.helpers import database_rows, files, json_of, seed_request
from tests.delivery.conftest import SITI, ask_delivery
from tests.delivery.helpers import OPERATOR, advance


def _walk_a_delivery(client: TestClient, demo, outbox, server, request_id: str) -> str:
    """Siti has her finished document delivered: quotes from the live sandbox, her choice,
    the booking, and the courier's signed webhooks up to the pickup."""
    created = ask_delivery(client, demo, uuid.UUID(request_id))
    outbox()
    siti = demo.headers(SITI)
    view = json_of(client.get(f"/api/v1/deliveries/{created['id']}", headers=siti))
    quote = next(q for q in view["quotes"] if q["provider"] == "sandbox")
    chosen = client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=siti,
                         json={"quote_id": quote["id"]})
    assert chosen.status_code == 200, chosen.text
    outbox()
    advance(client, server, outbox, created["id"], "ASSIGNED", "PICKED_UP")
    return created["id"]


def _served(client: TestClient, siti: dict, operator: dict, request_id: str,
            delivery_id: str) -> dict:
    """What the API answers about the request, its files and its delivery. The files come
    last: reading one writes an audit event, which the request's history shows."""
    request = json_of(client.get(f"/api/v1/requests/{request_id}", headers=siti))
    answers = {
        "request": request,
        "mine": json_of(client.get("/api/v1/requests", headers=siti)),
        "history": json_of(client.get(f"/api/v1/requests/{request_id}/history", headers=siti)),
        "operator_requests": json_of(client.get("/api/v1/operator/requests", headers=operator)),
        "delivery": json_of(client.get(f"/api/v1/deliveries/{delivery_id}", headers=siti)),
        "operator_delivery": json_of(client.get(f"/api/v1/operator/deliveries/{delivery_id}",
                                                headers=operator)),
        "verify": json_of(client.get(f"/api/v1/verify/{request['verification_code']}")),
    }
    downloads = {}
    for upload in request["uploads"]:
        response = client.get(f"/api/v1/requests/{request_id}/uploads/{upload['id']}",
                              headers=operator)
        assert response.status_code == 200, response.text
        downloads[upload["id"]] = response.content
    return {**answers, "downloads": downloads}


def test_round_trip_serves_the_same_requests_deliveries_and_files(
        backend, client, demo, outbox, providers_env, installed, source_settings, target,
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_request(source_settings)
    siti, operator = demo.headers(SITI), demo.headers(OPERATOR)
    [mine] = json_of(client.get("/api/v1/requests", headers=siti))
    delivery_id = _walk_a_delivery(client, demo, outbox, providers_env, mine["id"])

    result = create_backup(source_settings, tmp_path / "backups" / "office.tar.gz")
    manifest = read_verified(result.path)
    assert manifest.database.backend == backend
    assert manifest.migration_revision == revisions()[-1]
    assert result.files == 3
    source_rows = database_rows(source_settings.database_url)
    before = _served(client, siti, operator, mine["id"], delivery_id)
    assert len(before["downloads"]) == 3  # two scans and the signed document
    assert before["delivery"]["state"] == "picked_up"
    assert {t: len(rows) for t, rows in source_rows.items()} == {
        t: n for t, n in manifest.database.tables.items() if t != "alembic_version"}
    assert source_rows["deliveries"] and source_rows["tracking_events"]

    restored = restore_backup(target.settings(), result.path, known_revisions=revisions())
    assert restored.revision_status == "same" and restored.key_matches is True
    assert restored.files == 3

    # The database row for row, and the upload folder file for file.
    assert database_rows(target.url) == source_rows
    assert files(target.uploads) == files(source_settings.upload_dir) != {}

    # The restored system, alone, answers the same (the sessions were backed up too).
    target_engine = core_db.make_engine(target.url)
    try:
        monkeypatch.setenv("SIPOKE_DATABASE_URL", target.url)
        monkeypatch.setenv("SIPOKE_UPLOAD_DIR", str(target.uploads))
        reset_settings_cache()
        core_db.use_engine(target_engine)
        after = _served(client, siti, operator, mine["id"], delivery_id)
        assert after == before
        from core.settings import get_settings

        secret = get_settings().secret()
        with unit_of_work() as session:
            for resident in RESIDENTS:
                user = session.scalar(select(User).where(User.nik_hash == nik_hash(
                    secret, resident.nik)))
                assert user is not None, resident.full_name
                assert decrypt_nik(secret, user.nik_ciphertext) == resident.nik
    finally:
        target_engine.dispose()


def test_an_older_archive_is_restored_then_migrated_to_head(new_target, tmp_path,
                                                            capsys) -> None:
    """An archive made at an older migration revision: restored as it was, then the CLI runs
    the newer migrations on it."""
    from sipoke.cli import main
    from sipoke.migrate import upgrade

    known = revisions()
    older = new_target()
    upgrade(older.url, known[0])  # an office still on the first release's schema
    old_settings = older.settings(backup_dir=tmp_path / "backups")
    archive = create_backup(old_settings, tmp_path / "backups" / "old.tar.gz").path
    assert read_verified(archive).migration_revision == known[0]

    fresh = new_target()
    restored = restore_backup(fresh.settings(), archive, known_revisions=known)
    assert restored.revision_status == "older"
    assert _revision(fresh.url) == known[0]

    again = new_target()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SIPOKE_DATABASE_URL", again.url)
        env.setenv("SIPOKE_UPLOAD_DIR", str(again.uploads))
        reset_settings_cache()
        assert main(["restore", str(archive)]) == 0
    reset_settings_cache()
    out = capsys.readouterr().out
    assert f"dinaikkan dari revisi {known[0]} ke revisi terbaru {known[-1]}" in out
    assert _revision(again.url) == known[-1]


def _revision(url: str) -> str:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            [revision] = conn.scalars(text("SELECT version_num FROM alembic_version"))
            return revision
    finally:
        engine.dispose()
