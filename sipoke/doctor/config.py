"""Checks of the configuration: the settings themselves and the secret key, the courier
providers, the notification channel and the metrics token. Only ``--reach`` goes out to the
network, with a plain GET."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr

from core.settings import Environment, NotificationChannelName, Settings, SettingsError
from sipoke.doctor.findings import Finding, Options, error_text, fail, ok, reach, warn

MIN_SECRET_LENGTH = 32
# Values copied from the README or the tests instead of a real secret.
PLACEHOLDER_SECRETS = ("change-me", "changeme", "not-for-production", "example", "secret-key")


# --- settings and the secret key ------------------------------------------------------------

KEY_AREA = "Kunci rahasia"
KEY_ADVICE = (
    "Isi SIPOKE_SECRET_KEY dengan 64 karakter acak, misalnya keluaran "
    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`. Jika NIK sudah tersimpan, "
    "jangan pernah mengganti kuncinya: pakai kunci yang lama (di pengembangan ada di "
    "var/secret_key).")


def load_settings_for_doctor() -> tuple[Settings | None, list[Finding]]:
    """The settings, or the findings that explain why they cannot be loaded. A missing secret
    key in production is reported and the other checks still run."""
    from core.settings import get_settings, load_settings

    try:
        return get_settings(), []
    except SettingsError as exc:
        detail = str(exc).removeprefix("invalid setting ")
    if "SIPOKE_SECRET_KEY is required" in detail:
        missing = fail(KEY_AREA, "SIPOKE_SECRET_KEY belum diisi, padahal wajib di produksi "
                       "(SIPOKE_ENV=production): tanpa kunci ini NIK tidak bisa dienkripsi dan "
                       "aplikasi tidak mau berjalan.", KEY_ADVICE)
        try:  # the same settings with a stand-in key, only to run the other checks
            return load_settings(secret_key=SecretStr("doctor-stand-in")), [missing]
        except SettingsError as again:
            detail = str(again).removeprefix("invalid setting ")
            return None, [missing, _settings_failure(detail)]
    return None, [_settings_failure(detail)]


def _settings_failure(detail: str) -> Finding:
    return fail("Pengaturan", f"Pengaturan tidak valid, aplikasi tidak mau berjalan: {detail}",
                "Perbaiki variabel lingkungan yang disebut (lihat tabel Configuration di "
                "README), lalu jalankan `sipoke doctor` lagi. Pemeriksaan lain menunggu "
                "pengaturan ini benar.")


def check_secret_key(settings: Settings, options: Options) -> Iterator[Finding]:
    if settings.secret_key is None:
        where = settings.var_dir / "secret_key"
        note = "sudah dibuat" if where.exists() else "akan dibuat saat aplikasi pertama jalan"
        yield ok(KEY_AREA, f"Kunci pengembangan otomatis di {where} ({note}); di produksi "
                 "wajib SIPOKE_SECRET_KEY.")
        return
    value = settings.secret_key.get_secret_value()
    if value == "doctor-stand-in":  # already reported by load_settings_for_doctor
        return
    weak = len(value) < MIN_SECRET_LENGTH or any(p in value.lower() for p in PLACEHOLDER_SECRETS)
    if weak and settings.env is Environment.production:
        yield fail(KEY_AREA, "SIPOKE_SECRET_KEY masih contoh atau terlalu pendek "
                   f"(kurang dari {MIN_SECRET_LENGTH} karakter acak).", KEY_ADVICE)
    elif weak:
        yield warn(KEY_AREA, "SIPOKE_SECRET_KEY masih contoh atau pendek; cukup untuk "
                   "pengembangan, tidak untuk produksi.", KEY_ADVICE)
    else:
        yield ok(KEY_AREA, "SIPOKE_SECRET_KEY terisi.")


# --- providers, notifications, metrics ------------------------------------------------------

def check_providers(settings: Settings, options: Options) -> Iterator[Finding]:
    from pydantic import ValidationError

    from providers.registry import get_adapter, installed, settings_error_text

    enabled = []
    for name in installed():
        area = f"Kurir {name}"
        env = f"SIPOKE_PROVIDERS__{name.upper()}__"
        try:
            adapter = get_adapter(name, settings.providers)
        except ValidationError as exc:
            yield fail(area, f"Pengaturan tidak lengkap atau salah: "
                       f"{settings_error_text(name, exc)}",
                       f"Lengkapi variabel {env}… yang disebut (README, bagian Providers), "
                       f"atau matikan dengan {env}ENABLED=false.")
            continue
        except Exception as exc:
            yield fail(area, f"Adapter tidak dapat dimuat: {error_text(exc)}",
                       "Periksa pemasangan paket adapter ini, atau hapus pengaturannya.")
            continue
        with adapter:
            if adapter.settings.enabled:
                enabled.append(name)
                yield from _check_provider(settings, options, adapter, area, env)
    if not enabled:
        yield warn("Kurir", "Tidak ada penyedia kurir yang aktif: warga hanya bisa mengambil "
                   "dokumen di kantor.", "Aktifkan minimal satu penyedia, misalnya "
                   "SIPOKE_PROVIDERS__INHOUSE__ENABLED=true (kurir kantor sendiri).")


def _check_provider(settings: Settings, options: Options, adapter: Any, area: str,
                    env: str) -> Iterator[Finding]:
    title = f"{adapter.display_name} aktif"
    if adapter.name == "sandbox" and settings.env is Environment.production:
        yield warn(area, f"{title}: ini kurir simulasi, warga bisa memilih kurir palsu.",
                   f"Jika ini bukan server uji, set {env}ENABLED=false.")
    elif adapter.capabilities.webhooks and not adapter.webhooks_configured():
        yield warn(area, f"{title}, tetapi rahasia webhook belum diisi: webhook ditolak (404) "
                   "dan status hanya diketahui lewat polling, lebih lambat.",
                   "Isi rahasia webhook penyedia ini (README, bagian Providers).")
    else:
        yield ok(area, f"{title}, pengaturan lengkap.")
    if not options.reach:
        return
    conf = adapter.settings
    url = getattr(conf, "url", None) or conf.base_url
    if not url:
        return  # no network involved (the office's own couriers)
    started = time.perf_counter()
    problem = reach(url, connect=conf.connect_timeout, read=conf.read_timeout)
    if problem:
        yield fail(area, f"API {url} tidak dapat dihubungi: {problem}.",
                   f"Periksa koneksi internet, DNS dan firewall server ini, serta {env}BASE_URL.")
    else:
        ms = round((time.perf_counter() - started) * 1000)
        yield ok(area, f"API {url} menjawab ({ms} ms).")


def check_notifications(settings: Settings, options: Options) -> Iterator[Finding]:
    area = "Pemberitahuan"
    channel = settings.notify_channel
    use_gateway = ("Set SIPOKE_NOTIFY_CHANNEL=http dan SIPOKE_NOTIFY_GATEWAY_URL (gateway "
                   "WhatsApp/SMS), atau kanal whatsapp.")
    if channel is NotificationChannelName.console:
        if settings.env is Environment.production:
            yield fail(area, "Kanal `console` di produksi: pesan ke warga (kode masuk, PIN "
                       "serah terima, kode ambil) tidak terkirim, hanya dicatat tanpa isinya.",
                       use_gateway)
        else:
            yield ok(area, "Kanal `console` (pengembangan): pesan, termasuk kode masuk, tampil "
                     "di log terminal.")
        return
    url: str | None = None
    if channel is NotificationChannelName.http:
        url = settings.notify_gateway_url
        if settings.notify_gateway_token is None:
            yield warn(area, f"Gateway {url} dipakai tanpa token (SIPOKE_NOTIFY_GATEWAY_TOKEN).",
                       "Isi SIPOKE_NOTIFY_GATEWAY_TOKEN jika gateway memintanya.")
        else:
            yield ok(area, f"Kanal `http`: gateway {url}.")
    elif channel.value == "whatsapp":
        url = getattr(settings, "whatsapp_api_url", None)
        if not getattr(settings, "whatsapp_app_secret", None):
            yield warn(area, "Kanal WhatsApp tanpa SIPOKE_WHATSAPP_APP_SECRET: laporan "
                       "terkirim/gagal dari WhatsApp tidak dapat diperiksa.",
                       "Isi SIPOKE_WHATSAPP_APP_SECRET dari pengaturan aplikasi Meta.")
        else:
            yield ok(area, "Kanal WhatsApp (Cloud API) terisi.")
    else:
        yield ok(area, f"Kanal `{channel.value}`.")
    if options.reach and url:
        problem = reach(url)
        if problem:
            yield fail(area, f"{url} tidak dapat dihubungi: {problem}.",
                       "Periksa koneksi server ini ke layanan pesan dan alamatnya.")
        else:
            yield ok(area, f"{url} menjawab.")


def check_metrics(settings: Settings, options: Options) -> Iterator[Finding]:
    if settings.env is Environment.production and settings.metrics_token is None:
        yield warn("Metrik", "SIPOKE_METRICS_TOKEN kosong: /metrics tidak dilayani di produksi, "
                   "jadi Prometheus dan aturan peringatan (deploy/prometheus/alerts.yml) buta.",
                   "Isi SIPOKE_METRICS_TOKEN (minimal 16 karakter) dan beri token yang sama "
                   "ke Prometheus (README, bagian Metrics).")
