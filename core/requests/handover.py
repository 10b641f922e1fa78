"""The choice when a document is finished: office pickup, home delivery, or (where the
service allows) the digital copy only.

Core never imports the delivery package. Delivery plugs itself in through
:func:`register_delivery_port` (the composition root does it) and implements
:class:`DeliveryPort`. The port's methods run inside the caller's transaction: they write
rows and enqueue tasks by name (core.outbox); they never call a provider
(docs/architecture.md rule 1).
The delivery side reports back through :func:`mark_delivered`,
:func:`complete_delivery` and :func:`return_to_office`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from core.models import DocumentRequest, HandoverMethod, User
from core.models import RequestState as S
from core.notifications import notify_user
from core.requests.processing import complete_with_originals, new_pickup_code
from core.requests.repository import RequestRepository
from core.requests.service import get_own
from core.requests.states import transition
from core.requests.verification import format_code
from core.settings import get_settings

DAY_NAMES = {"mon": "Sen", "tue": "Sel", "wed": "Rab", "thu": "Kam", "fri": "Jum",
             "sat": "Sab", "sun": "Min"}


@dataclass(frozen=True)
class DeliveryDestination:
    """Where the resident wants the document: what a courier needs, nothing more."""

    recipient_name: str
    recipient_phone: str
    address: str
    lat: float
    lng: float
    note: str | None = None


class DeliveryPort(Protocol):
    """What core asks of the delivery side. Implemented by ``delivery/``."""

    def start(self, session: Session, request: DocumentRequest,
              destination: DeliveryDestination, *, actor: User) -> None:
        """Create the delivery for this request (quotes and booking follow asynchronously).
        Raise a core ``AppError`` (e.g. ValidationFailed for an address out of range)."""

    def can_change(self, session: Session, request: DocumentRequest) -> bool:
        """True while no courier is booked yet: the resident may still switch to pickup."""

    def cancel(self, session: Session, request: DocumentRequest, *, actor: User | None,
               reason: str) -> None:
        """Cancel the not-yet-booked delivery because the resident chose pickup instead."""


_port: DeliveryPort | None = None


def register_delivery_port(port: DeliveryPort | None) -> None:
    global _port
    _port = port


def delivery_port() -> DeliveryPort | None:
    return _port


def hours_text(hours: dict) -> str:
    parts = [f"{DAY_NAMES.get(day, day)} {span[0]}-{span[1]}" for day, span in hours.items()
             if isinstance(span, list) and len(span) == 2]
    return ", ".join(parts) or "lihat jam layanan kantor"


def _values(request: DocumentRequest) -> dict[str, str]:
    return {"service": request.service.name, "reference": request.reference}


def _give_pickup_code(session: Session, request: DocumentRequest, kind: str) -> None:
    request.handover_method = HandoverMethod.pickup
    if not request.pickup_code:
        request.pickup_code = new_pickup_code()
    originals = ", ".join(r["name"] for r in request.service.originals) or "-"
    notify_user(session, request.resident, kind, office=request.office.name,
                pickup_code=request.pickup_code, hours=hours_text(request.office.hours or {}),
                originals=originals, **_values(request))


def choose(session: Session, resident: User, request_id: uuid.UUID, method: HandoverMethod, *,
           address: str | None = None, lat: float | None = None, lng: float | None = None,
           note: str | None = None) -> DocumentRequest:
    request = get_own(session, resident, request_id, lock=True)
    if request.state not in (S.finished, S.handover_pending):
        raise Conflict("Dokumen belum selesai atau sudah diserahkan.", state=str(request.state))
    current = request.handover_method
    if current == method:
        return request  # choosing the same again changes nothing
    service = request.service
    port = delivery_port()
    if method == HandoverMethod.digital:
        if not service.digital_copy:
            raise ValidationFailed("method", "Layanan ini tidak menyediakan salinan digital.")
        if request.state != S.finished:
            raise Conflict("Pilihan ambil/antar sudah dibuat; salinan digital tetap dapat "
                           "diunduh.")
    if method == HandoverMethod.delivery:
        if not service.deliverable:
            raise ValidationFailed("method", "Dokumen layanan ini tidak dapat diantar; "
                                             "silakan ambil di kantor.")
        if port is None:
            raise ServiceUnavailable("Layanan antar belum tersedia. Silakan pilih ambil di "
                                     "kantor.")
    if current == HandoverMethod.delivery:
        if port is None or not port.can_change(session, request):
            raise Conflict("Kurir sudah dipesan; pilihan tidak dapat diubah lagi.")
        port.cancel(session, request, actor=resident, reason="Pemohon memilih ambil di kantor")

    if request.state == S.finished and method != HandoverMethod.digital:
        transition(session, request, S.handover_pending, actor=resident,
                   note=f"Dipilih: {method}")
    audit.record(session, action="request.handover_chosen", entity_type="document_request",
                 entity_id=request.id, office_id=request.office_id, actor=resident,
                 data={"from": str(current) if current else None, "to": str(method)})

    if method == HandoverMethod.pickup:
        _give_pickup_code(session, request, "request_pickup_ready")
    elif method == HandoverMethod.delivery:
        assert port is not None
        destination = DeliveryDestination(
            recipient_name=resident.full_name, recipient_phone=resident.phone or "",
            address=address or resident.address or "",
            lat=lat if lat is not None else resident.lat,  # type: ignore[arg-type]
            lng=lng if lng is not None else resident.lng,  # type: ignore[arg-type]
            note=note)
        if len(destination.address) < 5 or destination.lat is None or destination.lng is None:
            raise ValidationFailed("address", "Alamat dan titik lokasi antar wajib diisi.")
        request.handover_method = HandoverMethod.delivery
        request.pickup_code = None  # a stale code must not open the counter
        port.start(session, request, destination, actor=resident)
        notify_user(session, resident, "request_delivery_chosen", **_values(request))
    else:
        request.handover_method = HandoverMethod.digital
        transition(session, request, S.completed, actor=resident,
                   note="Salinan digital; tidak perlu dokumen kertas")
        # The message carries the download link (sign-in needed) and the verification code.
        notify_user(session, resident, "request_digital_copy",
                    link=f"{get_settings().base_url}/permohonan/{request.id}/dokumen",
                    code=format_code(request.verification_code or ""), **_values(request))
    return request


def pickup_details(session: Session, resident: User, request_id: uuid.UUID) -> DocumentRequest:
    request = get_own(session, resident, request_id)
    if request.state != S.handover_pending or request.handover_method != HandoverMethod.pickup:
        raise NotFound("Belum ada kode ambil untuk permohonan ini.")
    return request


# --- hooks the delivery side calls -------------------------------------------------------------

def _delivery_request(session: Session, request_id: uuid.UUID | str) -> DocumentRequest:
    # Task kwargs carry ids as strings; accept both.
    request = RequestRepository(session).get(uuid.UUID(str(request_id)), lock=True)
    if request is None:
        raise NotFound("Permohonan tidak ditemukan.")
    if request.handover_method != HandoverMethod.delivery:
        raise Conflict("Permohonan ini tidak diantar.")
    return request


def mark_delivered(session: Session, request_id: uuid.UUID | str, *, actor: User | None = None,
                   note: str | None = None) -> DocumentRequest:
    """The courier handed the envelope over at the door (PIN checked by delivery)."""
    request = _delivery_request(session, request_id)
    if request.state == S.delivered:
        return request  # idempotent: a repeated event changes nothing
    transition(session, request, S.delivered, actor=actor, note=note)
    request.handed_over_at = utcnow()
    request.handed_over_by_id = actor.id if actor else None
    return request


def complete_delivery(session: Session, request_id: uuid.UUID | str, *,
                      originals_checked: list[str], actor: User | None = None,
                      note: str | None = None) -> DocumentRequest:
    """The originals were checked at the door (or back at the office): the request is done."""
    request = _delivery_request(session, request_id)
    if request.state == S.completed:
        return request
    return complete_with_originals(session, request, originals_checked, actor=actor,
                                   note=note or "Dokumen asli diperiksa saat pengantaran")


def return_to_office(session: Session, request_id: uuid.UUID | str, *, note: str | None = None
                     ) -> DocumentRequest:
    """Delivery failed and the envelope is back at the office: offer pickup instead."""
    request = _delivery_request(session, request_id)
    if request.state != S.handover_pending:
        raise Conflict("Dokumen tidak menunggu penyerahan.", state=str(request.state))
    audit.record(session, action="request.returned_to_office", entity_type="document_request",
                 entity_id=request.id, office_id=request.office_id, actor=None, note=note)
    _give_pickup_code(session, request, "request_returned_to_office")
    return request
