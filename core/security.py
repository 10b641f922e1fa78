"""Secrets handling: passwords, opaque tokens, one-time codes and the encrypted NIK."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check so a missing account is not observable.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_otp_code(digits: int = 6) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


@lru_cache(maxsize=16)
def derive_key(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    return hmac.new(derive_key(secret, purpose), value.encode(), hashlib.sha256).hexdigest()


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(secret, "nik-encryption")))


def encrypt_nik(secret: str, nik: str) -> str:
    return _fernet(secret).encrypt(nik.encode()).decode()


def decrypt_nik(secret: str, ciphertext: str) -> str | None:
    try:
        return _fernet(secret).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        return None


def nik_hash(secret: str, nik: str) -> str:
    return keyed_hash(secret, "nik-lookup", nik)


def otp_hash(secret: str, phone: str, code: str) -> str:
    return keyed_hash(secret, "otp", f"{phone}:{code}")
