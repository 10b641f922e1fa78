"""The production stack can make its backups: the image carries a pg_dump that accepts the
compose stack's PostgreSQL (pg_dump refuses a server newer than itself), and the nightly backup
is on and lands in the shared var volume."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SERVICES = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_the_image_has_the_postgresql_client_of_the_compose_server() -> None:
    server = re.fullmatch(r"postgres:(\d+)(?:[.-].*)?", SERVICES["postgres"]["image"])
    client = re.search(r"^ARG PG_CLIENT_MAJOR=(\d+)$", DOCKERFILE, re.M)
    assert server and client, "the postgres image or the Dockerfile's PG_CLIENT_MAJOR moved"
    assert client.group(1) == server.group(1)
    assert 'postgresql-client-${PG_CLIENT_MAJOR}' in DOCKERFILE


def test_nightly_backups_are_on_and_kept_in_the_var_volume() -> None:
    for name in ("worker", "beat"):
        env = SERVICES[name]["environment"]
        assert env["SIPOKE_BACKUP_NIGHTLY"] == "${SIPOKE_BACKUP_NIGHTLY:-true}", name
        assert env["SIPOKE_BACKUP_DIR"].startswith(env["SIPOKE_VAR_DIR"] + "/"), name
        assert any(v.endswith(":/app/var") for v in SERVICES[name]["volumes"]), name
