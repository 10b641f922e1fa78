"""What a check finds, and the helpers every check shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

import httpx

from core.settings import Settings

CONNECT_TIMEOUT = 5.0


class Status(StrEnum):
    ok = "ok"
    warn = "warn"  # works, but look at it
    fail = "fail"  # something residents or staff will notice


@dataclass(frozen=True)
class Finding:
    area: str
    status: Status
    message: str  # what was found, in plain Indonesian
    action: str = ""  # what to do about it


@dataclass(frozen=True)
class Options:
    reach: bool = False  # also call providers and the message gateway over the network


Check = Callable[[Settings, Options], Iterable[Finding]]


def ok(area: str, message: str) -> Finding:
    return Finding(area, Status.ok, message)


def warn(area: str, message: str, action: str) -> Finding:
    return Finding(area, Status.warn, message, action)


def fail(area: str, message: str, action: str) -> Finding:
    return Finding(area, Status.fail, message, action)


def error_text(exc: BaseException, *hide: str | None) -> str:
    """One short line for an error, without any secret it might quote."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    text = f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__
    for secret in hide:
        if secret:
            text = text.replace(secret, "***")
    return text[:240]


def reach(url: str, *, connect: float = CONNECT_TIMEOUT, read: float = 10.0) -> str | None:
    """None when ``url`` answers at all (any HTTP status: the server is there), else why not."""
    try:
        with httpx.Client(timeout=httpx.Timeout(read, connect=connect)) as client:
            client.get(url)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return None
