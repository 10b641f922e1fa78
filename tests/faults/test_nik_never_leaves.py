"""F11 (with the route x role x office matrix in tests/authz, which ``make faults`` runs too):
the resident's NIK never reaches a provider, a log line or a task's arguments.

A whole delivery is walked with a resident whose NIK is also typed into the request form
(quotes, choice, booking, courier webhooks, the resident's and the operator's views); then
every request the sandbox received (path, headers, body), every log record of every logger,
and every outbox message's task name and arguments are searched for the NIK.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select

from core.db import unit_of_work
from core.models import DocumentRequest, OutboxMessage
from tests.delivery.conftest import SITI, attempts, post_webhook, status_event
from tests.delivery.helpers import booked

SITI_NIK = "3276015708900001"  # sipoke/seed.py


def _searchable(value: object) -> str:
    return repr(value)


def test_f11_nik_never_in_provider_payloads_logs_or_task_arguments(
        client, demo, recorded_sandbox, installed, outbox, caplog):
    caplog.set_level(logging.DEBUG)
    delivery_id, request_id = booked(client, demo, outbox)
    with unit_of_work() as s:  # the NIK typed into the form too, as a resident might
        request = s.get(DocumentRequest, uuid.UUID(str(request_id)))
        request.fields = {**(request.fields or {}), "nik": SITI_NIK,
                          "keterangan": f"NIK saya {SITI_NIK}"}
    [attempt] = attempts(delivery_id)
    order = recorded_sandbox.server.simulator.get(attempt.provider_order_id)
    for status in ("ASSIGNED", "PICKED_UP"):
        assert post_webhook(client, status_event(order, status)).status_code == 200
    outbox()
    # The resident and the operator look at it (views render the request and delivery).
    assert client.get(f"/api/v1/deliveries/{delivery_id}",
                      headers=demo.headers(SITI)).status_code == 200
    assert client.get(f"/api/v1/operator/deliveries/{delivery_id}",
                      headers=demo.headers("operator.mekarjaya")).status_code == 200

    seen = recorded_sandbox.seen.requests
    assert any(path == "/v1/orders" and method == "POST" for method, path, _, _ in seen)
    for method, path, headers, body in seen:
        text = f"{method} {path} {headers} {body.decode(errors='replace')}"
        assert SITI_NIK not in text, f"NIK sent to the provider: {method} {path}"
    order_bodies = [b for m, p, _, b in seen if m == "POST" and p == "/v1/orders"]
    assert b"Dokumen" in order_bodies[0] or b"dokumen" in order_bodies[0].lower()

    for record in caplog.records:
        line = f"{record.getMessage()} {record.__dict__}"
        assert SITI_NIK not in line, f"NIK in a log record of {record.name}"

    with unit_of_work() as s:
        messages = list(s.scalars(select(OutboxMessage)))
    assert messages, "the walk enqueued tasks"
    for message in messages:
        assert SITI_NIK not in _searchable((message.task_name, message.kwargs)), \
            f"NIK in the arguments of {message.task_name}"
