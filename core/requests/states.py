"""The request state machine: one table, one mutator.

Every change of ``DocumentRequest.state`` goes through :func:`transition`, which checks the
table, stamps the time and writes the audit event (who, when, from, to, note). An invalid
change raises ``InvalidTransition`` (409) listing the states allowed from the current one.

    draft ─┬─▶ submitted ───────────────▶ verifying ⇄ needs_revision
           └─▶ cover_letter_pending ─▶ submitted      │
                                                      ▼
                         processing ─▶ finished ─▶ handover_pending ─┬─▶ picked_up ─▶ completed
                                                   (or digital copy) └─▶ delivered ─▶ completed
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import InvalidTransition
from core.models import DocumentRequest, User
from core.models import RequestState as S

ALLOWED_TRANSITIONS: dict[S, frozenset[S]] = {
    S.draft: frozenset({S.submitted, S.cover_letter_pending, S.cancelled}),
    S.cover_letter_pending: frozenset({S.submitted, S.rejected, S.cancelled}),
    S.submitted: frozenset({S.verifying, S.rejected, S.cancelled}),
    S.verifying: frozenset({S.needs_revision, S.processing, S.rejected}),
    S.needs_revision: frozenset({S.verifying, S.cancelled}),
    S.processing: frozenset({S.finished, S.rejected}),
    # A document that needs no paper (digital copy chosen) completes straight away.
    S.finished: frozenset({S.handover_pending, S.completed}),
    S.handover_pending: frozenset({S.picked_up, S.delivered}),
    S.picked_up: frozenset({S.completed}),
    S.delivered: frozenset({S.completed}),
    S.completed: frozenset(),
    S.rejected: frozenset(),
    S.cancelled: frozenset(),
}

TERMINAL = frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if not targets)
# States in which the resident may still change fields and uploads.
EDITABLE = frozenset({S.draft, S.needs_revision})


def can_transition(current: S, target: S) -> bool:
    return target in ALLOWED_TRANSITIONS[S(current)]


def transition(
    session: Session,
    request: DocumentRequest,
    to: S,
    *,
    actor: User | None,
    note: str | None = None,
    data: dict | None = None,
) -> DocumentRequest:
    """The only way a request changes state. ``actor`` None means the system."""
    current = S(request.state)
    if not can_transition(current, to):
        raise InvalidTransition("permohonan", current, to,
                                [str(s) for s in ALLOWED_TRANSITIONS[current]])
    now = utcnow()
    request.state = to
    request.state_changed_at = now
    if to == S.submitted and request.submitted_at is None:
        request.submitted_at = now
    elif to == S.finished:
        request.finished_at = now
    elif to == S.completed:
        request.completed_at = now
    audit.record(session, action="request.state_changed", entity_type="document_request",
                 entity_id=request.id, office_id=request.office_id, actor=actor,
                 from_state=str(current), to_state=str(to), note=note, data=data)
    session.flush()
    return request
