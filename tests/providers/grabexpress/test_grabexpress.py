"""GrabExpress: OAuth token caching and the one refresh on 401, webhooks, statuses, errors."""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from core.settings import reset_settings_cache
from providers.errors import (
    AuthenticationFailed,
    OrderNotFound,
    OutOfServiceArea,
    PermanentProviderError,
    WebhookRejected,
)
from providers.grabexpress import GrabExpressAdapter, mapping, webhooks
from providers.grabexpress.client import GrabExpressClient
from providers.grabexpress.settings import GrabExpressSettings
from providers.status import DeliveryStatus
from providers.types import TrackingUpdate
from sipoke.cli import main
from tests.providers.contract import FAR_AWAY
from tests.providers.grabexpress.fake import HOOK_AUTH, HOOK_AUTH_ID, FakeGrabExpress
from tests.providers.grabexpress.test_contract import GrabExpressHarness

S = DeliveryStatus


def quote_and_book(adapter: GrabExpressAdapter, fake: FakeGrabExpress):
    harness = GrabExpressHarness(fake)
    return adapter.book(harness.booking_request(adapter.quote(harness.quote_request())))


# --- OAuth -------------------------------------------------------------------------------------

def test_token_is_fetched_once_and_shared_by_adapters_and_threads(fake_grab) -> None:
    harness = GrabExpressHarness(fake_grab)
    with harness.adapter() as adapter:
        threads = [threading.Thread(target=adapter.quote, args=(harness.quote_request(),))
                   for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
    with harness.adapter() as other:
        other.quote(harness.quote_request())
    assert fake_grab.tokens_issued == 1
    token_call = next(r for r in fake_grab.received if r.url.path.endswith("/token"))
    assert json.loads(token_call.content) == {
        "client_id": "grab-client", "client_secret": "grab-secret",
        "grant_type": "client_credentials", "scope": "grab_express.partner_deliveries"}


def test_a_401_refreshes_the_token_exactly_once(fake_grab) -> None:
    with GrabExpressHarness(fake_grab).adapter() as adapter:
        booking = quote_and_book(adapter, fake_grab)
        fake_grab.revoke_tokens()  # rotated at Grab: our cached token now gets 401
        update = adapter.get_status(booking.provider_order_id)
    assert update.status is S.searching_courier
    assert fake_grab.tokens_issued == 2
    gets = [r for r in fake_grab.received if r.method == "GET"]
    assert len(gets) == 2 and gets[0].headers["Authorization"] != gets[1].headers["Authorization"]


def test_a_second_401_is_a_credentials_problem_not_a_loop(fake_grab) -> None:
    with GrabExpressHarness(fake_grab).adapter() as adapter:
        adapter.quote(GrabExpressHarness(fake_grab).quote_request())
        unauthorized = httpx.Response(401, json={"message": "unauthorized"})
        fake_grab.fail("quotes", unauthorized, times=2)
        with pytest.raises(AuthenticationFailed):
            adapter.quote(GrabExpressHarness(fake_grab).quote_request())
    assert fake_grab.tokens_issued == 2
    assert len([r for r in fake_grab.received if r.url.path.endswith("/quotes")]) == 3


def test_a_403_does_not_refresh(fake_grab) -> None:
    with GrabExpressHarness(fake_grab).adapter() as adapter:
        fake_grab.fail("quotes", httpx.Response(403, json={"message": "scope"}))
        with pytest.raises(AuthenticationFailed):
            adapter.quote(GrabExpressHarness(fake_grab).quote_request())
    assert fake_grab.tokens_issued == 1


def test_refused_client_credentials(fake_grab) -> None:
    with GrabExpressAdapter.from_config(fake_grab.config(client_secret="wrong")) as adapter, \
            pytest.raises(AuthenticationFailed, match=r"invalid_client|bad credentials"):
        adapter.quote(GrabExpressHarness(fake_grab).quote_request())


def test_token_is_refreshed_before_it_expires(fake_grab) -> None:
    now = [0.0]
    settings = GrabExpressSettings(**fake_grab.config(token_refresh_margin_s=300))
    client = GrabExpressClient(settings, clock=lambda: now[0])
    first = client.token()
    now[0] = 604799 - 301
    assert client.token() == first
    now[0] = 604799 - 299
    assert client.token() != first and fake_grab.tokens_issued == 2
    client.close()


def test_token_request_as_a_form_when_configured() -> None:
    settings = GrabExpressSettings(client_id="c", client_secret="s",
                                   token_request_format="form")
    with respx.mock() as router:
        route = router.post(settings.token_url).mock(return_value=httpx.Response(
            200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 60}))
        client = GrabExpressClient(settings)
        assert client.token() == "t"
        client.close()
    sent = route.calls.last.request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.content.decode())["grant_type"] == ["client_credentials"]


