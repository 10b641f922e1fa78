"""GoSend test fixtures: the respx fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from tests.providers.gosend.fake import FakeGoSend


@pytest.fixture
def fake_gosend() -> Iterator[FakeGoSend]:
    fake = FakeGoSend()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        yield fake
