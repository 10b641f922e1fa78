"""F11 (with the route x role x office matrix in tests/authz, which ``make faults`` runs too):
the resident's NIK never reaches a provider, a log line or a task's arguments.

A whole delivery is walked with a resident whose NIK is also typed into the request form
(quotes, choice, booking, courier webhooks, the resident's and the operator's views); then
every request the sandbox received (path, headers, body), every log record of every logger,
and every outbox message's task name and arguments are searched for the NIK.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

import pytest
from sqlalchemy import select

from core.db import unit_of_work
from core.models import DocumentRequest, OutboxMessage
from tests.delivery.conftest import (  # noqa: F401 - inhouse_on is a fixture
    SITI,
    ask_delivery,
    attempts,
    finished_request,
    inhouse_on,
    load,
    post_webhook,
    status_event,
)
from tests.delivery.helpers import booked, choose_the_quote, envelope
from tests.providers.real_fakes import FAKES, only_real_provider

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


# --- a NIK typed with separators into the address or the note --------------------------------

SEPARATED = {"3276011203850002": "3276 0112 0385 0002",
             "3175094501900003": "3175.0945.0190.0003",
             "3201021212800004": "3201-0212-1280-0004",
             "3276015708900001": "32.76.01 570890-0001"}
_written = iter(SEPARATED.values())
ADDRESS = f"Jl. Kenanga No. 5, RT 003/RW 005 (NIK {next(_written)}; KK {next(_written)})"
NOTE = f"Pagar hijau. NIK suami {next(_written)}, istri {next(_written)}"


def _assert_scrubbed(where: str, text: str) -> None:
    """None of the NIKs above is in ``text``, whatever separates (or escapes) its digits."""
    digits = re.sub(r"\D", "", text)
    leaked = [nik for nik in SEPARATED if nik in digits]
    assert not leaked, f"NIK reached {where}: {text}"


def test_f11_separated_niks_in_address_and_note_never_reach_the_sandbox(
        client, demo, recorded_sandbox, installed, outbox):
    delivery_id, _ = booked(client, demo, outbox, address=ADDRESS, note=NOTE)
    [attempt] = attempts(delivery_id)
    assert attempt.provider_order_id  # the sandbox (which refuses NIKs) took the order

    seen = recorded_sandbox.seen.requests
    sent = [(m, p, body.decode()) for m, p, _, body in seen if m == "POST"]
    assert {p for _, p, _ in sent} >= {"/v1/quotes", "/v1/orders"}
    for method, path, body in sent:
        _assert_scrubbed(f"the sandbox ({method} {path})", body)
    order = json.loads(next(body for _, p, body in sent if p == "/v1/orders"))
    assert order["dropoff"]["address"].startswith("Jl. Kenanga No. 5, RT 003/RW 005 (NIK [dihapus]")
    assert order["dropoff"]["note"].startswith("Pagar hijau. NIK suami [dihapus], istri [dihapus]")
    assert order["item"]["description"] == "Dokumen"

    # Whoever carries the envelope reads the address from its QR page.
    token = envelope(client, demo, delivery_id)
    view = client.get(f"/api/v1/handover/{token}")
    assert view.status_code == 200
    _assert_scrubbed("the envelope page", view.text)
    assert "[dihapus]" in view.json()["address"]


@pytest.mark.parametrize("name", sorted(FAKES))
def test_f11_separated_niks_never_reach_a_real_provider(name, client, demo, installed, outbox,
                                                        monkeypatch):
    with only_real_provider(name, monkeypatch) as (router, _fake):
        did, _quote = choose_the_quote(client, demo, outbox, address=ADDRESS, note=NOTE)
        outbox()
        assert load(did).state == "searching_courier"

        sent = [call.request for call in router.calls if call.request.url.host != "testserver"]
    assert len(sent) >= 2  # at least the quote and the order
    for request in sent:
        _assert_scrubbed(f"{name} ({request.method} {request.url.path})",
                         f"{request.url} {request.content.decode()}")
    assert any(b"[dihapus]" in request.content for request in sent)


@pytest.mark.usefixtures("inhouse_on")
def test_f11_separated_niks_never_reach_the_inhouse_courier(client, demo, installed, outbox):
    created = ask_delivery(client, demo, finished_request(SITI), address=ADDRESS, note=NOTE)
    outbox()
    siti = demo.headers(SITI)
    quotes = client.get(f"/api/v1/deliveries/{created['id']}", headers=siti).json()["quotes"]
    own = next(q for q in quotes if q["provider"] == "inhouse")
    assert client.post(f"/api/v1/deliveries/{created['id']}/choose", headers=siti,
                       json={"quote_id": own["id"]}).status_code == 200
    outbox()

    courier = demo.headers("kurir.mekarjaya")
    offers = client.get("/api/v1/courier/offers", headers=courier)
    _assert_scrubbed("the courier's offers", offers.text)
    [offer] = offers.json()
    assert "[dihapus]" in offer["dropoff_address"]
    job = client.post(f"/api/v1/courier/offers/{offer['id']}/accept", headers=courier)
    assert job.status_code == 200, job.text
    _assert_scrubbed("the courier's job", job.text)
    assert job.json()["dropoff"]["address"].startswith("Jl. Kenanga No. 5")
    assert "[dihapus]" in job.json()["dropoff"]["note"]
    for path in ("/api/v1/courier/jobs", f"/api/v1/courier/jobs/{job.json()['id']}"):
        _assert_scrubbed(path, client.get(path, headers=courier).text)
