"""Safe handover at the door: the envelope QR token, the courier's steps and the PIN.

The envelope carries a QR with a random token (only its hash is stored; reprinting issues a
new token and voids the old one). Whoever holds the envelope - any provider's courier, no
login - opens the handover page with it: confirm pickup at the office, enter the resident's
PIN at the door (five wrong ones lock it and alert the office), tick the originals collected,
add a photo. An operator confirms the originals back at the office, completing the request.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass

import segno
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import AppError, Conflict, NotFound, ValidationFailed
from core.identity import scrub_nik
from core.models import Office, User
from core.notifications import notify
from core.requests import handover as core_handover
from core.security import constant_time_equals
from core.settings import get_settings
from core.storage import IncomingFile, Storage, keep_in_transaction
from delivery.flow import ensure_return_leg, pin_digest, request_of
from delivery.models import Delivery, HandoverKind, HandoverRecord, Leg
from delivery.models import DeliveryState as D
from delivery.repository import DeliveryRepository
from delivery.states import can_transition, raise_alert, set_state
from fleet import service as fleet
from providers.inhouse.mapping import PROVIDER as INHOUSE

MAX_PIN_ATTEMPTS = 5
PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})
PAGE_PATH = "/antar/{token}"
# States in which the courier holds (or is about to take) the envelope.
AT_DOOR = frozenset({D.picked_up, D.in_transit, D.delivered})


class PinLocked(AppError):
    status_code = 423
    code = "pin_locked"
    message = "PIN terkunci karena salah 5 kali. Hubungi petugas kantor."


def token_hash(token: str) -> str:
    return hashlib.sha256(f"envelope:{token}".encode()).hexdigest()


@dataclass(frozen=True)
class Envelope:
    token: str
    url: str
    qr_svg: str


def issue_envelope(session: Session, actor: User, delivery: Delivery) -> Envelope:
    """A new envelope token (printing or reprinting the label voids the previous one)."""
    import secrets

    if delivery.state in (D.completed, D.cancelled, D.pickup_offered, D.returned_to_office):
        raise Conflict("Pengantaran ini sudah selesai.", state=str(delivery.state))
    token = secrets.token_urlsafe(24)
    delivery.envelope_token_hash = token_hash(token)
    audit.record(session, action="delivery.envelope_printed", entity_type="delivery",
                 entity_id=delivery.id, office_id=delivery.office_id, actor=actor)
    url = get_settings().base_url + PAGE_PATH.format(token=token)
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=4, xmldecl=False)
    return Envelope(token=token, url=url, qr_svg=out.getvalue().decode())


def by_token(session: Session, token: str, *, lock: bool = False) -> Delivery:
    if not token or len(token) > 100:
        raise NotFound("Amplop tidak dikenali.")
    found = DeliveryRepository(session).by_token_hash(token_hash(token))
    if found is None:
        raise NotFound("Amplop tidak dikenali. Minta petugas mencetak ulang QR.")
    if lock:
        found = DeliveryRepository(session).get(found.id, lock=True)
        assert found is not None
    return found


def _record(session: Session, delivery: Delivery, kind: HandoverKind, *,
            courier_name: str | None = None, data: dict | None = None,
            photo_key: str | None = None, actor: User | None = None) -> HandoverRecord:
    return DeliveryRepository(session).add_handover(HandoverRecord(
        delivery_id=delivery.id, office_id=delivery.office_id, kind=kind,
        courier_name=courier_name, data=data or {}, photo_key=photo_key,
        actor_user_id=actor.id if actor else None))


def delivery_state_for_reference(session: Session, reference: str) -> str | None:
    """The state of the delivery an in-house job was booked for (by its attempt reference):
    the lookup the in-house courier's job page follows."""
    repo = DeliveryRepository(session)
    attempt = repo.attempt_for_order(INHOUSE, None, reference)
    if attempt is None or attempt.leg != Leg.outbound:
        return None
    delivery = repo.get(attempt.delivery_id)
    return str(delivery.state) if delivery is not None else None


def _job_follows(session: Session, delivery: Delivery) -> None:
    """When our own courier carries the delivery, their job moves with it (the envelope's
    scan, the PIN, the originals, the office's confirmation): one state, kept here."""
    attempt = DeliveryRepository(session).latest_attempt(delivery.id, Leg.outbound)
    if attempt is not None and attempt.provider == INHOUSE:
        fleet.follow_delivery(session, attempt.reference, str(delivery.state))


