"""Biteship test fixtures: the respx fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from tests.providers.biteship.fake import FakeBiteship


@pytest.fixture
def fake_biteship() -> Iterator[FakeBiteship]:
    fake = FakeBiteship()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        yield fake
