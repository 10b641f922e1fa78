"""Indonesian identity data: NIK shape checks and phone normalization to E.164."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator

# Province codes (two first digits of a NIK / kode wilayah), including the Papua provinces
# created in 2022.
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63,
     64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96}
)
_NIK_RE = re.compile(r"^\d{16}$")

# A NIK as people write it in an address or a note: 16 digits, whole or in groups split by
# spaces, dots, dashes, slashes... ("3276 0112 0385 0002", "32.76.01.120385.0002", mixed,
# invisible characters in between). Any run of 16 or more digits so written counts: a courier
# or a provider never needs such a number (a KK number or a bank account goes too), and a
# longer run may hide a NIK next to another number.
_NIK_SEPARATOR = (r"[\s.,:;/\\|_\-\u00ad\u00b7\u2010-\u2015\u2022\u2212"
                  r"\u200b-\u200d\u2060\ufeff]")
NIK_LIKE = re.compile(rf"\d(?:{_NIK_SEPARATOR}{{0,3}}\d){{15,}}")
NIK_REMOVED = "[dihapus]"


class IdentityError(ValueError):
    pass


def validate_nik(raw: str) -> str:
    """Return the NIK's 16 digits or raise with a message a resident understands.

    Shape: PP KK CC DDMMYY SSSS (province, regency, district, birth date with 40 added to the
    day for women, serial). Only the shape is checked here; Dukcapil is the authority.
    """
    nik = re.sub(r"[\s.-]", "", raw or "")
    if not _NIK_RE.match(nik):
        raise IdentityError("NIK harus 16 digit angka.")
    if int(nik[0:2]) not in PROVINCE_CODES:
        raise IdentityError("Kode provinsi pada NIK tidak dikenal.")
    if nik[2:4] == "00" or nik[4:6] == "00":
        raise IdentityError("Kode kabupaten/kota atau kecamatan pada NIK tidak valid.")
    day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    if not any(_is_date(century + year2, month, day) for century in (1900, 2000)):
        raise IdentityError("Tanggal lahir pada NIK tidak valid.")
    if nik[12:16] == "0000":
        raise IdentityError("Nomor urut pada NIK tidak valid.")
    return nik


def contains_nik(text: str | None) -> bool:
    """Whether ``text`` holds a NIK-like number, however it is separated (see ``NIK_LIKE``)."""
    return NIK_LIKE.search(text or "") is not None


def scrub_nik(text: str | None) -> str:
    """``text`` with every NIK-like number replaced by ``[dihapus]``: what may leave the
    office (to couriers, providers, the envelope label) goes through here."""
    return NIK_LIKE.sub(NIK_REMOVED, text or "")


# What a courier reads at a stop: never a NIK-like number, whoever built the stop.
CourierText = Annotated[str, AfterValidator(scrub_nik)]


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def normalize_phone(raw: str, region: str = "ID") -> str:
    """Accept 0812..., 62812..., +62 812-... and return E.164 (+62812...)."""
    text = (raw or "").strip()
    if text.startswith("62") and not text.startswith("+"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise IdentityError("Nomor telepon tidak valid.") from exc
    if not phonenumbers.is_valid_number(number):
        raise IdentityError("Nomor telepon tidak valid.")
    if phonenumbers.region_code_for_number(number) != region:
        # Codes go out by Indonesian SMS/WhatsApp gateways and couriers call local numbers.
        raise IdentityError("Gunakan nomor telepon Indonesia (+62).")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str) -> str:
    return phone[:5] + "*" * max(len(phone) - 8, 0) + phone[-3:] if len(phone) > 8 else phone


def mask_name(name: str) -> str:
    """'Siti Aminah' -> 'S*** A*****' for public pages."""
    return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split() if w)
