"""HTTP(S): directory listings, an exposed `.git/config` or `.env`, and the server banner."""

from __future__ import annotations

import re

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import ServiceError, http_get

_ENV_LINE = re.compile(rb"^\s*(?:export\s+)?([A-Z_][A-Z0-9_]{1,63})\s*=", re.MULTILINE)

# What the index pages of common servers say (lower-cased bytes), from their sources:
LISTING_SIGNATURES: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    # Apache mod_autoindex, nginx autoindex, lighttpd mod_dirlisting, Node http-server
    ("index of", re.compile(rb"<title>\s*index of\s")),
    ("index of", re.compile(rb"<h1>\s*index of\s")),
    # Python http.server: "Directory listing for /"
    ("directory listing for", re.compile(rb"<title>\s*directory listing for\s")),
    # Tomcat DefaultServlet: "Directory Listing For [/]"; Jetty: "Directory: /"
    ("directory listing for", re.compile(rb"<h1>\s*directory listing for\s")),
    ("directory:", re.compile(rb"<title>\s*directory:\s*/")),
    # IIS directory browsing
    ("[to parent directory]", re.compile(rb"\[to parent directory\]")),
    # Caddy file_server browse, vercel's serve ("Files within /")
    ("caddy browse", re.compile(rb"<title>\s*/[^<]*</title>.*caddy", re.DOTALL)),
    ("files within", re.compile(rb"<title>\s*files within\s")),
)


def listing_signature(body: bytes) -> str | None:
    """Which directory-listing signature an HTML body matches, if any."""
    lower = body[:65536].lower()
    return next((name for name, pattern in LISTING_SIGNATURES if pattern.search(lower)), None)


def _check(ip: str, port: int, deadline: Deadline, tls: bool) -> Answer:
    root = http_get(ip, port, "/", deadline, tls)
    signature = listing_signature(root.body) if root.status == 200 else None
    listing = signature is not None
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
        proofs.append(f"GET / → directory listing ({signature})")
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
        "nuclei-templates: http/miscellaneous/directory-listing, "
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
