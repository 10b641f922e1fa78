"""NIK shape, NIK secrecy (encrypted at rest, masked, never logged) and phone normalization."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

import sipoke.models
from core.identity import (
    PROVINCE_CODES,
    IdentityError,
    contains_nik,
    mask_name,
    mask_phone,
    normalize_phone,
    scrub_nik,
    validate_nik,
)
from core.logging import JsonFormatter
from tests.core.test_auth import NEW_PHONE, REGISTRATION

NIK = REGISTRATION["nik"]


@st.composite
def niks(draw: st.DrawFn, *, woman: bool | None = None) -> str:
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    regency = draw(st.integers(1, 99))
    district = draw(st.integers(1, 99))
    born = draw(st.dates(date(1900, 1, 1), date(2099, 12, 31)))
    is_woman = draw(st.booleans()) if woman is None else woman
    day = born.day + (40 if is_woman else 0)
    serial = draw(st.integers(1, 9999))
    return (f"{province:02d}{regency:02d}{district:02d}{day:02d}{born.month:02d}"
            f"{born.year % 100:02d}{serial:04d}")


@given(niks())
def test_every_well_formed_nik_is_accepted(nik: str) -> None:
    assert validate_nik(nik) == nik


@given(niks(woman=True))
def test_women_have_40_added_to_the_birth_day(nik: str) -> None:
    assert 41 <= int(nik[6:8]) <= 71
    assert validate_nik(nik) == nik


@given(niks(), st.sampled_from([" ", "-", "."]))
def test_separators_are_tolerated(nik: str, sep: str) -> None:
    spaced = sep.join([nik[:6], nik[6:12], nik[12:]])
    assert validate_nik(spaced) == nik


@given(niks(), st.integers(0, 99).filter(lambda p: p not in PROVINCE_CODES))
def test_unknown_provinces_are_refused(nik: str, province: int) -> None:
    with pytest.raises(IdentityError, match="provinsi"):
        validate_nik(f"{province:02d}{nik[2:]}")


@given(niks(), st.sampled_from(["00", "32", "40", "72", "99"]), st.integers(1, 12))
def test_impossible_birth_days_are_refused(nik: str, day: str, month: int) -> None:
    # 32..40 is past every month for men, 72+ past every month for women; 00 is never a day.
    with pytest.raises(IdentityError, match="Tanggal lahir"):
        validate_nik(f"{nik[:6]}{day}{month:02d}{nik[10:]}")


@given(niks(), st.sampled_from([0, 13, 20, 99]))
def test_impossible_months_are_refused(nik: str, month: int) -> None:
    with pytest.raises(IdentityError, match="Tanggal lahir"):
        validate_nik(f"{nik[:8]}{month:02d}{nik[10:]}")


@pytest.mark.parametrize("nik", [
    "3276013002900001",  # 30 February
    "3276017002900001",  # 30 February, a woman
    "3276012902010001",  # 29 February 1901 / 2001: neither is a leap year
])
def test_dates_that_do_not_exist_are_refused(nik: str) -> None:
    with pytest.raises(IdentityError, match="Tanggal lahir"):
        validate_nik(nik)


def test_29_february_of_a_leap_year_is_accepted() -> None:
    assert validate_nik("3276016902000001") == "3276016902000001"  # a woman born 29-02-2000


@pytest.mark.parametrize(("nik", "reason"), [
    ("327601610195000", "16 digit"),
    ("32760161019500071", "16 digit"),
    ("32760161019500O7", "16 digit"),
    ("", "16 digit"),
    ("3200016101950007", "kabupaten"),
    ("3276006101950007", "kabupaten"),
    ("3276016101950000", "urut"),
])
def test_malformed_niks_are_refused_with_a_reason(nik: str, reason: str) -> None:
    with pytest.raises(IdentityError, match=reason):
        validate_nik(nik)


def test_the_nik_is_encrypted_at_rest(client, demo, engine):
    assert client.post("/api/v1/auth/register", json=REGISTRATION).status_code == 201
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM users WHERE phone = :p"), {"p": NEW_PHONE}).one()
        everything = " ".join(str(v) for v in row)
        assert NIK not in everything
        assert NIK[:12] not in everything  # not even the region and birth-date part
        assert row._mapping["nik_last4"] == NIK[-4:]
        # And nowhere else in the database either (audit, notifications, outbox).
        for table in ("audit_events", "notifications", "outbox_messages"):
            rows = conn.execute(sipoke.models.metadata.tables[table].select())
            dump = " ".join(str(v) for r in rows for v in r)
            assert NIK not in dump, table


def test_the_nik_is_masked_in_responses(client, demo, read_otp):
    client.post("/api/v1/auth/register", json=REGISTRATION)
    r = client.post("/api/v1/auth/otp/verify", json={"phone": NEW_PHONE,
                                                     "code": read_otp(NEW_PHONE)})
    assert NIK not in r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = client.get("/api/v1/me", headers=headers)
    assert me.json()["nik_masked"] == "************0007"
    assert NIK not in me.text
    staff_view = client.get(f"/api/v1/users/{me.json()['id']}",
                            headers=demo.headers("admin.mekarjaya"))
    assert staff_view.status_code == 200 and NIK not in staff_view.text


def test_the_nik_never_reaches_the_logs(client, demo, outbox, caplog):
    caplog.set_level(logging.DEBUG)
    bad = REGISTRATION | {"nik": NIK[:12] + "0000"}  # refused: its error must not echo it
    client.post("/api/v1/auth/register", json=bad)
    assert client.post("/api/v1/auth/register", json=REGISTRATION).status_code == 201
    client.post("/api/v1/auth/register", json=REGISTRATION | {"phone": "081299990002"})  # 409
    outbox()
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("notification to" in line for line in lines)  # the logs were captured
    for line in lines:
        assert NIK not in line and NIK[:12] not in line


def test_a_refused_nik_is_not_echoed_in_the_error(client, demo):
    bad = NIK[:12] + "0000"
    r = client.post("/api/v1/auth/register", json=REGISTRATION | {"nik": bad})
    assert r.status_code == 422
    assert bad not in r.text


# --- phones ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "081234567890", "0812-3456-7890", "0812 3456 7890", "62812 3456 7890", "6281234567890",
    "+62 812-3456-7890", "+6281234567890", " (0812) 34567890 ",
])
def test_local_phone_forms_become_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+6281234567890"


@pytest.mark.parametrize("raw", ["", "12345", "phone", "0812", "+1 202 555 0100",
                                 "+44 20 7946 0958", "0812345678901234567"])
def test_invalid_or_foreign_phones_are_refused(raw: str) -> None:
    with pytest.raises(IdentityError):
        normalize_phone(raw)


@given(st.integers(10_000_000, 99_999_999))
def test_normalizing_is_idempotent(suffix: int) -> None:
    e164 = normalize_phone(f"0812{suffix}")
    assert normalize_phone(e164) == e164
    assert e164 == f"+62812{suffix}"


def test_masks() -> None:
    assert mask_phone("+6281234560001") == "+6281******001"
    assert mask_name("Siti  Aminah") == "S*** A*****"


# --- NIK-like numbers scrubbed from what couriers and providers read ------------------------

NIK_SEPARATORS = [" ", "  ", ".", "-", " - ", "/", "_", ",", ":", "|", "\\", "\t", "\n",
                  "\u00a0", "\u2013", "\u2014", "\u2212", "\u00b7", "\u200b", "\ufeff"]


@pytest.mark.parametrize("written", [
    "3276011203850002", "3276 0112 0385 0002", "3276.0112.0385.0002", "3276-0112-0385-0002",
    "3276 - 0112 - 0385 - 0002", "32.76.01.120385.0002", "3276/0112/0385/0002",
    "3276.0112-0385 0002", "3276_0112_0385_0002", "3276,0112,0385,0002",
    "\u00a0\u2013\u200b".join(["3276", "0112", "0385", "0002"]),  # no-break, en dash, invisible
    "".join(chr(0xFF10 + int(d)) for d in "3276011203850002"),  # full-width digits
    "3 2 7 6 0 1 1 2 0 3 8 5 0 0 0 2", "5, 3276 0112 0385 0002",
])
def test_every_written_form_of_a_nik_is_scrubbed(written: str) -> None:
    text = f"Rumah pagar hijau, NIK {written}, dekat masjid"
    assert contains_nik(text)
    assert scrub_nik(text) == "Rumah pagar hijau, NIK [dihapus], dekat masjid"


@pytest.mark.parametrize("text", [
    "Jl. Kenanga No. 5, RT 003/RW 005, Mekarjaya, Depok 16412",
    "Telp 0812-3456-7890 atau +62 812 3456 7891",
    "Datang 15-08-2024 pukul 10.30, Blok C2 No. 14",
    "Nomor 123456789012345",  # 15 digits
])
def test_numbers_a_courier_needs_are_kept(text: str) -> None:
    assert not contains_nik(text)
    assert scrub_nik(text) == text


@st.composite
def written_niks(draw: st.DrawFn) -> tuple[str, str]:
    """(NIK, the NIK as someone typed it: any common separators between any digits)."""
    nik = draw(niks())
    gaps = draw(st.lists(st.sampled_from(["", "", *NIK_SEPARATORS]), min_size=15, max_size=15))
    return nik, nik[0] + "".join(gap + digit for gap, digit in zip(gaps, nik[1:], strict=True))


SEPARATOR_CHARS = sorted(set("".join(NIK_SEPARATORS)))
_ANY_SEPARATOR = re.compile("[" + re.escape("".join(SEPARATOR_CHARS)) + "]")


@given(written_niks(), st.text(max_size=40), st.text(max_size=40))
def test_a_nik_however_separated_never_survives_scrubbing(written: tuple[str, str],
                                                          before: str, after: str) -> None:
    nik, typed = written
    scrubbed = scrub_nik(before + typed + after)
    assert "[dihapus]" in scrubbed and not contains_nik(scrubbed)
    assert nik not in _ANY_SEPARATOR.sub("", scrubbed)


@given(st.text(st.sampled_from(["0", "1", "7", "9", "a", "[", *SEPARATOR_CHARS]), max_size=120))
def test_scrubbed_text_holds_no_nik_like_number(text: str) -> None:
    scrubbed = scrub_nik(text)
    assert not contains_nik(scrubbed)
    assert scrub_nik(scrubbed) == scrubbed
