"""The fleet's answers in the provider contract's words: no I/O, no session."""

from __future__ import annotations

from fleet import errors as fleet_errors
from fleet.errors import FleetRefused
from fleet.hooks import JobUpdate
from fleet.service import FleetQuote
from fleet.statuses import JobStatus
from providers.errors import (
    CancelNotAllowed,
    OrderNotFound,
    OutOfServiceArea,
    PermanentProviderError,
    ProviderError,
)
from providers.status import DeliveryStatus
from providers.types import Booking, Coordinates, CourierInfo, Money, Quote, TrackingUpdate

PROVIDER = "inhouse"
J, D = JobStatus, DeliveryStatus
STATUS: dict[JobStatus, DeliveryStatus] = {
    J.booked: D.booked, J.searching_courier: D.searching_courier,
    J.courier_assigned: D.courier_assigned, J.at_pickup: D.at_pickup, J.picked_up: D.picked_up,
    J.in_transit: D.in_transit, J.at_dropoff: D.at_dropoff, J.returning: D.returning,
    J.delivered: D.delivered, J.returned: D.returned, J.cancelled: D.cancelled,
    J.no_courier: D.no_courier,
}
ERRORS: dict[str, type[ProviderError]] = {
    fleet_errors.BAD_OFFICE: PermanentProviderError,
    fleet_errors.UNKNOWN_OFFICE: PermanentProviderError,
    fleet_errors.NO_COURIERS: PermanentProviderError,
    fleet_errors.TOO_FAR: OutOfServiceArea,
    fleet_errors.NOT_CANCELLABLE: CancelNotAllowed,
    fleet_errors.NO_SUCH_JOB: OrderNotFound,
}


def to_error(refused: FleetRefused) -> ProviderError:
    kind = ERRORS.get(refused.code, PermanentProviderError)
    return kind(str(refused), provider=PROVIDER, code=refused.code.upper())


def to_quote(quote: FleetQuote) -> Quote:
    return Quote(provider=PROVIDER, provider_quote_id=quote.quote_id,
                 price=Money(amount=quote.price), distance_m=quote.distance_m,
                 expires_at=quote.expires_at, pickup_eta_s=quote.pickup_eta_s,
                 dropoff_eta_s=quote.dropoff_eta_s)


def to_update(update: JobUpdate) -> TrackingUpdate:
    courier = (CourierInfo(name=update.courier_name, phone=update.courier_phone,
                           plate=update.courier_plate)
               if update.courier_name is not None else None)
    position = (Coordinates(lat=update.lat, lng=update.lng)
                if update.lat is not None and update.lng is not None else None)
    return TrackingUpdate(
        provider=PROVIDER, provider_order_id=update.job_id, provider_event_id=update.event_id,
        occurred_at=update.occurred_at, status=STATUS[update.status],
        raw_status=update.status.value, reference=update.reference, courier=courier,
        position=position, proof_urls=update.proof_urls, failure_reason=update.failure_reason)


def to_booking(update: JobUpdate, *, price: int) -> Booking:
    tracking = to_update(update)
    return Booking(provider=PROVIDER, provider_order_id=update.job_id,
                   reference=update.reference, status=tracking.status,
                   raw_status=tracking.raw_status, price=Money(amount=price),
                   courier=tracking.courier)
