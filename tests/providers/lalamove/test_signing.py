"""Lalamove request signing: the worked vectors (docs/providers.md §1.1), the exact bytes sent."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from providers.lalamove import LalamoveAdapter, mapping
from providers.lalamove.client import LalamoveClient
from providers.lalamove.settings import LalamoveSettings
from providers.types import Coordinates, Place, QuoteRequest
from tests.providers.lalamove.fake import FakeLalamove

TS = 1545880607433
VECTOR_BODY = (
    b'{"data":{"serviceType":"MOTORCYCLE","language":"id_ID","stops":[{"coordinates":'
    b'{"lat":"-6.2088","lng":"106.8456"},"address":"Kantor Kelurahan, Jakarta"},'
    b'{"coordinates":{"lat":"-6.2146","lng":"106.8451"},"address":"Rumah Warga, Jakarta"}]}}'
)
POST_SIG = "f8c10a215263d1688dad4727ae4cbc9c449c9615e5990ddde8e971bf36e6ae85"
GET_SIG = "f0a49991a46acc0e042fb5227d0b6c31bd64107b014986de0f3840066078e597"
VECTOR_REQUEST = QuoteRequest(
    pickup=Place(coordinates=Coordinates(lat=-6.2088, lng=106.8456),
                 address="Kantor Kelurahan, Jakarta"),
    dropoff=Place(coordinates=Coordinates(lat=-6.2146, lng=106.8451),
                  address="Rumah Warga, Jakarta"))


def vector_settings(**extra) -> LalamoveSettings:
    return LalamoveSettings(api_key="pk_test_Lalamove", api_secret="sk_test_Lalamove",
                            base_url="https://rest.sandbox.lalamove.com", **extra)


def test_post_vector() -> None:
    assert mapping.signature("sk_test_Lalamove", TS, "POST", "/v3/quotations",
                             VECTOR_BODY) == POST_SIG
    assert mapping.authorization("pk_test_Lalamove", TS, POST_SIG) == (
        "hmac pk_test_Lalamove:1545880607433:"
        "f8c10a215263d1688dad4727ae4cbc9c449c9615e5990ddde8e971bf36e6ae85")


def test_get_vector_is_signed_with_an_empty_body() -> None:
    assert mapping.signature("sk_test_Lalamove", TS, "GET",
                             "/v3/orders/3316227378875113604") == GET_SIG
    assert mapping.signature("sk_test_Lalamove", TS, "get",
                             "/v3/orders/3316227378875113604", b"") == GET_SIG


def test_quote_payload_serializes_to_the_vector_bytes() -> None:
    payload = mapping.quote_payload(VECTOR_REQUEST, service_type="MOTORCYCLE", language="id_ID")
    assert mapping.envelope(payload) == VECTOR_BODY


@respx.mock(assert_all_called=True)
def test_the_client_sends_exactly_the_bytes_it_signed(respx_mock: respx.Router) -> None:
    route = respx_mock.post("https://rest.sandbox.lalamove.com/v3/quotations").mock(
        return_value=httpx.Response(201, json={"data": {
            "quotationId": "1514140994227007571", "expiresAt": "2030-01-01T00:05:00.00Z",
            "priceBreakdown": {"total": "12500", "currency": "IDR"}, "stops": []}}))
    client = LalamoveClient(vector_settings(), clock_ms=lambda: TS)
    client.create_quotation(mapping.quote_payload(VECTOR_REQUEST, service_type="MOTORCYCLE",
                                                  language="id_ID"))
    sent = route.calls.last.request
    assert sent.content == VECTOR_BODY
    assert sent.headers["Authorization"] == f"hmac pk_test_Lalamove:{TS}:{POST_SIG}"
    assert sent.headers["Market"] == "ID"
    assert sent.headers["Content-Type"].startswith("application/json")
    assert len(sent.headers["Request-ID"]) == 36


@respx.mock(assert_all_called=True)
def test_get_requests_carry_no_body_and_the_get_vector(respx_mock: respx.Router) -> None:
    route = respx_mock.get(
        "https://rest.sandbox.lalamove.com/v3/orders/3316227378875113604").mock(
        return_value=httpx.Response(200, json={"data": {"orderId": "3316227378875113604",
                                                        "status": "ON_GOING"}}))
    client = LalamoveClient(vector_settings(send_request_id=False), clock_ms=lambda: TS)
    order = client.get_order("3316227378875113604")
    sent = route.calls.last.request
    assert sent.content == b""
    assert sent.headers["Authorization"] == f"hmac pk_test_Lalamove:{TS}:{GET_SIG}"
    assert "Request-ID" not in sent.headers
    assert order["orderId"] == "3316227378875113604"  # 19 digits kept as a string


def test_the_fake_refuses_a_request_whose_body_changed_after_signing(
        fake_lalamove: FakeLalamove) -> None:
    settings = LalamoveSettings(**fake_lalamove.config())
    client = LalamoveClient(settings)
    body = mapping.envelope({"serviceType": "MOTORCYCLE", "stops": []})
    headers = client.signed_headers("POST", "/v3/quotations", body)
    reserialized = json.dumps(json.loads(body)).encode()  # spaces: other bytes
    response = httpx.post(f"{fake_lalamove.base_url}/v3/quotations", content=reserialized,
                          headers=headers)
    assert response.status_code == 401


def test_keys_pick_the_environment_and_enabled_needs_credentials() -> None:
    assert LalamoveSettings(api_key="pk_test_x").url == "https://rest.sandbox.lalamove.com"
    assert LalamoveSettings(api_key="pk_prod_x").url == "https://rest.lalamove.com"
    assert LalamoveSettings(base_url="http://127.0.0.1:9/").url == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="API_SECRET"):
        LalamoveSettings(enabled=True, api_key="pk_test_x")
    adapter = LalamoveAdapter.from_config({"enabled": "true", "api_key": "pk_test_x",
                                           "api_secret": "sk_test_x", "market": "ID"})
    assert adapter.settings.enabled and adapter.settings.market == "ID"
    adapter.close()
