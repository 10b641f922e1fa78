"""Group work from many requests into one call: one background thread per batcher and
process takes everything queued, up to ``max_batch`` items, and hands it to ``handler`` at once.

Under load this turns N commits (or N broker round trips) into one, while a lone item still goes
out at once: the thread waits for nothing but the first item. Each :meth:`Batcher.submit`
returns a ``concurrent.futures.Future`` that gets the handler's result for that item, or the
exception that failed the whole batch (or, when the handler returns an exception in the
item's place, that item alone), so a caller never acknowledges what was not done.

A forked child (uvicorn and Celery workers fork) starts a thread of its own on first use.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("sipoke.batching")


class BatcherFull(Exception):
    """More items are waiting than ``max_pending``: the caller should shed load (503)."""


class Batcher(Generic[T, R]):
    def __init__(self, name: str, handler: Callable[[list[T]], Sequence[R | BaseException]], *,
                 max_batch: int = 500, max_pending: int = 20_000) -> None:
        self.name = name
        self.handler = handler
        self.max_batch = max_batch
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._pid = -1
        self._queue: queue.Queue[tuple[T, Future[R]]] = queue.Queue()
        self.batches = 0  # handler calls, for tests and metrics

    def submit(self, item: T) -> Future[R]:
        future: Future[R] = Future()
        q = self._ensure_thread()
        if q.qsize() >= self.max_pending:
            raise BatcherFull(self.name)
        q.put((item, future))
        return future

    def _ensure_thread(self) -> queue.Queue[tuple[T, Future[R]]]:
        if self._pid == os.getpid():
            return self._queue
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.Queue()
                thread = threading.Thread(target=self._run, args=(self._queue,),
                                          name=f"batcher-{self.name}", daemon=True)
                thread.start()
                self._pid = os.getpid()
        return self._queue

    def _run(self, q: queue.Queue[tuple[T, Future[R]]]) -> None:
        while True:
            batch = [q.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            self._handle(batch)

    def _handle(self, batch: list[tuple[T, Future[R]]]) -> None:
        live = [(item, f) for item, f in batch if f.set_running_or_notify_cancel()]
        if not live:
            return
        self.batches += 1
        try:
            results = self.handler([item for item, _ in live])
            if len(results) != len(live):
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(live)} items")
        except BaseException as exc:  # every waiting caller learns the batch failed
            if not isinstance(exc, Exception):
                log.exception("batcher %s stopped by %r", self.name, exc)
            for _, future in live:
                future.set_exception(exc)
            return
        for (_, future), result in zip(live, results, strict=True):
            if isinstance(result, BaseException):  # this item alone failed
                future.set_exception(result)
            else:
                future.set_result(result)
