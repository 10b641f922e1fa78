"""The contract suite against the in-house provider (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import unit_of_work
from core.models import Office
from tests.providers.contract import ProviderContract
from tests.providers.harnesses import InhouseHarness


class TestInhouseContract(ProviderContract):
    @pytest.fixture
    def harness(self, demo) -> InhouseHarness:
        with unit_of_work() as session:
            office_id = session.scalar(select(Office.id).where(Office.slug == "mekarjaya"))
        return InhouseHarness(office_id)
