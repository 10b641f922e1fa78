"""Domain errors carry their HTTP status and a machine-readable code; one handler renders them.

Validation errors read in Bahasa Indonesia too: :func:`validation_message` turns a pydantic
error (by its type) into the message the API's error model and the pages show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Pydantic's error types in Bahasa Indonesia; ``{name}`` is a value of the error's context.
VALIDATION_MESSAGES: dict[str, str] = {
    "missing": "Wajib diisi.",
    "string_type": "Harus berupa teks.",
    "string_too_short": "Minimal {min_length} karakter.",
    "string_too_long": "Maksimal {max_length} karakter.",
    "string_pattern_mismatch": "Formatnya tidak sesuai.",
    "int_type": "Harus bilangan bulat.",
    "int_parsing": "Harus bilangan bulat.",
    "int_from_float": "Harus bilangan bulat.",
    "float_type": "Harus angka.",
    "float_parsing": "Harus angka.",
    "finite_number": "Harus angka.",
    "bool_type": "Harus ya atau tidak.",
    "bool_parsing": "Harus ya atau tidak.",
    "greater_than": "Harus lebih dari {gt}.",
    "greater_than_equal": "Tidak boleh kurang dari {ge}.",
    "less_than": "Harus kurang dari {lt}.",
    "less_than_equal": "Tidak boleh lebih dari {le}.",
    "too_short": "Minimal {min_length} isian.",
    "too_long": "Maksimal {max_length} isian.",
    "enum": "Pilih salah satu: {expected}.",
    "literal_error": "Pilih salah satu: {expected}.",
    "extra_forbidden": "Isian tidak dikenal.",
    "list_type": "Harus berupa daftar.",
    "dict_type": "Format data tidak valid.",
    "model_type": "Format data tidak valid.",
    "model_attributes_type": "Format data tidak valid.",
    "date_type": "Tanggal tidak valid (TTTT-BB-HH).",
    "date_parsing": "Tanggal tidak valid (TTTT-BB-HH).",
    "date_from_datetime_parsing": "Tanggal tidak valid (TTTT-BB-HH).",
    "date_from_datetime_inexact": "Tanggal tidak valid (TTTT-BB-HH).",
    "datetime_type": "Waktu tidak valid.",
    "datetime_parsing": "Waktu tidak valid.",
    "datetime_from_date_parsing": "Waktu tidak valid.",
    "time_type": "Jam tidak valid (JJ:MM).",
    "time_parsing": "Jam tidak valid (JJ:MM).",
    "uuid_type": "Kode pengenal tidak valid.",
    "uuid_parsing": "Kode pengenal tidak valid.",
    "json_invalid": "Format JSON tidak valid.",
    "json_type": "Format JSON tidak valid.",
    "url_type": "Alamat web tidak valid.",
    "url_parsing": "Alamat web tidak valid.",
    "url_scheme": "Alamat web tidak valid.",
}
INVALID_VALUE = "Isian tidak valid."
# Types whose message is the validator's own text (written in Bahasa Indonesia).
OWN_MESSAGE_TYPES = frozenset({"value_error", "assertion_error"})


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def validation_context(err: Mapping[str, Any]) -> dict[str, Any]:
    """The error's context values that a message may show (plain values only)."""
    ctx = err.get("ctx") or {}
    return {str(k): _plain(v) for k, v in ctx.items() if k != "error"}


def validation_message(err: Mapping[str, Any]) -> str:
    """One pydantic error in Bahasa Indonesia, chosen by its type, never pydantic's English."""
    kind = str(err.get("type", ""))
    if kind in OWN_MESSAGE_TYPES:
        msg = str(err.get("msg", ""))
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ") \
            or INVALID_VALUE
    template = VALIDATION_MESSAGES.get(kind)
    if template is None:
        return INVALID_VALUE
    ctx = validation_context(err)
    if isinstance(ctx.get("expected"), str):  # "'a', 'b' or 'c'"
        ctx["expected"] = ctx["expected"].replace(" or ", " atau ")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return INVALID_VALUE


def error_field(err: Mapping[str, Any], *, skip: Iterable[str] = ()) -> str:
    """The dotted field name of an error's location (``body``/``query``/``path`` dropped)."""
    skipped = set(skip)
    return ".".join(str(p) for p in err.get("loc", ()) if p not in skipped) or "body"


def validation_fields(errors: Iterable[Mapping[str, Any]], *, skip: Iterable[str] = ()
                      ) -> list[dict[str, Any]]:
    """Pydantic errors as the API reports them: ``{"field", "message", "type"}``."""
    skipped = tuple(skip)
    return [{"field": error_field(err, skip=skipped), "message": validation_message(err),
             "type": str(err.get("type", ""))} for err in errors]


class AppError(Exception):
    status_code = 400
    code = "bad_request"
    message = "Permintaan tidak valid."
    # Most errors undo the whole unit of work; a few must keep what was written before them
    # (a wrong one-time code still counts as an attempt).
    persist_changes = False

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.message
        self.details = details
        super().__init__(self.message)

    def keeping_changes(self) -> AppError:
        self.persist_changes = True
        return self

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "Data tidak ditemukan."


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    message = "Silakan masuk terlebih dahulu."


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "Anda tidak berhak melakukan tindakan ini."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "Permintaan bertentangan dengan keadaan data saat ini."


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, entity: str, current: str, target: str, allowed: list[str]) -> None:
        super().__init__(
            f"Status {entity} tidak dapat diubah dari '{current}' ke '{target}'.",
            current=current,
            target=target,
            allowed=sorted(allowed),
        )


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"
    message = "Data tidak valid."

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, fields=[{"field": field, "message": message}])
        # The pydantic errors behind this one, when a service validated with a schema: pages
        # translate them by type (``web.forms``).
        self.validation_errors: list[dict[str, Any]] = []

    @classmethod
    def from_errors(cls, errors: list[Any]) -> ValidationFailed:
        """A service's schema refused the data: every error, in Bahasa Indonesia."""
        fields = validation_fields(errors)
        error = cls(fields[0]["field"], fields[0]["message"])
        error.message = cls.message  # as for a refused request body; the fields say what
        error.details["fields"] = fields
        error.validation_errors = [dict(e) for e in errors]
        return error

    def to_dict(self) -> dict[str, Any]:
        # Rendered like a request validation error (``error.fields``), so API clients read
        # field errors one way; ``self.details["fields"]`` stays for server-side callers.
        body: dict[str, Any] = {"code": self.code, "message": self.message,
                                "fields": self.details["fields"]}
        rest = {k: v for k, v in self.details.items() if k != "fields"}
        if rest:
            body["details"] = rest
        return {"error": body}


class InvalidJson(ValidationFailed):
    """A body that is not JSON, or is nested deeper than ``core.bodies`` allows; the parser's
    reason is the field message."""

    status_code = 400
    code = "invalid_json"

    def __init__(self, reason: str) -> None:
        super().__init__("body", reason)
        self.message = "Format JSON tidak valid."


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"
    message = "Terlalu banyak percobaan. Coba lagi nanti."

    def __init__(self, message: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        if retry_after is not None:
            self.details["retry_after"] = retry_after


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    message = "Data yang dikirim terlalu besar."


class UnsupportedMedia(AppError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Jenis berkas tidak didukung."


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "Layanan sedang tidak tersedia."

    def __init__(self, message: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
