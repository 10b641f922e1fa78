"""A small message catalog: Bahasa Indonesia by default, English by a cookie switch.

Deliberately not gettext: office staff edit these texts, and two dicts are easy to read.
Service messages are written in Bahasa Indonesia; :data:`SERVICE_MESSAGES_EN` translates the
ones a page shows next to a field, so an English page shows English errors.
"""

from __future__ import annotations

from typing import Any

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
}


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

    def service(self, message: str) -> str:
        """A message from a service, in the page's language when we know the translation."""
        if self.lang == "en":
            return SERVICE_MESSAGES_EN.get(message, message)
        return message
