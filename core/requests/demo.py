"""Demo data for `make run`: every office's catalog, and one finished request for Siti so the
pickup-or-delivery choice can be tried at once. Both steps are idempotent."""

from __future__ import annotations

import io

import segno
from sqlalchemy.orm import Session

from core.accounts.repository import UserRepository
from core.catalog.service import install_template
from core.models import User
from core.offices.repository import OfficeRepository
from core.requests import cover_letters, processing, service
from core.requests.schemas import RequestCreate
from core.settings import Environment, Settings
from core.storage import IncomingFile, Storage, finish, storage_from_settings, write_chunk

DEMO_RESIDENT = "+6281234560001"  # Siti Aminah, Mekarjaya RW 005

DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
            b"/Resources<</Font<</F1 5 0 R>>>>>>endobj\n"
            b"4 0 obj<</Length 62>>stream\nBT /F1 18 Tf 60 760 Td (Surat Keterangan Domisili - "
            b"CONTOH) Tj ET\nendstream endobj\n"
            b"5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def demo_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text).save(out, kind="png", scale=4)
    return out.getvalue()


def incoming_from_bytes(storage: Storage, filename: str, data: bytes) -> IncomingFile:
    incoming, handle = storage.incoming(filename)
    write_chunk(incoming, handle, data)
    return finish(incoming, handle)


def seed_catalogs(session: Session, settings: Settings) -> None:
    for office in OfficeRepository(session).list(active_only=False):
        install_template(session, office, actor=None)


def seed_finished_request(session: Session, settings: Settings, *, force: bool = False) -> None:
    # Tests build their own requests; a demo request would only surprise them.
    if settings.env is Environment.test and not force:
        return
    users = UserRepository(session)
    siti = users.by_phone(DEMO_RESIDENT)
    rw_admin = users.by_username("rw05.mekarjaya")
    operator = users.by_username("operator.mekarjaya")
    if not isinstance(siti, User) or rw_admin is None or operator is None:
        return
    if service.list_own(session, siti, limit=1, offset=0):
        return
    storage = storage_from_settings(settings)
    request = service.create(session, siti, RequestCreate(
        service="domisili", fields={"keperluan": "Persyaratan membuka rekening bank"}))
    for code in ("ktp", "kk"):
        service.add_upload(session, storage, siti, request.id, code,
                           incoming_from_bytes(storage, f"{code}.png", demo_png(code)))
    service.submit(session, siti, request.id)
    cover_letters.approve(session, rw_admin, request.id, number="001/RW05/DEMO",
                          issued_on=None)
    processing.assign_to_self(session, operator, request.id)
    processing.start_processing(session, operator, request.id)
    processing.finish(session, storage, operator, request.id,
                      incoming_from_bytes(storage, "domisili-ttd.pdf", DEMO_PDF))
