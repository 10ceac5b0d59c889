"""Every Cloud Storage call the auditor makes, each read-only, bounded and failing closed.

The client library retries a refused connection for two minutes by default; here every call
has a timeout and no retry, so a probe ends within its deadline. A denied, throttled or
unreachable call becomes a `GcpCallError` that names the call and the IAM permission it
needs (docs/gcp.md lists them: a custom role with exactly these).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from auditor.cloud.gcp.settings import GcpSettings
from auditor.probes.deadline import Deadline

CALL_SECONDS = 20.0
READ_ONLY_CALLS: dict[str, str] = {
    "buckets.list": "storage.buckets.list",
    "buckets.get": "storage.buckets.get",
    "buckets.getIamPolicy": "storage.buckets.getIamPolicy",
}
"""Every call the auditor may make, and the permission it needs: Get and List only."""
READ_ONLY_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"

T = TypeVar("T")


class GcpCallError(Exception):
    """A call that did not answer: denied, throttled, unreachable or malformed."""


def make_client(settings: GcpSettings) -> Any:
    """A storage client: ADC with the read-only scope, or none at all for an emulator."""
    from google.api_core.client_options import ClientOptions
    from google.auth import default
    from google.auth.credentials import AnonymousCredentials
    from google.auth.exceptions import GoogleAuthError
    from google.cloud import storage  # type: ignore[import-untyped]

    endpoint = settings.endpoint_url
    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    try:
        if endpoint and _loopback(endpoint):  # an emulator: no credentials are sent to it
            return storage.Client(
                project=settings.project or "emulator",
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options=options,
            )
        # Google, or a private endpoint (Private Service Connect) over https: real credentials.
        credentials, project = default(scopes=[READ_ONLY_SCOPE])
        return storage.Client(
            project=settings.project or project, credentials=credentials, client_options=options
        )
    except GoogleAuthError as exc:
        raise GcpCallError(f"no Google credentials: {exc}") from None


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def call(name: str, request: Callable[[float], T], deadline: Deadline) -> T:
    """One read-only call, given what is left of `deadline` (at most CALL_SECONDS) as its
    timeout; any failure is a GcpCallError naming it and its permission."""
    from google.api_core import exceptions as api
    from google.auth.exceptions import GoogleAuthError
    from requests import RequestException

    permission = READ_ONLY_CALLS[name]  # a KeyError here is a bug: an unlisted call
    try:
        seconds = min(CALL_SECONDS, deadline.remaining())
    except TimeoutError as exc:
        raise GcpCallError(f"{name}: not made: {exc}") from None
    try:
        return request(seconds)
    except api.Forbidden as exc:
        raise GcpCallError(f"{name} denied ({_reason(exc)}): needs {permission}") from None
    except api.Unauthorized as exc:
        raise GcpCallError(f"{name}: not authenticated ({_reason(exc)})") from None
    except api.NotFound:
        raise GcpCallError(f"{name}: not found") from None
    except api.TooManyRequests:
        raise GcpCallError(f"{name}: throttled (429); try again or lower --concurrency") from None
    except api.GoogleAPICallError as exc:
        raise GcpCallError(f"{name} failed: HTTP {exc.code} {_reason(exc)}") from None
    except (RequestException, GoogleAuthError, OSError) as exc:
        raise GcpCallError(f"{name}: unreachable ({type(exc).__name__})") from None
    except ValueError as exc:  # a reply that is not the JSON the API documents
        raise GcpCallError(f"{name}: unreadable reply ({str(exc)[:80]})") from None


def _reason(exc: Any) -> str:
    return str(getattr(exc, "message", "") or exc)[:120]
