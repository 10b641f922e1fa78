"""What happens to a delivery when something happens to it: the orchestration every entry
point shares (quotes, booking results, tracking updates, the handover page, operators,
sweepers). Everything here runs inside the caller's transaction and only flushes; provider
calls are enqueued by task name, never made here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import task_names
from core.db import utcnow
from core.errors import Conflict
from core.models import DocumentRequest, HandoverMethod, User
from core.models import RequestState as RS
from core.notifications import notify
from core.outbox import enqueue
from core.requests import handover as core_handover
from core.settings import get_settings
from delivery import gateway
from delivery.models import (
    ACTIVE_ATTEMPT,
    AttemptStatus,
    Delivery,
    DeliveryAttempt,
    DeliveryQuote,
    Leg,
)
from delivery.models import DeliveryState as D
from delivery.repository import DeliveryRepository
from delivery.states import BEFORE_PICKUP, TURN_BACK_FROM, raise_alert, set_state
from providers.status import DeliveryStatus as PS

TASK_QUOTE = task_names.DELIVERY_QUOTE
TASK_BOOK = task_names.DELIVERY_BOOK
TASK_CANCEL_ATTEMPT = task_names.DELIVERY_CANCEL_ATTEMPT

# Provider status -> the delivery state it moves an outbound delivery to.
OUTBOUND_TARGET: dict[PS, D] = {
    PS.booked: D.searching_courier,
    PS.searching_courier: D.searching_courier,
    PS.courier_assigned: D.courier_assigned,
    PS.at_pickup: D.courier_assigned,
    PS.picked_up: D.picked_up,
    PS.in_transit: D.in_transit,
    PS.at_dropoff: D.in_transit,
    PS.delivered: D.delivered,
    PS.returning: D.returning,
}


def new_reference() -> str:
    """Our attempt reference: the provider's idempotency key / client reference."""
    return f"spk-{uuid.uuid4().hex}"


def request_of(session: Session, delivery: Delivery) -> DocumentRequest:
    request = session.get(DocumentRequest, delivery.request_id)
    assert request is not None
    return request


# --- booking ---------------------------------------------------------------------------------

def start_booking(session: Session, delivery: Delivery, quote: DeliveryQuote, *,
                  actor: User | None = None, note: str | None = None) -> DeliveryAttempt:
    """Store the attempt (and its reference) now; the worker calls the provider after commit.

    Three flushes' worth of changes in two: the attempt alone first (the partial unique
    index answers there), then the delivery's choice and state, the audit event and the
    outbox row together. The delivery is written by one UPDATE, not one per step."""
    attempt = DeliveryAttempt(delivery_id=delivery.id, office_id=delivery.office_id,
                              leg=Leg.outbound, provider=quote.provider,
                              reference=new_reference(), quote_id=quote.id,
                              status=AttemptStatus.pending, price=quote.price)
    session.add(attempt)
    try:
        session.flush()
    except IntegrityError:
        # The partial unique index: another attempt of this delivery is still active. No
        # savepoint (two more round trips on every booking): no caller goes on after this
        # Conflict, the boundary rolls the whole unit of work back.
        raise Conflict("Pengantaran ini sudah sedang dipesan.") from None
    delivery.chosen_quote_id = quote.id
    delivery.price = quote.resident_pays
    delivery.subsidy = quote.subsidy
    # enqueue() flushes the state change with its outbox row.
    set_state(session, delivery, D.booking, actor=actor,
              note=note or f"Memesan {gateway.display_name(quote.provider)}",
              data={"provider": quote.provider, "quote_id": str(quote.id),
                    "attempt_id": str(attempt.id)}, flush=False)
    enqueue(session, TASK_BOOK, attempt_id=attempt.id)
    return attempt


def finish_attempt(attempt: DeliveryAttempt, status: AttemptStatus, error: str | None = None
                   ) -> None:
    if attempt.status in ACTIVE_ATTEMPT:
        attempt.status = status
        attempt.finished_at = utcnow()
        if error:
            attempt.last_error = error[:1000]


