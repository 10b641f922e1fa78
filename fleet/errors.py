"""What the fleet answers when it will not take, or cannot find, a job.

The courier API raises :mod:`core.errors` (rendered as HTTP); booking-side calls raise
:class:`FleetRefused` with a ``code`` the in-house adapter turns into the provider contract's
errors, as any adapter does with a courier company's error codes.
"""

from __future__ import annotations

BAD_OFFICE = "bad_office"
UNKNOWN_OFFICE = "unknown_office"
NO_COURIERS = "no_couriers"
TOO_FAR = "too_far"
NOT_CANCELLABLE = "not_cancellable"
NO_SUCH_JOB = "no_such_job"


class FleetRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
