"""Settings: embedded defaults, nested provider keys, and a bad setting stopping start-up with
one line that names it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Environment, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPOKE_")}
    env.update({"SIPOKE_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(REPO)}, **extra)
    return env


def _sipoke(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sipoke.cli", *args], cwd=tmp_path,
                          env=_clean_env(tmp_path, **env), capture_output=True, text=True,
                          timeout=60, check=False)


def test_a_bad_setting_stops_start_up_with_one_line_naming_it(tmp_path: Path) -> None:
    result = _sipoke(tmp_path, "migrate", SIPOKE_PORT="abc")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sipoke: invalid setting SIPOKE_PORT")
    assert not (tmp_path / "var").exists()  # nothing was started or created


def test_production_without_a_secret_key_does_not_start(tmp_path: Path) -> None:
    result = _sipoke(tmp_path, "migrate", SIPOKE_ENV="production")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "SIPOKE_SECRET_KEY" in result.stderr


def test_undecodable_provider_settings_name_the_variable(tmp_path: Path) -> None:
    result = _sipoke(tmp_path, "migrate", SIPOKE_PROVIDERS="{not json")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "SIPOKE_PROVIDERS" in result.stderr


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A clean SIPOKE_* environment for load_settings()."""
    for key in list(os.environ):
        if key.startswith("SIPOKE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SIPOKE_VAR_DIR", str(tmp_path / "var"))
    return monkeypatch


def test_embedded_defaults_live_under_var(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = load_settings()
    var = (tmp_path / "var").as_posix()
    assert s.env is Environment.development
    assert s.database_url == f"sqlite:///{var}/sipoke.sqlite3"
    assert s.broker_url == f"sqla+sqlite:///{var}/broker.sqlite3"
    assert s.upload_dir == tmp_path / "var" / "uploads"
    assert (s.host, s.port, s.base_url) == ("127.0.0.1", 8000, "http://127.0.0.1:8000")
    assert s.is_sqlite and not s.broker_is_redis


def test_secret_is_generated_once_and_kept_private(env: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    s = load_settings()
    first = s.secret()
    assert len(first) >= 48
    path = tmp_path / "var" / "secret_key"
    assert path.read_text().strip() == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_settings().secret() == first  # the next start reads the same key


def test_production_requires_a_secret_key(env: pytest.MonkeyPatch) -> None:
    env.setenv("SIPOKE_ENV", "production")
    with pytest.raises(SettingsError, match="SIPOKE_SECRET_KEY"):
        load_settings()
    env.setenv("SIPOKE_SECRET_KEY", "a-long-production-secret-from-the-environment")
    assert load_settings().secret() == "a-long-production-secret-from-the-environment"


def test_nested_provider_keys(env: pytest.MonkeyPatch) -> None:
    env.setenv("SIPOKE_PROVIDERS__LALAMOVE__API_KEY", "pk_test_123")
    env.setenv("SIPOKE_PROVIDERS__LALAMOVE__MARKET", "ID")
    env.setenv("SIPOKE_PROVIDERS__GoSend__Base_Url", "https://sandbox.gosend.example")
    s = load_settings()
    assert s.providers["lalamove"] == {"api_key": "pk_test_123", "market": "ID"}
    assert s.provider("GOSEND") == {"base_url": "https://sandbox.gosend.example"}
    assert s.provider("biteship") == {}


def test_postgres_urls_use_psycopg3_and_other_schemes_are_refused(env: pytest.MonkeyPatch
                                                                  ) -> None:
    env.setenv("SIPOKE_DATABASE_URL", "postgresql://u:p@db:5432/sipoke")
    env.setenv("SIPOKE_BROKER_URL", "redis://redis:6379/0")
    s = load_settings()
    assert s.database_url == "postgresql+psycopg://u:p@db:5432/sipoke"
    assert s.broker_is_redis and not s.is_sqlite
    env.setenv("SIPOKE_DATABASE_URL", "mysql://u:p@db/sipoke")
    with pytest.raises(SettingsError, match="SIPOKE_DATABASE_URL"):
        load_settings()


@pytest.mark.parametrize(("name", "value"), [
    ("SIPOKE_PORT", "0"),
    ("SIPOKE_PORT", "70000"),
    ("SIPOKE_BASE_URL", "sipoke.example"),
    ("SIPOKE_BROKER_URL", "amqp://rabbit"),
    ("SIPOKE_NOTIFY_CHANNEL", "pigeon"),
    ("SIPOKE_OTP_TTL_SECONDS", "5"),
    ("SIPOKE_ENV", "staging"),
    ("SIPOKE_BROKER_KEY_PREFIX", "has space"),
])
def test_each_bad_value_is_named(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith(f"invalid setting {name}:")
    assert "\n" not in str(info.value)


def test_cross_field_rules(env: pytest.MonkeyPatch) -> None:
    env.setenv("SIPOKE_NOTIFY_CHANNEL", "http")
    with pytest.raises(SettingsError, match="SIPOKE_NOTIFY_GATEWAY_URL"):
        load_settings()
    env.setenv("SIPOKE_NOTIFY_GATEWAY_URL", "https://wa-gateway.example/send")
    env.setenv("SIPOKE_TASK_SOFT_TIME_LIMIT", "90")
    env.setenv("SIPOKE_TASK_TIME_LIMIT", "60")
    with pytest.raises(SettingsError, match="SIPOKE_TASK_TIME_LIMIT"):
        load_settings()


def test_base_url_loses_its_trailing_slash(env: pytest.MonkeyPatch) -> None:
    env.setenv("SIPOKE_BASE_URL", "https://layanan.mekarjaya.go.id/")
    assert load_settings().base_url == "https://layanan.mekarjaya.go.id"
