"""What several commits send after commit goes out as few messages as it can (workers.enqueue
.joined): the webhook writer sends one small apply task per commit, and each message costs a
publish in the API and a task's fixed cost in the worker."""

from __future__ import annotations

from core.db import NewOutboxRow
from core.task_names import DELIVERY_BOOK, JOINABLE, TRACKING_APPLY_BATCH
from workers.enqueue import joined


def apply(*ids: int) -> NewOutboxRow:
    return NewOutboxRow(None, TRACKING_APPLY_BATCH, {"event_ids": list(ids)})


def test_apply_sends_are_joined_in_the_place_of_the_first() -> None:
    book = NewOutboxRow(7, DELIVERY_BOOK, {"attempt_id": "a"})
    assert joined([apply(1, 2), book, apply(3), apply(4, 5)]) == [apply(1, 2, 3, 4, 5), book]


def test_a_joined_message_stays_within_its_size() -> None:
    _, size = JOINABLE[TRACKING_APPLY_BATCH]
    first, second = list(range(size - 1)), [size, size + 1]
    out = joined([apply(*first), apply(*second), apply(size + 2)])
    assert out == [apply(*first), apply(*second, size + 2)]
    assert sum(len(r.kwargs["event_ids"]) for r in out) == size + 2  # nothing lost


def test_rows_with_an_outbox_id_or_other_arguments_are_left_as_they_are() -> None:
    marked = NewOutboxRow(3, TRACKING_APPLY_BATCH, {"event_ids": [9]})
    other = NewOutboxRow(None, TRACKING_APPLY_BATCH, {"event_ids": [8], "extra": 1})
    assert joined([apply(1), marked, other, apply(2)]) == [apply(1, 2), marked, other]


def test_nothing_to_join_is_the_same_list() -> None:
    rows = [NewOutboxRow(1, DELIVERY_BOOK, {"attempt_id": "a"}), apply(1)]
    assert joined(rows) == rows and joined([]) == []
