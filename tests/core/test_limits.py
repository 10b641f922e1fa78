"""core.limits on both databases: slots within a window, a new window, giving a slot back,
keys of any text, and the purge of windows long over."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from core import limits
from core.db import unit_of_work, utcnow
from core.models import AttemptCounter


def _take(key: str, *, at, limit: int = 2) -> int | None:
    with unit_of_work() as s:
        return limits.take(s, key, limit=limit, window_seconds=60, now=at)


def test_slots_run_out_within_a_window_and_come_back_in_the_next(engine):
    now = utcnow()
    assert [_take("k", at=now) for _ in range(3)] == [1, 2, None]
    assert _take("k", at=now + timedelta(seconds=59)) is None
    assert _take("k", at=now + timedelta(seconds=61)) == 1  # a new window starts at one


def test_a_slot_given_back_can_be_taken_again(engine):
    now = utcnow()
    assert [_take("k", at=now) for _ in range(2)] == [1, 2]
    with unit_of_work() as s:
        limits.give_back(s, "k")
    assert _take("k", at=now) == 2


def test_any_text_is_a_key_and_none_is_stored_as_typed(engine):
    now = utcnow()
    odd = "login:user:\x00" + "x" * 500
    assert _take(odd, at=now) == 1 and _take(odd, at=now) == 2
    assert _take("login:user:other", at=now) == 1
    with unit_of_work() as s:
        keys = list(s.scalars(select(AttemptCounter.key)))
    assert len(keys) == 2 and all(len(k) == 64 and "login" not in k for k in keys)


def test_purge_drops_only_windows_long_over(engine):
    now = utcnow()
    _take("old", at=now - timedelta(days=2))
    _take("fresh", at=now)
    with unit_of_work() as s:
        assert limits.purge_expired(s) == 1
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(AttemptCounter)) == 1
