"""The operator dashboard's request counts come from one count per state in SQL, scoped to the
operator's office (they used to be counted from at most 500 loaded rows)."""

from __future__ import annotations

import re

from core.requests import processing
from tests.core.request_helpers import submitted_request

SITI, DEWI = "+6281234560001", "+6281234560003"  # Mekarjaya, Abadijaya


def test_counts_by_state_for_the_operators_office_only(client, demo, session):
    for _ in range(3):
        submitted_request(client, demo.headers(SITI))
    submitted_request(client, demo.headers(DEWI))  # another office

    operator = session.merge(demo.user("operator.mekarjaya"))
    counts = processing.queue_counts(session, operator, processing.QUEUE_STATES)
    assert counts["submitted"] == 3
    assert set(counts) == {str(s) for s in processing.QUEUE_STATES}

    page = client.get("/operator/_ringkasan", headers=demo.headers("operator.mekarjaya"))
    assert page.status_code == 200
    assert re.search(r'id="count-submitted">3<', page.text)
