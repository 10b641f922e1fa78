"""The in-house provider behind the same contract as the ride-hailing adapters.

Each call runs in its own unit of work (its own transaction, committed before it returns),
exactly as a call to an external provider would be: the delivery side must not call it from
inside its own open transaction (docs/architecture.md rule 1; on SQLite that would also wait
on the lock).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.db import unit_of_work
from providers.base import Capabilities, ProviderAdapter
from providers.inhouse import service
from providers.inhouse.config import InhouseSettings
from providers.inhouse.models import InhouseJob
from providers.status import BEFORE_PICKUP
from providers.types import (
    Booking,
    BookingRequest,
    Money,
    Quote,
    QuoteRequest,
    TrackingUpdate,
    VehicleType,
)


class InhouseAdapter(ProviderAdapter):
    name = "inhouse"
    display_name = "Kurir Kantor"
    settings_model = InhouseSettings
    capabilities = Capabilities(
        vehicle_types=frozenset({VehicleType.motorcycle, VehicleType.bicycle,
                                 VehicleType.walk}),
        # The radius is a setting per deployment (InhouseSettings.max_distance_m, default
        # 15 km), enforced by quote() with OutOfServiceArea; no fixed class-level limit.
        max_distance_m=None,
        pin_proof=True,  # the courier hands over on our own page, which checks the PIN
        photo_proof=True,
        round_trip=True,  # our courier brings originals / failed envelopes back anyway
        webhooks=False,  # updates go through the in-process sink, polling is the fallback
        lookup_by_reference=True,
        quote_validity_s=900,
        cancellable_statuses=BEFORE_PICKUP,
    )

    settings: InhouseSettings

    def quote(self, request: QuoteRequest) -> Quote:
        self.ensure_quotable(request)
        with unit_of_work() as session:
            return service.quote(session, self.settings, request)

    def book(self, request: BookingRequest) -> Booking:
        self.ensure_bookable(request)  # our couriers take no cash
        with unit_of_work() as session:
            return self._booking(session, service.book(session, self.settings, request))

    def get_status(self, provider_order_id: str) -> TrackingUpdate:
        with unit_of_work() as session:
            job = service.job_for_provider(session, provider_order_id)
            return service.to_update(session, job)

    def cancel(self, provider_order_id: str, *, reason: str = "") -> None:
        with unit_of_work() as session:
            service.cancel(session, service.job_for_provider(session, provider_order_id),
                           reason=reason)

    def find_by_reference(self, reference: str) -> Booking | None:
        with unit_of_work() as session:
            job = service.job_by_reference(session, reference)
            return self._booking(session, job) if job is not None else None

    @staticmethod
    def _booking(session: Session, job: InhouseJob) -> Booking:
        update = service.to_update(session, job)
        return Booking(provider=InhouseAdapter.name, provider_order_id=str(job.id),
                       reference=job.reference, status=update.status,
                       raw_status=update.raw_status, price=Money(amount=job.price),
                       courier=update.courier)
