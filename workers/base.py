"""One task shape: take ids, run the service in a unit of work, retry transient errors with
full-jitter backoff up to a bound, record the terminal failure when the bound is reached."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from core.db import unit_of_work
from workers.celery_app import MAX_RETRY_DELAY, app

log = logging.getLogger("sipoke.tasks")


def backoff(retries: int, *, base: float = 2.0, cap: float = MAX_RETRY_DELAY) -> float:
    """AWS "full jitter": uniform in [0, min(cap, base * 2**retries)]."""
    return random.uniform(0, min(cap, base * (2**retries)))


def retry_or_give_up(task: Any, name: str, exc: BaseException, *,
                     give_up: Callable[[BaseException], None] | None = None,
                     note: str = "task gave up") -> None:
    """Called in a task's ``except``: raise Celery's Retry after a full-jitter backoff (the
    error's ``retry_after`` first), or, once the bound is reached, log, ``give_up(exc)`` and
    return. Decide here: at the bound Celery's retry() re-raises ``exc`` itself (not
    MaxRetriesExceededError), so a give-up hook behind it would never run."""
    if task.max_retries is not None and task.request.retries >= task.max_retries:
        log.error(note, extra={"task": name, "error": repr(exc)})
        if give_up is not None:
            give_up(exc)
        return
    delay = getattr(exc, "retry_after", None) or backoff(task.request.retries)
    raise task.retry(exc=exc, countdown=min(delay, MAX_RETRY_DELAY)) from exc


def db_task(
    name: str,
    *,
    retry_on: tuple[type[BaseException], ...] = (),
    max_retries: int = 5,
    on_give_up: Callable[[Session, dict[str, Any], BaseException], None] | None = None,
    **options: Any,
):
    """Register ``fn(session, **kwargs)`` as the Celery task ``name``."""

    def decorator(fn: Callable[..., Any]):
        @app.task(name=name, bind=True, max_retries=max_retries, **options)
        def task(self, **kwargs: Any) -> Any:
            def record_give_up(exc: BaseException) -> None:
                if on_give_up is not None:
                    with unit_of_work() as session:
                        on_give_up(session, kwargs, exc)

            try:
                with unit_of_work() as session:
                    return fn(session, **kwargs)
            except retry_on as exc:
                retry_or_give_up(self, name, exc, give_up=record_give_up)
                return None

        task.__wrapped__ = fn
        return task

    return decorator
