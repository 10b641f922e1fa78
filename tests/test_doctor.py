"""`sipoke doctor` on a healthy deployment (a migrated database, a real broker, beat's
heartbeat) exits 0; on a broken one it names each problem in Indonesian, says what to do,
and exits 1. Real databases and brokers; only the outside world (providers, the message
gateway) is faked, with respx, for ``--reach``."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from core.settings import get_settings, reset_settings_cache
from sipoke import cli
from sipoke.doctor import stores
from sipoke.migrate import alembic_config, upgrade
from tests.conftest import REDIS_URL, missing_service
from workers.heartbeat import heartbeat, write_heartbeat

REPO = Path(__file__).resolve().parents[1]
GATEWAY = "https://gateway.test/send"
LALAMOVE_SANDBOX = "https://rest.sandbox.lalamove.com"


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """A healthy embedded deployment of its own under ``tmp_path``: a migrated SQLite
    database, the SQLite broker a worker would have created, a fresh heartbeat from the real
    beat task. ``configure(KEY=value, ...)`` changes its settings (None removes one)."""
    var = tmp_path / "var"
    database = f"sqlite:///{var / 'sipoke.sqlite3'}"
    broker = f"sqla+sqlite:///{var / 'broker.sqlite3'}"

    def configure(**values: object) -> None:
        for key, value in values.items():
            name = f"SIPOKE_{key.upper()}"
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, str(value))
        reset_settings_cache()

    configure(env="development", var_dir=var, database_url=database, broker_url=broker,
              secret_key=secrets.token_urlsafe(48))
    var.mkdir()
    upgrade(database)
    from kombu import Connection

    with Connection(broker) as conn:  # a worker's first queue creates the broker's tables
        conn.SimpleQueue("default").close()
    heartbeat()  # the task beat sends every minute, run here as a worker would
    yield configure
    reset_settings_cache()


def run(*args: str) -> tuple[int, str]:
    """``sipoke doctor ARGS`` in this process: its exit code and what it printed."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["doctor", *args])
    return code, out.getvalue()


def findings(*args: str) -> tuple[int, dict[str, list[dict]]]:
    code, text = run("--json", *args)
    by_area: dict[str, list[dict]] = {}
    for finding in json.loads(text):
        by_area.setdefault(finding["area"], []).append(finding)
    return code, by_area


def statuses(by_area: dict[str, list[dict]]) -> dict[str, list[str]]:
    return {area: [f["status"] for f in items] for area, items in by_area.items()}


# --- healthy -------------------------------------------------------------------------------


@pytest.mark.parametrize("broker", ["sqlite", "redis"])
def test_a_healthy_development_setup_passes(deployment, broker: str) -> None:
    if broker == "redis":
        if not REDIS_URL:
            missing_service("redis")
        deployment(broker_url=REDIS_URL)
    code, text = run()
    assert code == 0, text
    assert "GAGAL" not in text
    for line in ("OK          Basis data: Terhubung", "OK          Migrasi: Struktur basis data "
                 "sudah terbaru", "OK          Broker:", "OK          Beat: Beat dan worker hidup",
                 "OK          Kurir inhouse:", "OK          Kurir sandbox:",
                 "OK          Pemberitahuan: Kanal `console` (pengembangan)",
                 "OK          Disk unggahan:", "OK          Disk cadangan:"):
        assert line in text, text
    assert text.rstrip().endswith("0 gagal.")


def test_a_healthy_production_setup_passes_even_when_reaching_out(deployment) -> None:
    deployment(env="production", notify_channel="http", notify_gateway_url=GATEWAY,
               notify_gateway_token="gateway-token-0123456789",
               providers__sandbox__enabled="false", providers__lalamove__enabled="true",
               providers__lalamove__api_key="pk_test_doctor", providers__lalamove__api_secret=
               "sk_test_doctor")
    with respx.mock(assert_all_called=True) as outside:
        outside.get(LALAMOVE_SANDBOX).respond(404)  # any answer: the API is there
        outside.get(GATEWAY).respond(405)
        code, found = findings("--reach")
    assert code == 0, found
    assert all("fail" not in each for each in statuses(found).values())
    assert "Kurir sandbox" not in found  # switched off: nothing to say
    lalamove = [f["message"] for f in found["Kurir lalamove"]]
    assert lalamove[0] == "Lalamove aktif, pengaturan lengkap."
    assert lalamove[1].startswith(f"API {LALAMOVE_SANDBOX} menjawab (")
    assert found["Pemberitahuan"][1]["message"] == f"{GATEWAY} menjawab."
    assert found["Metrik"][0]["status"] == "warn"  # no SIPOKE_METRICS_TOKEN: alerts are blind


