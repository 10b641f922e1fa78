"""Verifiable documents: anyone holding the paper can check it by its code.

The public answer carries only what the paper already shows (office, service, issue date)
plus the resident's masked name; never the NIK, fields, uploads or reference.
"""

from __future__ import annotations

import io
import re

import segno
from sqlalchemy.orm import Session

from core import limits
from core.errors import NotFound, TooManyRequests
from core.identity import mask_name
from core.models import DocumentRequest
from core.models import RequestState as S
from core.requests.repository import RequestRepository
from core.requests.schemas import VerificationOut
from core.settings import get_settings

INVALID_STATES = frozenset({S.rejected, S.cancelled})


def normalize_code(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "").upper()


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


VERIFY_WINDOW_S = 60


def lookup(session: Session, raw_code: str, *, client_ip: str) -> VerificationOut:
    """Public check of a document's code. Lookups are limited per client address (unknown
    codes count too), so codes cannot be harvested by trying many."""
    if limits.take(session, f"verify:client:{client_ip}",
                   limit=get_settings().verify_per_client_per_minute,
                   window_seconds=VERIFY_WINDOW_S) is None:
        raise TooManyRequests("Terlalu banyak pemeriksaan. Coba lagi sebentar lagi.",
                              retry_after=VERIFY_WINDOW_S)
    code = normalize_code(raw_code)
    request = (RequestRepository(session).by_verification_code(code)
               if re.fullmatch(r"[0-9A-Z]{12}", code) else None)
    if request is None:
        raise NotFound("Kode verifikasi tidak dikenal. Dokumen ini tidak diterbitkan melalui "
                       "SIP OKE Antar.").keeping_changes()
    valid = request.revoked_at is None and request.state not in INVALID_STATES
    return VerificationOut(
        code=format_code(code), valid=valid, office=request.office.name,
        service=request.service.name, resident=mask_name(request.resident.full_name),
        issued_at=request.finished_at,
        status_text="Dokumen sah dan berlaku." if valid else "Dokumen telah dicabut/tidak "
                                                               "berlaku.")


def verification_url(base_url: str, request: DocumentRequest) -> str:
    assert request.verification_code
    return f"{base_url}/verify/{format_code(request.verification_code)}"


def qr_svg(data: str) -> bytes:
    """A QR code as SVG (for the envelope label and the pickup screen)."""
    qr = segno.make(data, error="m")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=4, border=2)
    return out.getvalue()
