"""The operator's delivery pages ask the database a fixed number of questions, however many
deliveries the office has: the dashboard's exceptions read only the flagged deliveries and
their references in one query, the provider page reads the events of all its deliveries in
one query."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from core.db import unit_of_work
from core.models import DocumentRequest
from delivery.models import AttemptStatus, Delivery, DeliveryAttempt, Leg, TrackingEvent
from delivery.models import DeliveryState as D
from tests.delivery.conftest import DEWI, SITI
from tests.delivery.helpers import OPERATOR
from tests.delivery.test_operator_dashboard import NOW, _delivery, _statements
from tests.web.helpers import sign_in_as


def _queries(engine, client, url: str, table: str) -> tuple[str, int]:
    with _statements(engine) as seen:
        page = client.get(url)
    assert page.status_code == 200
    return page.text, len([q for q in seen if f"FROM {table}" in q])


def _references(html: str) -> list[str]:
    return re.findall(r"</span></td><td>([^<]+)</td>", html)


def test_dashboard_exceptions_are_the_flagged_deliveries_in_fixed_queries(client, engine, demo):
    older = _delivery(SITI, D.in_transit, changed_days_ago=1, alert="stuck",
                      alert_minutes_ago=60)
    newer = _delivery(SITI, D.returning, changed_days_ago=2, alert="failed",
                      alert_minutes_ago=5)
    _delivery(SITI, D.in_transit, changed_days_ago=3)
    _delivery(DEWI, D.in_transit, changed_days_ago=1, alert="stuck", alert_minutes_ago=1)
    sign_in_as(client, OPERATOR)
    html, request_queries = _queries(engine, client, "/operator/_ringkasan",
                                     "document_requests")
    assert 'id="exception-count">2<' in html
    with unit_of_work() as s:
        refs = [_reference(s, i) for i in (newer, older)]
    assert _references(html) == refs

    for minutes in (7, 8, 9):
        _delivery(SITI, D.in_transit, changed_days_ago=1, alert="stuck",
                  alert_minutes_ago=minutes)
    html, more_request_queries = _queries(engine, client, "/operator/_ringkasan",
                                          "document_requests")
    assert 'id="exception-count">5<' in html
    assert more_request_queries == request_queries


def _reference(session, delivery_id: uuid.UUID) -> str:
    delivery = session.get(Delivery, delivery_id)
    return session.get(DocumentRequest, delivery.request_id).reference


def _booked(phone: str, *, assigned_after_s: int | None, provider: str = "sandbox") -> None:
    delivery_id = _delivery(phone, D.completed, changed_days_ago=1)
    booked_at = NOW - timedelta(hours=2)
    with unit_of_work() as s:
        delivery = s.get(Delivery, delivery_id)
        attempt = DeliveryAttempt(
            delivery_id=delivery_id, office_id=delivery.office_id, leg=Leg.outbound,
            provider=provider, reference=f"spk-{uuid.uuid4().hex[:12]}",
            status=AttemptStatus.done, booked_at=booked_at)
        s.add(attempt)
        s.flush()
        if assigned_after_s is None:
            return
        for status, after in (("searching_courier", assigned_after_s // 2),  # no courier yet
                              ("courier_assigned", assigned_after_s)):
            s.add(TrackingEvent(provider=provider, provider_event_id=uuid.uuid4().hex,
                                status=status, occurred_at=booked_at + timedelta(seconds=after),
                                received_at=NOW, attempt_id=attempt.id,
                                delivery_id=delivery_id, office_id=delivery.office_id))


def test_provider_page_reads_all_events_in_one_query(client, engine, demo):
    _booked(SITI, assigned_after_s=60)
    _booked(SITI, assigned_after_s=180)
    _booked(SITI, assigned_after_s=None)
    _booked(DEWI, assigned_after_s=6000)  # another office: not in Mekarjaya's figures
    sign_in_as(client, OPERATOR)
    html, event_queries = _queries(engine, client, "/operator/mitra", "tracking_events")
    row = html[html.index("Sandbox Kurir"):]
    row = row[:row.index("</tr>")]
    assert "100%" in row and ">2.0 " in row, row  # the median of 1 and 3 minutes
    assert event_queries == 1