def fail_over(session: Session, delivery: Delivery, attempt: DeliveryAttempt | None,
              reason: str, *, exclude: bool = True) -> None:
    """The provider could not serve (no courier, refusal, outage): try the next eligible
    provider while the time budget lasts, then offer office pickup."""
    if attempt is not None:
        finish_attempt(attempt, AttemptStatus.failed, reason)
        if exclude and attempt.provider not in (delivery.excluded_providers or []):
            delivery.excluded_providers = [*(delivery.excluded_providers or []),
                                           attempt.provider]
    if delivery.state not in BEFORE_PICKUP:
        raise_alert(session, delivery, "failed", note=reason)
        return
    if utcnow() < delivery.budget_deadline:
        # A failover does not wait for the resident: the best remaining quote is booked.
        delivery.auto_choose = True
        if delivery.state != D.quoting:
            set_state(session, delivery, D.quoting, note=f"Ganti penyedia: {reason}",
                      data={"excluded": delivery.excluded_providers})
        enqueue(session, TASK_QUOTE, delivery_id=delivery.id)
    else:
        offer_pickup(session, delivery, f"Batas waktu pengantaran habis: {reason}")


def offer_pickup(session: Session, delivery: Delivery, reason: str) -> None:
    """No courier within the budget: the envelope stays at the office; the resident gets a
    pickup code and may ask for a delivery again."""
    set_state(session, delivery, D.pickup_offered, note=reason)
    raise_alert(session, delivery, "no_courier", note=reason)
    _back_to_pickup(session, delivery, reason)


def _back_to_pickup(session: Session, delivery: Delivery, reason: str) -> None:
    request = request_of(session, delivery)
    if request.state == RS.handover_pending and \
            request.handover_method == HandoverMethod.delivery:
        core_handover.return_to_office(session, request.id, note=reason)


# --- cancelling ------------------------------------------------------------------------------

def cancel(session: Session, delivery: Delivery, *, actor: User | None, reason: str,
           give_pickup_code: bool = True) -> Delivery:
    """Cancel before pickup, within the provider's cancel rules."""
    if delivery.state not in BEFORE_PICKUP:
        raise Conflict("Dokumen sudah dibawa kurir; pengantaran tidak dapat dibatalkan.",
                       state=str(delivery.state))
    attempt = DeliveryRepository(session).active_attempt(delivery.id)
    if attempt is not None and attempt.provider_status:
        caps = gateway.capabilities(attempt.provider)
        if not caps.can_cancel(PS(attempt.provider_status)):
            raise Conflict("Penyedia tidak mengizinkan pembatalan pada tahap ini.",
                           provider_status=attempt.provider_status)
    set_state(session, delivery, D.cancelled, actor=actor, note=reason)
    if attempt is not None:
        finish_attempt(attempt, AttemptStatus.cancelled, reason)
        # The worker cancels at the provider (outside any transaction); an order created by
        # a booking still in flight is found by its reference and cancelled too.
        enqueue(session, TASK_CANCEL_ATTEMPT, attempt_id=attempt.id, reason=reason)
    if give_pickup_code:
        _back_to_pickup(session, delivery, reason)
    return delivery


# --- the handover PIN --------------------------------------------------------------------------

def pin_digest(delivery_id: uuid.UUID, pin: str) -> str:
    key = get_settings().secret().encode()
    return hmac.new(key, f"pin:{delivery_id}:{pin}".encode(), hashlib.sha256).hexdigest()


def issue_pin(session: Session, delivery: Delivery, courier_name: str | None) -> None:
    """Once a courier is assigned the resident receives the PIN the courier must ask for."""
    if delivery.pin_hash is not None:
        return
    pin = f"{secrets.randbelow(10**6):06d}"
    delivery.pin_hash = pin_digest(delivery.id, pin)
    request = request_of(session, delivery)
    notify(session, recipient=delivery.recipient_phone, kind="delivery_pin",
           office_id=delivery.office_id, user_id=delivery.resident_id, sensitive=True,
           courier=courier_name or "kami", reference=request.reference, pin=pin)


# --- provider status -> delivery -------------------------------------------------------------