# --- requests and responses ------------------------------------------------------------------

def test_booking_body_follows_grab_rules(fake_grab) -> None:
    with GrabExpressHarness(fake_grab).adapter() as adapter:
        booking = quote_and_book(adapter, fake_grab)
    sent = json.loads(next(r for r in fake_grab.received
                           if r.method == "POST" and r.url.path.endswith("/deliveries")).content)
    assert sent["merchantOrderID"] == booking.reference
    assert sent["recipient"]["phone"] == "6281234560001"  # no "+"
    assert "cashOnDelivery" not in sent
    assert sent["packages"][0]["name"] == "Dokumen" and sent["vehicleType"] == "BIKE"
    assert booking.provider_order_id.startswith("IN-2-") and booking.price.amount == 16000


def test_out_of_area_is_refused_before_asking_grab(fake_grab) -> None:
    harness = GrabExpressHarness(fake_grab)
    with harness.adapter() as adapter, pytest.raises(OutOfServiceArea):
        adapter.quote(harness.quote_request(dropoff=FAR_AWAY))
    assert not fake_grab.received


@pytest.mark.parametrize(("raw", "status"), [
    ("ALLOCATING", S.searching_courier), ("PENDING_PICKUP", S.courier_assigned),
    ("PICKING_UP", S.at_pickup), ("PENDING_DROP_OFF", S.picked_up),
    ("IN_DELIVERY", S.in_transit), ("IN_RETURN", S.returning), ("RETURNED", S.returned),
    ("COMPLETED", S.delivered), ("CANCELED", S.cancelled), ("CANCELLED", S.cancelled),
    ("FAILED", S.failed), ("QUEUEING", S.booked),
])
def test_every_documented_status_maps(raw: str, status: DeliveryStatus) -> None:
    assert mapping.normalize_status(raw) is status


def test_amounts_with_a_currency_exponent() -> None:
    assert mapping.amount(16000, {"code": "IDR", "exponent": 0}).amount == 16000
    assert mapping.amount(1234567, {"code": "IDR", "exponent": 2}).amount == 12346
    assert mapping.amount(None, None) is None


def _response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("GET", "https://x"))


def test_error_envelopes() -> None:
    error = mapping.classify(_response(400, {"code": 4001, "message": "invalid",
                                             "reason": "phone"}))
    assert type(error) is PermanentProviderError and error.code == "4001"
    assert "phone" in error.message
    assert type(mapping.classify(_response(404, {"message": "nope"}))) is OrderNotFound
    assert type(mapping.classify(_response(401, {"error": "invalid_token"}))) \
        is AuthenticationFailed
    assert mapping.classify(_response(500, {})) is None


def test_cancel_by_reference_cleans_up_an_unknown_outcome(fake_grab) -> None:
    with GrabExpressHarness(fake_grab).adapter() as adapter:
        booking = quote_and_book(adapter, fake_grab)
        adapter.cancel_by_reference(booking.reference)
        assert adapter.get_status(booking.provider_order_id).status is S.cancelled


