"""Booking, cancelling and giving up on provider orders, in three phases each:

1. a unit of work loads the attempt, checks it still needs the call and commits (the
   attempt's reference was committed when the attempt was created);
2. the provider is called with NO transaction open;
3. a new unit of work records the outcome.

The attempt is ``unknown`` from the moment a call may reach the provider until its answer is
recorded: a timeout after the request was sent, or a worker killed during the call, leaves it
so. A provider that can look an order up by our reference (``lookup_by_reference``) is asked
first on the retry, and an order is booked only when the provider positively has none. A
provider that cannot is never sent the booking again (that could make a second order): the
attempt waits for a webhook carrying our reference, and the operator is alerted
(``booking_unknown``) to check the provider's dashboard and decide. The partial unique index
(one active attempt per delivery) is the last guard.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.db import unit_of_work, utcnow
from core.models import Office
from core.settings import Settings, get_settings
from delivery import breaker, gateway, policy
from delivery.flow import TASK_CANCEL_ATTEMPT, fail_over, finish_attempt
from delivery.metrics import provider_call
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
from delivery.states import raise_alert
from providers.errors import (
    CancelNotAllowed,
    CapabilityNotSupported,
    OrderNotFound,
    PermanentProviderError,
    QuoteExpired,
    TransientProviderError,
)
from providers.status import DeliveryStatus as PS
from providers.types import (
    Booking,
    BookingRequest,
    Coordinates,
    Money,
    Place,
    Quote,
    QuoteRequest,
    Stop,
    TrackingUpdate,
    courier_text,
    derive_event_id,
)

log = logging.getLogger("sipoke.delivery")


@dataclass(frozen=True)
class _Plan:
    attempt_id: uuid.UUID
    provider: str
    reference: str
    look_up_first: bool
    uncertain_before: bool
    quote: Quote | None
    pickup: Stop
    dropoff: Stop
    office_id: str


def _office_stop(office: Office, fallback_phone: str) -> Stop:
    phone = office.phone or office.whatsapp or fallback_phone
    return Stop(coordinates=Coordinates(lat=office.lat, lng=office.lng),
                address=courier_text(office.address), name=courier_text(office.name, 120),
                phone=phone,
                note="Ambil/serahkan amplop dokumen di loket pelayanan")


def _resident_stop(delivery: Delivery, note: str) -> Stop:
    return Stop(coordinates=Coordinates(lat=delivery.lat, lng=delivery.lng),
                address=courier_text(delivery.address),
                name=courier_text(delivery.recipient_name, 120),
                phone=delivery.recipient_phone, note=courier_text(note))


def _plan(attempt: DeliveryAttempt, delivery: Delivery, office: Office,
          quote_row: DeliveryQuote | None) -> _Plan:
    quote = None
    if quote_row is not None:
        quote = Quote(provider=quote_row.provider, provider_quote_id=quote_row.provider_quote_id,
                      price=Money(amount=quote_row.price), expires_at=quote_row.expires_at,
                      distance_m=quote_row.distance_m, pickup_eta_s=quote_row.pickup_eta_s,
                      dropoff_eta_s=quote_row.dropoff_eta_s)
    office_stop = _office_stop(office, delivery.recipient_phone)
    if attempt.leg == Leg.originals:
        pickup = _resident_stop(delivery, "Ambil dokumen asli dari pemohon, bawa ke kantor")
        dropoff = office_stop
    else:
        pickup = office_stop
        dropoff = _resident_stop(delivery, (delivery.note or "") + " Serahkan hanya dengan PIN.")
    caps = gateway.capabilities(attempt.provider)
    return _Plan(attempt.id, attempt.provider, attempt.reference,
                 look_up_first=attempt.calls > 0 and caps.lookup_by_reference,
                 uncertain_before=attempt.status == AttemptStatus.unknown, quote=quote,
                 pickup=pickup, dropoff=dropoff, office_id=str(office.id))


def _call_book(settings: Settings, plan: _Plan) -> Booking:
    with gateway.adapter(plan.provider, settings) as adapter:
        if plan.look_up_first:
            with provider_call(plan.provider, "find_by_reference"):
                found = adapter.find_by_reference(plan.reference)
            if found is not None:
                return found
        quote = plan.quote
        if quote is None:  # the originals leg is priced when it is booked
            with provider_call(plan.provider, "quote"):
                quote = adapter.quote(QuoteRequest(
                    pickup=Place(coordinates=plan.pickup.coordinates,
                                 address=plan.pickup.address),
                    dropoff=Place(coordinates=plan.dropoff.coordinates,
                                  address=plan.dropoff.address), office_id=plan.office_id))
        with provider_call(plan.provider, "book"):
            return adapter.book(BookingRequest(reference=plan.reference, quote=quote,
                                               pickup=plan.pickup, dropoff=plan.dropoff,
                                               office_id=plan.office_id))


def book_attempt(attempt_id: uuid.UUID) -> str:
    """The ``delivery.book`` task body. Raises TransientProviderError for the retry policy."""
    settings = get_settings()
    with unit_of_work() as session:
        # One statement: the delivery and the attempt locked, the office, the quote and the
        # provider's circuit read; one more writes the attempt.
        locked = DeliveryRepository(session).lock_for_booking(attempt_id)
        if locked is None:
            return "skipped"
        delivery, attempt, office, quote_row, circuit = locked
        if attempt.status not in (AttemptStatus.pending, AttemptStatus.unknown):
            return "skipped"
        if attempt.status == AttemptStatus.unknown \
                and not gateway.capabilities(attempt.provider).lookup_by_reference:
            raise_alert(session, delivery, "booking_unknown",
                        note=f"Pesanan ke {attempt.provider} mungkin sudah dibuat; periksa "
                             f"dasbor penyedia untuk referensi {attempt.reference}")
            return "awaiting_provider"
        if attempt.status == AttemptStatus.pending \
                and not breaker.allow(session, attempt.provider, row=circuit):
            _refused(session, delivery, attempt, "Penyedia sedang gangguan", exclude=True)
            return "failed_over"
        plan = _plan(attempt, delivery, office, quote_row)
        if attempt.status == AttemptStatus.pending and plan.quote is not None \
                and plan.quote.is_expired(utcnow()):
            _refused(session, delivery, attempt, "Penawaran kedaluwarsa", exclude=False)
            return "requoted"
        attempt.calls += 1
        attempt.status = AttemptStatus.unknown  # from here the provider may have an order
    try:
        booking = _call_book(settings, plan)
    except TransientProviderError as exc:
        with unit_of_work() as session:
            _transient(session, attempt_id, exc, uncertain_before=plan.uncertain_before)
        raise
    except QuoteExpired as exc:
        with unit_of_work() as session:
            _refused_by_id(session, attempt_id, f"Penawaran kedaluwarsa: {exc}", exclude=False)
        return "requoted"
    except PermanentProviderError as exc:
        with unit_of_work() as session:
            _refused_by_id(session, attempt_id, f"Ditolak penyedia: {exc}", exclude=True)
        return "failed_over"
    with unit_of_work() as session:
        return record_booking(session, attempt_id, booking)


def _transient(session: Session, attempt_id: uuid.UUID, exc: TransientProviderError, *,
               uncertain_before: bool) -> None:
    attempt = DeliveryRepository(session).attempt(attempt_id, lock=True)
    if attempt is None:
        return
    breaker.record_failure(session, attempt.provider, str(exc), retry_after=exc.retry_after)
    attempt.last_error = str(exc)[:1000]
    if attempt.status == AttemptStatus.unknown and not exc.outcome_unknown \
            and not uncertain_before:
        # Nothing reached the provider (a connect error, a client-side throttle), and no
        # earlier call may have made an order: booking again is safe.
        attempt.status = AttemptStatus.pending


def _refused(session: Session, delivery: Delivery, attempt: DeliveryAttempt, reason: str, *,
             exclude: bool) -> None:
    if attempt.leg == Leg.originals:
        finish_attempt(attempt, AttemptStatus.failed, reason)
        raise_alert(session, delivery, "originals_leg_failed", note=reason)
        return
    fail_over(session, delivery, attempt, reason, exclude=exclude)


def _refused_by_id(session: Session, attempt_id: uuid.UUID, reason: str, *, exclude: bool
                   ) -> None:
    locked = DeliveryRepository(session).lock_with_delivery(attempt_id)
    if locked is None:
        return
    delivery, attempt = locked
    if attempt.status in (AttemptStatus.pending, AttemptStatus.unknown):
        _refused(session, delivery, attempt, reason, exclude=exclude)


def record_booking(session: Session, attempt_id: uuid.UUID, booking: Booking) -> str:
    from delivery.tracking.service import apply_update

    locked = DeliveryRepository(session).lock_for_booking(attempt_id)
    assert locked is not None
    delivery, attempt, _office, _quote, circuit = locked
    breaker.record_success(session, attempt.provider, row=circuit)
    attempt.provider_order_id = attempt.provider_order_id or booking.provider_order_id
    attempt.booked_at = attempt.booked_at or utcnow()
    if booking.price is not None:
        attempt.price = booking.price.amount
    attempt.tracking_url = booking.tracking_url or attempt.tracking_url
    if attempt.status not in ACTIVE_ATTEMPT:
        # Cancelled (or failed over) while the call was in flight: cancel what was made.
        from core.outbox import enqueue

        enqueue(session, TASK_CANCEL_ATTEMPT, attempt_id=attempt.id,
                reason="Dibatalkan saat pemesanan berjalan")
        return "cancel_requested"
    if attempt.status != AttemptStatus.active:
        attempt.status = AttemptStatus.active
    update = TrackingUpdate(
        provider=booking.provider, provider_order_id=booking.provider_order_id,
        provider_event_id=derive_event_id("booking", booking.provider_order_id,
                                          booking.raw_status),
        occurred_at=utcnow(), status=booking.status, raw_status=booking.raw_status,
        reference=booking.reference, courier=booking.courier,
        tracking_url=booking.tracking_url)
    apply_update(session, delivery, attempt, update)
    return "booked"


# --- cancelling at the provider ------------------------------------------------------------

def cancel_at_provider(attempt_id: uuid.UUID, reason: str = "") -> str:
    """``delivery.cancel_attempt``: cancel an order we gave up on (resident/operator cancel,
    failover). Finds an order made by an in-flight booking through our reference."""
    settings = get_settings()
    with unit_of_work() as session:
        attempt = DeliveryRepository(session).attempt(attempt_id)
        if attempt is None or attempt.status in ACTIVE_ATTEMPT:
            return "skipped"
        provider, order_id, reference = (attempt.provider, attempt.provider_order_id,
                                         attempt.reference)
    try:
        with gateway.adapter(provider, settings) as adapter:
            if order_id is None:
                try:
                    found = adapter.find_by_reference(reference)
                except CapabilityNotSupported:
                    found = None
                if found is None:
                    return "nothing_to_cancel"
                order_id = found.provider_order_id
            with provider_call(provider, "cancel"):
                adapter.cancel(order_id, reason=reason)
    except OrderNotFound:
        return "nothing_to_cancel"
    except CancelNotAllowed as exc:
        with unit_of_work() as session:
            attempt = DeliveryRepository(session).attempt(attempt_id)
            if attempt is not None:
                delivery = DeliveryRepository(session).get(attempt.delivery_id, lock=True)
                assert delivery is not None
                raise_alert(session, delivery, "cancel_refused",
                            note=f"Penyedia menolak pembatalan: {exc}")
        return "refused"
    with unit_of_work() as session:
        attempt = DeliveryRepository(session).attempt(attempt_id, lock=True)
        if attempt is not None and attempt.provider_order_id is None:
            attempt.provider_order_id = order_id
    return "cancelled"


# --- the no-courier watchdog ---------------------------------------------------------------

SEARCHING = (PS.booked, PS.searching_courier)


def give_up_search(attempt_id: uuid.UUID) -> str:
    """``delivery.give_up_search``: no courier after N minutes (or the budget is spent):
    cancel at the provider, then fail over."""
    settings = get_settings()
    with unit_of_work() as session:
        attempt = DeliveryRepository(session).attempt(attempt_id)
        if attempt is None or attempt.status != AttemptStatus.active \
                or attempt.leg != Leg.outbound \
                or (attempt.provider_status and PS(attempt.provider_status) not in SEARCHING):
            return "skipped"
        provider, order_id = attempt.provider, attempt.provider_order_id
        rules = policy.for_office(session, settings, attempt.office_id)
    if order_id is not None:
        try:
            with gateway.adapter(provider, settings) as adapter, \
                    provider_call(provider, "cancel"):
                adapter.cancel(order_id, reason="Tidak ada kurir")
        except CancelNotAllowed:
            return "courier_found"  # a courier took it meanwhile; the update will follow
        except OrderNotFound:
            pass
    with unit_of_work() as session:
        locked = DeliveryRepository(session).lock_with_delivery(attempt_id)
        if locked is None:
            return "skipped"
        delivery, attempt = locked
        if attempt.status != AttemptStatus.active or delivery.state not in (
                D.booking, D.searching_courier):
            return "skipped"
        fail_over(session, delivery, attempt,
                  f"Tidak ada kurir dalam {rules.no_courier_timeout_min:g} menit")
    return "failed_over"
