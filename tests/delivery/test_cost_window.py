"""The monthly cost report reads the deliveries booked in that month (Jakarta time) of the
operator's office, however many deliveries came after them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from core.db import unit_of_work
from delivery.models import DeliveryAttempt
from delivery.operators.service import booked_in_month
from tests.delivery.conftest import DEWI
from tests.delivery.helpers import booked


def _book_at(delivery_id: str, moment: datetime) -> None:
    with unit_of_work() as s:
        for attempt in s.scalars(select(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id == uuid.UUID(delivery_id))):
            attempt.booked_at = moment


def test_month_window_is_jakarta_time_and_office_scoped(client, demo, providers_env, installed,
                                                         outbox):
    october, _ = booked(client, demo, outbox)
    first_of_november_wib, _ = booked(client, demo, outbox)
    other_office, _ = booked(client, demo, outbox, phone=DEWI)
    _book_at(october, datetime(2026, 10, 15, 3, 0, tzinfo=UTC))
    # 18:00 UTC on 31 October is 01:00 on 1 November in Jakarta.
    _book_at(first_of_november_wib, datetime(2026, 10, 31, 18, 0, tzinfo=UTC))
    _book_at(other_office, datetime(2026, 11, 2, 3, 0, tzinfo=UTC))

    with unit_of_work() as s:
        operator = demo.user("operator.mekarjaya")
        assert [str(d.id) for d in booked_in_month(s, operator, 2026, 10)] == [october]
        assert [str(d.id) for d in booked_in_month(s, operator, 2026, 11)] == \
            [first_of_november_wib]
        assert booked_in_month(s, operator, 2026, 12) == []
        other = demo.user("operator.abadijaya")
        assert [str(d.id) for d in booked_in_month(s, other, 2026, 11)] == [other_office]


def test_cost_csv_counts_the_month_booked(client, demo, providers_env, installed, outbox):
    from tests.web.helpers import sign_in_as

    delivery_id, _ = booked(client, demo, outbox)
    _book_at(delivery_id, datetime(2026, 10, 15, 3, 0, tzinfo=UTC))
    sign_in_as(client, "operator.mekarjaya")
    october = client.get("/operator/biaya.csv?bulan=2026-10").text.splitlines()
    november = client.get("/operator/biaya.csv?bulan=2026-11").text.splitlines()
    assert october[-1].split(",")[2] == "1"  # TOTAL row: one delivery
    assert november[-1].split(",")[2] == "0"
