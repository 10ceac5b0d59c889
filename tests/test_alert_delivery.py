"""Issue 24 #10-#13: alerts that are lost, misdirected or leak a token.

Real HTTP receivers on loopback (Python's http.server), a raw socket answering a malformed
status line, and a real Redis opened between runs."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LISTENER_NETWORK, run_auditor
from tests.lab.lab import Lab, LabHost
from tests.lab.services import Redis
from tests.receivers import Seen
from tests.receivers import receiver as receive

SERVER_IP = f"{LISTENER_NETWORK}.87"
RECEIVER_IP = f"{LISTENER_NETWORK}.88"
TOKEN = "token-for-the-webhook-only"


@contextmanager
def receiver(status: int = 200, location: str = "") -> Iterator[tuple[str, Seen]]:
    with receive(RECEIVER_IP, status, location=location) as (url, seen):
        yield url, seen


def _inventory(path: Path) -> Path:
    path.write_text(
        f"version: 1\nscope: ['{SERVER_IP}/32']\nservers:\n  - name: web\n"
        f"    address: {SERVER_IP}\n    ports: '6379'\n    rules: [baseline]\n"
        "    change: {id: CHG-7002, approved: true, exposes: []}\n"
    )
    return path


def _heartbeat(tmp_path: Path, destination: str) -> Any:
    return run_auditor(
        "audit", str(_inventory(tmp_path / "inv.yaml")),
        "--history", str(tmp_path / "h.sqlite"), "--alert-on", "any", "--heartbeat",
        "--notify", destination, env={"AUDITOR_WEBHOOK_TOKEN": TOKEN},
    )  # fmt: skip


def test_a_redirect_is_a_failed_delivery_and_never_followed(tmp_path: Path) -> None:
    """On main a 302 was followed: a bodiless GET elsewhere, counted as delivered, with
    the bearer token sent to the redirect target."""
    with receiver() as (elsewhere, other), receiver(302, location=elsewhere) as (url, first):
        result = _heartbeat(tmp_path, url)
    assert result.code == 5, result.stderr
    assert "HTTP 302" in result.stderr
    assert len(first.requests) == 1 and first.requests[0]["method"] == "POST"
    assert other.requests == []  # nothing, and no token, reached the redirect target


def test_the_token_goes_to_the_generic_webhook_only(tmp_path: Path) -> None:
    with receiver() as (url, seen):
        (tmp_path / "slack").mkdir()
        (tmp_path / "webhook").mkdir()
        slack = _heartbeat(tmp_path / "slack", f"slack+{url}")
        webhook = _heartbeat(tmp_path / "webhook", url)
    assert slack.code == 0 and webhook.code == 0, slack.stderr + webhook.stderr
    to_slack, to_webhook = seen.requests
    assert "Authorization" not in to_slack["headers"]
    assert set(to_slack["body"]) == {"text"}
    assert to_webhook["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_a_malformed_status_line_is_exit_5_not_a_crash(tmp_path: Path) -> None:
    """On main: BadStatusLine escaped as an internal error (exit 4)."""
    listener = socket.socket()
    listener.bind((RECEIVER_IP, 0))
    listener.listen()

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 OK-ish\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    try:
        result = _heartbeat(tmp_path, f"http://{RECEIVER_IP}:{listener.getsockname()[1]}/h")
    finally:
        listener.close()
    assert result.code == 5, result.stderr
    assert "alert not delivered" in result.stderr and "internal error" not in result.stderr


def test_alerts_lost_to_a_failed_delivery_are_sent_by_the_next_run(tmp_path: Path) -> None:
    """On main the findings were marked alerted before delivery: after an exit 5, the next
    healthy run sent nothing, so the Redis opened after go-live was never alerted."""
    inventory = _inventory(tmp_path / "inv.yaml")
    history = ["--history", str(tmp_path / "history.sqlite")]
    lab = Lab(tmp_path / "lab", LISTENER_NETWORK, (LabHost("web", 87, (Redis(),)),))
    if lab.missing():
        pytest.skip("; ".join(lab.missing()))
    with receiver() as (url, seen):
        baseline = run_auditor("audit", str(inventory), *history, "--notify", url)
        assert baseline.code == 0, baseline.stderr
        lab.up()
        try:
            with receiver(500) as (broken, _):
                lost = run_auditor("audit", str(inventory), *history, "--notify", broken)
            retried = run_auditor("audit", str(inventory), *history, "--notify", url)
            quiet = run_auditor("audit", str(inventory), *history, "--notify", url)
        finally:
            lab.down()
    assert lost.code == 5, lost.stderr
    assert retried.code == 1, retried.stderr
    (sent,) = [r["body"] for r in seen.requests]  # the retry only; the quiet run sent nothing
    kinds = {(a["kind"], a.get("rule", "")) for a in sent["alerts"]}
    assert ("new-finding", "baseline.sensitive-port-undeclared") in kinds
    assert ("verdict", "") in kinds  # GO → NO-GO, against the last delivered baseline
    assert quiet.code == 1 and "alert:" not in quiet.stderr
