"""After go-live: drift alerts from the history, delivered to a real HTTP receiver and a
real SMTP server (aiosmtpd, STARTTLS required), against a real Redis opened between runs."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LISTENER_NETWORK, run_auditor
from tests.lab.lab import Lab, LabHost
from tests.lab.services import Redis, tls_pair
from tests.receivers import receiver as receive

SERVER_IP = f"{LISTENER_NETWORK}.84"
RECEIVER_IP = f"{LISTENER_NETWORK}.85"


@contextmanager
def receiver(status: int = 200, delay: float = 0.0) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver: records every POSTed JSON body, answers `status`."""
    with receive(RECEIVER_IP, status, delay=delay) as (url, seen):
        yield url, seen.bodies


def _inventory(path: Path) -> Path:
    path.write_text(
        f"version: 1\nscope: ['{SERVER_IP}/32']\nservers:\n  - name: web\n"
        f"    address: {SERVER_IP}\n    ports: '22,6379'\n    rules: [baseline]\n"
        "    change: {id: CHG-7001, approved: true, exposes: []}\n"
    )
    return path


def test_a_port_opened_after_go_live_alerts_exactly_once(tmp_path: Path) -> None:
    """Run 1 sets the baseline (GO, nothing sent); a Redis is then opened "for a test";
    run 2 alerts on the new finding and the GO → NO-GO; run 3 sends nothing."""
    inventory = _inventory(tmp_path / "inv.yaml")
    history = ["--history", str(tmp_path / "history.sqlite")]
    lab = Lab(tmp_path / "lab", LISTENER_NETWORK, (LabHost("web", 84, (Redis(),)),))
    if lab.missing():
        pytest.skip("; ".join(lab.missing()))
    with receiver() as (url, received):
        first = run_auditor("audit", str(inventory), *history, "--notify", url, "-f", "json")
        assert first.code == 0, first.stderr
        assert "baseline set, no alerts" in first.stderr and received == []
        lab.up()
        try:
            second = run_auditor("audit", str(inventory), *history, "--notify", url, "-f", "json")
            third = run_auditor("audit", str(inventory), *history, "--notify", url, "-f", "json")
        finally:
            lab.down()
    assert second.code == 1, second.stderr
    (sent,) = received  # run 2 only: run 3 found nothing new
    assert sent["format"] == "auditor-alert/1" and sent["heartbeat"] is False
    kinds = {(a["kind"], a.get("rule", "")) for a in sent["alerts"]}
    assert ("new-finding", "baseline.sensitive-port-undeclared") in kinds
    assert ("verdict", "") in kinds
    verdict = next(a for a in sent["alerts"] if a["kind"] == "verdict")
    assert verdict["before"] == "go" and verdict["after"] == "no-go"
    assert "auditor: alert: web: GO → NO-GO" in second.stderr
    assert third.code == 1 and "alert:" not in third.stderr


def test_a_failing_destination_is_an_error_and_exit_5(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path / "inv.yaml")
    history = ["--history", str(tmp_path / "history.sqlite")]
    with receiver(status=500) as (url, received):
        result = run_auditor(
            "audit", str(inventory), *history, "--alert-on", "any", "--heartbeat", "--notify", url
        )
    assert len(received) == 1  # it tried
    assert result.code == 5, result.stderr
    assert f"alert not delivered to http://{RECEIVER_IP}" in result.stderr
    assert "HTTP 500" in result.stderr


def test_a_receiver_that_never_answers_fails_within_the_bound(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path / "inv.yaml")
    listener = socket.socket()
    listener.bind((RECEIVER_IP, 0))
    listener.listen()  # accepts, never answers
    try:
        started = time.monotonic()
        result = run_auditor(
            "audit",
            str(inventory),
            "--history",
            str(tmp_path / "h.sqlite"),
            "--alert-on",
            "any",
            "--heartbeat",
            "--notify",
            f"http://{RECEIVER_IP}:{listener.getsockname()[1]}/hook",
        )
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert result.code == 5 and "timed out" in result.stderr.lower(), result.stderr
    assert elapsed < 30


