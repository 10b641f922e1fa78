"""The README's API walkthrough works as written: its ``curl`` commands are read from the
README and run in order against the app (demo data, the live sandbox courier provider), the
shell variables they set (``TOKEN=$(curl ... | jq -r .access_token)``) feeding the next ones.

Two things stand in for what a person does by hand: the sign-in code is read from the console
notification channel in place of ``123456``, and the files named with ``-F file=@...`` are
demo scans (PNG) and a demo signed document (PDF). The outbox is drained before each command,
as ``make run``'s worker would have done meanwhile.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest

from core.requests.demo import DEMO_PDF, demo_png
from tests.delivery.conftest import (  # noqa: F401 - fixtures shared with the delivery tests
    installed,
    providers_env,
    sandbox_server,
)
from tests.fixtures import drain_outbox
from tests.test_readme import _section

ASSIGNMENT = re.compile(r"^([A-Z_][A-Z0-9_]*)=\$\((.*)\)$", re.S)
VARIABLE = re.compile(r"\$\{?([A-Z_][A-Z0-9_]*)\}?")
OTP_PLACEHOLDER = "123456"


def walkthrough_commands() -> list[str]:
    """Every shell command of the section, line continuations joined."""
    blocks = re.findall(r"```sh\n(.*?)```", _section("API walkthrough"), re.S)
    commands: list[str] = []
    for block in blocks:
        joined = re.sub(r"\\\n\s*", " ", block)
        commands += [line.strip() for line in joined.splitlines()
                     if line.strip() and not line.lstrip().startswith("#")]
    return commands


def jq(value: Any, program: str) -> Any:
    """The few ``jq -r`` filters the README uses: ``.a``, ``.a[0].b``."""
    for name, index in re.findall(r"\.([A-Za-z_]\w*)|\[(\d+)\]", program):
        value = value[name] if name else value[int(index)]
    return value


def _file(name: str) -> tuple[str, bytes, str]:
    if name.endswith(".pdf"):
        return name, DEMO_PDF, "application/pdf"
    assert name.endswith(".png"), f"no stand-in for the walkthrough's file {name}"
    return name, demo_png("scan"), "image/png"


def parse_curl(argv: list[str]) -> dict[str, Any]:
    assert argv and argv[0] == "curl", argv
    method, url, headers, body = None, None, {}, None
    form: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            key, _, value = next(args).partition(":")
            headers[key.strip()] = value.strip()
        elif arg == "-d":
            body = next(args)
        elif arg == "-F":
            key, _, value = next(args).partition("=")
            if value.startswith("@"):
                files[key] = _file(value[1:])
            else:
                form[key] = value
        else:
            assert not arg.startswith("-"), f"curl option the test does not know: {arg}"
            url = arg
    assert url and url.startswith("localhost:8000/"), url
    return {"method": method or ("POST" if body or form or files else "GET"),
            "path": url.removeprefix("localhost:8000"), "headers": headers,
            "content": body, "data": form or None, "files": files or None}


def test_the_walkthrough_covers_sign_in_upload_and_delivery() -> None:
    text = " ".join(walkthrough_commands())
    for step in ("/auth/otp/verify", "Authorization: Bearer $TOKEN", "/uploads",
                 "-F file=@", "/api/v1/deliveries", "/choose"):
        assert step in text, step


@pytest.mark.usefixtures("demo", "providers_env", "installed")
def test_the_readme_walkthrough_runs(client, read_otp):
    variables: dict[str, str] = {}
    answers: list[str] = []
    for command in walkthrough_commands():
        drain_outbox()  # the worker of `make run`: codes sent, quotes asked, bookings made
        target, program = None, None
        assignment = ASSIGNMENT.match(command)
        if assignment:
            target, command = assignment.groups()
            command, _, filter_ = command.rpartition("|")
            jq_argv = shlex.split(filter_)
            assert jq_argv[:2] == ["jq", "-r"], filter_
            program = jq_argv[2]
        for name in VARIABLE.findall(command):
            assert name in variables, f"${name} is used before it is set: {command}"
        command = VARIABLE.sub(lambda m: variables[m.group(1)], command)
        request = parse_curl(shlex.split(command))
        if request["path"] == "/api/v1/auth/otp/verify":
            body = json.loads(request["content"])
            assert body["code"] == OTP_PLACEHOLDER, body
            body["code"] = read_otp("+62" + body["phone"].removeprefix("0"))
            request["content"] = json.dumps(body)
        response = client.request(request.pop("method"), request.pop("path"), **request)
        answers.append(f"{command[:100]} -> {response.status_code}")
        assert response.status_code < 400, "\n".join(answers) + "\n" + response.text
        if target:
            value = jq(response.json(), program)
            assert value, f"{target}: {program} found nothing in {response.text}"
            variables[target] = str(value)

    assert set(variables) >= {"TOKEN", "REQUEST", "STAFF", "DELIVERY", "QUOTE"}
    drain_outbox()
    delivery = client.get(f"/api/v1/deliveries/{variables['DELIVERY']}",
                          headers={"Authorization": f"Bearer {variables['TOKEN']}"}).json()
    # The quote was taken and booked with its courier company.
    assert delivery["provider"] and delivery["state"] not in {"quoting", "awaiting_choice"}, \
        delivery
