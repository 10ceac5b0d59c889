"""Running a nuclei template as a service check: same interface, deadline and bounds as
the shipped checks, so its records and errors are judged like theirs (fail closed)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from auditor.nuclei.template import Extractor, Matcher, Template
from auditor.probes.deadline import Deadline
from auditor.probes.services import ANY_PROTOCOL
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import (
    NotThisService,
    ServiceError,
    connect,
    http_request,
    json_lookup,
    parse_json,
    printable,
    recv_until,
    send,
)

RULE = "services.nuclei-template"


class _Reply:
    """One reply as the matchers see it: status, headers (lower-case names, as
    `http_request` parsed them) and body."""

    def __init__(
        self, body: bytes, status: int = 0, headers: Mapping[str, str] | None = None
    ) -> None:
        self.body = body
        self.status = status
        self.headers = dict(headers or {})

    def part(self, name: str) -> bytes:
        if name == "body":
            return self.body
        head = "\r\n".join(f"{k}: {v}" for k, v in self.headers.items())
        raw = head.encode("latin-1", "replace")
        return raw if name == "header" else raw + b"\r\n\r\n" + self.body


def _one(matcher: Matcher, reply: _Reply) -> bool:
    data = reply.part(matcher.part)
    if matcher.kind == "word":
        tests = [w in data for w in matcher.values]
    elif matcher.kind == "iword":
        lowered = data.lower()
        tests = [w in lowered for w in matcher.values]
    elif matcher.kind == "regex":
        tests = [r.search(data) is not None for r in matcher.values]
    elif matcher.kind == "status":
        tests = [reply.status == s for s in matcher.values]
    elif matcher.kind == "binary":
        tests = [b in data for b in matcher.values]
    else:  # size
        tests = [len(data) == s for s in matcher.values]
    found = all(tests) if matcher.all_of else any(tests)
    return found != matcher.negative


def matches(template: Template, reply: _Reply) -> bool:
    results = (_one(m, reply) for m in template.matchers)
    return all(results) if template.all_matchers else any(results)


def extract(extractors: tuple[Extractor, ...], reply: _Reply) -> list[str]:
    """What the extractors find, each cut to a hint: a template may extract a key or a
    token, and the report must never hold one (first 4 characters and the length)."""
    found: list[str] = []
    for extractor in extractors:
        for value in _extract(extractor, reply):
            text = printable(value, 200)
            found.append(f"{text[:4]}…({len(text)} chars)" if len(text) > 4 else text)
            if len(found) >= 5:
                return found
    return found


def _extract(extractor: Extractor, reply: _Reply) -> list[bytes]:
    if extractor.kind == "regex":
        data = reply.part(extractor.part)
        out = []
        for pattern in extractor.values:
            hit = pattern.search(data)
            if hit is not None and extractor.group <= pattern.groups:
                out.append(hit.group(extractor.group))
        return out
    if extractor.kind == "json":
        try:
            document: Any = parse_json(reply.body)
        except ServiceError:
            return []
        values = (json_lookup(document, path.strip(".")) for path in extractor.values)
        return [
            json.dumps(v).strip('"').encode()
            for v in values
            if v is not None and not isinstance(v, dict | list)
        ]
    return [reply.headers[k].encode() for k in extractor.values if k in reply.headers]


def _http(template: Template, tls: bool, ip: str, port: int, deadline: Deadline) -> Answer:
    for method, path in template.requests:
        assert isinstance(path, str)
        response = http_request(ip, port, method, path, deadline, tls, byte_range=None)
        reply = _Reply(response.body[: template.read_size], response.status, response.headers)
        if matches(template, reply):
            return _matched(template, f"{method} {path} → HTTP {response.status}", reply)
    raise NotThisService(f"nuclei {template.id}: no match")


def _tcp(template: Template, ip: str, port: int, deadline: Deadline) -> Answer:
    ((_, payload),) = template.requests
    assert isinstance(payload, bytes)
    with connect(ip, port, deadline, template.tls) as sock:
        if payload:
            send(sock, payload)
        body = recv_until(sock, None, deadline, limit=template.read_size)
    reply = _Reply(body)
    if matches(template, reply):
        return _matched(
            template, f"{printable(payload, 20) or 'banner'} → {len(body)} bytes", reply
        )
    raise NotThisService(f"nuclei {template.id}: no match")


def _matched(template: Template, exchange: str, reply: _Reply) -> Answer:
    found = extract(template.extractors, reply)
    evidence = f"nuclei {template.id} ({template.severity}): {exchange}"
    if found:
        evidence += f"; extracted {', '.join(found)}"
    details = {"template": template.id, "name": template.name, "severity": template.severity}
    return Answer(True, evidence, details)


def service_check(template: Template) -> ServiceCheck:
    kind = f"nuclei-{template.id}"
    if template.protocol == "http":
        return ServiceCheck(
            kind,
            lambda ip, port, deadline: _http(template, False, ip, port, deadline),
            reference=f"nuclei template {template.id} ({template.source})",
            protocol="http",
            rule=RULE,
            any_port=True,
            over_tls=lambda ip, port, deadline: _http(template, True, ip, port, deadline),
        )
    return ServiceCheck(
        kind,
        lambda ip, port, deadline: _tcp(template, ip, port, deadline),
        ports=template.ports,
        reference=f"nuclei template {template.id} ({template.source})",
        protocol=ANY_PROTOCOL,
        rule=RULE,
    )
