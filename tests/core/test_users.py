"""Staff accounts: created by an admin through the API or `sipoke create-user`, scoped to the
admin's office."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import unit_of_work
from core.models import User
from sipoke.cli import main as sipoke

STAFF = {"role": "operator", "full_name": "Operator Baru", "username": "operator.baru",
         "password": "kata-sandi-baru-1"}


def _create(client, demo, actor: str, **changes: object):
    return client.post("/api/v1/users", json=STAFF | changes, headers=demo.headers(actor))


def test_an_office_admin_creates_staff_in_their_own_office(client, demo) -> None:
    r = _create(client, demo, "admin.mekarjaya")
    assert r.status_code == 201, r.text
    assert r.json()["office"]["slug"] == "mekarjaya"
    login = client.post("/api/v1/auth/login",
                        json={"username": "operator.baru", "password": "kata-sandi-baru-1"})
    assert login.status_code == 200


def test_an_office_admin_cannot_reach_another_office_or_make_platform_admins(client,
                                                                             demo) -> None:
    assert _create(client, demo, "admin.mekarjaya", office="abadijaya").status_code == 404
    assert _create(client, demo, "admin.mekarjaya", role="platform_admin").status_code == 403
    assert _create(client, demo, "operator.mekarjaya").status_code == 403


def test_the_platform_admin_chooses_the_office(client, demo) -> None:
    assert _create(client, demo, "platform").status_code == 422  # which office?
    r = _create(client, demo, "platform", office="abadijaya", role="office_admin")
    assert r.status_code == 201 and r.json()["office"]["slug"] == "abadijaya"


@pytest.mark.parametrize(("changes", "field"), [
    ({"role": "rw_admin"}, "rw"),
    ({"role": "rw_admin", "rw": "099"}, "rw"),
    ({"password": "pendek-12"}, "password"),  # 9 < SIPOKE_PASSWORD_MIN_LENGTH
    ({"username": "Bad Name"}, "username"),
    ({"role": "resident"}, "role"),
])
def test_bad_staff_data_is_422(client, demo, changes: dict, field: str) -> None:
    r = _create(client, demo, "admin.mekarjaya", **changes)
    assert r.status_code == 422, r.text
    assert field in {f["field"] for f in r.json()["error"]["fields"]}


def test_duplicates_are_409(client, demo) -> None:
    assert _create(client, demo, "admin.mekarjaya", username="operator.mekarjaya") \
        .status_code == 409
    r = _create(client, demo, "admin.mekarjaya", phone="0813-1111-0001")  # the courier's
    assert r.status_code == 409 and r.json()["error"]["details"]["field"] == "phone"


def test_user_lists_are_scoped_to_the_office(client, demo) -> None:
    mine = client.get("/api/v1/users", headers=demo.headers("admin.mekarjaya")).json()
    assert mine and {u["office"]["slug"] for u in mine} == {"mekarjaya"}
    everyone = client.get("/api/v1/users?limit=200", headers=demo.headers("platform")).json()
    assert {"mekarjaya", "abadijaya"} <= {u["office"]["slug"] for u in everyone if u["office"]}


def test_nobody_deactivates_themselves(client, demo) -> None:
    admin = demo.user("admin.mekarjaya")
    r = client.post(f"/api/v1/users/{admin.id}/deactivate",
                    headers=demo.headers("admin.mekarjaya"))
    assert r.status_code == 409


def test_create_user_command(settings, demo, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPOKE_NEW_PASSWORD", "kurir-kedua-123")
    code = sipoke(["create-user", "--role", "courier", "--username", "kurir.dua",
                   "--full-name", "Kurir Dua", "--office", "mekarjaya",
                   "--phone", "081311110002"])
    assert code == 0
    assert "created courier kurir.dua" in capsys.readouterr().out
    with unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == "kurir.dua"))
        assert user is not None and user.phone == "+6281311110002"
        assert user.password_hash and "kurir-kedua-123" not in user.password_hash


def test_create_user_command_reports_errors_on_one_line(settings, demo,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    code = sipoke(["create-user", "--role", "operator", "--username", "x.y",
                   "--full-name", "Tanpa Kantor", "--password", "kata-sandi-123"])
    assert code == 2
    assert capsys.readouterr().err.strip().startswith("sipoke: ")


def test_seed_demo_is_idempotent(settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert sipoke(["seed-demo"]) == 0
    assert sipoke(["seed-demo"]) == 0
    out = capsys.readouterr().out
    assert "demo data created" in out and "demo data already present" in out
    with unit_of_work() as s:
        assert len(s.scalars(select(User.id).where(User.role == "resident")).all()) == 3
