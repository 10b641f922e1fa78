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
            try:
                with unit_of_work() as session:
                    return fn(session, **kwargs)
            except retry_on as exc:
                # Decide here: once the bound is reached Celery's retry() re-raises ``exc``
                # itself (not MaxRetriesExceededError), so the give-up hook would never run.
                if self.max_retries is not None and self.request.retries >= self.max_retries:
                    log.error("task gave up", extra={"task": name, "error": repr(exc)})
                    if on_give_up is not None:
                        with unit_of_work() as session:
                            on_give_up(session, kwargs, exc)
                    return None
                delay = getattr(exc, "retry_after", None) or backoff(self.request.retries)
                raise self.retry(exc=exc, countdown=min(delay, MAX_RETRY_DELAY)) from exc

        task.__wrapped__ = fn
        return task

    return decorator
