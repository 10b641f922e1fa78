"""Every event and state the code knows has a human label in Bahasa Indonesia and English.

The keys are taken from the code itself (enums, ``action="..."`` strings, ``raise_alert``
kinds), so a new one without a label fails here before anyone reads it raw on a page.
"""

import re
from pathlib import Path

import pytest

from core.models import HandoverMethod, RequestState, Role
from delivery.models import DeliveryState, EventOutcome, HandoverKind
from delivery.policy import ChoicePolicy
from providers.status import DeliveryStatus
from web import labels
from web.i18n import MESSAGES, Translator

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("core", "delivery", "providers", "workers", "web", "sipoke")
# Scan views are an access record of their own, not an audit action (only old rows had it).
NOT_AUDIT = {"request.upload_viewed", "store_true", "store_false", "append", "count"}


def _code() -> str:
    return "\n".join(path.read_text() for d in CODE_DIRS for path in (ROOT / d).rglob("*.py")
                     if "migrations" not in path.parts)


def audit_actions() -> set[str]:
    found = set(re.findall(r'\baction="([a-z_]+\.[a-z_]+)"', _code()))
    return found - NOT_AUDIT


def alert_kinds() -> set[str]:
    return set(re.findall(r'raise_alert\([^)]*?,\s*"([a-z_]+)"', _code(), flags=re.S))


def sources() -> set[str]:
    return set(re.findall(r'\bsource="([a-z_]+)"', _code()))


def all_keys() -> set[str]:
    keys = {labels.AUDIT + a for a in audit_actions()}
    keys |= {labels.ALERT + k for k in alert_kinds()}
    keys |= {labels.EVENT_SOURCE + s for s in sources()}
    keys |= {labels.REQUEST_STATE + s for s in RequestState}
    keys |= {labels.DELIVERY_STATE + s for s in DeliveryState}
    keys |= {labels.PROVIDER_STATUS + s for s in DeliveryStatus}
    keys |= {labels.ROLE + r for r in Role} | {labels.ROLE + labels.SYSTEM}
    keys |= {labels.EVENT_OUTCOME + o for o in EventOutcome}
    keys |= {labels.METHOD + m for m in HandoverMethod}
    keys |= {labels.HANDOVER_STEP + k for k in HandoverKind}
    keys |= {labels.CHOICE + c for c in ChoicePolicy}
    return keys


def test_the_code_is_scanned():
    # The scan finds what it should (a broken regex must not make the test pass vacuously).
    assert {"delivery.pin_wrong", "delivery.envelope_printed", "request.created",
            "delivery.alert"} <= audit_actions()
    assert {"pin_locked", "no_courier", "originals_leg_failed"} <= alert_kinds()
    assert {"webhook", "poll", "inhouse"} <= sources()


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_key_has_a_label(lang):
    missing = sorted(k for k in all_keys() if not MESSAGES[lang].get(k, "").strip())
    assert not missing, f"no {lang} label for: {missing}"


def test_labels_read_as_words_never_as_keys():
    t = Translator("id")
    assert labels.audit_action(t, "delivery.alert", {"alert": "pin_locked"}) == \
        "Peringatan: PIN terkunci"
    assert labels.audit_action(t, "request.handover_chosen", {"to": "delivery"}) == \
        "Cara penyerahan dipilih: Diantar kurir"
    assert labels.audit_action(t, "no.such_action") == "Kejadian"
    assert labels.role(t, None) == labels.role(t, "system") == "Sistem"
    assert labels.note(t, "Penyedia: searching_courier") == "Laporan penyedia: Mencari kurir"
    assert labels.note(t, "Dipilih: delivery") == "Dipilih: Diantar kurir"
    assert labels.note(t, "Dipilih otomatis (cheapest)") == \
        "Aturan kantor: Termurah otomatis"
    assert labels.note(t, "Alamat salah, pemohon pindah") == "Alamat salah, pemohon pindah"
    assert labels.provider_event(Translator("en"), "courier_assigned", "webhook", "stale") == (
        "Courier assigned", "provider notice · out of date, not applied")
