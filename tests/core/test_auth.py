"""Sign-in through the API: residents by one-time code, staff by password, sessions by bearer
token or by cookie + CSRF token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.db import unit_of_work, utcnow
from core.models import AttemptCounter, AuthSession, OtpChallenge, User
from core.settings import reset_settings_cache
from tests.fixtures import RESIDENT_A

NEW_PHONE = "+6281299990001"
REGISTRATION = {
    "office": "mekarjaya",
    "nik": "3276016101950007",
    "full_name": "Rudi Hartono",
    "phone": "0812-9999-0001",
    "address": "Jl. Dahlia No. 3",
    "rt": "1",
    "rw": "5",
}


def _challenges(phone: str) -> list[OtpChallenge]:
    with unit_of_work() as s:
        return list(s.scalars(select(OtpChallenge).where(OtpChallenge.phone == phone)
                              .order_by(OtpChallenge.id)))


def _sign_in(client: TestClient, read_otp, phone: str = RESIDENT_A) -> str:
    assert client.post("/api/v1/auth/otp", json={"phone": phone}).status_code == 202
    r = client.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": read_otp(phone)})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_register_then_sign_in_with_the_code_from_the_console_channel(client, demo, read_otp):
    r = client.post("/api/v1/auth/register", json=REGISTRATION)
    assert r.status_code == 201, r.text
    code = read_otp(NEW_PHONE)  # the registration itself sends the first code

    r = client.post("/api/v1/auth/otp/verify", json={"phone": "081299990001", "code": code})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["user"]["role"] == "resident"

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["phone"] == NEW_PHONE
    assert me.json()["office"]["slug"] == "mekarjaya"
    assert (me.json()["rt"], me.json()["rw"]) == ("001", "005")


def test_wrong_code_is_401_and_counts_an_attempt(client, demo, read_otp, settings):
    client.post("/api/v1/auth/otp", json={"phone": RESIDENT_A})
    good = read_otp(RESIDENT_A)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"

    r = client.post("/api/v1/auth/otp/verify", json={"phone": RESIDENT_A, "code": wrong})
    assert r.status_code == 401
    assert r.json()["error"]["details"]["attempts_left"] == settings.otp_max_attempts - 1
    assert _challenges(RESIDENT_A)[-1].attempts == 1

    # The right code still works after one mistake.
    r = client.post("/api/v1/auth/otp/verify", json={"phone": RESIDENT_A, "code": good})
    assert r.status_code == 200


def test_too_many_wrong_codes_lock_the_code(client, demo, read_otp, settings):
    client.post("/api/v1/auth/otp", json={"phone": RESIDENT_A})
    good = read_otp(RESIDENT_A)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    statuses = [
        client.post("/api/v1/auth/otp/verify", json={"phone": RESIDENT_A, "code": wrong})
        .status_code for _ in range(settings.otp_max_attempts)
    ]
    assert statuses == [401] * (settings.otp_max_attempts - 1) + [429]
    # Even the right code is refused now: a new one must be requested.
    r = client.post("/api/v1/auth/otp/verify", json={"phone": RESIDENT_A, "code": good})
    assert r.status_code == 429
    assert _challenges(RESIDENT_A)[-1].attempts == settings.otp_max_attempts


def test_codes_per_phone_are_rate_limited_with_retry_after(client, demo, settings):
    for _ in range(settings.otp_per_phone_per_window):
        assert client.post("/api/v1/auth/otp", json={"phone": RESIDENT_A}).status_code == 202
    r = client.post("/api/v1/auth/otp", json={"phone": "0812 3456 0001"})  # same phone
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) == settings.otp_window_seconds
    assert r.json()["error"]["code"] == "too_many_requests"
    # Another phone from the same address is not affected.
    assert client.post("/api/v1/auth/otp", json={"phone": "+6281234560002"}).status_code == 202


def test_codes_per_client_address_are_rate_limited(app, demo, tune):
    tune(otp_per_client_per_window=2)
    phones = ["+6281234560001", "+6281234560002", "+6281234560003"]
    with TestClient(app, client=("198.51.100.7", 5000)) as crowded:
        statuses = [crowded.post("/api/v1/auth/otp", json={"phone": p}).status_code
                    for p in phones]
        assert statuses == [202, 202, 429]
        assert "Retry-After" in crowded.post("/api/v1/auth/otp",
                                             json={"phone": phones[2]}).headers
    with TestClient(app, client=("198.51.100.8", 5000)) as other:
        assert other.post("/api/v1/auth/otp", json={"phone": phones[2]}).status_code == 202


def test_unknown_phone_gets_the_same_answer_and_no_message(client, demo, outbox):
    r = client.post("/api/v1/auth/otp", json={"phone": "+6281277770000"})
    assert r.status_code == 202
    assert outbox() == []  # nothing is sent to a number without an account


def test_expired_code_is_refused(client, demo, read_otp):
    client.post("/api/v1/auth/otp", json={"phone": RESIDENT_A})
    code = read_otp(RESIDENT_A)
    with unit_of_work() as s:  # time switch: the code's life ends now
        challenge = s.scalars(select(OtpChallenge).where(OtpChallenge.phone == RESIDENT_A)).one()
        challenge.expires_at = utcnow() - timedelta(seconds=1)
    r = client.post("/api/v1/auth/otp/verify", json={"phone": RESIDENT_A, "code": code})
    assert r.status_code == 401


def test_a_used_code_cannot_be_used_again(client, demo, read_otp):
    client.post("/api/v1/auth/otp", json={"phone": RESIDENT_A})
    code = read_otp(RESIDENT_A)
    first = client.post("/api/v1/auth/otp/verify", json={"phone": RESIDENT_A, "code": code})
    assert first.status_code == 200
    again = client.post("/api/v1/auth/otp/verify", json={"phone": RESIDENT_A, "code": code})
    assert again.status_code == 401


def test_staff_cannot_sign_in_with_a_code(client, demo, outbox):
    # The courier has a phone, but staff sign in with a password only.
    client.post("/api/v1/auth/otp", json={"phone": "+6281311110001"})
    assert outbox() == []


def test_staff_password_login(client, demo):
    r = client.post("/api/v1/auth/login",
                    json={"username": "Operator.Mekarjaya", "password": "demo-operator-123"})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "operator"

    wrong = client.post("/api/v1/auth/login",
                        json={"username": "operator.mekarjaya", "password": "nope-nope-nope"})
    unknown = client.post("/api/v1/auth/login",
                          json={"username": "nobody.here", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()  # no hint which part was wrong


def _login(client, username, password):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_password_guessing_is_limited_per_username_then_per_client(client, demo, monkeypatch):
    monkeypatch.setenv("SIPOKE_LOGIN_FAILURES_PER_USER", "3")
    monkeypatch.setenv("SIPOKE_LOGIN_FAILURES_PER_CLIENT", "5")
    reset_settings_cache()
    for _ in range(3):
        assert _login(client, "operator.mekarjaya", "guess-guess-1").status_code == 401
    # Past the limit even the right password is refused until the window passes.
    locked = _login(client, "operator.mekarjaya", "demo-operator-123")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    # Another account from the same address still works until the client limit...
    assert _login(client, "admin.mekarjaya", "demo-admin-123").status_code == 200
    for _ in range(2):
        assert _login(client, "nobody.here", "guess-guess-2").status_code == 401
    assert _login(client, "admin.mekarjaya", "demo-admin-123").status_code == 429
    # ...and once the window has passed, the right password works again.
    with unit_of_work() as s:  # time switch: every window ended an hour ago
        for counter in s.scalars(select(AttemptCounter)):
            counter.window_ends_at = utcnow() - timedelta(hours=1)
    assert _login(client, "operator.mekarjaya", "demo-operator-123").status_code == 200


def test_deactivated_staff_cannot_sign_in_and_loses_sessions(client, demo):
    headers = demo.headers("operator.mekarjaya")
    operator = demo.user("operator.mekarjaya")
    r = client.post(f"/api/v1/users/{operator.id}/deactivate",
                    headers=demo.headers("admin.mekarjaya"))
    assert r.status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    r = client.post("/api/v1/auth/login",
                    json={"username": "operator.mekarjaya", "password": "demo-operator-123"})
    assert r.status_code == 401


def test_deactivation_revokes_every_session_so_reactivation_brings_none_back(client, demo):
    operator = demo.user("operator.mekarjaya")
    tokens = [demo.headers("operator.mekarjaya") for _ in range(2)]
    admin = demo.headers("admin.mekarjaya")
    assert client.post(f"/api/v1/users/{operator.id}/deactivate", headers=admin).status_code \
        == 200
    assert client.post(f"/api/v1/users/{operator.id}/activate", headers=admin).status_code \
        == 200
    for headers in tokens:
        assert client.get("/api/v1/me", headers=headers).status_code == 401
    with unit_of_work() as s:
        sessions = list(s.scalars(select(AuthSession).where(AuthSession.user_id == operator.id)))
        assert sessions and all(a.revoked_at is not None for a in sessions)
    # A new sign-in works as usual.
    assert _login(client, "operator.mekarjaya", "demo-operator-123").status_code == 200


def test_logout_revokes_the_token(client, demo, read_otp):
    token = _sign_in(client, read_otp)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    with unit_of_work() as s:
        assert s.scalars(select(AuthSession.revoked_at)).one() is not None


def test_expired_session_is_refused(client, demo):
    headers = demo.headers(RESIDENT_A)
    with unit_of_work() as s:
        for auth in s.scalars(select(AuthSession)):
            auth.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_garbage_bearer_token_is_401(client, demo):
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-real-token"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


# --- bad input --------------------------------------------------------------------------


def _fields(response) -> dict[str, str]:
    return {f["field"]: f["message"] for f in response.json()["error"]["fields"]}


@pytest.mark.parametrize(("field", "value"), [
    ("nik", "12345"),
    ("nik", "3276019913950007"),  # month 13... day 99
    ("nik", "9976016101950007"),  # province 99
    ("phone", "12345"),
    ("phone", "+1 202 555 0100x"),
    ("rt", "12a4"),
])
def test_malformed_registration_is_422_naming_the_field(client, demo, field, value):
    r = client.post("/api/v1/auth/register", json=REGISTRATION | {field: value})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert field in _fields(r)


def test_several_bad_fields_are_all_reported(client, demo):
    r = client.post("/api/v1/auth/register",
                    json=REGISTRATION | {"nik": "1", "phone": "x", "full_name": ""})
    assert r.status_code == 422
    assert {"nik", "phone", "full_name"} <= set(_fields(r))


def test_malformed_json_is_400(client, demo):
    r = client.post("/api/v1/auth/register", content=b'{"office": "mekarjaya",',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_json"
    assert r.json()["error"]["fields"]


def test_unknown_office_or_rt_is_422(client, demo):
    r = client.post("/api/v1/auth/register", json=REGISTRATION | {"office": "tidak-ada"})
    assert r.status_code == 422 and "office" in _fields(r)
    r = client.post("/api/v1/auth/register", json=REGISTRATION | {"rt": "099"})
    assert r.status_code == 422 and "rt" in _fields(r)


def test_a_registered_phone_gets_the_same_answer_and_the_code_goes_to_that_phone(
        client, demo, read_otp):
    new = client.post("/api/v1/auth/register", json=REGISTRATION)
    known = client.post("/api/v1/auth/register",
                        json=REGISTRATION | {"phone": "081234560001",
                                             "nik": "3276016101950015",
                                             "full_name": "Orang Lain"})
    assert known.status_code == new.status_code == 201
    assert known.json() == new.json()
    # The phone's owner gets a sign-in code; the account stays as it was.
    assert read_otp(RESIDENT_A)
    siti = demo.user(RESIDENT_A)
    assert siti.full_name == "Siti Aminah"
    with unit_of_work() as s:
        assert s.scalar(select(User).where(User.full_name == "Orang Lain")) is None


def test_duplicate_nik_in_the_same_office_is_409(client, demo):
    assert client.post("/api/v1/auth/register", json=REGISTRATION).status_code == 201
    r = client.post("/api/v1/auth/register",
                    json=REGISTRATION | {"phone": "081299990002", "nik": "3276 0161 0195 0007"})
    assert r.status_code == 409
    assert r.json()["error"]["details"]["field"] == "nik"
    with unit_of_work() as s:
        assert s.scalar(select(User).where(User.phone == "+6281299990002")) is None


# --- cookie sessions --------------------------------------------------------------------


def _cookie_login(client: TestClient):
    return client.post("/api/v1/auth/login?cookie=true",
                       json={"username": "admin.mekarjaya", "password": "demo-admin-123"})


def test_cookie_login_sets_an_httponly_samesite_cookie_and_hides_the_token(client, demo):
    r = _cookie_login(client)
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("sipoke_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http base URL
    assert r.json()["access_token"] is None
    assert r.json()["csrf_token"]
    assert client.get("/api/v1/me").json()["username"] == "admin.mekarjaya"


def test_cookie_is_secure_when_the_site_is_https(client, demo, tune):
    tune(base_url="https://sipoke.example.go.id")
    assert "secure" in _cookie_login(client).headers["set-cookie"].lower()


def test_cookie_sessions_need_the_csrf_token_on_unsafe_methods(client, demo):
    csrf = _cookie_login(client).json()["csrf_token"]
    body = {"role": "operator", "full_name": "Operator Baru", "username": "operator.baru",
            "password": "kata-sandi-baru-1"}

    assert client.post("/api/v1/users", json=body).status_code == 403
    r = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    # Safe methods need no token.
    assert client.get("/api/v1/users").status_code == 200


def test_cookie_logout_needs_csrf_then_clears_the_cookie(client, demo):
    csrf = _cookie_login(client).json()["csrf_token"]
    assert client.post("/api/v1/auth/logout").status_code == 403
    r = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert 'sipoke_session=""' in r.headers["set-cookie"] or "max-age=0" in \
        r.headers["set-cookie"].lower()
    assert client.get("/api/v1/me").status_code == 401


def test_bearer_requests_need_no_csrf_token(client, demo):
    body = {"role": "courier", "full_name": "Kurir Baru", "username": "kurir.baru",
            "password": "kata-sandi-baru-1"}
    r = client.post("/api/v1/users", json=body, headers=demo.headers("admin.mekarjaya"))
    assert r.status_code == 201


def test_otp_verify_can_set_a_cookie_too(client, demo, read_otp):
    client.post("/api/v1/auth/otp", json={"phone": RESIDENT_A})
    r = client.post("/api/v1/auth/otp/verify?cookie=true",
                    json={"phone": RESIDENT_A, "code": read_otp(RESIDENT_A)})
    assert r.status_code == 200
    assert "httponly" in r.headers["set-cookie"].lower()
    assert client.get("/api/v1/me").json()["phone"] == RESIDENT_A
