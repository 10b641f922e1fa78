"""Receiving and checking uploaded files.

The body is streamed through python-multipart straight into the storage's ``incoming/``
folder, counting bytes: at ``settings.max_upload_bytes`` + 1 the transfer stops with 413, so
neither memory nor disk ever holds more than the limit. Content is checked by magic bytes
(``filetype``), never by name or by the client's declared type, so an executable renamed to
``.pdf`` is refused. The client's file name is kept for display only, and one that carries a
path is refused outright.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, BinaryIO

import filetype
from fastapi import Depends, Request
from python_multipart.multipart import MultipartParser, parse_options_header

from core.errors import PayloadTooLarge, UnsupportedMedia, ValidationFailed
from core.settings import get_settings
from core.storage import IncomingFile, Storage, finish, storage_from_settings, write_chunk

SCAN_TYPES = frozenset({"image/jpeg", "image/png", "application/pdf"})
PDF_ONLY = frozenset({"application/pdf"})
MAX_TEXT_FIELD = 2000
MAX_PARTS = 12
MULTIPART_OVERHEAD = 64 * 1024  # headers and boundaries around the file
_RAW_FILENAME = re.compile(rb'filename="((?:[^"\\]|\\.)*)"', re.IGNORECASE)


@dataclass
class ReceivedUpload:
    """What a multipart request carried: its text fields and at most one file."""

    fields: dict[str, str] = field(default_factory=dict)
    file: IncomingFile | None = None


class _Receiver:
    def __init__(self, storage: Storage, max_bytes: int) -> None:
        self.storage = storage
        self.max_bytes = max_bytes
        self.result = ReceivedUpload()
        self.parts = 0
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._name = ""
        self._text = bytearray()
        self._handle: BinaryIO | None = None
        self._incoming: IncomingFile | None = None

    # python-multipart callbacks --------------------------------------------------------
    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ValidationFailed("body", "Terlalu banyak bagian dalam formulir.")
        self._headers, self._text = {}, bytearray()
        self._handle = self._incoming = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        _, params = parse_options_header(disposition)
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in params:
            return
        if self.result.file is not None:
            raise ValidationFailed("file", "Kirim satu berkas per unggahan.")
        # python-multipart strips Windows paths from file names (an old IE fix); read the
        # raw value so a name that carries a path is seen, and refused, as sent.
        raw = _RAW_FILENAME.search(disposition)
        filename = (raw.group(1) if raw else params[b"filename"]).decode("utf-8", "replace")
        self._incoming, self._handle = self.storage.incoming(filename)
        self.result.file = self._incoming

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._handle is not None and self._incoming is not None:
            if self._incoming.size + len(chunk) > self.max_bytes:
                raise PayloadTooLarge(
                    f"Berkas terlalu besar (maksimal {self.max_bytes // (1024 * 1024)} MB).",
                    max_bytes=self.max_bytes)
            write_chunk(self._incoming, self._handle, chunk)
            return
        if len(self._text) + len(chunk) > MAX_TEXT_FIELD:
            raise ValidationFailed(self._name or "body", "Isian terlalu panjang.")
        self._text += chunk

    def on_part_end(self) -> None:
        if self._handle is not None and self._incoming is not None:
            finish(self._incoming, self._handle)
            self._handle = None
        elif self._name:
            self.result.fields[self._name] = self._text.decode("utf-8", "replace")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


async def receive_upload(request: Request) -> AsyncIterator[ReceivedUpload]:
    """Dependency: stream a multipart body to disk; the temporary file is always removed
    afterwards unless the service kept it (moved it into storage)."""
    settings = get_settings()
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMedia("Kirim berkas sebagai multipart/form-data.")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and \
            int(declared) > settings.max_upload_bytes + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(
            f"Berkas terlalu besar (maksimal {settings.max_upload_bytes // (1024 * 1024)} MB).",
            max_bytes=settings.max_upload_bytes)
    receiver = _Receiver(storage_from_settings(settings), settings.max_upload_bytes)
    parser = MultipartParser(boundary, callbacks={  # type: ignore[arg-type]
        name: getattr(receiver, name) for name in (
            "on_part_begin", "on_header_field", "on_header_value", "on_header_end",
            "on_headers_finished", "on_part_data", "on_part_end")})
    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        finally:
            receiver.close()
        yield receiver.result
    finally:
        if receiver.result.file is not None:
            receiver.result.file.discard()


Upload = Annotated[ReceivedUpload, Depends(receive_upload)]

_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f]")


def display_name(filename: str) -> str:
    """Refuse names that carry a path; return a short, printable name for display."""
    name = unicodedata.normalize("NFC", filename or "").strip()
    if not name:
        raise ValidationFailed("file", "Nama berkas kosong.")
    if _UNSAFE_NAME.search(name) or name in {".", ".."} or ".." in name.split("."):
        raise ValidationFailed("file", "Nama berkas tidak boleh berisi path atau karakter "
                                       "khusus.")
    return name[-120:]


def check_content(incoming: IncomingFile, allowed: frozenset[str]) -> str:
    """The content type from the file's magic bytes; anything not allowed is refused."""
    if incoming.size == 0:
        raise ValidationFailed("file", "Berkas kosong.")
    kind = filetype.guess(incoming.head)
    mime = kind.mime if kind else None
    if mime not in allowed:
        names = "PDF" if allowed == PDF_ONLY else "JPEG, PNG atau PDF"
        raise UnsupportedMedia(f"Jenis berkas tidak didukung. Unggah {names}.",
                               detected=mime or "unknown")
    return mime


def require_file(upload: ReceivedUpload) -> IncomingFile:
    if upload.file is None:
        raise ValidationFailed("file", "Berkas wajib diunggah.")
    return upload.file
