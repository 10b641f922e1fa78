"""docker-compose.yml and the Dockerfile, checked without Docker: every command is one our CLI
accepts, every SIPOKE_* variable is a setting (and every setting is passed), healthchecks and
start-up order make sense."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings
from sipoke.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
APP_SERVICES = sorted(name for name, s in SERVICES.items() if "build" in s)
DICT_SETTINGS = {name for name, f in Settings.model_fields.items()
                 if str(f.annotation).startswith("dict")}


def _parses(argv: list[str]) -> None:
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"`sipoke {' '.join(argv)}` is not a valid command ({exc.code})")


def _setting_for(variable: str) -> str | None:
    name = variable.removeprefix("SIPOKE_").lower()
    head, _, rest = name.partition("__")
    if rest:  # nested: SIPOKE_PROVIDERS__LALAMOVE__API_KEY
        return head if head in DICT_SETTINGS and rest.count("__") <= 1 else None
    return name if name in Settings.model_fields else None


def test_the_expected_services_are_there() -> None:
    assert {"postgres", "redis", "migrate", "api", "worker", "dispatch-worker", "beat",
            "flower"} <= set(SERVICES)
    assert {"migrate", "api", "worker", "dispatch-worker", "beat"} <= set(APP_SERVICES)


def test_every_queue_has_a_worker_and_provider_calls_run_on_threads() -> None:
    from workers.celery_app import QUEUES

    consumed: dict[str, str] = {}
    for name in APP_SERVICES:
        args = build_parser().parse_args(SERVICES[name]["command"])
        if SERVICES[name]["command"][0] == "worker":
            for queue in args.queues.split(","):
                consumed[queue] = args.pool or "prefork"
    assert set(consumed) == set(QUEUES)
    # 32 bookings in flight waiting on providers, not 4 (bench B2).
    assert consumed["dispatch"] == "threads"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_commands_exist_in_the_cli(service: str) -> None:
    command = SERVICES[service]["command"]
    assert isinstance(command, list), "exec form, so signals reach the process"
    _parses(command)


def test_infrastructure_images_and_commands() -> None:
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["redis"]["image"].startswith("redis:")
    redis_cmd = SERVICES["redis"]["command"]
    assert redis_cmd[0] == "redis-server"
    assert redis_cmd[redis_cmd.index("--maxmemory-policy") + 1] == "noeviction"
    assert redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    flower = SERVICES["flower"]
    assert flower["command"][0] == "celery" and "flower" in flower["command"]
    assert "--broker=redis://redis:6379/0" in flower["command"]


def _all_environment() -> dict[str, dict[str, Any]]:
    return {name: s.get("environment") or {} for name, s in SERVICES.items()}


def test_every_sipoke_variable_is_a_setting() -> None:
    unknown = sorted(f"{service}: {var}" for service, env in _all_environment().items()
                     for var in env if var.startswith("SIPOKE_") and _setting_for(var) is None)
    assert not unknown, "not in core.settings.Settings:\n" + "\n".join(unknown)


def test_every_setting_is_passed_to_the_app_services() -> None:
    for service in APP_SERVICES:
        env = SERVICES[service]["environment"]
        given = {_setting_for(var) for var in env}
        # Free-form dict settings (providers, delivery) are passed key by key when used.
        missing = sorted(set(Settings.model_fields) - given - DICT_SETTINGS)
        assert not missing, (f"{service}: add these settings to x-sipoke-env in "
                             f"docker-compose.yml: {missing}")


def test_production_settings() -> None:
    env = SERVICES["api"]["environment"]
    assert env["SIPOKE_ENV"] == "production"
    assert env["SIPOKE_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["SIPOKE_DATABASE_URL"]
    assert env["SIPOKE_BROKER_URL"] == "redis://redis:6379/0"
    assert "?" in env["SIPOKE_SECRET_KEY"], "no default secret: compose must refuse to start"


def _healthcheck(service: str) -> str:
    test = SERVICES[service]["healthcheck"]["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL"), service
    return " ".join(test[1:]) if test[0] == "CMD" else test[1]


def test_healthchecks_are_sane() -> None:
    port = SERVICES["api"]["environment"]["SIPOKE_PORT"]
    assert f"127.0.0.1:{port}/healthz" in _healthcheck("api")
    assert f"{port}:{port}" in " ".join(SERVICES["api"]["ports"])
    assert _healthcheck("postgres").startswith("pg_isready")
    assert _healthcheck("redis") == "redis-cli ping"
    assert "inspect ping" in _healthcheck("worker")
    assert "workers.celery_app:app" in _healthcheck("worker")
    assert "/healthcheck" in _healthcheck("flower")
    for name, service in SERVICES.items():
        if name != "migrate":
            assert "healthcheck" in service, f"{name} needs a healthcheck"
            check = service["healthcheck"]
            assert re.fullmatch(r"\d+s", check["interval"]) and check["retries"] >= 1
    # The python one-liners must at least compile.
    for name in ("api", "beat"):
        test = SERVICES[name]["healthcheck"]["test"]
        compile(test[test.index("-c") + 1], f"{name}-healthcheck", "exec")


def test_start_up_order() -> None:
    for name, service in SERVICES.items():
        for target, spec in (service.get("depends_on") or {}).items():
            condition = spec["condition"]
            if condition == "service_completed_successfully":
                assert target == "migrate" and SERVICES[target]["restart"] == "no"
            else:
                assert condition == "service_healthy", f"{name} -> {target}"
                assert "healthcheck" in SERVICES[target], f"{name} waits on {target}"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker", "dispatch-worker", "beat"):
        deps = SERVICES[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name


def test_one_beat_and_shared_var_volume() -> None:
    assert "deploy" not in SERVICES["beat"] or SERVICES["beat"]["deploy"].get("replicas") == 1
    for name in ("api", "worker", "dispatch-worker", "beat"):
        assert any(v.endswith(":/app/var") for v in SERVICES[name]["volumes"]), name


# --- the Dockerfile -----------------------------------------------------------------------

DOCKERFILE = (REPO / "Dockerfile").read_text()


def _instruction(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines()
            if line.startswith(name + " ")]


def test_dockerfile_base_user_and_install() -> None:
    assert _instruction("FROM") == ["python:3.11-slim"]
    (user,) = _instruction("USER")
    assert user not in ("root", "0")
    assert "pip install" in DOCKERFILE
    assert "8000" in _instruction("EXPOSE")[0]
    assert "SIPOKE_VAR_DIR=/app/var" in DOCKERFILE


def test_dockerfile_entry_points_exist() -> None:
    import json

    entrypoint = json.loads(_instruction("ENTRYPOINT")[0])
    cmd = json.loads(_instruction("CMD")[0])
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint == ["sipoke"] and "sipoke" in scripts
    _parses(cmd)


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var"} <= ignored


def test_worker_healthcheck_is_a_shell_command_that_splits() -> None:
    assert shlex.split(_healthcheck("worker"))[0] == "celery"


def test_forwarded_headers_are_believed_only_through_the_setting() -> None:
    for service, env in _all_environment().items():
        # uvicorn's own variable would bypass SIPOKE_TRUSTED_PROXIES.
        assert "FORWARDED_ALLOW_IPS" not in env, service
    for service in APP_SERVICES:
        env = SERVICES[service]["environment"]
        assert env["SIPOKE_TRUSTED_PROXIES"] == "${SIPOKE_TRUSTED_PROXIES:-}"  # default: nobody
        # A secret: only ever from .env, never written in the file.
        assert env["SIPOKE_METRICS_TOKEN"] == "${SIPOKE_METRICS_TOKEN:-}"
    # The image starts uvicorn only through `sipoke api`, which passes the setting.
    assert "uvicorn" not in DOCKERFILE