def view(session: Session, delivery: Delivery) -> dict:
    """What the courier's page shows: enough to hand over, nothing more (no NIK, no letter
    type)."""
    office = session.get(Office, delivery.office_id)
    records = DeliveryRepository(session).handovers_for(delivery.id)
    kinds = {r.kind for r in records}
    return {
        "state": str(delivery.state), "office_name": office.name if office else "",
        "office_address": scrub_nik(office.address if office else ""),
        "recipient_name": scrub_nik(delivery.recipient_name),
        "address": scrub_nik(delivery.address),
        "picked_up": HandoverKind.office_to_courier in kinds,
        "pin_verified": delivery.pin_verified_at is not None,
        "pin_locked": delivery.pin_locked_at is not None,
        "pin_attempts_left": max(0, MAX_PIN_ATTEMPTS - delivery.pin_attempts),
        "originals": delivery.originals or [],
        "originals_collected": delivery.originals_collected or [],
        # Collected at the door is not yet at the office: only the office's confirmation is.
        "originals_at_office": bool(delivery.originals_collected) and delivery.state in (
            D.originals_received, D.completed),
        "photos": sum(1 for r in records if r.kind == HandoverKind.photo),
        "steps": [{"kind": str(r.kind), "at": r.created_at.isoformat()} for r in records],
    }


def confirm_pickup(session: Session, token: str, courier_name: str) -> Delivery:
    """The courier took the envelope at the office (scan #1)."""
    delivery = by_token(session, token, lock=True)
    if delivery.state not in (D.booking, D.searching_courier, D.courier_assigned,
                              D.picked_up, D.in_transit):
        raise Conflict("Amplop ini tidak sedang menunggu kurir.", state=str(delivery.state))
    records = DeliveryRepository(session).handovers_for(delivery.id)
    if not any(r.kind == HandoverKind.office_to_courier for r in records):
        _record(session, delivery, HandoverKind.office_to_courier,
                courier_name=courier_name.strip()[:120])
    if can_transition(D(delivery.state), D.picked_up) and delivery.state != D.picked_up:
        set_state(session, delivery, D.picked_up, note=f"Diambil kurir {courier_name[:60]}")
    _job_follows(session, delivery)
    return delivery


def verify_pin(session: Session, token: str, pin: str) -> Delivery:
    """The resident's PIN at the door (scan #2). Each try is counted before the PIN is
    compared, in one conditional update, so parallel guesses get exactly MAX_PIN_ATTEMPTS
    comparisons; wrong tries count even though the request fails (the error keeps the
    changes); the last one locks the PIN and alerts the office."""
    delivery = by_token(session, token)
    if delivery.pin_locked_at is not None:
        raise PinLocked()
    if delivery.pin_verified_at is not None:
        return delivery
    if delivery.state not in AT_DOOR:
        raise Conflict("Dokumen belum dibawa kurir.", state=str(delivery.state))
    if delivery.pin_hash is None:
        raise Conflict("PIN belum dikirim ke pemohon.")
    repo = DeliveryRepository(session)
    tries = repo.take_pin_attempt(delivery.id, MAX_PIN_ATTEMPTS)
    delivery = repo.get(delivery.id, lock=True)
    assert delivery is not None
    if tries is None:  # locked or verified by a parallel try meanwhile
        if delivery.pin_verified_at is not None:
            return delivery
        raise PinLocked()
    if not constant_time_equals(pin_digest(delivery.id, pin.strip()), delivery.pin_hash or ""):
        audit.record(session, action="delivery.pin_wrong", entity_type="delivery",
                     entity_id=delivery.id, office_id=delivery.office_id,
                     data={"attempts": tries})
        if tries >= MAX_PIN_ATTEMPTS:
            _lock_pin(session, delivery)
            raise PinLocked().keeping_changes()
        error = ValidationFailed("pin", "PIN salah. Dokumen tidak boleh diserahkan.")
        error.details["attempts_left"] = MAX_PIN_ATTEMPTS - tries
        raise error.keeping_changes()
    delivery.pin_attempts = tries - 1  # only wrong tries count
    delivery.pin_verified_at = utcnow()
    if delivery.alert == "delivered_without_pin":
        delivery.alert = None
    _record(session, delivery, HandoverKind.courier_to_resident)
    if delivery.state != D.delivered:
        set_state(session, delivery, D.delivered, note="PIN benar; dokumen diterima pemohon")
        core_handover.mark_delivered(session, delivery.request_id,
                                     note="Diserahkan dengan PIN")
    _job_follows(session, delivery)
    if not delivery.originals:
        complete(session, delivery, actor=None, originals_checked=[],
                 note="Diterima dengan PIN; tidak ada dokumen asli untuk diperiksa")
    return delivery


