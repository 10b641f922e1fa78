"""The contract suite against the live sandbox server, over real HTTP."""

from __future__ import annotations

import pytest

from tests.providers.contract import ProviderContract
from tests.providers.harnesses import SandboxHarness


class TestSandboxContract(ProviderContract):
    @pytest.fixture
    def harness(self, sandbox, sandbox_admin, receiver) -> SandboxHarness:
        return SandboxHarness(sandbox, sandbox_admin, receiver)
