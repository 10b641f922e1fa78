"""Contract harnesses for the built-in adapters (sandbox over HTTP, in-house over the DB)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from sqlalchemy import select

from core.db import unit_of_work, utcnow
from core.models import Role, User
from fleet import service as fleet
from fleet.models import InhouseOffer, OfferStatus
from fleet.statuses import JobStatus
from providers.base import ProviderAdapter
from providers.inhouse.adapter import InhouseAdapter
from providers.inhouse.config import InhouseSettings
from providers.sandbox.adapter import SandboxAdapter
from providers.sandbox.server import SandboxServer
from providers.status import DeliveryStatus
from providers.types import Booking, Money, Quote
from tests.providers.conftest import (
    FROZEN,
    SandboxAdmin,
    WebhookReceiver,
    sandbox_adapter_config,
)
from tests.providers.contract import ContractHarness

S = DeliveryStatus
COURIER_PATH = [S.at_pickup, S.picked_up, S.in_transit, S.at_dropoff, S.delivered]


class SandboxHarness(ContractHarness):
    def __init__(self, server: SandboxServer, admin: SandboxAdmin,
                 receiver: WebhookReceiver) -> None:
        self.server, self.admin, self.receiver = server, admin, receiver

    def adapter(self) -> ProviderAdapter:
        return SandboxAdapter.from_config(sandbox_adapter_config(self.server))

    def advance_to(self, booking: Booking, status: DeliveryStatus) -> None:
        """Let simulated time run fast until the order reaches ``status``, then freeze it."""
        with self.adapter() as adapter:
            self.admin.switches(time_scale=600)
            try:
                deadline = time.monotonic() + 15
                while adapter.get_status(booking.provider_order_id).status.rank < status.rank:
                    assert time.monotonic() < deadline, f"never reached {status}"
                    time.sleep(0.005)
            finally:
                self.admin.switches(time_scale=FROZEN)

    def expired_quote(self) -> Quote:
        self.admin.switches(quote_validity_s=0)
        try:
            with self.adapter() as adapter:
                return adapter.quote(self.quote_request())
        finally:
            self.admin.switches(quote_validity_s=300)

    def webhook(self, booking: Booking) -> tuple[bytes, dict[str, str]]:
        order_id = booking.provider_order_id
        self.receiver.wait_for(lambda bodies: any(b["order"]["order_id"] == order_id
                                                  for b in bodies))
        with self.receiver.lock:
            hit = next(r for r in self.receiver.received if order_id.encode() in r.body)
        return hit.body, hit.headers


class InhouseHarness(ContractHarness):
    """Couriers act through the service layer (the API has its own tests)."""

    def __init__(self, office_id: uuid.UUID) -> None:
        self.office_id = str(office_id)
        self.config = InhouseSettings()

    def adapter(self) -> ProviderAdapter:
        return InhouseAdapter(self.config)

    def _courier_for(self, session, job_id: uuid.UUID) -> User:
        offer = session.scalar(select(InhouseOffer).where(
            InhouseOffer.job_id == job_id, InhouseOffer.status == OfferStatus.pending))
        if offer is not None:
            fleet.accept_offer(session, self.config, session.get(User, offer.courier_id),
                               offer.id)
            return session.get(User, offer.courier_id)
        # Every courier is busy: one more comes on duty and takes it.
        courier = User(office_id=uuid.UUID(self.office_id), role=Role.courier,
                       full_name=f"Kurir {uuid.uuid4().hex[:4]}",
                       phone=f"+62813{uuid.uuid4().int % 10**8:08d}")
        session.add(courier)
        session.flush()
        fleet.set_duty(session, self.config, courier, on_duty=True)
        job = fleet.job_by_id(session, str(job_id))
        offer = fleet.dispatch(session, self.config, job)
        if offer is None:
            offer = session.scalar(select(InhouseOffer).where(
                InhouseOffer.job_id == job_id, InhouseOffer.courier_id == courier.id))
        assert offer is not None and offer.courier_id == courier.id
        fleet.accept_offer(session, self.config, courier, offer.id)
        return courier

    def advance_to(self, booking: Booking, status: DeliveryStatus) -> None:
        job_id = uuid.UUID(booking.provider_order_id)
        with unit_of_work() as session:
            job = fleet.job_by_id(session, str(job_id))
            if job.status == S.searching_courier:
                self._courier_for(session, job_id)
        for step in COURIER_PATH:
            with unit_of_work() as session:
                job = fleet.job_by_id(session, str(job_id))
                if S(job.status).rank >= status.rank:
                    return
                if S(job.status).rank >= step.rank:
                    continue
                courier = session.get(User, job.courier_id)
                fleet.report(session, courier, job_id, JobStatus(step))

    def expired_quote(self) -> Quote:
        return Quote(provider="inhouse", provider_quote_id="ihq-expired", price=Money(amount=0),
                     expires_at=utcnow() - timedelta(minutes=1))
