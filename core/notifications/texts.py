"""Message texts, Bahasa Indonesia first. Keep them short: they go out by SMS too."""

TEXTS: dict[str, str] = {
    "otp": "Kode masuk SIP OKE Antar: {code}. Berlaku {minutes} menit. Jangan berikan kode ini "
           "kepada siapa pun, termasuk petugas.",
    "welcome": "Selamat datang di SIP OKE Antar {office}, {name}. Akun Anda sudah terdaftar.",
}


def render(kind: str, **values: object) -> str:
    return TEXTS[kind].format(**values)
