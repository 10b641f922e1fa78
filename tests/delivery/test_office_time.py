"""Times sent to people are in the office's own zone (an office setting), never UTC or the
server's zone: the quotes SMS says 'Pilih di aplikasi sebelum 05.41 WITA'."""

from __future__ import annotations

import re
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.db import unit_of_work
from core.models import Notification
from delivery.models import DeliveryQuote
from tests.delivery.conftest import SITI, ask_delivery, finished_request


def test_quotes_message_gives_the_deadline_in_office_time(client, demo, providers_env,
                                                          installed, outbox):
    admin = demo.headers("admin.mekarjaya")
    changed = client.patch("/api/v1/offices/mekarjaya", headers=admin,
                           json={"timezone": "Asia/Makassar"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["timezone"] == "Asia/Makassar"
    refused = client.patch("/api/v1/offices/mekarjaya", headers=admin,
                           json={"timezone": "UTC"})
    assert refused.status_code == 422 and "Zona waktu" in refused.text

    rid = finished_request()
    created = ask_delivery(client, demo, rid)
    outbox()
    view = client.get(f"/api/v1/deliveries/{created['id']}", headers=demo.headers(SITI)).json()
    assert view["state"] == "awaiting_choice", view
    with unit_of_work() as s:
        until = min(s.scalars(select(DeliveryQuote.expires_at).where(
            DeliveryQuote.delivery_id == uuid.UUID(created["id"]))))
        [text] = s.scalars(select(Notification.text).where(
            Notification.kind == "delivery_quotes_ready"))
    local = until.astimezone(ZoneInfo("Asia/Makassar"))
    assert f"sebelum {local:%H.%M} WITA" in text, text
    assert not re.search(r"\d{2}:\d{2}", text), text
