"""Group work from many requests into one call: one background thread per batcher and
process takes everything queued, up to ``max_batch`` items, and hands it to ``handler`` at once.

Under load this turns N commits (or N broker round trips) into one, while a lone item still goes
out at once: the thread waits for nothing but the first item. Each :meth:`Batcher.submit`
returns a ``concurrent.futures.Future`` that gets the handler's result for that item, or the
exception that failed the whole batch (or, when the handler returns an exception in the
item's place, that item alone), so a caller never acknowledges what was not done.

An event loop waits without a thread and without a ``concurrent.futures.Future`` per item:
``await batcher.run(items)`` queues a request's items as one entry, and the thread settles
every entry of a batch that belongs to one loop with ONE ``call_soon_threadsafe`` (one
wake-up of the loop per batch, not one per item).

A forked child (uvicorn and Celery workers fork) starts a thread of its own on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# A queued entry: its items, and who waits for them: a concurrent Future (one item, from
# ``submit``) or an asyncio Future (``run``), settled in its own loop.
_Waiter = Future | asyncio.Future

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
        self._queue: queue.Queue[tuple[list[T], _Waiter]] = queue.Queue()
        self.batches = 0  # handler calls, for tests and metrics

    def submit(self, item: T) -> Future[R]:
        future: Future[R] = Future()
        self._put([item], future)
        return future

    async def run(self, items: list[T]) -> list[R | BaseException]:
        """Queue ``items`` as one entry and wait, in this event loop, for their results, in
        order: each the handler's result or the exception in its place. The exception that
        failed the whole batch is raised. Cancelled (a timeout) before the thread took the
        entry, its items are not handed to the handler."""
        future: asyncio.Future[list[R | BaseException]] = \
            asyncio.get_running_loop().create_future()
        self._put(items, future)
        return await future

    def _put(self, items: list[T], waiter: _Waiter) -> None:
        q = self._ensure_thread()
        # Read without the queue's lock: a bound, not an exact count (the lock, taken on
        # every request, was contended with the thread taking the queue).
        if len(q.queue) >= self.max_pending:
            raise BatcherFull(self.name)
        q.put((items, waiter))

    def _ensure_thread(self) -> queue.Queue[tuple[list[T], _Waiter]]:
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

    def _run(self, q: queue.Queue[tuple[list[T], _Waiter]]) -> None:
        while True:
            batch = [q.get()]
            size = len(batch[0][0])
            while size < self.max_batch:  # an entry is never split: a request's few items
                try:
                    entry = q.get_nowait()
                except queue.Empty:
                    break
                batch.append(entry)
                size += len(entry[0])
            self._handle(batch)

    def _handle(self, batch: list[tuple[list[T], _Waiter]]) -> None:
        live = [(items, w) for items, w in batch
                if (w.set_running_or_notify_cancel() if isinstance(w, Future)
                    else not w.done())]  # an asyncio waiter that timed out is skipped
        if not live:
            return
        self.batches += 1
        count = sum(len(items) for items, _ in live)
        settle: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any, bool]]] = {}
        try:
            results = self.handler([item for items, _ in live for item in items])
            if len(results) != count:
                raise RuntimeError(f"{self.name}: {len(results)} results for {count} items")
        except BaseException as exc:  # every waiting caller learns the batch failed
            if not isinstance(exc, Exception):
                log.exception("batcher %s stopped by %r", self.name, exc)
            for _, waiter in live:
                if isinstance(waiter, Future):
                    waiter.set_exception(exc)
                else:
                    settle.setdefault(waiter.get_loop(), []).append((waiter, exc, True))
            self._settle(settle)
            return
        start = 0
        for items, waiter in live:
            mine = results[start:start + len(items)]
            start += len(items)
            if not isinstance(waiter, Future):
                settle.setdefault(waiter.get_loop(), []).append((waiter, list(mine), False))
            elif isinstance(mine[0], BaseException):  # this item alone failed
                waiter.set_exception(mine[0])
            else:
                waiter.set_result(mine[0])
        self._settle(settle)

    @staticmethod
    def _settle(settle: dict[asyncio.AbstractEventLoop,
                             list[tuple[asyncio.Future, Any, bool]]]) -> None:
        for loop, outcomes in settle.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_set_outcomes, outcomes)


def _set_outcomes(outcomes: list[tuple[asyncio.Future, Any, bool]]) -> None:
    for future, value, failed in outcomes:
        if future.done():  # cancelled (a timeout) while the batch ran
            continue
        if failed:
            future.set_exception(value)
        else:
            future.set_result(value)
