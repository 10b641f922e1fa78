"""Helpers for page tests: sign in through the pages and read tokens out of HTML."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def staff_sign_in(client: TestClient, username: str, password: str) -> None:
    page = client.get("/masuk")
    r = client.post("/masuk/staf", data={"username": username, "password": password,
                                         "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "sipoke_session" in client.cookies


DEMO_PASSWORDS = {
    "platform": "demo-platform-123",
    "admin.mekarjaya": "demo-admin-123",
    "operator.mekarjaya": "demo-operator-123",
    "rw05.mekarjaya": "demo-rw-12345",
    "rw02.mekarjaya": "demo-rw-12345",
    "rw01.abadijaya": "demo-rw-12345",
    "kurir.mekarjaya": "demo-kurir-123",
    "admin.abadijaya": "demo-admin-123",
    "operator.abadijaya": "demo-operator-123",
}


def sign_in_as(client: TestClient, username: str) -> None:
    staff_sign_in(client, username, DEMO_PASSWORDS[username])


def resident_sign_in(client: TestClient, phone: str, read_otp) -> None:
    page = client.get("/masuk")
    r = client.post("/masuk/kode", data={"phone": phone, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200, r.text
    code = read_otp(phone)
    r = client.post("/masuk/verifikasi", data={"phone": phone, "code": code,
                                               "csrf_token": csrf_of(r.text)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
