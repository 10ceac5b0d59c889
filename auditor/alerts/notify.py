"""Delivering alerts: a generic JSON webhook, a Slack-compatible webhook, e-mail over SMTP.

`--notify` takes one destination per use:
- `https://...` (or `http://` to a loopback address): a generic JSON webhook, POSTed the
  alert document (docs/monitoring.md); `AUDITOR_WEBHOOK_TOKEN`, when set, is sent as a
  bearer token;
- `slack+https://hooks.slack.com/...`: a Slack-compatible incoming webhook (`{"text": ...}`);
- `smtp://[user@]host[:port]?to=a@x,b@y[&from=auditor@x]`: e-mail, always over STARTTLS,
  the password from `AUDITOR_SMTP_PASSWORD`;
- `env:NAME`: the destination is the value of environment variable NAME, so that a webhook
  URL that is itself a secret never appears in a command line, a file or the history.

Delivery is bounded (10 s per destination) and a failure is never silent: it is returned,
printed and reflected in the exit status (5).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from auditor.alerts.drift import Alert
from auditor.errors import InputError

SECONDS = 10.0
ALERT_FORMAT = "auditor-alert/1"


@dataclass(frozen=True)
class Destination:
    kind: str
    """`webhook`, `slack` or `smtp`."""
    url: str
    shown: str
    """How messages name it: never a secret (no path of a webhook, no password)."""


def parse_destination(spec: str, environ: Mapping[str, str] = os.environ) -> Destination:
    """One `--notify` value, checked before anything is probed."""
    shown_spec = spec
    if spec.startswith("env:"):
        name = spec[4:]
        if not environ.get(name):
            raise InputError(
                f"--notify {spec}: environment variable {name} is not set",
                hint="export it with the destination (a webhook URL or smtp://...)",
            )
        spec = environ[name]
        shown_spec = f"env:{name}"
    kind = "webhook"
    url = spec
    if spec.startswith("slack+"):
        kind, url = "slack", spec[len("slack+") :]
    elif spec.startswith("smtp://"):
        kind = "smtp"
    parts = urlsplit(url)
    if kind == "smtp":
        if not parts.hostname or not parse_qs(parts.query).get("to"):
            raise InputError(
                f"--notify {shown_spec}: an SMTP destination needs a host and ?to=",
                hint="smtp://mail.example.com:587?to=ops@example.com",
            )
        return Destination(kind, url, f"smtp://{parts.hostname}:{parts.port or 587}")
    if parts.scheme == "https" and parts.hostname:
        return Destination(kind, url, _shown(shown_spec, parts.scheme, parts.netloc))
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return Destination(kind, url, _shown(shown_spec, parts.scheme, parts.netloc))
    raise InputError(
        f"--notify {shown_spec}: not an https:// webhook, slack+https://, or smtp:// URL",
        hint="plain http:// is allowed to a loopback address only",
    )


def _shown(spec: str, scheme: str, netloc: str) -> str:
    # A webhook's path is often its secret (Slack's is): name only its host.
    return spec if spec.startswith("env:") else f"{scheme}://{netloc.rpartition('@')[2]}/…"


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def document(
    alerts: Sequence[Alert], inventory: str, run_id: int, heartbeat: bool
) -> dict[str, Any]:
    return {
        "format": ALERT_FORMAT,
        "inventory": inventory,
        "run": run_id,
        "heartbeat": heartbeat and not alerts,
        "alerts": [a.to_dict() for a in alerts],
    }


def text(alerts: Sequence[Alert], inventory: str) -> str:
    if not alerts:
        return f"server-auditor: no drift in {inventory} (heartbeat)"
    lines = [f"server-auditor: {len(alerts)} change(s) in {inventory}"]
    lines += [f"- {a.summary}" for a in alerts]
    return "\n".join(lines)


def send(
    destination: Destination, payload: dict[str, Any], environ: Mapping[str, str] = os.environ
) -> str | None:
    """Deliver; None when delivered, else why not (one line)."""
    try:
        if destination.kind == "smtp":
            _smtp(destination, payload, environ)
        else:
            body: dict[str, Any] = payload
            if destination.kind == "slack":
                body = {"text": text(_alerts(payload), payload["inventory"])}
            # The bearer token belongs to the generic webhook it was made for; a Slack
            # webhook's secret is its URL, and it must never receive our token.
            token = (
                environ.get("AUDITOR_WEBHOOK_TOKEN", "") if destination.kind == "webhook" else ""
            )
            _post(destination.url, body, token)
    except urllib.error.HTTPError as exc:
        return f"{destination.shown}: HTTP {exc.code}"
    except http.client.HTTPException as exc:  # a malformed status line, a cut-off reply
        return f"{destination.shown}: {type(exc).__name__}: not an HTTP reply"
    except (urllib.error.URLError, OSError, smtplib.SMTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"{destination.shown}: {type(exc).__name__}: {str(reason)[:120]}"
    return None


def _alerts(payload: dict[str, Any]) -> list[Alert]:
    return [Alert(**a) for a in payload["alerts"]]


def _post(url: str, body: dict[str, Any], token: str) -> None:
    headers = {"Content-Type": "application/json", "User-Agent": "server-auditor"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # Only https:// (or http:// to loopback) URLs reach here: parse_destination checked.
    request = urllib.request.Request(  # noqa: S310
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with _OPENER.open(request, timeout=SECONDS) as response:
        if not 200 <= response.status < 300:
            raise ValueError(f"HTTP {response.status}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is a failed delivery, never followed: following turned the alert into a
    bodiless GET elsewhere, counted as delivered, with our bearer token sent along."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _smtp(destination: Destination, payload: dict[str, Any], environ: Mapping[str, str]) -> None:
    parts = urlsplit(destination.url)
    query = parse_qs(parts.query)
    recipients = [r for value in query["to"] for r in value.split(",") if r]
    sender = (query.get("from") or ["server-auditor@localhost"])[0]
    message = EmailMessage()
    message["From"], message["To"] = sender, ", ".join(recipients)
    count = len(payload["alerts"])
    message["Subject"] = (
        f"server-auditor: {count} change(s) in {payload['inventory']}"
        if count
        else f"server-auditor: heartbeat for {payload['inventory']}"
    )
    message.set_content(text(_alerts(payload), payload["inventory"]))
    message.add_attachment(json.dumps(payload, indent=2), subtype="json", filename="alerts.json")
    with smtplib.SMTP(parts.hostname or "", parts.port or 587, timeout=SECONDS) as smtp:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise smtplib.SMTPException("the server does not offer STARTTLS; refusing plain text")
        smtp.starttls(context=ssl.create_default_context())
        smtp.ehlo()
        if parts.username:
            smtp.login(unquote(parts.username), environ.get("AUDITOR_SMTP_PASSWORD", ""))
        smtp.send_message(message)