def test_email_over_starttls_to_a_real_smtp_server(tmp_path: Path) -> None:
    """aiosmtpd with STARTTLS required; the auditor trusts the lab's certificate through
    SSL_CERT_FILE and logs in with the password from AUDITOR_SMTP_PASSWORD."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = tls_pair(tmp_path, RECEIVER_IP)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    messages: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            messages.append(envelope)
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and data.password == b"lab-smtp-pass"
        return AuthResult(success=ok)

    probe = socket.socket()
    probe.bind((RECEIVER_IP, 0))
    port = probe.getsockname()[1]  # aiosmtpd checks its own port once started: name one
    probe.close()
    controller = Controller(
        Handler(),
        hostname=RECEIVER_IP,
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        inventory = _inventory(tmp_path / "inv.yaml")
        result = run_auditor(
            "audit",
            str(inventory),
            "--history",
            str(tmp_path / "h.sqlite"),
            "--alert-on",
            "any",
            "--heartbeat",
            "--notify",
            f"smtp://auditor@{RECEIVER_IP}:{port}?to=ops@example.com,sec@example.com",
            env={"SSL_CERT_FILE": str(cert), "AUDITOR_SMTP_PASSWORD": "lab-smtp-pass"},
        )
    finally:
        controller.stop()
    assert result.code == 0, result.stderr
    (envelope,) = messages
    assert sorted(envelope.rcpt_tos) == ["ops@example.com", "sec@example.com"]
    assert b"heartbeat" in envelope.content and b"auditor-alert/1" in envelope.content
    assert "lab-smtp-pass" not in result.stderr


def test_notify_values_are_checked_before_probing(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path / "inv.yaml")
    for spec, expected in (
        ("http://example.com/hook", "plain http:// is allowed to a loopback address only"),
        ("smtp://mail.example.com", "needs a host and ?to="),
        ("env:AUDITOR_TEST_UNSET_HOOK", "AUDITOR_TEST_UNSET_HOOK is not set"),
    ):
        result = run_auditor("audit", str(inventory), "--notify", spec, "--no-history")
        assert result.code == 2 and expected in result.stderr, (spec, result.stderr)
    result = run_auditor("audit", str(inventory), "--alert-on", "new", "--no-history")
    assert result.code == 2 and "drop --no-history" in result.stderr
    result = run_auditor("audit", str(inventory), "--alert-on", "new", "--shard", "1/2")
    assert result.code == 2 and "a shard is part of one" in result.stderr


def test_a_secret_webhook_from_the_environment_never_shows(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path / "inv.yaml")
    with receiver(status=500) as (url, _):
        secret_url = url + "/T000/B000/very-secret-token"
        result = run_auditor(
            "audit",
            str(inventory),
            "--history",
            str(tmp_path / "h.sqlite"),
            "--alert-on",
            "any",
            "--heartbeat",
            "--notify",
            "env:AUDITOR_TEST_HOOK",
            env={**os.environ, "AUDITOR_TEST_HOOK": secret_url},
        )
    assert result.code == 5
    assert "env:AUDITOR_TEST_HOOK" in result.stderr
    assert "very-secret-token" not in result.stderr + result.stdout


def test_a_slack_compatible_webhook_gets_text(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path / "inv.yaml")
    with receiver() as (url, received):
        result = run_auditor(
            "audit",
            str(inventory),
            "--history",
            str(tmp_path / "h.sqlite"),
            "--alert-on",
            "any",
            "--heartbeat",
            "--notify",
            f"slack+{url}",
        )
    assert result.code == 0, result.stderr
    (message,) = received
    assert set(message) == {"text"}
    assert message["text"].startswith("server-auditor: no drift in ")
