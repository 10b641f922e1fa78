"""PATCH and PUT bodies: a field may be left out, but null only where the column may be empty;
an office's address, hours, RTs/RWs and coordinates are refused when they are not real values.
Every refusal is a 422 naming the field, never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from core.catalog.schemas import ServiceUpdate
from core.models import Office, Service
from core.offices.schemas import OfficeUpdate
from tests.core.request_helpers import SITI, api, ok

ADMIN = "admin.mekarjaya"
COURIER = "kurir.mekarjaya"

# Every PATCH/PUT with a JSON body, who may call it and a path to call it on. A new one must
# be added here, which asks whether its fields may be null.
WRITES: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("patch", "/api/v1/catalog/services/{code}"): (ADMIN, {"code": "sku"}),
    ("patch", "/api/v1/offices/{slug}"): (ADMIN, {"slug": "mekarjaya"}),
    ("patch", "/api/v1/requests/{request_id}"): (SITI, {"request_id": str(uuid.uuid4())}),
    ("put", "/api/v1/courier/me/duty"): (COURIER, {}),
    ("put", "/api/v1/courier/me/position"): (COURIER, {}),
    # A free-form map of overrides where null puts a setting back to its default.
    ("patch", "/api/v1/admin/delivery-policy"): (ADMIN, {}),
}
# The bodies that edit a table row: null is allowed exactly where the column is nullable.
ROW_PATCHES = {"ServiceUpdate": Service, "OfficeUpdate": Office}


def _body_schema(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    ref = schema.get("$ref", "")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def _nullable(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "null" or any(o.get("type") == "null"
                                             for o in prop.get("anyOf", []))


def _writes(app) -> list[tuple[str, str, dict[str, Any]]]:
    spec = app.openapi()
    return [(method, path, _body_schema(spec, op)) for path, ops in spec["paths"].items()
            for method, op in ops.items()
            if method in ("patch", "put") and "requestBody" in op]


def test_every_patch_and_put_body_is_known(app):
    assert {(m, p) for m, p, _ in _writes(app)} == set(WRITES)


def test_row_patches_accept_null_exactly_where_the_column_is_nullable(app):
    seen = set()
    for _, _, schema in _writes(app):
        model = ROW_PATCHES.get(schema.get("title", ""))
        if model is None:
            continue
        seen.add(schema["title"])
        assert not schema.get("required"), "every field of a patch may be left out"
        for name, prop in schema["properties"].items():
            assert _nullable(prop) == model.__table__.c[name].nullable, (schema["title"], name)
    assert seen == set(ROW_PATCHES)


def test_null_for_a_field_that_may_not_be_empty_is_a_422_naming_it(app, client, demo):
    for method, path, schema in _writes(app):
        who, params = WRITES[(method, path)]
        headers = demo.headers(who)
        for name, prop in schema.get("properties", {}).items():
            r = client.request(method.upper(), path.format(**params), headers=headers,
                               json={name: None})
            assert r.status_code < 500, (path, name, r.text)
            if _nullable(prop):
                continue
            assert r.status_code == 422, (path, name, r.text)
            error = r.json()["error"]
            assert error["code"] == "validation_error"
            assert name in [f["field"] for f in error["fields"]], (path, name, error)


@pytest.mark.parametrize("field", ["online", "enabled", "fee", "fields", "name",
                                   "requirements", "counter_note"])
def test_service_patch_refuses_null_and_changes_nothing(client, demo, field):
    admin = demo.headers(ADMIN)
    before = ok(client.get(api("/offices/mekarjaya/services/sku")))
    r = client.patch(api("/catalog/services/sku"), headers=admin,
                     json={field: None, "processing_days": 4})
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == [field]
    assert ok(client.get(api("/offices/mekarjaya/services/sku"))) == before


def test_service_patch_changes_only_what_was_sent(client, demo):
    admin = demo.headers(ADMIN)
    before = ok(client.get(api("/offices/mekarjaya/services/sku")))
    after = ok(client.patch(api("/catalog/services/sku"), headers=admin,
                            json={"online": False, "fee": 2500}))
    assert (after["online"], after["fee"]) == (False, 2500)
    assert {k: v for k, v in after.items() if k not in ("online", "fee")} == \
        {k: v for k, v in before.items() if k not in ("online", "fee")}


@pytest.mark.parametrize(("body", "field"), [
    ({"hours": None}, "hours"),
    ({"rt_rw": None}, "rt_rw"),
    ({"name": None}, "name"),
    ({"address": None}, "address"),
    ({"address": ""}, "address"),
    ({"address": "    "}, "address"),
    ({"lat": False}, "lat"),
    ({"lng": True}, "lng"),
    ({"lat": None}, "lat"),
    ({"lat": 48.85}, "lat"),
    ({"lng": 2.35}, "lng"),
    ({"lat": "-6.3"}, None),  # a numeric string (what the web form sends) is fine
])
def test_office_patch_refuses_what_is_not_a_real_value(client, demo, body, field):
    admin = demo.headers(ADMIN)
    before = ok(client.get(api("/offices/mekarjaya")))
    r = client.patch(api("/offices/mekarjaya"), headers=admin, json=body)
    if field is None:
        assert r.status_code == 200, r.text
        return
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == [field]
    assert ok(client.get(api("/offices/mekarjaya"))) == before


def test_office_patch_trims_the_address_and_may_clear_contacts(client, demo):
    admin = demo.headers(ADMIN)
    office = ok(client.patch(api("/offices/mekarjaya"), headers=admin, json={
        "address": "  Jl. Tole Iskandar No. 2  ", "whatsapp": None, "lat": -6.39}))
    assert office["address"] == "Jl. Tole Iskandar No. 2"
    assert office["whatsapp"] is None and office["lat"] == -6.39
    assert office["hours"] and office["rt_rw"]  # left out: unchanged


def test_courier_position_refuses_booleans(client, demo):
    courier = demo.headers(COURIER)
    r = client.put(api("/courier/me/position"), headers=courier,
                   json={"lat": False, "lng": 106.84})
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["lat"]
    r = client.put(api("/courier/me/duty"), headers=courier,
                   json={"on_duty": True, "lat": -6.39, "lng": True})
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["lng"]


def test_patch_models_leave_out_what_was_not_sent():
    assert ServiceUpdate.model_validate({}).changes() == {}
    assert ServiceUpdate.model_validate({"fee": 0}).changes() == {"fee": 0}
    assert OfficeUpdate.model_validate({"email": None}).changes() == {"email": None}
    with pytest.raises(ValidationError):
        ServiceUpdate.model_validate({"legal_basis": None})
    with pytest.raises(ValidationError):  # the field model's own rules still apply
        ServiceUpdate.model_validate({"fields": [{"name": "ab", "label": "A"},
                                                 {"name": "ab", "label": "B"}]})
