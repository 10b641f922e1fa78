"""Validation errors read in Bahasa Indonesia (issue 15, item 8): the API's error model
translates pydantic's errors by type, services that validate with a schema do the same, and a
date field of a service takes a date."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field, ValidationError

from core.errors import INVALID_VALUE, VALIDATION_MESSAGES, validation_message
from tests.core.request_helpers import BIRTH, SITI, api, ok

# Pydantic's own English, as it would have leaked into a message.
ENGLISH = re.compile(r"Field required|should|at least|at most| or ")


def _fields(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert body["code"] == "validation_error" and not ENGLISH.search(body["message"])
    return {f["field"]: f["message"] for f in body["fields"]}


def test_request_validation_errors_are_in_bahasa_indonesia(client, demo):
    fields = _fields(client.post(api("/auth/register"), json={
        "office": "mekarjaya", "full_name": "A", "rt": "1", "rw": "abc"}))
    assert fields["nik"] == fields["phone"] == fields["address"] == "Wajib diisi."
    assert fields["full_name"] == "Minimal 2 karakter."
    assert fields["rw"] == "Formatnya tidak sesuai."
    assert not [m for m in fields.values() if ENGLISH.search(m)], fields


def test_a_service_validating_with_a_schema_answers_in_bahasa_indonesia(client, demo):
    admin = demo.headers("admin.mekarjaya")
    fields = _fields(client.patch(api("/admin/delivery-policy"), headers=admin, json={
        "max_distance_m": 0, "choice_policy": "random"}))
    assert fields["max_distance_m"] == "Harus lebih dari 0."
    assert fields["choice_policy"].startswith("Pilih salah satu: 'resident'")
    assert not [m for m in fields.values() if ENGLISH.search(m)], fields


def test_a_date_field_takes_a_date(client, demo):
    service = ok(client.get(api(f"/offices/mekarjaya/services/{BIRTH}")))
    assert {f["name"]: f["type"] for f in service["fields"]} == {
        "nama_anak": "text", "tanggal_lahir": "date"}
    headers = demo.headers(SITI)
    for typed in ("kemarin", "2026-02-30", "01-11-2026"):
        fields = _fields(client.post(api("/requests"), headers=headers, json={
            "service": BIRTH, "fields": {"nama_anak": "Putri", "tanggal_lahir": typed}}))
        assert fields == {"fields.tanggal_lahir": "Isi tanggal yang valid (TTTT-BB-HH)."}
    made = ok(client.post(api("/requests"), headers=headers, json={
        "service": BIRTH, "fields": {"nama_anak": "Putri", "tanggal_lahir": "2026-11-01"}}),
              201)
    assert made["fields"]["tanggal_lahir"] == "2026-11-01"


class _Sample(BaseModel):
    name: str = Field(min_length=3, max_length=5)
    count: int = Field(gt=0, le=10)
    share: float = Field(ge=0)
    when: str = Field(pattern=r"^\d+$")
    items: list[int] = Field(min_length=1)


@pytest.mark.parametrize("data", [
    {},
    {"name": "ab", "count": 0, "share": -1, "when": "x", "items": []},
    {"name": "abcdef", "count": 11, "share": "lots", "when": 5, "items": "no"},
    {"name": 5, "count": "many", "share": None, "when": None, "items": [None]},
])
def test_every_error_type_has_an_indonesian_message(data):
    with pytest.raises(ValidationError) as caught:
        _Sample.model_validate(data)
    for err in caught.value.errors():
        message = validation_message(err)
        assert err["type"] in VALIDATION_MESSAGES, err
        assert message != INVALID_VALUE and not ENGLISH.search(message), (err, message)
