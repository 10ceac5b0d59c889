"""HTTP(S): directory listings, an exposed `.git/config` or `.env`, and the server banner."""

from __future__ import annotations

import re

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, http_get

_ENV_LINE = re.compile(rb"^\s*(?:export\s+)?([A-Z_][A-Z0-9_]{1,63})\s*=", re.MULTILINE)


def _check(ip: str, port: int, deadline: Deadline, tls: bool) -> Answer:
    root = http_get(ip, port, "/", deadline, tls)
    listing = root.status == 200 and b"<title>index of" in root.body.lower()
    git = http_get(ip, port, "/.git/config", deadline, tls)
    git_exposed = git.status == 200 and b"[core]" in git.body
    env = http_get(ip, port, "/.env", deadline, tls)
    env_keys = (
        [m.decode() for m in _ENV_LINE.findall(env.body)][:10]
        if env.status == 200 and b"<html" not in env.body[:512].lower()
        else []
    )
    proofs = []
    if listing:
        proofs.append("GET / → <title>Index of")
    if git_exposed:
        proofs.append("GET /.git/config → [core]")
    if env_keys:
        proofs.append("GET /.env → " + ", ".join(f"{k}=<redacted>" for k in env_keys[:3]))
    server = root.headers.get("server", "")
    return Answer(
        bool(proofs),
        "; ".join(proofs) or f"HTTP {root.status}",
        {
            "status": root.status,
            "server": server,
            "listing": listing,
            "git_exposed": git_exposed,
            "env_exposed": bool(env_keys),
            "env_keys": env_keys,
        },
    )


def check_http(ip: str, port: int, deadline: Deadline) -> Answer:
    return _check(ip, port, deadline, tls=False)


def check_https(ip: str, port: int, deadline: Deadline) -> Answer:
    try:
        return _check(ip, port, deadline, tls=True)
    except ServiceError as exc:
        raise ServiceError(f"HTTPS: {exc}") from None


HTTP = ServiceCheck(
    "http",
    check_http,
    ports=(80, 8000, 8080),
    names=("http", "http-alt", "http-proxy", "www"),
    reference=(
        "nuclei-templates: http/misconfiguration/directory-listing, "
        "http/exposures/configs/git-config, http/exposures/configs/laravel-env"
    ),
)
HTTPS = ServiceCheck(
    "https",
    check_https,
    ports=(443, 8443),
    names=("https", "ssl/http", "https-alt", "ssl/https"),
    reference=HTTP.reference,
)
