"""Backups an office admin can make and restore: one archive with the database, the uploaded
scans and signed documents, and a manifest (checksums, migration revision, product version,
time). The secret key is never in it.

``database`` copies and restores the database while the system runs, ``archive`` writes and
checks the archive, ``service`` puts them together (and keeps the nightly backups).
"""

from __future__ import annotations


class BackupError(Exception):
    """A backup or restore that cannot go on. ``str()`` is one line for the admin, in Bahasa
    Indonesia; ``code`` names the reason for programs and tests."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)  # both in args: it pickles (Celery reports it)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message