# --- webhooks --------------------------------------------------------------------------------

def check(body: bytes, authorization: str | None = HOOK_AUTH,
          authorization_id: str | None = HOOK_AUTH_ID) -> None:
    webhooks.verify(body, authorization=HOOK_AUTH, authorization_id=HOOK_AUTH_ID,
                    received_authorization=authorization,
                    received_authorization_id=authorization_id)


def parse(body: bytes) -> list[TrackingUpdate]:
    """A verified body as the webhook door parses it: through the adapter."""
    with GrabExpressAdapter.from_config({}) as adapter:
        return adapter.parse_webhook(body, {})


BODY = json.dumps({
    "deliveryID": "IN-2-0000000042", "merchantOrderID": "att-0123456789abcdef",
    "timestamp": 1764320000, "status": "PENDING_DROP_OFF",
    "trackURL": "https://express.grab.com/track/IN-2-0000000042", "failedReason": "",
    "driver": {"name": "Andi", "phone": "6281300000090", "licensePlate": "B 9876 ABC",
               "photoURL": "https://p/1.jpg", "currentLat": -6.39, "currentLng": 106.84},
    "pickupProofURL": "https://proof/pickup.jpg"}).encode()


def test_webhook_with_both_headers_parses() -> None:
    check(BODY)
    [update] = parse(BODY)
    assert update.provider_order_id == "IN-2-0000000042"
    assert update.reference == "att-0123456789abcdef"
    assert update.status is S.picked_up
    assert update.occurred_at.timestamp() == 1764320000  # Unix seconds
    assert update.tracking_url.endswith("IN-2-0000000042")
    assert update.courier.plate == "B 9876 ABC" and update.position.lat == -6.39
    assert update.proof_urls == ("https://proof/pickup.jpg",)


@pytest.mark.parametrize(("authorization", "authorization_id"), [
    (None, None), (HOOK_AUTH, None), (None, HOOK_AUTH_ID), ("wrong", HOOK_AUTH_ID),
    (HOOK_AUTH, "wrong"), (HOOK_AUTH_ID, HOOK_AUTH),
])
def test_forged_headers_are_refused(authorization, authorization_id) -> None:
    with pytest.raises(WebhookRejected):
        check(BODY, authorization, authorization_id)


def test_unconfigured_secrets_refuse_everything_but_the_probe(fake_grab) -> None:
    with GrabExpressAdapter.from_config(fake_grab.config(webhook_authorization="",
                                                         webhook_authorization_id="")) as a:
        with pytest.raises(WebhookRejected):
            a.verify_webhook(BODY, {"Authorization": "", "Authorization-Id": ""})
        a.verify_webhook(b"", {})
        assert a.parse_webhook(b"", {}) == []


def test_replays_share_an_event_id_and_new_states_do_not() -> None:
    first, again = parse(BODY)[0], parse(BODY)[0]
    assert first.provider_event_id == again.provider_event_id
    event = json.loads(BODY)
    event["status"] = "COMPLETED"
    assert parse(json.dumps(event).encode())[0].provider_event_id != \
        first.provider_event_id


def test_enabled_needs_credentials() -> None:
    with pytest.raises(ValueError, match="CLIENT_SECRET"):
        GrabExpressAdapter.from_config({"enabled": "true", "client_id": "x"})


def test_cli_quote_against_the_fake(fake_grab, monkeypatch, capsys) -> None:
    for key, value in fake_grab.config().items():
        monkeypatch.setenv(f"SIPOKE_PROVIDERS__GRABEXPRESS__{key.upper()}", str(value))
    reset_settings_cache()
    try:
        code = main(["providers", "quote", "grabexpress", "--pickup", "-6.3925,106.8420",
                     "--dropoff", "-6.3952,106.8461"])
    finally:
        reset_settings_cache()
    out = capsys.readouterr().out
    assert code == 0, out
    assert "provider     grabexpress" in out and "price        16000" in out
