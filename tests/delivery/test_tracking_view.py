"""What the resident sees while a delivery runs and after it ends (issue 15, item 6): the
arrival time and "get the originals ready" only on the way; the sandbox courier's photo is a
real image at a properly encoded URL; the office's own couriers are on the map and have a
tracking link like the providers' couriers."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote, urlsplit

import httpx

from core.db import unit_of_work
from delivery.models import Delivery, DeliveryState
from tests.delivery.conftest import SITI, attempts, order_snapshot, post_webhook, status_event
from tests.delivery.helpers import COURIER, booked, inhouse_at_the_door
from tests.web.helpers import resident_sign_in


def _set_state(delivery_id: str, state: DeliveryState) -> None:
    with unit_of_work() as s:
        delivery = s.get(Delivery, uuid.UUID(delivery_id))
        assert delivery is not None
        delivery.state = state


def test_eta_and_originals_only_while_the_courier_is_on_the_way(
        client, demo, providers_env, installed, outbox, read_otp):
    did, rid = booked(client, demo, outbox)
    attempt = next(a for a in attempts(did) if a.leg == "outbound")
    order = order_snapshot(providers_env, attempt.provider_order_id)
    # The courier the sandbox planned for this order (its snapshot shows them once assigned).
    planned = providers_env.app.state.simulator.orders[attempt.provider_order_id].courier
    assert planned and " " in planned["plate"]
    order["courier"] = planned
    for status in ("ASSIGNED", "PICKED_UP", "ON_DELIVERY"):
        assert post_webhook(client, status_event(order, status)).status_code == 200
        outbox()
    resident_sign_in(client, SITI, read_otp)

    on_the_way = client.get(f"/permohonan/{rid}/lacak")
    assert on_the_way.status_code == 200
    assert 'id="eta"' in on_the_way.text
    assert "Siapkan dokumen asli" in on_the_way.text

    # The sandbox courier's photo: a served image, its plate encoded in the URL.
    photo = re.search(r'class="courier-photo" src="([^"]+)"', on_the_way.text)
    assert photo is not None, "the courier's photo is shown"
    url = photo.group(1).replace("&amp;", "&")
    assert " " not in url and "%20" in url
    assert order["courier"]["plate"] in unquote(url)
    path = urlsplit(url).path  # the sandbox answers on a test port, not its public URL
    image = httpx.get(providers_env.url + path, timeout=5)
    assert image.status_code == 200, url
    assert image.headers["content-type"].startswith("image/svg+xml")

    for ended in (DeliveryState.returning_originals, DeliveryState.completed):
        _set_state(did, ended)
        page = client.get(f"/permohonan/{rid}/lacak")
        assert page.status_code == 200
        assert 'id="eta"' not in page.text, ended
        assert "Siapkan dokumen asli" not in page.text, ended
        assert "Perkiraan tiba" not in page.text, ended


def test_inhouse_courier_position_and_tracking_link_reach_the_resident(
        client, demo, providers_env, inhouse_on, installed, outbox, read_otp):
    did, rid, _job = inhouse_at_the_door(client, demo, outbox, originals=False)
    courier = demo.headers(COURIER)
    # The courier app reports a position on its own (not with a status).
    moved = client.put("/api/v1/courier/me/position", headers=courier,
                       json={"lat": -6.3991, "lng": 106.8517})
    assert moved.status_code == 200, moved.text

    view = client.get(f"/api/v1/deliveries/{did}", headers=demo.headers(SITI))
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["provider"] == "inhouse"
    assert body["tracking_url"] and body["tracking_url"].endswith(f"/permohonan/{rid}/lacak")
    assert body["courier_position"] == {"lat": -6.3991, "lng": 106.8517}

    resident_sign_in(client, SITI, read_otp)
    page = client.get(f"/permohonan/{rid}/lacak")
    assert page.status_code == 200
    assert 'class="pin-courier"' in page.text
    assert "-6.3991" in page.text  # in the map's data, for the street map
    # ...but never as text a resident reads.
    visible = re.sub(r"<[^>]+>", " ", page.text)
    assert "-6.3991" not in visible and "106.8517" not in visible
