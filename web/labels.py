"""Human words for the system's own: audit actions, states, provider statuses, roles, alerts,
tracking-event sources and outcomes, handover methods. The words themselves live in the
message catalogs (``web/messages_id.py``, ``web/messages_en.py``) under these prefixes;
``tests/web/test_labels.py`` fails when a key of the code has no label in both languages.

Pages never show a raw key: an unknown one reads as a neutral word, never as
``searching_courier`` or ``delivery.pin_wrong``.
"""

from __future__ import annotations

import re
from typing import Any

from web.i18n import Translator

# prefix of each family of labels in the message catalogs
AUDIT = "audit."            # audit actions (core.audit.record(action=...))
REQUEST_STATE = "state."    # core.models.RequestState
DELIVERY_STATE = "dstate."  # delivery.models.DeliveryState
PROVIDER_STATUS = "pstatus."  # providers.status.DeliveryStatus
JOB_STATE = "jstate."       # fleet job statuses (fleet.statuses)
ROLE = "role."              # core.models.Role, plus "system"
ALERT = "alert."            # delivery.states.raise_alert(kind)
EVENT_SOURCE = "esource."   # delivery.models.TrackingEvent.source
EVENT_OUTCOME = "eoutcome."  # delivery.models.EventOutcome
METHOD = "method."          # core.models.HandoverMethod
HANDOVER_STEP = "hstep."    # delivery.models.HandoverKind
CHOICE = "choice."          # delivery.policy.ChoicePolicy

SYSTEM = "system"


def label(t: Translator, prefix: str, key: Any, *, fallback: str | None = None) -> str:
    """The label of ``key`` in its family; a key without one reads as ``fallback`` (or a
    dash), never as the key itself."""
    name = f"{prefix}{key}"
    text = t(name)
    if text == name:
        return fallback if fallback is not None else "–"
    return text


def role(t: Translator, value: str | None) -> str:
    return label(t, ROLE, value or SYSTEM, fallback=t(f"{ROLE}{SYSTEM}"))


def audit_action(t: Translator, action: str, data: dict[str, Any] | None = None) -> str:
    """An audit event in words, with what it was about where that says more."""
    data = data or {}
    if action == "delivery.alert" and data.get("alert"):
        return t("audit.delivery.alert_as", alert=label(t, ALERT, data["alert"],
                                                         fallback=t("audit.delivery.alert")))
    if action == "request.handover_chosen" and data.get("to"):
        return t("audit.request.handover_chosen_as", method=label(t, METHOD, data["to"]))
    return label(t, AUDIT, action, fallback=t("op.event"))


def provider_event(t: Translator, status: str, source: str, outcome: str) -> tuple[str, str]:
    """A provider's tracking event: its status in words, and how it came and what it did."""
    return (label(t, PROVIDER_STATUS, status),
            f"{label(t, EVENT_SOURCE, source)} · {label(t, EVENT_OUTCOME, outcome)}")


# Notes the system writes itself, with a raw value in them (older rows keep these).
_NOTES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^Penyedia: (?P<v>[a-z_]+)$"), "note.provider_status", PROVIDER_STATUS),
    (re.compile(r"^Dipilih: (?P<v>[a-z_]+)$"), "note.method_chosen", METHOD),
    (re.compile(r"^Dipilih otomatis \((?P<v>[a-z_]+)\)$"), "note.auto_chosen", CHOICE),
)
_PLACEHOLDER = {"note.provider_status": "status", "note.method_chosen": "method",
                "note.auto_chosen": "policy"}


def note(t: Translator, text: str | None) -> str | None:
    """A note for people: the system's own notes with their raw value put in words; what a
    person typed stays as it is."""
    if not text:
        return text
    for pattern, key, prefix in _NOTES:
        match = pattern.match(text)
        if match:
            return t(key, **{_PLACEHOLDER[key]: label(t, prefix, match["v"])})
    return text
