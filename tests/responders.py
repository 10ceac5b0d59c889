"""Wire-level responders for services that cannot run on these machines.

MongoDB and Elasticsearch are not in Debian's archive, the Docker API needs a running engine
and the kubelet a cluster. These servers replay the replies the real ones document for the
exact requests our checks send — no more — so the parsing and the verdicts are tested on
real bytes over real sockets. Everything that *can* run here (Redis, memcached, nginx,
vsftpd, rsync, etcd, Prometheus, OpenSSH) is tested against the real daemon instead.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from auditor.probes.services import bson

Handler = Callable[[socket.socket], None]


@contextmanager
def serve(ip: str, handler: Handler, tls_dir: Path | None = None) -> Iterator[int]:
    """Serve `handler` on ip:<free port> until the block ends; yields the port."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((ip, 0))
    server.listen()
    context = None
    if tls_dir is not None:
        key, cert = tls_dir / "key.pem", tls_dir / "cert.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=lab",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-days",
                "1",
            ],
            check=True,
            capture_output=True,
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

    def loop() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_one, args=(client, handler, context), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def _one(client: socket.socket, handler: Handler, context: ssl.SSLContext | None) -> None:
    try:
        if context is not None:
            client = context.wrap_socket(client, server_side=True)
        handler(client)
    except (OSError, ssl.SSLError):
        pass
    finally:
        client.close()


def _read_http_request(client: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b" ")[1].decode() if b" " in data else ""


def http(routes: dict[str, tuple[int, dict[str, object] | list[object] | str]]) -> Handler:
    def handler(client: socket.socket) -> None:
        path = _read_http_request(client)
        status, body = routes.get(path, (404, {"error": "not found"}))
        payload = (body if isinstance(body, str) else json.dumps(body)).encode()
        client.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )

    return handler


# Elasticsearch 8 `GET /` (docs: "Root API") and `_cat/indices?format=json`.
ELASTICSEARCH_OPEN = http(
    {
        "/": (
            200,
            {
                "name": "node-1",
                "cluster_name": "lab",
                "version": {"number": "8.11.1"},
                "tagline": "You Know, for Search",
            },
        ),
        "/_cat/indices?format=json": (200, [{"index": "customers"}, {"index": "orders"}]),
    }
)
ELASTICSEARCH_SECURED = http({"/": (401, {"error": {"type": "security_exception"}, "status": 401})})
# Docker Engine API `GET /version`.
DOCKER_OPEN = http({"/version": (200, {"Version": "24.0.7", "ApiVersion": "1.43"})})
# kubelet `GET /pods` (anonymous auth on) and with anonymous auth off.
KUBELET_OPEN = http({"/pods": (200, {"kind": "PodList", "apiVersion": "v1", "items": []})})
KUBELET_SECURED = http({"/pods": (401, "Unauthorized")})


def mongodb(authorised: bool) -> Handler:
    """MongoDB 7 answering OP_MSG `hello` (allowed before authentication, as documented)
    and `getLog`: the log, or error 13 (Unauthorized). Like mongod, it drops a connection
    whose first bytes are not a valid message header (an HTTP request, say)."""

    def handler(client: socket.socket) -> None:
        header = client.recv(16)
        if len(header) < 16:
            return
        length, request_id, _, opcode = struct.unpack("<iiii", header)
        if opcode != 2013 or not 16 < length < 48_000_000:  # OP_MSG only, like MongoDB >= 5.1
            return
        remaining = length - 16
        payload = b""
        while remaining > 0:
            chunk = client.recv(remaining)
            if not chunk:
                return
            payload += chunk
            remaining -= len(chunk)
        if b"hello" in payload:
            doc = bson.encode({"isWritablePrimary": True, "maxWireVersion": 21, "ok": 1})
        elif authorised:
            doc = bson.encode({"totalLinesWritten": 3, "ok": 1})
        else:
            doc = bson.encode(
                {
                    "ok": 0,
                    "errmsg": "command getLog requires authentication",
                    "code": 13,
                    "codeName": "Unauthorized",
                }
            )
        body = struct.pack("<I", 0) + b"\x00" + doc
        client.sendall(struct.pack("<iiii", 16 + len(body), 1, request_id, 2013) + body)

    return handler