def test_nothing_is_called_outside_without_reach(deployment) -> None:
    deployment(providers__lalamove__enabled="true", providers__lalamove__api_key="pk_test_x",
               providers__lalamove__api_secret="sk_test_x")
    with respx.mock(assert_all_called=False) as outside:
        assert run()[0] == 0
    assert not outside.calls


# --- broken --------------------------------------------------------------------------------


def test_an_unreachable_database_fails(deployment) -> None:
    deployment(database_url="postgresql://sipoke:hunter2-secret@127.0.0.1:9/sipoke")
    code, text = run()
    assert code == 1
    assert "GAGAL       Basis data: Basis data tidak dapat dihubungi " \
           "(postgresql+psycopg://sipoke:***@127.0.0.1:9/sipoke)" in text
    assert "Yang perlu dilakukan: Pastikan server basis data berjalan" in text
    assert "hunter2-secret" not in text
    assert "Migrasi" not in text  # nothing to say about migrations of a database not reached


def test_a_database_file_that_is_not_there_is_not_created(deployment, tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "sipoke.sqlite3"
    deployment(database_url=f"sqlite:///{missing}")
    code, text = run()
    assert code == 1
    assert f"GAGAL       Basis data: Berkas basis data {missing} belum ada." in text
    assert "Jalankan `sipoke migrate`" in text
    assert not missing.exists() and not missing.parent.exists()


def test_a_database_never_migrated_fails(deployment, tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    create_engine(f"sqlite:///{empty}").connect().close()
    deployment(database_url=f"sqlite:///{empty}")
    code, found = findings()
    assert code == 1
    assert found["Basis data"][0]["status"] == "ok"
    (migrations,) = found["Migrasi"]
    assert migrations["status"] == "fail"
    assert migrations["message"] == "Basis data masih kosong: migrasi belum pernah dijalankan."
    assert migrations["action"].startswith("Jalankan `sipoke migrate`")


def test_a_database_behind_the_code_fails(deployment, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    script = ScriptDirectory.from_config(alembic_config(url))
    first = list(script.walk_revisions())[-1].revision
    if first in script.get_heads():
        pytest.skip("only one migration: no database can be behind")
    upgrade(url, first)
    deployment(database_url=url)
    code, found = findings()
    assert code == 1
    (migrations,) = found["Migrasi"]
    assert migrations["message"].startswith(f"Migrasi belum terbaru: basis data di {first}, "
                                            "program membutuhkan ")


def test_no_secret_key_in_production_fails_and_the_other_checks_still_run(deployment) -> None:
    deployment(env="production", secret_key=None, notify_channel="http",
               notify_gateway_url=GATEWAY)
    code, found = findings()
    assert code == 1
    (secret,) = found["Kunci rahasia"]
    assert secret["status"] == "fail"
    assert secret["message"].startswith("SIPOKE_SECRET_KEY belum diisi, padahal wajib di "
                                        "produksi")
    assert "64 karakter acak" in secret["action"]
    assert found["Basis data"][0]["status"] == "ok"  # the rest of the report is there
    assert found["Beat"][0]["status"] == "ok"


def test_a_placeholder_secret_key_fails_in_production(deployment) -> None:
    deployment(env="production", secret_key="change-me-to-64-random-characters",
               notify_channel="http", notify_gateway_url=GATEWAY)
    code, found = findings()
    assert code == 1
    assert found["Kunci rahasia"][0]["message"].startswith("SIPOKE_SECRET_KEY masih contoh")


def test_the_secret_key_missing_from_the_real_command_exits_non_zero(deployment) -> None:
    deployment(env="production", secret_key=None, notify_channel="http",
               notify_gateway_url=GATEWAY)
    done = subprocess.run([sys.executable, "-m", "sipoke.cli", "doctor"], cwd=REPO, env=dict(
        os.environ), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "GAGAL       Kunci rahasia: SIPOKE_SECRET_KEY belum diisi" in done.stdout
    assert "Perbaiki yang GAGAL, lalu jalankan `sipoke doctor` lagi." in done.stdout


def test_missing_provider_credentials_fail(deployment) -> None:
    deployment(providers__lalamove__enabled="true", providers__gosend__enabled="true",
               providers__gosend__client_id="gosend-client")
    code, found = findings()
    assert code == 1
    (lalamove,) = found["Kurir lalamove"]
    assert lalamove["status"] == "fail"
    assert lalamove["message"].startswith("Pengaturan tidak lengkap atau salah: ")
    assert "API_KEY / API_SECRET" in lalamove["message"]
    assert "SIPOKE_PROVIDERS__LALAMOVE__ENABLED=false" in lalamove["action"]
    assert found["Kurir gosend"][0]["status"] == "fail"
    assert found["Kurir sandbox"][0]["status"] == "ok"  # one bad provider hides no other


def test_an_unreachable_provider_fails_only_when_asked(deployment) -> None:
    deployment(providers__lalamove__enabled="true", providers__lalamove__api_key="pk_test_x",
               providers__lalamove__api_secret="sk_test_x", providers__sandbox__enabled="false")
    with respx.mock() as outside:
        outside.get(LALAMOVE_SANDBOX).mock(side_effect=httpx.ConnectError("refused"))
        assert run()[0] == 0
        code, found = findings("--reach")
    assert code == 1
    reached = found["Kurir lalamove"][1]
    assert reached["message"] == f"API {LALAMOVE_SANDBOX} tidak dapat dihubungi: ConnectError."
    assert "SIPOKE_PROVIDERS__LALAMOVE__BASE_URL" in reached["action"]


def test_an_unreachable_broker_fails(deployment) -> None:
    deployment(broker_url="redis://:broker-pw@127.0.0.1:9/0")
    code, found = findings()
    assert code == 1
    (broker,) = found["Broker"]
    assert broker["message"].startswith("Redis tidak dapat dihubungi (redis://:**@127.0.0.1:9/0)")
    assert "broker-pw" not in json.dumps(found)


def test_a_stale_or_missing_heartbeat_means_beat_is_not_running(deployment) -> None:
    write_heartbeat(get_settings(), datetime.now(UTC) - timedelta(minutes=10))
    code, found = findings()
    assert code == 1
    assert found["Beat"][0]["message"].startswith("Tanda hidup terakhir dari beat 10 menit "
                                                  "yang lalu")
    assert "`sipoke beat`" in found["Beat"][0]["action"]
    (get_settings().var_dir / "beat-heartbeat").unlink()
    assert findings()[1]["Beat"][0]["message"].startswith("Belum ada tanda hidup dari beat")


def test_the_console_channel_fails_in_production(deployment) -> None:
    deployment(env="production")
    code, found = findings()
    assert code == 1
    (channel,) = found["Pemberitahuan"]
    assert channel["message"].startswith("Kanal `console` di produksi: pesan ke warga")
    assert "SIPOKE_NOTIFY_CHANNEL=http" in channel["action"]


def test_too_little_free_disk_fails(deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stores, "DISK_FAIL_BYTES", 1 << 62)  # more than any disk has free
    code, found = findings()
    assert code == 1
    for area in ("Disk unggahan", "Disk cadangan"):
        assert found[area][0]["message"].startswith("Sisa ruang untuk ")
        assert "Kosongkan disk" in found[area][0]["action"]


def test_invalid_settings_are_reported_not_raised(deployment) -> None:
    deployment(port="not-a-port")
    code, text = run()
    assert code == 1
    assert "GAGAL       Pengaturan: Pengaturan tidak valid, aplikasi tidak mau berjalan: " \
           "SIPOKE_PORT" in text
