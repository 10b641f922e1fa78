"""The delivery side of core's handover port (``core.requests.handover.DeliveryPort``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.models import DocumentRequest, User
from core.requests.handover import DeliveryDestination
from delivery import flow
from delivery.models import DeliveryState as D
from delivery.quotes import service as quotes
from delivery.repository import DeliveryRepository

# Before a courier is booked the resident may still switch to pickup on their own.
CHANGEABLE = frozenset({D.quoting, D.awaiting_choice})


class DeliveryService:
    def start(self, session: Session, request: DocumentRequest,
              destination: DeliveryDestination, *, actor: User) -> None:
        quotes.start(session, request, destination, actor=actor)

    def can_change(self, session: Session, request: DocumentRequest) -> bool:
        delivery = DeliveryRepository(session).open_for_request(request.id)
        return delivery is None or delivery.state in CHANGEABLE

    def cancel(self, session: Session, request: DocumentRequest, *, actor: User | None,
               reason: str) -> None:
        delivery = DeliveryRepository(session).open_for_request(request.id)
        if delivery is not None:
            # Core gives the pickup code itself right after this call.
            flow.cancel(session, delivery, actor=actor, reason=reason, give_pickup_code=False)
