"""Bad input is refused with a clear 4xx and nothing is half-stored: no row, no file."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.models import Role, User
from core.requests import service as requests_service
from core.requests.demo import incoming_from_bytes
from core.settings import get_settings, reset_settings_cache
from core.storage import storage_from_settings
from tests.core.request_helpers import (
    BIRTH,
    ELF,
    JPEG,
    PDF,
    SITI,
    WINDOWS_EXE,
    api,
    create,
    ok,
    stored_files,
    upload,
    upload_rows,
)


@pytest.fixture
def siti_draft(client, demo):
    headers = demo.headers(SITI)
    return headers, create(client, headers, BIRTH)["id"]


def _refused(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    if code:
        assert body["code"] == code
    assert body["message"]
    return body


@pytest.mark.parametrize(("name", "data", "declared"), [
    ("program.pdf", ELF, "application/pdf"),
    ("setup.pdf", WINDOWS_EXE, "application/pdf"),
    ("notes.png", b"just some text, not an image" * 20, "image/png"),
])
def test_wrong_content_is_refused_whatever_the_name(client, siti_draft, name, data, declared):
    headers, rid = siti_draft
    before = stored_files()
    body = _refused(upload(client, headers, rid, "kk", data, name, declared), 415,
                    "unsupported_media_type")
    assert "JPEG, PNG atau PDF" in body["message"]
    assert upload_rows() == 0 and stored_files() == before


@pytest.mark.parametrize(("name", "data", "content_type"), [
    ("kk.jpg", JPEG, "image/jpeg"),
    ("kk.pdf", PDF, "application/pdf"),
    # Content decides, not the name: a real PNG called .pdf is stored as a PNG.
    ("kk.pdf", None, "application/pdf"),
])
def test_jpeg_png_and_pdf_are_accepted(client, siti_draft, name, data, content_type):
    headers, rid = siti_draft
    kept = ok(upload(client, headers, rid, "kk", data, name, content_type), 201)
    assert kept["content_type"] == ("image/png" if data is None else content_type)
    assert kept["display_name"] == name


@pytest.mark.parametrize("name", ["../../etc/passwd.png", "C:\\Users\\x\\kk.png",
                                  "/scans/kk.png", "scans/kk.png", ".."])
def test_a_path_in_the_file_name_is_refused(client, siti_draft, name):
    headers, rid = siti_draft
    before = stored_files()
    body = _refused(upload(client, headers, rid, "kk", name=name), 422, "validation_error")
    assert body["fields"][0]["field"] == "file"
    assert upload_rows() == 0 and stored_files() == before


def test_oversize_file_is_cut_off_at_the_limit(client, siti_draft, monkeypatch):
    headers, rid = siti_draft
    monkeypatch.setenv("SIPOKE_MAX_UPLOAD_BYTES", "4096")
    reset_settings_cache()
    before = stored_files()
    big = PDF + b"%" * 5000
    body = _refused(upload(client, headers, rid, "kk", big, "kk.pdf", "application/pdf"), 413,
                    "payload_too_large")
    assert body["details"]["max_bytes"] == 4096
    # Also when the client hides the size (no Content-Length): the stream is counted.
    boundary = "b0undary"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"requirement\"\r\n\r\n"
               f"kk\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"kk.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode() \
        + big + f"\r\n--{boundary}--\r\n".encode()

    def chunks():
        for i in range(0, len(payload), 1000):
            yield payload[i:i + 1000]

    streamed = client.post(api(f"/requests/{rid}/uploads"), content=chunks(), headers={
        **headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    _refused(streamed, 413, "payload_too_large")
    assert upload_rows() == 0 and stored_files() == before


def test_empty_or_missing_file_and_unknown_requirement(client, siti_draft):
    headers, rid = siti_draft
    _refused(upload(client, headers, rid, "kk", b"", "kk.png"), 422)
    _refused(client.post(api(f"/requests/{rid}/uploads"), headers=headers,
                         data={"requirement": "kk"}, files={"other": ("", b"")}), 422)
    _refused(upload(client, headers, rid, "pengantar_rt_rw"), 422)  # not uploaded online
    _refused(upload(client, headers, rid, "no-such-thing"), 422)
    _refused(client.post(api(f"/requests/{rid}/uploads"), headers=headers,
                         json={"requirement": "kk"}), 415)
    assert upload_rows() == 0


def test_missing_required_field_is_refused(client, demo):
    headers = demo.headers(SITI)
    body = _refused(client.post(api("/requests"), headers=headers,
                                json={"service": BIRTH, "fields": {"nama_anak": "Putri"}}),
                    422, "validation_error")
    assert [f["field"] for f in body["fields"]] == ["fields.tanggal_lahir"]
    body = _refused(client.post(api("/requests"), headers=headers, json={
        "service": BIRTH, "fields": {"nama_anak": "x", "tanggal_lahir": "y", "nik": "1"}}), 422)
    assert body["fields"][0]["field"] == "fields.nik"
    assert ok(client.get(api("/requests"), headers=headers)) == []


def test_counter_only_service_is_refused_with_directions(client, demo):
    body = _refused(client.post(api("/requests"), headers=demo.headers(SITI),
                                json={"service": "ahli-waris", "fields": {}}), 409,
                    "counter_only")
    assert "loket" in body["message"] and body["details"]["counter_note"]
    assert ok(client.get(api("/requests"), headers=demo.headers(SITI))) == []


def test_submit_without_every_scan_is_refused(client, siti_draft):
    headers, rid = siti_draft
    ok(upload(client, headers, rid, "kk"), 201)
    body = _refused(client.post(api(f"/requests/{rid}/submit"), headers=headers), 422)
    assert set(body["details"]["missing"]) == {"surat_lahir", "ktp", "buku_nikah"}
    assert ok(client.get(api(f"/requests/{rid}"), headers=headers))["state"] == "draft"


def test_uploads_after_submission_are_refused(client, demo):
    from tests.core.request_helpers import submitted_request

    headers = demo.headers(SITI)
    rid = submitted_request(client, headers)["id"]
    before = stored_files()
    _refused(upload(client, headers, rid, "kk"), 409)
    assert stored_files() == before


def test_finish_needs_a_pdf(client, demo):
    from tests.core.request_helpers import png, submitted_request

    rid = submitted_request(client, demo.headers(SITI))["id"]
    op = demo.headers("operator.mekarjaya")
    ok(client.post(api(f"/operator/requests/{rid}/assign"), headers=op))
    ok(client.post(api(f"/operator/requests/{rid}/processing"), headers=op))
    before = stored_files()
    _refused(client.post(api(f"/operator/requests/{rid}/finish"), headers=op,
                         files={"file": ("signed.pdf", png(), "application/pdf")}), 415)
    _refused(client.post(api(f"/operator/requests/{rid}/finish"), headers=op,
                         files={"file": ("signed.pdf", ELF, "application/pdf")}), 415)
    assert stored_files() == before
    assert ok(client.get(api(f"/requests/{rid}"), headers=op))["state"] == "processing"


def test_a_failed_transaction_removes_the_kept_file(demo, settings):
    """The DB part fails after the file was kept: the rollback takes the file away too."""
    storage = storage_from_settings(get_settings())
    before = stored_files()
    with unit_of_work() as s:
        siti = s.query(User).filter_by(phone=SITI).one()
        from core.requests.schemas import RequestCreate

        rid = requests_service.create(s, siti, RequestCreate(
            service=BIRTH, fields={"nama_anak": "A", "tanggal_lahir": "2026-11-01"})).id
    session: Session
    with pytest.raises(RuntimeError), unit_of_work() as session:
        siti = session.query(User).filter_by(phone=SITI, role=Role.resident).one()
        kept = requests_service.add_upload(
            session, storage, siti, rid, "kk", incoming_from_bytes(storage, "kk.pdf", PDF))
        assert storage.exists(kept.storage_key)  # stored on disk inside the transaction
        raise RuntimeError("database trouble after the file was kept")
    assert stored_files() == before
    assert upload_rows() == 0
    assert uuid.UUID(str(rid))


def test_uploads_per_request_are_capped(client, siti_draft, monkeypatch):
    headers, rid = siti_draft
    monkeypatch.setattr(requests_service, "MAX_UPLOADS_PER_REQUEST", 2)
    ok(upload(client, headers, rid, "kk"), 201)
    ok(upload(client, headers, rid, "kk"), 201)  # a replacement still counts
    before = stored_files()
    _refused(upload(client, headers, rid, "ktp"), 409)
    assert stored_files() == before and upload_rows() == 2


def test_abandoned_partial_uploads_are_swept(settings):
    import os
    import time

    from core.requests.retention import STALE_INCOMING_SECONDS, purge_uploads

    storage = storage_from_settings(settings)
    stale, handle = storage.incoming("stale.pdf")
    handle.close()
    fresh, handle = storage.incoming("fresh.pdf")
    handle.close()
    old = time.time() - STALE_INCOMING_SECONDS - 60
    os.utime(stale.path, (old, old))
    with unit_of_work() as s:
        purge_uploads(s, settings, storage)
    assert not stale.path.exists() and fresh.path.exists()
    fresh.discard()


@given(st.text(min_size=1, max_size=200))
def test_file_names_never_carry_a_path(name):
    from core.errors import ValidationFailed
    from core.requests.uploads import display_name

    try:
        shown = display_name(name)
    except ValidationFailed:
        return
    assert "/" not in shown and "\\" not in shown and shown not in {".", ".."}
    assert 0 < len(shown) <= 120
    assert not any(ord(c) < 32 for c in shown)


def test_streamed_upload_bodies_are_described_in_openapi(client):
    spec = client.get("/openapi.json").json()["paths"]
    body = spec["/api/v1/requests/{request_id}/uploads"]["post"]["requestBody"]
    assert set(body["content"]["multipart/form-data"]["schema"]["required"]) == {
        "file", "requirement"}
    assert "multipart/form-data" in \
        spec["/api/v1/operator/requests/{request_id}/finish"]["post"]["requestBody"]["content"]
