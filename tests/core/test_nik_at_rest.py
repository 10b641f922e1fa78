"""The NIK is stored encrypted (never in clear) and only the deployment's key reads it back."""

from __future__ import annotations

from sqlalchemy import select

from core.db import unit_of_work
from core.models import User
from core.security import decrypt_nik, encrypt_nik

SITI_NIK = "3276015708900001"  # sipoke.seed


def test_round_trip_and_a_wrong_key_reads_nothing() -> None:
    token = encrypt_nik("deployment-secret", SITI_NIK)
    assert SITI_NIK not in token
    assert decrypt_nik("deployment-secret", token) == SITI_NIK
    assert decrypt_nik("another-deployment", token) is None
    assert decrypt_nik("deployment-secret", token[:-4] + "AAAA") is None


def test_a_registered_residents_nik_is_stored_encrypted(settings, demo) -> None:
    with unit_of_work() as s:
        siti = s.scalar(select(User).where(User.phone == "+6281234560001"))
        assert siti is not None
        stored = siti.nik_ciphertext
    assert stored and SITI_NIK not in stored
    assert decrypt_nik(settings.secret(), stored) == SITI_NIK
