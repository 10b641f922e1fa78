"""GrabExpress test fixtures: the respx fake, a fresh token cache and throttle per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from providers.grabexpress.client import clear_token_cache
from providers.throttle import THROTTLE
from tests.providers.grabexpress.fake import FakeGrabExpress


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    clear_token_cache()
    THROTTLE.reset()
    yield
    clear_token_cache()


@pytest.fixture
def fake_grab() -> Iterator[FakeGrabExpress]:
    fake = FakeGrabExpress()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        yield fake