def on_provider_status(session: Session, delivery: Delivery, attempt: DeliveryAttempt,
                       status: PS, *, reason: str | None = None) -> None:
    """Move the delivery for an APPLIED provider status of one of its attempts."""
    if attempt.status not in ACTIVE_ATTEMPT:
        return  # a failed-over or cancelled attempt never moves the delivery again
    if attempt.status != AttemptStatus.active:
        attempt.status = AttemptStatus.active
    if attempt.leg == Leg.originals:
        _on_originals_leg(session, delivery, attempt, status, reason)
        return
    if status in (PS.no_courier, PS.cancelled, PS.failed):
        text = reason or {PS.no_courier: "Tidak ada kurir",
                          PS.cancelled: "Dibatalkan penyedia"}.get(status, "Gagal")
        fail_over(session, delivery, attempt, text)
        return
    if status == PS.returned:
        finish_attempt(attempt, AttemptStatus.done)
        if delivery.state in TURN_BACK_FROM:  # also before we heard of the pickup
            set_state(session, delivery, D.returning, note=reason)
        if delivery.state == D.returning:
            set_state(session, delivery, D.returned_to_office,
                      note=reason or "Dokumen kembali ke kantor")
            raise_alert(session, delivery, "returned", note=reason)
            _back_to_pickup(session, delivery, reason or "Pengantaran gagal")
        return
    target = OUTBOUND_TARGET.get(status)
    if status == PS.delivered:
        finish_attempt(attempt, AttemptStatus.done)
    if target is None or delivery.state == target or \
            not _can(delivery, target):
        if status == PS.delivered and delivery.state == D.returning_originals:
            ensure_return_leg(session, delivery)
        return
    set_state(session, delivery, target, note=f"Penyedia: {status}")
    if target == D.courier_assigned or (target in (D.picked_up, D.in_transit)
                                        and delivery.pin_hash is None):
        issue_pin(session, delivery, (attempt.courier or {}).get("name"))
    elif target == D.returning:
        request = request_of(session, delivery)
        notify(session, recipient=delivery.recipient_phone, kind="delivery_returning",
               office_id=delivery.office_id, user_id=delivery.resident_id,
               reference=request.reference, reason=reason or "penerima tidak ada")
    elif target == D.delivered:
        core_handover.mark_delivered(session, delivery.request_id,
                                     note="Penyedia melaporkan dokumen diterima")
        if delivery.pin_verified_at is None:
            raise_alert(session, delivery, "delivered_without_pin",
                        note="Penyedia melaporkan terkirim sebelum PIN diperiksa")


def _can(delivery: Delivery, target: D) -> bool:
    from delivery.states import can_transition

    return can_transition(D(delivery.state), target)


def _on_originals_leg(session: Session, delivery: Delivery, attempt: DeliveryAttempt,
                      status: PS, reason: str | None) -> None:
    if status in (PS.delivered, PS.returned):
        finish_attempt(attempt, AttemptStatus.done)
        raise_alert(session, delivery, "originals_arrived",
                    note="Dokumen asli tiba di kantor; mohon dikonfirmasi")
    elif status in (PS.no_courier, PS.cancelled, PS.failed):
        finish_attempt(attempt, AttemptStatus.failed, reason)
        raise_alert(session, delivery, "originals_leg_failed", note=reason)


def ensure_return_leg(session: Session, delivery: Delivery) -> DeliveryAttempt | None:
    """Book the leg that carries the originals back, once the outbound order is finished
    (one active attempt per delivery). A provider that does round trips needs no second leg:
    its courier brings the originals back on the same job."""
    repo = DeliveryRepository(session)
    if delivery.state != D.returning_originals:
        return None
    if repo.latest_attempt(delivery.id, Leg.originals) is not None:
        return None
    outbound = repo.latest_attempt(delivery.id, Leg.outbound)
    if outbound is not None and gateway.capabilities(outbound.provider).round_trip:
        return None
    if repo.active_attempt(delivery.id) is not None:
        return None  # the outbound order still runs; its 'delivered' update calls us again
    settings = get_settings()
    names = gateway.enabled_names(settings)
    provider = outbound.provider if outbound is not None and outbound.provider in names \
        else (names[0] if names else None)
    if provider is None:
        raise_alert(session, delivery, "originals_leg_failed", note="Tidak ada penyedia")
        return None
    attempt = DeliveryAttempt(delivery_id=delivery.id, office_id=delivery.office_id,
                              leg=Leg.originals, provider=provider, reference=new_reference(),
                              status=AttemptStatus.pending)
    try:
        with session.begin_nested():
            session.add(attempt)
            session.flush()
    except IntegrityError:
        return None
    enqueue(session, TASK_BOOK, attempt_id=attempt.id)
    return attempt
