"""The in-house provider behind the same contract as the ride-hailing adapters.

Each call runs in its own unit of work (its own transaction, committed before it returns),
exactly as a call to an external provider would be: the delivery side must not call it from
inside its own open transaction (docs/architecture.md rule 1; on SQLite that would also wait
on the lock). The fleet's refusals come back as the contract's errors (``mapping.to_error``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from core.db import unit_of_work
from fleet import service as fleet
from fleet.errors import FleetRefused
from fleet.models import InhouseJob
from providers.base import Capabilities, ProviderAdapter
from providers.errors import PermanentProviderError, QuoteExpired
from providers.inhouse import mapping
from providers.inhouse.config import InhouseSettings
from providers.status import BEFORE_PICKUP
from providers.types import (
    Booking,
    BookingRequest,
    Quote,
    QuoteRequest,
    TrackingUpdate,
    VehicleType,
)


@contextmanager
def _fleet_call() -> Iterator[Session]:
    """A unit of work with the fleet, its refusals turned into the contract's errors."""
    try:
        with unit_of_work() as session:
            yield session
    except FleetRefused as refused:
        raise mapping.to_error(refused) from None


class InhouseAdapter(ProviderAdapter):
    name = mapping.PROVIDER
    display_name = "Kurir Kantor"
    settings_model = InhouseSettings
    capabilities = Capabilities(
        vehicle_types=frozenset({VehicleType.motorcycle, VehicleType.bicycle,
                                 VehicleType.walk}),
        # The radius is a setting per deployment (max_distance_m, default 15 km), which the
        # fleet enforces when it quotes; no fixed class-level limit.
        max_distance_m=None,
        pin_proof=True,  # the courier hands over on our own page, which checks the PIN
        photo_proof=True,
        round_trip=True,  # our courier brings originals / failed envelopes back anyway
        webhooks=False,  # updates come from the fleet in the courier's transaction
        lookup_by_reference=True,
        quote_validity_s=900,
        cancellable_statuses=BEFORE_PICKUP,
    )

    settings: InhouseSettings

    def quote(self, request: QuoteRequest) -> Quote:
        self.ensure_quotable(request)
        at, to = request.pickup.coordinates, request.dropoff.coordinates
        with _fleet_call() as session:
            return mapping.to_quote(fleet.quote(
                session, self.settings, office_id=request.office_id,
                pickup=(at.lat, at.lng), dropoff=(to.lat, to.lng)))

    def book(self, request: BookingRequest) -> Booking:
        self.ensure_bookable(request)  # our couriers take no cash
        with _fleet_call() as session:
            job = fleet.job_by_reference(session, request.reference)
            if job is None:  # booking a reference again returns its job, whatever the quote
                self._ensure_usable(request)
                job = fleet.book(
                    session, self.settings, office_id=request.office_id,
                    reference=request.reference, quote_id=request.quote.provider_quote_id,
                    price=request.quote.price.amount, distance_m=request.quote.distance_m or 0,
                    pickup=request.pickup.model_dump(mode="json"),
                    dropoff=request.dropoff.model_dump(mode="json"))
            return self._booking(session, job)

    def get_status(self, provider_order_id: str) -> TrackingUpdate:
        with _fleet_call() as session:
            job = fleet.job_by_id(session, provider_order_id)
            return mapping.to_update(fleet.job_update(session, job))

    def cancel(self, provider_order_id: str, *, reason: str = "") -> None:
        with _fleet_call() as session:
            fleet.cancel(session, fleet.job_by_id(session, provider_order_id), reason=reason)

    def find_by_reference(self, reference: str) -> Booking | None:
        with _fleet_call() as session:
            job = fleet.job_by_reference(session, reference)
            return self._booking(session, job) if job is not None else None

    @staticmethod
    def _ensure_usable(request: BookingRequest) -> None:
        if request.quote.provider != mapping.PROVIDER:
            raise PermanentProviderError("quote is not an in-house quote",
                                         provider=mapping.PROVIDER)
        if request.quote.is_expired():
            raise QuoteExpired("quote expired", provider=mapping.PROVIDER)

    @staticmethod
    def _booking(session: Session, job: InhouseJob) -> Booking:
        return mapping.to_booking(fleet.job_update(session, job), price=job.price)
