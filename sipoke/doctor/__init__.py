"""``sipoke doctor``: is this deployment able to serve? Each check says, in plain Indonesian,
what it found and what to do about it.

A check takes the settings and the options and yields :class:`Finding` objects: ``ok``,
``warn`` (works, but look at it) or ``fail`` (something residents or staff will notice). The
command exits non-zero when any check fails. Nothing here changes the deployment: no file is
created, no table migrated, no message sent; the outside world (providers, the message
gateway) is called only with ``--reach``, and then only with a plain GET.
"""

from __future__ import annotations

from sipoke.doctor.config import (
    check_metrics,
    check_notifications,
    check_providers,
    check_secret_key,
    load_settings_for_doctor,
)
from sipoke.doctor.findings import Check, Finding, Options, Status, error_text, fail
from sipoke.doctor.stores import check_beat, check_broker, check_database, check_disk

__all__ = ["CHECKS", "Finding", "Options", "Status", "diagnose", "run_checks"]

CHECKS: list[Check] = [check_secret_key, check_database, check_broker, check_beat,
                       check_providers, check_notifications, check_metrics, check_disk]


def run_checks(settings, options: Options) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings.extend(check(settings, options))
        except Exception as exc:  # one broken check must not hide the others
            findings.append(fail(check.__name__.removeprefix("check_"),
                                 f"Pemeriksaan ini sendiri gagal: {error_text(exc)}",
                                 "Laporkan ke pengembang beserta keluaran ini."))
    return findings


def diagnose(options: Options) -> list[Finding]:
    settings, findings = load_settings_for_doctor()
    if settings is not None:
        findings += run_checks(settings, options)
    return findings
