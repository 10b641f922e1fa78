"""Shared helpers for the document-request tests: real file bytes and API walks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.db import unit_of_work
from core.models import RequestUpload
from core.requests.demo import DEMO_PDF, demo_png
from core.settings import get_settings

PDF = DEMO_PDF
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\x00" * 200 + b"\xff\xd9"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 300
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 300

SITI = "+6281234560001"  # Mekarjaya RW 005 RT 003
AGUS = "+6281234560002"  # Mekarjaya RW 002
DEWI = "+6281234560003"  # Abadijaya

# No cover letter; four scans; two fields.
BIRTH = "pengantar-akta-kelahiran"
BIRTH_FIELDS = {"nama_anak": "Putri Aminah", "tanggal_lahir": "2026-11-01"}
BIRTH_SCANS = ("surat_lahir", "kk", "ktp", "buku_nikah")
# Needs the RW's cover letter; two scans; a digital copy is offered.
DOMICILE = "domisili"
DOMICILE_FIELDS = {"keperluan": "Membuka rekening bank"}


def png() -> bytes:
    return demo_png("scan")


def api(path: str) -> str:
    return f"/api/v1{path}"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def upload(client: TestClient, headers: dict, request_id: str, requirement: str,
           data: bytes | None = None, name: str = "scan.png",
           content_type: str = "image/png") -> Any:
    return client.post(api(f"/requests/{request_id}/uploads"), headers=headers,
                       data={"requirement": requirement},
                       files={"file": (name, png() if data is None else data, content_type)})


def create(client: TestClient, headers: dict, service: str = BIRTH,
           fields: dict | None = None) -> dict:
    fields = BIRTH_FIELDS if fields is None and service == BIRTH else fields
    fields = DOMICILE_FIELDS if fields is None else fields
    return ok(client.post(api("/requests"), headers=headers,
                          json={"service": service, "fields": fields}), 201)


def submitted_request(client: TestClient, headers: dict, service: str = BIRTH) -> dict:
    """A request with every scan uploaded, submitted."""
    created = create(client, headers, service)
    scans = BIRTH_SCANS if service == BIRTH else ("ktp", "kk")
    for code in scans:
        ok(upload(client, headers, created["id"], code), 201)
    return ok(client.post(api(f"/requests/{created['id']}/submit"), headers=headers))


def finished_request(client: TestClient, demo: Any, resident: str = SITI,
                     service: str = BIRTH) -> dict:
    """Walk a request to finished (through the RW when the service needs a cover letter)."""
    headers = demo.headers(resident)
    request = submitted_request(client, headers, service)
    rid = request["id"]
    if request["state"] == "cover_letter_pending":
        ok(client.post(api(f"/rw/cover-letters/{rid}/approve"),
                       headers=demo.headers("rw05.mekarjaya"), json={"number": "7/RW05"}))
    op = demo.headers("operator.mekarjaya")
    ok(client.post(api(f"/operator/requests/{rid}/assign"), headers=op))
    ok(client.post(api(f"/operator/requests/{rid}/processing"), headers=op))
    return ok(client.post(api(f"/operator/requests/{rid}/finish"), headers=op,
                          files={"file": ("signed.pdf", PDF, "application/pdf")}))


def stored_files() -> list[Path]:
    root = get_settings().upload_dir
    assert root is not None
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def upload_rows() -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count(RequestUpload.id))) or 0
