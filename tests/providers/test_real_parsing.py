"""Properties of the helpers the real adapters share (providers/parsing.py, throttle)."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.lalamove.webhooks import raw_member
from providers.parsing import (
    content_event_id,
    from_epoch,
    local_phone,
    rupiah,
    status_key,
    tokens_match,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() |
    st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=3) |
    st.dictionaries(st.text(max_size=5), children, max_size=3), max_leaves=10)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=4), json_values,
       st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :  ")]), st.booleans())
def test_raw_member_returns_the_exact_source_of_the_value(other, data, separators, ascii_):
    document = {**other, "data": data}
    text = json.dumps(document, separators=separators, ensure_ascii=ascii_)
    raw = raw_member(text, "data")
    assert raw is not None and raw in text
    assert json.loads(raw) == data
    if separators == (",", ":"):
        assert raw == json.dumps(data, separators=(",", ":"), ensure_ascii=ascii_)


@given(st.decimals(min_value=0, max_value=10**9, allow_nan=False, places=3))
def test_rupiah_never_under_quotes(value: Decimal) -> None:
    money = rupiah(str(value))
    assert money.amount == math.ceil(value) and money.amount >= value


@pytest.mark.parametrize("bad", ["-1", "abc", "NaN", "Infinity"])
def test_rupiah_refuses_non_amounts(bad: str) -> None:
    with pytest.raises(ValueError):
        rupiah(bad)


def test_epochs_in_seconds_or_milliseconds_are_the_same_instant() -> None:
    assert from_epoch(1648542933000) == from_epoch(1648542933) == from_epoch("1648542933000")


@pytest.mark.parametrize(("raw", "key"), [
    ("pickingUp", "picking_up"), ("PICKING_UP", "picking_up"), ("picking_up", "picking_up"),
    ("Item Picked by Driver", "item_picked_by_driver"), (" Enroute Drop ", "enroute_drop"),
    ("returnInTransit", "return_in_transit"),
])
def test_status_keys(raw: str, key: str) -> None:
    assert status_key(raw) == key


def test_tokens_and_ids_and_phones() -> None:
    assert tokens_match("secret", " secret ")
    assert not tokens_match("secret", "Secret") and not tokens_match("", "")
    assert not tokens_match("secret", None)
    assert content_event_id("x", {"a": 1, "b": 2}) == content_event_id("x", {"b": 2, "a": 1})
    assert local_phone("+6281234560001") == "081234560001"
