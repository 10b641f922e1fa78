"""A small message catalog: Bahasa Indonesia by default, English by a cookie switch.

Deliberately not gettext: office staff edit these texts, and two dicts are easy to read.
Service messages are written in Bahasa Indonesia; :data:`SERVICE_MESSAGES_EN` translates the
ones a page shows next to a field, so an English page shows English errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import (
    INVALID_VALUE,
    OWN_MESSAGE_TYPES,
    VALIDATION_MESSAGES,
    validation_context,
    validation_message,
)
from web.messages_en import MESSAGES_EN
from web.messages_id import MESSAGES_ID

LANG_COOKIE = "sipoke_lang"
LANGUAGES = ("id", "en")
DEFAULT_LANG = "id"

MESSAGES: dict[str, dict[str, str]] = {"id": MESSAGES_ID, "en": MESSAGES_EN}

# Messages raised by services (Bahasa Indonesia) that pages show; English versions.
SERVICE_MESSAGES_EN: dict[str, str] = {
    "Nomor telepon tidak valid.": "Phone number is not valid.",
    "NIK harus 16 digit angka.": "The NIK must be 16 digits.",
    "Kode provinsi pada NIK tidak dikenal.": "Unknown province code in the NIK.",
    "Kode kabupaten/kota atau kecamatan pada NIK tidak valid.":
        "The regency or district code in the NIK is not valid.",
    "Tanggal lahir pada NIK tidak valid.": "The birth date in the NIK is not valid.",
    "Nomor urut pada NIK tidak valid.": "The serial number in the NIK is not valid.",
    "Kantor kelurahan/desa tidak ditemukan.": "Village office not found.",
    "Nomor telepon sudah terdaftar. Silakan masuk.": "This phone is already registered. "
                                                     "Please sign in.",
    "NIK sudah terdaftar di kantor ini.": "This NIK is already registered at this office.",
    "Kode salah atau sudah kedaluwarsa. Minta kode baru.":
        "Wrong or expired code. Ask for a new one.",
    "Kode salah atau sudah kedaluwarsa.": "Wrong or expired code.",
    "Terlalu banyak percobaan. Minta kode baru.": "Too many attempts. Ask for a new code.",
    "Nama pengguna atau kata sandi salah.": "Wrong username or password.",
    "Terlalu banyak permintaan kode untuk nomor ini. Coba lagi nanti.":
        "Too many code requests for this number. Try again later.",
    "Terlalu banyak percobaan. Coba lagi nanti.": "Too many attempts. Try again later.",
    "Token CSRF tidak valid. Muat ulang halaman.": "The form has expired. Reload the page.",
    "Dokumen sah dan berlaku.": "The document is genuine and valid.",
    "PIN salah. Dokumen tidak boleh diserahkan.": "Wrong PIN. Do not hand over the document.",
    "PIN terkunci karena salah 5 kali. Hubungi petugas kantor.":
        "PIN locked after 5 wrong tries. Call the office.",
    "Dokumen telah dicabut/tidak berlaku.": "The document was revoked / is no longer valid.",
    "Kode verifikasi tidak dikenal. Dokumen ini tidak diterbitkan melalui SIP OKE Antar.":
        "Unknown verification code. This document was not issued through SIP OKE Antar.",
    "Gunakan nomor telepon Indonesia (+62).": "Use an Indonesian phone number (+62).",
    "tidak boleh kosong": "must not be blank",
    "Isian tidak dikenal.": "Unknown entry.",
    "Wajib diisi.": "Required.",
    "Isian terlalu panjang.": "The answer is too long.",
    "Isi tanggal yang valid (TTTT-BB-HH).": "Enter a valid date (YYYY-MM-DD).",
    "Isi dengan angka saja.": "Enter digits only.",
    "Ada dua persyaratan dengan kode yang sama.": "Two requirements have the same code.",
    "Ada dua isian formulir dengan nama yang sama.": "Two form fields have the same name.",
    "Jam layanan tidak valid: isi jam buka dan tutup (JJ:MM), jam buka lebih awal.":
        "Office hours are not valid: give opening and closing times (HH:MM), opening first.",
    "Tulis nomor RW lalu daftar nomor RT-nya.": "Write the RW number, then its RT numbers.",
    "Nomor RT terdiri dari 1-3 angka.": "RT numbers are 1-3 digits.",
    "Koordinat harus berupa angka.": "Coordinates must be numbers.",
    "Zona waktu tidak dikenal: pilih Asia/Jakarta (WIB), Asia/Pontianak (WIB), Asia/Makassar "
    "(WITA) atau Asia/Jayapura (WIT).":
        "Unknown time zone: choose Asia/Jakarta (WIB), Asia/Pontianak (WIB), Asia/Makassar "
        "(WITA) or Asia/Jayapura (WIT).",
    "Unggah semua persyaratan terlebih dahulu.": "Upload every requirement first.",
    "Semua dokumen asli harus diperiksa.": "Every original must be checked.",
}


# ``core.errors.VALIDATION_MESSAGES`` in English (same keys, same placeholders).
VALIDATION_MESSAGES_EN: dict[str, str] = {
    "missing": "Required.",
    "string_type": "Must be text.",
    "string_too_short": "At least {min_length} characters.",
    "string_too_long": "At most {max_length} characters.",
    "string_pattern_mismatch": "The format is not right.",
    "int_type": "Must be a whole number.",
    "int_parsing": "Must be a whole number.",
    "int_from_float": "Must be a whole number.",
    "float_type": "Must be a number.",
    "float_parsing": "Must be a number.",
    "finite_number": "Must be a number.",
    "bool_type": "Must be yes or no.",
    "bool_parsing": "Must be yes or no.",
    "greater_than": "Must be more than {gt}.",
    "greater_than_equal": "Must not be less than {ge}.",
    "less_than": "Must be less than {lt}.",
    "less_than_equal": "Must not be more than {le}.",
    "too_short": "At least {min_length} entries.",
    "too_long": "At most {max_length} entries.",
    "enum": "Choose one of: {expected}.",
    "literal_error": "Choose one of: {expected}.",
    "extra_forbidden": "Unknown entry.",
    "list_type": "Must be a list.",
    "dict_type": "The data is not in the right shape.",
    "model_type": "The data is not in the right shape.",
    "model_attributes_type": "The data is not in the right shape.",
    "date_type": "Not a valid date (YYYY-MM-DD).",
    "date_parsing": "Not a valid date (YYYY-MM-DD).",
    "date_from_datetime_parsing": "Not a valid date (YYYY-MM-DD).",
    "date_from_datetime_inexact": "Not a valid date (YYYY-MM-DD).",
    "datetime_type": "Not a valid time.",
    "datetime_parsing": "Not a valid time.",
    "datetime_from_date_parsing": "Not a valid time.",
    "time_type": "Not a valid time of day (HH:MM).",
    "time_parsing": "Not a valid time of day (HH:MM).",
    "uuid_type": "Not a valid identifier.",
    "uuid_parsing": "Not a valid identifier.",
    "json_invalid": "Not valid JSON.",
    "json_type": "Not valid JSON.",
    "url_type": "Not a valid web address.",
    "url_parsing": "Not a valid web address.",
    "url_scheme": "Not a valid web address.",
}
VALIDATION_MESSAGES_BY_LANG: dict[str, dict[str, str]] = {
    "id": VALIDATION_MESSAGES, "en": VALIDATION_MESSAGES_EN}
INVALID_VALUE_EN = "Not a valid entry."


def pick_language(cookie_value: str | None, accept_language: str | None = None) -> str:
    """The cookie wins; without one, Bahasa Indonesia (the product's audience)."""
    if cookie_value in LANGUAGES:
        return cookie_value
    return DEFAULT_LANG


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANG
        self._messages = MESSAGES[self.lang]

    def __call__(self, key: str, **values: Any) -> str:
        text = self._messages.get(key) or MESSAGES[DEFAULT_LANG].get(key) or key
        return text.format(**values) if values else text

    def validation(self, err: Mapping[str, Any]) -> str:
        """A pydantic error in the page's language, chosen by its type; a validator's own
        message (Bahasa Indonesia) goes through :meth:`service`."""
        if self.lang == "id" or str(err.get("type", "")) in OWN_MESSAGE_TYPES:
            return self.service(validation_message(err))
        template = VALIDATION_MESSAGES_BY_LANG[self.lang].get(str(err.get("type", "")))
        if template is None:
            return INVALID_VALUE_EN
        try:
            return template.format(**validation_context(err))
        except (KeyError, IndexError, ValueError):
            return INVALID_VALUE_EN

    def service(self, message: str) -> str:
        """A message from a service, in the page's language when we know the translation."""
        if self.lang == "en":
            if message == INVALID_VALUE:
                return INVALID_VALUE_EN
            return SERVICE_MESSAGES_EN.get(message, message)
        return message
