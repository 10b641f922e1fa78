"""Every model, imported in one fixed order (core first) so the mappers register the same way
in the API, the workers, Alembic and the tests."""

import core.models  # noqa: F401
import delivery.models  # noqa: F401
import fleet.models  # noqa: F401
from core.db import Base

metadata = Base.metadata
