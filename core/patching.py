"""Partial updates (PATCH bodies): a field left out keeps its stored value, a field sent is
validated exactly as when the record is created.

So ``null`` is accepted only where the field's type allows it (``str | None``: a column that
may be empty, such as an office's e-mail) and refused, with the field named, everywhere else:
a NOT NULL column may be left out of a patch but never set to null.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo


class PatchModel(BaseModel):
    """Base of a PATCH body. Subclass it together with the model that declares the editable
    fields, which keep their types, constraints and validators::

        class ServiceUpdate(PatchModel, ServiceFields): ...

    Every field becomes optional (left out means unchanged) without becoming nullable;
    :meth:`changes` is what the client sent. Model validators of the field model see ``None``
    for the fields left out.
    """

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for field in cls.model_fields.values():
            _make_omittable(field)
        cls.model_rebuild(force=True)

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, validated, as plain data for the ORM row."""
        return self.model_dump(exclude_unset=True)


def _make_omittable(field: FieldInfo) -> None:
    # The placeholder is never validated nor stored (``changes`` leaves unsent fields out), so
    # the type keeps refusing null; the schema shows no default, as a patch has none.
    field.default, field.default_factory = None, None
    extra = field.json_schema_extra

    def schema_without_default(schema: dict[str, Any]) -> None:
        schema.pop("default", None)
        if callable(extra):
            extra(schema)  # type: ignore[call-arg]
        elif extra:
            schema.update(extra)

    field.json_schema_extra = schema_without_default
