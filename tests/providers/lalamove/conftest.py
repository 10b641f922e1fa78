"""Lalamove test fixtures: the respx fake, and a fresh client-side throttle per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from providers.throttle import THROTTLE
from tests.providers.lalamove.fake import FakeLalamove


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Iterator[None]:
    THROTTLE.reset()
    yield
    THROTTLE.reset()


@pytest.fixture
def fake_lalamove() -> Iterator[FakeLalamove]:
    fake = FakeLalamove()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        yield fake
