"""Turn validation failures into per-field messages in the page's language.

A form page validates with the same pydantic schema the JSON API uses; when it (or the
service) refuses, the page renders again with what was typed and a message under each field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from core.db import forget_pending_outbox
from core.errors import AppError, Forbidden, NotFound, Unauthorized
from web.i18n import Translator


@dataclass
class FormState:
    """What was typed and what is wrong with it; templates read both."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.message is None

    def value(self, name: str, default: Any = "") -> Any:
        value = self.values.get(name)
        return default if value in (None, "") else value

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


def text_values(form: FormData | Mapping[str, Any]) -> dict[str, Any]:
    """Typed values only (files cannot be put back into a file input), blanks dropped."""
    values: dict[str, Any] = {}
    for key, value in form.items():
        if key == "csrf_token" or isinstance(value, UploadFile):
            continue
        value = value.strip() if isinstance(value, str) else value
        if value != "":
            values[key] = value
    return values


def errors_from_validation(exc: ValidationError | list[Any], t: Translator
                           ) -> dict[str, str]:
    """Each field's first error, in the page's language (by the error's type: never
    pydantic's own English)."""
    errors: dict[str, str] = {}
    for err in exc.errors() if isinstance(exc, ValidationError) else exc:
        name = ".".join(str(p) for p in err.get("loc", ())) or "form"
        errors.setdefault(name, t.validation(err))
    return errors


def parse(schema: type[BaseModel], state: FormState, t: Translator,
          **extra: Any) -> BaseModel | None:
    """Validate the typed values with ``schema``; on failure fill ``state`` and return None."""
    try:
        return schema.model_validate({**state.values, **extra})
    except ValidationError as exc:
        state.errors.update(errors_from_validation(exc, t))
        state.message = t("form.fix")
        return None


def undo(session: Session, exc: AppError | None = None) -> None:
    """Undo what a refused service call wrote, as the unit of work would on an error.

    A page that shows the refusal returns normally, so the boundary would otherwise commit
    half a change. Errors that must keep their writes (a wrong code still counts as a try)
    keep them.
    """
    if exc is not None and exc.persist_changes:
        return
    session.rollback()
    forget_pending_outbox(session)


ACCESS_ERRORS: tuple[type[AppError], ...] = (NotFound, Forbidden, Unauthorized)


@contextmanager
def service_call(session: Session, state: FormState, t: Translator, *,
                 passthrough: tuple[type[AppError], ...] = ACCESS_ERRORS) -> Iterator[None]:
    """Run a service call; an :class:`AppError` becomes a message next to its field.

    Access errors (``passthrough``) are not form problems: the page answers 404/403 or asks
    to sign in, exactly as for a missing id. Sign-in forms pass ``Unauthorized`` through to
    the form instead (a wrong password is a field error there).
    """
    try:
        yield
    except passthrough:
        raise
    except AppError as exc:
        undo(session, exc)
        fields = exc.details.get("fields") or []
        named = exc.details.get("field")
        schema_errors = getattr(exc, "validation_errors", None)
        if schema_errors:
            for name, message in errors_from_validation(schema_errors, t).items():
                state.add(name, message)
        elif fields:
            for f in fields:
                state.add(str(f.get("field")), t.service(str(f.get("message"))))
        elif named:
            state.add(str(named), t.service(exc.message))
        else:
            state.message = t.service(exc.message)
        if state.errors and state.message is None:
            state.message = t("form.fix")