def _lock_pin(session: Session, delivery: Delivery) -> None:
    delivery.pin_locked_at = utcnow()
    raise_alert(session, delivery, "pin_locked", note="PIN salah 5 kali")
    office = session.get(Office, delivery.office_id)
    phone = office.whatsapp or office.phone if office else None
    if phone:
        notify(session, recipient=phone, kind="delivery_pin_locked",
               office_id=delivery.office_id,
               reference=request_of(session, delivery).reference)


class PinRequired(Conflict):
    code = "pin_required"
    message = ("Dokumen hanya boleh diserahkan dengan PIN pemohon: pindai QR amplop dan "
               "masukkan PIN. Tanpa PIN, hanya petugas kantor yang dapat menutupnya dengan "
               "alasan tercatat.")


def handed_over(delivery: Delivery) -> bool:
    """The resident's PIN was checked, or an operator recorded why it was not."""
    return delivery.pin_verified_at is not None or delivery.pin_waived_at is not None


def ensure_courier_may_report_delivered(delivery: Delivery) -> None:
    """Our own courier's word alone never finishes a delivery: the PIN (or an operator's
    recorded exception) must come first. Provider couriers cannot be refused this way; their
    'delivered' without a PIN raises the ``delivered_without_pin`` alert instead."""
    if not handed_over(delivery):
        raise PinRequired()


WAIVABLE = frozenset({D.picked_up, D.in_transit, D.delivered})


def close_without_pin(session: Session, actor: User, delivery_id: uuid.UUID,
                      reason: str) -> Delivery:
    """The operator's recorded exception: the document reached the resident although the PIN
    was not checked (the resident confirmed by phone, the PIN was lost...). The reason is on
    the delivery's timeline; the originals, if any, are still collected and checked."""
    delivery = DeliveryRepository(session).get(delivery_id, lock=True)
    if delivery is None or delivery.office_id != actor.office_id:
        raise NotFound("Pengantaran tidak ditemukan.")
    if handed_over(delivery):
        raise Conflict("Serah terima pengantaran ini sudah tercatat.")
    if delivery.state not in WAIVABLE:
        raise Conflict("Dokumen belum dibawa kurir.", state=str(delivery.state))
    reason = reason.strip()
    if len(reason) < 10:
        raise ValidationFailed("reason", "Tuliskan alasan yang jelas (minimal 10 karakter).")
    delivery.pin_waived_at = utcnow()
    audit.record(session, action="delivery.pin_waived", entity_type="delivery",
                 entity_id=delivery.id, office_id=delivery.office_id, actor=actor,
                 note=reason[:300])
    if delivery.alert == "delivered_without_pin":
        delivery.alert = None
    if delivery.state != D.delivered:
        set_state(session, delivery, D.delivered, actor=actor,
                  note=f"Diserahkan tanpa PIN (keputusan petugas): {reason}"[:300])
        core_handover.mark_delivered(session, delivery.request_id, actor=actor,
                                     note="Diserahkan tanpa PIN (keputusan petugas)")
    _job_follows(session, delivery)
    if not delivery.originals:
        complete(session, delivery, actor=actor, originals_checked=[],
                 note="Ditutup petugas tanpa PIN; tidak ada dokumen asli untuk diperiksa")
    return delivery


