"""core.batching: many callers' items go to one handler call; each caller gets its own result
or the batch's exception; the thread outlives a failed batch; a full queue refuses."""

from __future__ import annotations

import threading

import pytest

from core.batching import Batcher, BatcherFull


def test_a_lone_item_goes_out_at_once_and_gets_its_result() -> None:
    batcher = Batcher("double", lambda items: [i * 2 for i in items])
    assert batcher.submit(21).result(timeout=5) == 42
    assert batcher.batches == 1


def test_items_queued_while_the_handler_works_share_the_next_call() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[list[int]] = []

    def handler(items: list[int]) -> list[int]:
        calls.append(list(items))
        started.set()
        release.wait(timeout=5)
        return [i + 1 for i in items]

    batcher = Batcher("slow", handler, max_batch=50)
    first = batcher.submit(0)
    assert started.wait(timeout=5)
    queued = [batcher.submit(i) for i in range(1, 31)]  # while the first call runs
    release.set()
    assert first.result(timeout=5) == 1
    assert [f.result(timeout=5) for f in queued] == list(range(2, 32))
    assert calls == [[0], list(range(1, 31))]


def test_a_batch_is_never_larger_than_max_batch() -> None:
    gate = threading.Event()
    sizes: list[int] = []

    def handler(items: list[int]) -> list[None]:
        gate.wait(timeout=5)
        sizes.append(len(items))
        return [None] * len(items)

    batcher = Batcher("bounded", handler, max_batch=4)
    futures = [batcher.submit(i) for i in range(10)]
    gate.set()
    for f in futures:
        f.result(timeout=5)
    assert sum(sizes) == 10 and max(sizes) <= 4


def test_a_failed_batch_fails_each_caller_and_the_next_batch_works() -> None:
    def handler(items: list[int]) -> list[int]:
        if 13 in items:
            raise RuntimeError("database down")
        return items

    batcher = Batcher("flaky", handler)
    with pytest.raises(RuntimeError, match="database down"):
        batcher.submit(13).result(timeout=5)
    assert batcher.submit(7).result(timeout=5) == 7


def test_a_handler_that_loses_an_item_fails_the_batch() -> None:
    batcher = Batcher("lossy", lambda items: items[:-1])
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        batcher.submit(1).result(timeout=5)


def test_a_full_queue_refuses_instead_of_growing() -> None:
    gate = threading.Event()
    batcher = Batcher("full", lambda items: (gate.wait(timeout=5), items)[1],
                      max_batch=1, max_pending=3)
    first = batcher.submit(0)
    accepted = []
    with pytest.raises(BatcherFull):
        for i in range(1, 10):
            accepted.append(batcher.submit(i))
    gate.set()
    assert first.result(timeout=5) == 0
    assert [f.result(timeout=5) for f in accepted] == list(range(1, len(accepted) + 1))


def test_a_forked_child_starts_a_thread_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    batcher = Batcher("fork", lambda items: items)
    assert batcher.submit(1).result(timeout=5) == 1
    parent_queue = batcher._queue
    monkeypatch.setattr("core.batching.os.getpid", lambda: -42)  # as a fork's child sees it
    assert batcher.submit(2).result(timeout=5) == 2
    assert batcher._queue is not parent_queue


def test_an_exception_in_an_items_place_fails_that_item_only() -> None:
    batcher = Batcher("per-item", lambda items: [ValueError(i) if i < 0 else i for i in items])
    futures = [batcher.submit(i) for i in (1, -2, 3)]
    assert futures[0].result(timeout=5) == 1
    with pytest.raises(ValueError):
        futures[1].result(timeout=5)
    assert futures[2].result(timeout=5) == 3


def test_an_event_loop_waits_for_its_items_without_a_future_each() -> None:
    import asyncio

    calls: list[list[int]] = []

    def handler(items: list[int]) -> list[int | Exception]:
        calls.append(list(items))
        return [ValueError(i) if i < 0 else i * 10 for i in items]

    batcher = Batcher("async", handler)

    async def main() -> list:
        return await asyncio.gather(batcher.run([1, 2]), batcher.run([-3]), batcher.run([4]))

    results = asyncio.run(main())
    assert results[0] == [10, 20] and results[2] == [40]
    assert isinstance(results[1][0], ValueError)  # in its place: the caller decides
    assert sorted(i for call in calls for i in call) == sorted([1, 2, -3, 4])


def test_an_event_loop_learns_that_the_whole_batch_failed() -> None:
    import asyncio

    def handler(items: list[int]) -> list[int]:
        raise RuntimeError("database down")

    batcher = Batcher("async-down", handler)
    with pytest.raises(RuntimeError, match="database down"):
        asyncio.run(batcher.run([1]))
    assert batcher.submit(2).exception(timeout=5) is not None  # the thread lives on


def test_a_waiter_that_timed_out_before_its_turn_is_not_handled() -> None:
    import asyncio

    gate = threading.Event()
    handled: list[int] = []

    def handler(items: list[int]) -> list[int]:
        gate.wait(timeout=5)
        handled.extend(items)
        return items

    batcher = Batcher("async-timeout", handler, max_batch=1)

    async def main() -> None:
        first = batcher.submit(0)  # holds the thread until the gate opens
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await batcher.run([1])
        gate.set()
        await asyncio.wrap_future(first)
        assert await batcher.run([2]) == [2]

    asyncio.run(main())
    assert handled == [0, 2]