def collect_originals(session: Session, token: str, checked: list[str]) -> Delivery:
    """The courier ticks the originals taken from the resident (after the PIN)."""
    delivery = by_token(session, token, lock=True)
    if not handed_over(delivery):
        raise Conflict("Masukkan PIN pemohon terlebih dahulu.")
    if delivery.state != D.delivered:
        raise Conflict("Dokumen asli tidak sedang dikumpulkan.", state=str(delivery.state))
    required = {o["code"] for o in delivery.originals or []}
    missing = sorted(required - set(checked))
    if missing:
        error = ValidationFailed("checked", "Semua dokumen asli harus diterima kurir.")
        error.details["missing"] = missing
        raise error
    delivery.originals_collected = sorted(required)
    _record(session, delivery, HandoverKind.originals_collected,
            data={"originals": delivery.originals_collected})
    set_state(session, delivery, D.returning_originals, note="Dokumen asli dibawa ke kantor")
    ensure_return_leg(session, delivery)
    _job_follows(session, delivery)
    return delivery


def send_for_originals(session: Session, actor: User, delivery_id: uuid.UUID,
                       reason: str) -> Delivery:
    """The operator's step for a handover nobody finished at the door (a provider's courier
    reported 'delivered' and left, the PIN checked or waived by the operator): a courier is
    sent to collect the originals from the resident, as after the courier ticks them at the
    door. The reason is on the delivery's timeline."""
    delivery = DeliveryRepository(session).get(delivery_id, lock=True)
    if delivery is None or delivery.office_id != actor.office_id:
        raise NotFound("Pengantaran tidak ditemukan.")
    if delivery.state != D.delivered:
        raise Conflict("Pengantaran ini tidak menunggu dokumen asli.", state=str(delivery.state))
    if not handed_over(delivery):
        raise Conflict("Catat dulu keputusan serah terima tanpa PIN, dengan alasannya.")
    if not delivery.originals:
        raise Conflict("Layanan ini tidak memerlukan dokumen asli.")
    reason = reason.strip()
    if len(reason) < 10:
        raise ValidationFailed("reason", "Tuliskan alasan yang jelas (minimal 10 karakter).")
    audit.record(session, action="delivery.originals_sent_for", entity_type="delivery",
                 entity_id=delivery.id, office_id=delivery.office_id, actor=actor,
                 note=reason[:300])
    set_state(session, delivery, D.returning_originals, actor=actor,
              note=f"Kurir dikirim mengambil dokumen asli: {reason}"[:300])
    ensure_return_leg(session, delivery)
    _job_follows(session, delivery)
    return delivery


def add_photo(session: Session, storage: Storage, token: str, incoming: IncomingFile
              ) -> HandoverRecord:
    from core.requests.uploads import check_content

    delivery = by_token(session, token, lock=True)
    if delivery.state not in (*AT_DOOR, D.returning_originals, D.returning):
        raise Conflict("Foto serah terima belum dapat diunggah.", state=str(delivery.state))
    content_type = check_content(incoming, PHOTO_TYPES)
    key = keep_in_transaction(session, storage, incoming)
    return _record(session, delivery, HandoverKind.photo, photo_key=key,
                   data={"content_type": content_type, "sha256": incoming.sha256,
                         "size": incoming.size})


def complete(session: Session, delivery: Delivery, *, actor: User | None,
             originals_checked: list[str], note: str) -> Delivery:
    if delivery.state == D.returning_originals:
        set_state(session, delivery, D.originals_received, actor=actor,
                  note="Dokumen asli diterima di kantor")
        _record(session, delivery, HandoverKind.back_to_office, actor=actor,
                data={"originals": originals_checked})
    set_state(session, delivery, D.completed, actor=actor, note=note)
    if delivery.alert in ("originals_arrived", "delivered_without_pin"):
        delivery.alert = None
    core_handover.complete_delivery(session, delivery.request_id,
                                    originals_checked=originals_checked, actor=actor, note=note)
    _job_follows(session, delivery)
    return delivery


def confirm_originals(session: Session, actor: User, delivery_id: uuid.UUID,
                      originals_checked: list[str]) -> Delivery:
    delivery = DeliveryRepository(session).get(delivery_id, lock=True)
    if delivery is None or delivery.office_id != actor.office_id:
        raise NotFound("Pengantaran tidak ditemukan.")
    if delivery.state != D.returning_originals:
        raise Conflict("Pengantaran ini tidak menunggu dokumen asli.", state=str(delivery.state))
    return complete(session, delivery, actor=actor, originals_checked=originals_checked,
                    note="Dokumen asli diterima dan diperiksa di kantor")
