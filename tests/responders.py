"""Wire-level responders for services that cannot run on these machines.

MongoDB, Elasticsearch, CouchDB, Solr, Grafana, Jenkins, Cassandra and Kafka are neither in
Debian's archive nor in the Python or npm registries that these machines reach; the Docker
API needs a running engine and the kubelet a cluster. These servers replay the replies the
real ones document for the exact requests our checks send — no more — so the parsing and
the verdicts are tested on real bytes over real sockets. Everything that *can* run here
(Redis, memcached, nginx, vsftpd, rsync, etcd, Prometheus, PostgreSQL, MariaDB, Samba,
TigerVNC, telnetd, ZooKeeper, RabbitMQ, the Docker registry, Jupyter, NFS's rpcbind and
mountd, OpenSSH) is tested against the real daemon instead.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from auditor.probes.services import bson

Handler = Callable[[socket.socket], None]


@contextmanager
def serve(
    ip: str,
    handler: Handler,
    tls_dir: Path | None = None,
    tls: tuple[Path, Path] | None = None,
) -> Iterator[int]:
    """Serve `handler` on ip:<free port> until the block ends; yields the port. With
    `tls_dir`, over TLS with a new certificate for `ip`; with `tls`, with that (cert, key)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((ip, 0))
    server.listen()
    context = None
    if tls is None and tls_dir is not None:
        from tests.lab.services import tls_pair

        tls = tls_pair(tls_dir, ip)
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)

    def loop() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_one, args=(client, handler, context), daemon=True).start()

    accepting = threading.Thread(target=loop, daemon=True)
    accepting.start()
    try:
        yield server.getsockname()[1]
    finally:
        # close() alone does not wake a thread blocked in accept(): the socket stayed
        # listening, one thread each, for the rest of the session. shutdown() does.
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)
        server.close()
        accepting.join(timeout=2)


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


Body = dict[str, object] | list[object] | str


def http(routes: dict[str, tuple[int, Body]], headers: dict[str, str] | None = None) -> Handler:
    """Replies by path; `headers` go on every reply (as Jenkins's X-Jenkins does)."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())

    def handler(client: socket.socket) -> None:
        path = _read_http_request(client)
        status, body = routes.get(path, (404, {"error": "not found"}))
        payload = (body if isinstance(body, str) else json.dumps(body)).encode()
        client.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}"
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


# Apache CouchDB 3.3 `GET /` (docs: "Server API /") and `GET /_all_dbs`: open with no
# server admin ("admin party", 2.x) or `admin_only_all_dbs = false`; 401 otherwise.
_COUCHDB_ROOT = {
    "couchdb": "Welcome",
    "version": "3.3.3",
    "git_sha": "40afbcfc7",
    "uuid": "5d9e6a7d1c3f2b4e8a9f0c1d2e3f4a5b",
    "features": ["access-ready", "partitioned", "pluggable-storage-engines", "scheduler"],
    "vendor": {"name": "The Apache Software Foundation"},
}
COUCHDB_OPEN = http({"/": (200, _COUCHDB_ROOT), "/_all_dbs": (200, ["_users", "customers"])})
COUCHDB_SECURED = http(
    {
        "/": (200, _COUCHDB_ROOT),
        "/_all_dbs": (401, {"error": "unauthorized", "reason": "You are not a server admin."}),
    }
)
# Solr 9 CoreAdmin `action=STATUS` (Reference Guide: "CoreAdmin API"), and the 401 of the
# BasicAuth plugin.
_SOLR_STATUS = "/solr/admin/cores?action=STATUS&wt=json"
SOLR_OPEN = http(
    {
        _SOLR_STATUS: (
            200,
            {
                "responseHeader": {"status": 0, "QTime": 2},
                "initFailures": {},
                "status": {"customers": {"name": "customers", "instanceDir": "/var/solr/x"}},
            },
        )
    }
)
SOLR_SECURED = http(
    {_SOLR_STATUS: (401, "<html><body><h2>HTTP ERROR 401 require authentication</h2></html>")},
    {"WWW-Authenticate": 'Basic realm="solr", xBasic'},
)
# Grafana 10 `GET /api/health` (always open) and `GET /api/org`: an anonymous session's
# organisation when `[auth.anonymous] enabled = true`, else 401.
_GRAFANA_HEALTH = (200, {"commit": "6a2fd6c7a6", "database": "ok", "version": "10.2.3"})
GRAFANA_OPEN = http(
    {"/api/health": _GRAFANA_HEALTH, "/api/org": (200, {"id": 1, "name": "Main Org."})}
)
GRAFANA_SECURED = http(
    {"/api/health": _GRAFANA_HEALTH, "/api/org": (401, {"message": "Unauthorized"})}
)
# Jenkins 2.440 `GET /api/json` (Remote Access API): the controller's job list to anonymous
# Overall/Read; 403 "Authentication required" otherwise. Every reply carries X-Jenkins.
_JENKINS = {"X-Jenkins": "2.440.1", "X-Hudson": "1.395"}
JENKINS_OPEN = http(
    {
        "/api/json": (
            200,
            {
                "_class": "hudson.model.Hudson",
                "mode": "NORMAL",
                "jobs": [{"_class": "hudson.model.FreeStyleProject", "name": "deploy-prod"}],
            },
        )
    },
    _JENKINS,
)
JENKINS_SECURED = http(
    {"/api/json": (403, "<html><body>Authentication required</body></html>")}, _JENKINS
)


def cassandra(authenticator: str | None) -> Handler:
    """A Cassandra 4.1 node speaking native protocol v4 (CQL spec, native_protocol_v4.spec):
    SUPPORTED to OPTIONS, then READY to STARTUP (AllowAllAuthenticator) or AUTHENTICATE
    naming `authenticator`. Like Cassandra, it answers a frame of another version with a
    protocol error."""

    def string(text: str) -> bytes:
        return struct.pack(">H", len(text)) + text.encode()

    def frame(stream: int, opcode: int, body: bytes) -> bytes:
        return struct.pack(">BBhBi", 0x84, 0, stream, opcode, len(body)) + body

    def handler(client: socket.socket) -> None:
        while True:
            header = _read_exactly(client, 9)
            if header is None:
                return
            version, _, stream, opcode, length = struct.unpack(">BBhBi", header)
            if version != 0x04:  # before reading a body of a length it cannot trust
                message = f"Invalid or unsupported protocol version ({version})"
                client.sendall(frame(stream, 0x00, struct.pack(">i", 0x000A) + string(message)))
                return
            if _read_exactly(client, length) is None:
                return
            if opcode == 0x05:  # OPTIONS → SUPPORTED (a string multimap)
                body = struct.pack(">H", 2)
                body += string("CQL_VERSION") + struct.pack(">H", 1) + string("3.4.6")
                body += string("COMPRESSION") + struct.pack(">H", 2) + string("snappy")
                body += string("lz4")
                client.sendall(frame(stream, 0x06, body))
            elif opcode == 0x01 and authenticator is None:
                client.sendall(frame(stream, 0x02, b""))
            elif opcode == 0x01:
                client.sendall(frame(stream, 0x03, string(authenticator)))
            else:
                return

    return handler


def kafka(sasl: bool) -> Handler:
    """A Kafka 3.6 broker (protocol guide, kafka.apache.org/protocol): ApiVersions v0 with
    its API list, then Metadata v0 with one broker and two topics, or, on a SASL listener,
    the connection closed on any request but ApiVersions and SaslHandshake before login."""

    def string(text: str) -> bytes:
        return struct.pack(">h", len(text)) + text.encode()

    def reply(correlation: int, body: bytes) -> bytes:
        return struct.pack(">ii", 4 + len(body), correlation) + body

    def handler(client: socket.socket) -> None:
        while True:
            size = _read_exactly(client, 4)
            if size is None or not 0 < struct.unpack(">i", size)[0] <= 104857600:
                return  # over socket.request.max.bytes (100 MiB): the broker hangs up
            request = _read_exactly(client, struct.unpack(">i", size)[0])
            if request is None:
                return
            api_key, _, correlation = struct.unpack(">hhi", request[:8])
            if api_key == 18:
                apis = [(0, 0, 9), (1, 0, 15), (3, 0, 12), (17, 0, 1), (18, 0, 3), (36, 0, 2)]
                body = struct.pack(">hi", 0, len(apis))
                body += b"".join(struct.pack(">hhh", *api) for api in apis)
                client.sendall(reply(correlation, body))
            elif api_key == 3 and not sasl:
                body = struct.pack(">i", 1) + struct.pack(">i", 1) + string("broker-1")
                body += struct.pack(">i", 9092) + struct.pack(">i", 2)
                for topic in ("customer-events", "payments"):
                    body += struct.pack(">h", 0) + string(topic) + struct.pack(">i", 1)
                    body += struct.pack(">hii", 0, 0, 1)
                    body += struct.pack(">ii", 1, 1) + struct.pack(">ii", 1, 1)
                client.sendall(reply(correlation, body))
            else:
                return  # "Unexpected Kafka request ... during SASL handshake": closed

    return handler


def _read_exactly(client: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


DatagramHandler = Callable[[bytes], list[bytes]]
"""What a UDP responder sends back to one datagram (nothing, one reply, or a flood)."""


@contextmanager
def serve_udp(ip: str, port: int, handler: DatagramHandler) -> Iterator[int]:
    """Answer each datagram to ip:port with `handler`'s datagrams until the block ends."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((ip, port))

    def loop() -> None:
        while True:
            try:
                data, source = server.recvfrom(65535)
                if source is None:  # shut down
                    return
                for reply in handler(data):
                    server.sendto(reply, source)
            except OSError:
                return

    receiving = threading.Thread(target=loop, daemon=True)
    receiving.start()
    try:
        yield server.getsockname()[1]
    finally:
        with contextlib.suppress(OSError):  # wakes the blocked recvfrom (Linux)
            server.shutdown(socket.SHUT_RDWR)
        server.close()
        receiving.join(timeout=2)


def ipmi_bmc(cipher_zero: bool) -> DatagramHandler:
    """A BMC's two replies to the IPMI questions (no BMC runs here): the Get Channel
    Authentication Capabilities response (IPMI v2.0 §22.13: completion code 0, IPMI 2.0
    supported) and the RMCP+ Open Session Response (§13.18), status 0 (accepted) when
    cipher suite 0 is allowed, else 0x11 (no matching integrity payload)."""

    def handle(data: bytes) -> list[bytes]:
        if data[4:5] == b"\x00":  # IPMI 1.5 session: the capabilities request
            body = bytes.fromhex("81 1c 63 20 00 38 00 01 80 04 00 00 00 00 00".replace(" ", ""))
            return [b"\x06\x00\xff\x07" + b"\x00" * 9 + bytes([len(body)]) + body]
        if data[4:6] == b"\x06\x10":  # RMCP+ Open Session Request
            tag, console = data[16], data[20:24]
            status = 0 if cipher_zero else 0x11
            payload = bytes([tag, status, 0x04, 0]) + console + b"\x01\x02\x03\x04"
            payload += data[24:48]
            header = b"\x06\x11" + b"\x00" * 8 + len(payload).to_bytes(2, "little")
            return [b"\x06\x00\xff\x07" + header + payload]
        return []

    return handle


# ------------------------------------------------------------------ web admin consoles
# Documented replies of consoles that cannot run here (no Debian package, no registry
# wheel with the server): each the product's own answer to exactly the request the
# shipped check (rules/checks/admin-consoles.yaml) makes, open and locked.
SPRING_ENV = {"activeProfiles": ["prod"], "propertySources": [{"name": "server.ports"}]}
CONSOLES: dict[str, tuple[Handler, Handler]] = {
    # Spring Boot 3 actuator: /actuator/env (reference docs, "env" endpoint), then locked.
    "spring-actuator-env": (
        http({"/actuator/env": (200, SPRING_ENV)}),
        http({"/actuator/env": (401, "")}),
    ),
    # Spring Boot heapdump: an HPROF file starts "JAVA PROFILE 1.0.2\0".
    "spring-actuator-heapdump": (
        http({"/actuator/heapdump": (200, "JAVA PROFILE 1.0.2\x00\x00\x00\x00\x08")}),
        http({"/actuator/heapdump": (401, "")}),
    ),
    # Jenkins: every reply carries X-Jenkins; anonymous without Overall/Administer gets 403.
    "jenkins-script-console": (
        http(
            {"/script": (200, "<title>Script Console [Jenkins]</title>")}, {"X-Jenkins": "2.426.1"}
        ),
        http({"/script": (403, "Authentication required")}, {"X-Jenkins": "2.426.1"}),
    ),
    # Kibana: `kbn-name` on every reply; /api/status is 401 with security on.
    "kibana": (
        http(
            {"/api/status": (200, {"name": "kb", "version": {"number": "8.11.1"}})},
            {"kbn-name": "kb"},
        ),
        http(
            {"/api/status": (401, {"statusCode": 401, "error": "Unauthorized"})}, {"kbn-name": "kb"}
        ),
    ),
    # phpMyAdmin 5 with `auth_type = config` (no login) versus its cookie login form.
    "phpmyadmin": (
        http(
            {
                "/phpmyadmin/index.php?db=information_schema": (
                    200,
                    '<title>phpMyAdmin</title><script>CommonParams.setAll({db:"information_schema",'
                    'opendb_url:"db_structure.php"});</script>',
                )
            }
        ),
        http(
            {
                "/phpmyadmin/index.php?db=information_schema": (
                    200,
                    '<title>phpMyAdmin</title><input type="text" name="pma_username">',
                )
            }
        ),
    ),
    # mongo-express home page without basicAuth, and a page of it that is not the home.
    "mongo-express": (
        http({"/": (200, "<title>Home - Mongo Express</title>")}),
        http({"/": (200, "<title>Login - Mongo Express</title>")}),
    ),
    # Consul agent API: /v1/agent/self with ACLs off, and with `default_policy = deny`.
    "consul": (
        http(
            {
                "/v1/agent/self": (
                    200,
                    {
                        "Config": {"Datacenter": "dc1", "Version": "1.17.0"},
                        "Member": {"Name": "node-1"},
                    },
                )
            }
        ),
        http({"/v1/agent/self": (403, "Permission denied")}),
    ),
    # ClickHouse HTTP interface: SHOW DATABASES as `default`, and code 516 with a password.
    "clickhouse-http": (
        http(
            {"/?query=SHOW%20DATABASES": (200, "INFORMATION_SCHEMA\ndefault\nsystem\n")},
            {"X-ClickHouse-Summary": '{"read_rows":"3"}'},
        ),
        http(
            {
                "/?query=SHOW%20DATABASES": (
                    516,
                    "Code: 516. DB::Exception: default: Authentication failed",
                )
            },
            {"X-ClickHouse-Exception-Code": "516"},
        ),
    ),
    # Airflow 2 stable REST API: /health is always public; /dags per the auth backend.
    "airflow": (
        http(
            {
                "/api/v1/health": (200, {"metadatabase": {"status": "healthy"}}),
                "/api/v1/dags?limit=1": (200, {"dags": [], "total_entries": 0}),
            }
        ),
        http(
            {
                "/api/v1/health": (200, {"metadatabase": {"status": "healthy"}}),
                "/api/v1/dags?limit=1": (401, {"title": "Unauthorized"}),
            }
        ),
    ),
    # Apache mod_status, open; locked it is a 403 page that does not name itself.
    "apache-server-status": (
        http(
            {
                "/server-status": (
                    200,
                    "<h1>Apache Server Status for 10.0.0.5</h1><dt>Server Version: Apache/2.4.57</dt>",
                )
            }
        ),
        http({"/server-status": (403, "<h1>Forbidden</h1>")}),
    ),
}


# Documented replies of the operations consoles (rules/checks/ops-consoles.yaml): the open
# product, and where the product has a login, the same product locked; where it has none,
# a web server without it (which must leave no record).
ABSENT = http({})
CONSOLES |= {
    # YARN ResourceManager REST API, simple auth (anonymous allowed), vs SPNEGO's 401.
    "hadoop-yarn": (
        http({"/ws/v1/cluster/info": (200, {"clusterInfo": {"resourceManagerVersion": "3.3.6"}})}),
        http({"/ws/v1/cluster/info": (401, "Authentication required")}),
    ),
    "hadoop-namenode": (
        http(
            {
                "/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo": (
                    200,
                    {
                        "beans": [
                            {
                                "name": "Hadoop:service=NameNode,name=NameNodeInfo",
                                "Version": "3.3.6",
                            }
                        ]
                    },
                )
            }
        ),
        ABSENT,
    ),
    "hadoop-datanode": (
        http(
            {
                "/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo": (
                    200,
                    {"beans": [{"name": "Hadoop:service=DataNode,name=DataNodeInfo"}]},
                )
            }
        ),
        ABSENT,
    ),
    "hbase-master": (
        http(
            {
                "/jmx?qry=Hadoop:service=HBase,name=Master,sub=Server": (
                    200,
                    {"beans": [{"name": "Hadoop:service=HBase,name=Master,sub=Server"}]},
                )
            }
        ),
        ABSENT,
    ),
    "riak": (http({"/stats": (200, {"riak_kv_version": "3.2.0", "vnode_gets": 12})}), ABSENT),
    # Couchbase: /pools is always public; the bucket list needs credentials unless opened.
    "couchbase": (
        http(
            {
                "/pools": (200, {"implementationVersion": "7.2.0", "isAdminCreds": False}),
                "/pools/default/buckets": (200, [{"name": "customers", "bucketType": "membase"}]),
            }
        ),
        http(
            {
                "/pools": (200, {"implementationVersion": "7.2.0", "isAdminCreds": False}),
                "/pools/default/buckets": (401, ""),
            }
        ),
    ),
    "alertmanager": (
        http(
            {
                "/api/v2/status": (
                    200,
                    {"cluster": {"status": "ready"}, "versionInfo": {"version": "0.26.0"}},
                )
            }
        ),
        ABSENT,
    ),
    # Nomad HTTP API: X-Nomad-Index on a blocking-query endpoint; 403 with ACLs on.
    "nomad": (
        http({"/v1/jobs": (200, [])}, {"X-Nomad-Index": "7"}),
        http({"/v1/jobs": (403, "ACL token not found")}),
    ),
    "envoy-admin": (
        http(
            {
                "/server_info": (
                    200,
                    {
                        "version": "1.28.0/Clean/RELEASE",
                        "state": "LIVE",
                        "command_line_options": {},
                    },
                )
            }
        ),
        ABSENT,
    ),
    "traefik-api": (
        http({"/api/rawdata": (200, {"routers": {}, "middlewares": {}, "services": {}})}),
        ABSENT,
    ),
    "netdata": (
        http({"/api/v1/info": (200, {"version": "v1.44.0", "mirrored_hosts": ["web-01"]})}),
        ABSENT,
    ),
    "glances": (
        http({"/api/3/pluginslist": (200, ["cpu", "mem", "processlist", "network"])}),
        ABSENT,
    ),
    "kube-metrics": (
        http(
            {
                "/metrics": (
                    200,
                    '# HELP kube_pod_info Information about pod.\n# TYPE kube_pod_info gauge\nkube_pod_info{namespace="prod",pod="api-1"} 1\n',
                )
            }
        ),
        ABSENT,
    ),
    "pghero": (
        http({"/connections": (200, "<title>PgHero / Connections</title>")}),
        http({"/connections": (200, "<title>PgHero</title> sign in")}),
    ),
    "mlflow": (
        http(
            {
                "/ajax-api/2.0/preview/mlflow/experiments/get?experiment_id=0": (
                    200,
                    {
                        "experiment": {
                            "experiment_id": "0",
                            "name": "Default",
                            "artifact_location": "mlflow-artifacts:/0",
                        }
                    },
                )
            }
        ),
        ABSENT,
    ),
    "kafka-ui": (
        http(
            {
                "/api/clusters": (
                    200,
                    [{"name": "prod", "status": "online", "bootstrapServers": "kafka:9092"}],
                )
            }
        ),
        ABSENT,
    ),
    "kafdrop": (
        http({"/": (200, "<title>Kafdrop: Broker List</title>")}),
        http({"/": (200, "<title>Kafdrop</title> login")}),
    ),
    # Zeppelin REST API: anonymous allowed (shiro off) answers OK; with shiro, 401.
    "zeppelin": (
        http({"/api/notebook": (200, {"status": "OK", "message": "", "body": []})}),
        http({"/api/notebook": (401, {"status": "UNAUTHORIZED", "message": "", "body": None})}),
    ),
    "nifi": (
        http({"/nifi-api/flow/current-user": (200, {"identity": "anonymous", "anonymous": True})}),
        http({"/nifi-api/flow/current-user": (200, {"identity": "ops", "anonymous": False})}),
    ),
    "redis-insight": (http({"/": (200, "<title>RedisInsight</title>")}), ABSENT),
    "rethinkdb-console": (
        http({"/": (200, "<title>RethinkDB Administration Console</title>")}),
        ABSENT,
    ),
    # Jenkins with self-registration on, and off (404 "not supported").
    "jenkins-signup": (
        http({"/signup": (200, "<h1>Create an account!</h1>")}, {"X-Jenkins": "2.426.1"}),
        http(
            {"/signup": (404, "This is not supported in the current configuration.")},
            {"X-Jenkins": "2.426.1"},
        ),
    ),
}


# ---- middleware and debug ports without a Debian daemon (rules/checks/middleware.yaml,
# debug-interfaces.yaml, monitoring-agents.yaml): each replays the product's documented
# reply to the check's one request; the locked variant is the product's documented refusal.


def answers(reply: bytes, to_http: bytes | None = None) -> Handler:
    """Reads one request and sends `reply` (or `to_http` to an HTTP request)."""

    def handle(client: socket.socket) -> None:
        request = client.recv(4096)
        client.sendall(to_http if to_http is not None and request.startswith(b"GET ") else reply)
        time.sleep(0.2)

    return handle


def speaks_first(reply: bytes) -> Handler:
    """Sends `reply` on connect (an agent that dumps its data), then hangs up."""

    def handle(client: socket.socket) -> None:
        client.sendall(reply)

    return handle


def _rocketmq(header: dict[str, object], body: bytes = b"") -> bytes:
    """RocketMQ remoting frame: total length, JSON-serialised header length, header, body."""
    raw = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    return struct.pack(">II", 4 + len(raw) + len(body), len(raw)) + raw + body


def _clickhouse_string(text: bytes) -> bytes:
    return bytes([len(text)]) + text


def _adb(command: bytes, arg0: int, arg1: int, data: bytes) -> bytes:
    magic = bytes(b ^ 0xFF for b in command)
    return command + struct.pack("<IIII", arg0, arg1, len(data), sum(data)) + magic + data


_DUBBO_HELP = (
    b'Please input "help [command]" show detail.\r\n'
    b" ls [-l] [service]               - List services and methods.\r\n"
    b" invoke [service.]method(args)   - Invoke the service method.\r\n"
    b" trace [service] [method] [times] - Trace the service.\r\n"
    b" status [-l]                     - Show status.\r\n\r\ndubbo>"
)
_ROCKETMQ_BASE = {"flag": 1, "language": "JAVA", "opaque": 0, "serializeTypeCurrentRPC": "JSON"}
# ClickHouse server Hello: name, major 23, minor 8, revision 54465 (varint), time zone,
# display name, patch
_CLICKHOUSE_HELLO = (
    b"\x00"
    + _clickhouse_string(b"ClickHouse")
    + b"\x17\x08\xc1\xa9\x03"
    + _clickhouse_string(b"UTC")
    + _clickhouse_string(b"ch-lab")
    + b"\x09"
)
_CLICKHOUSE_DENIED = (
    b"\x02"
    + struct.pack("<i", 516)
    + _clickhouse_string(b"DB::Exception")
    + _clickhouse_string(b"default: Authentication failed: password is incorrect")
    + _clickhouse_string(b"")
    + b"\x00"
)
_CLICKHOUSE_ON_HTTP = (
    b"HTTP/1.0 400 Bad Request\r\n\r\nPort 9000 is for clickhouse-client program\r\n"
    b"You must use port 8123 for HTTP.\r\n"
)
_SAP_INFO = (
    b"SAProuter Connection Table\nWorking directory : /usr/sap/saprouter\nRouttab : ./saprouttab\n"
)
_SAP_DENIED = b"NI_RTERR\x00\x28\x00\x00\x00\x00\xff\xff\xff\xa2*ERR*\x00route permission denied"
_ADB_DEVICE = b"device::ro.product.name=lab;ro.product.model=Lab Phone;ro.product.device=lab;\x00"

MIDDLEWARE: dict[str, tuple[str, Handler, Handler | None]] = {
    # check id: (declared service, open, locked or None where the product has no refusal)
    "dubbo-telnet": ("dubbo", answers(_DUBBO_HELP), None),
    "rocketmq-broker": (
        "rocketmq",
        answers(_rocketmq({"code": 0, **_ROCKETMQ_BASE}, b"brokerName=broker-a\n")),
        answers(
            _rocketmq(
                {
                    "code": 1,
                    "remark": "org.apache.rocketmq.acl.common.AclException: No accessKey is configured",
                    **_ROCKETMQ_BASE,
                }
            )
        ),
    ),
    "clickhouse-native": (
        "clickhouse",
        answers(_CLICKHOUSE_HELLO, to_http=_CLICKHOUSE_ON_HTTP),
        answers(_CLICKHOUSE_DENIED, to_http=_CLICKHOUSE_ON_HTTP),
    ),
    "voldemort": ("voldemort", answers(b"ok"), None),
    "saprouter": (
        "saprouter",
        answers(struct.pack(">I", len(_SAP_INFO)) + _SAP_INFO),
        answers(struct.pack(">I", len(_SAP_DENIED)) + _SAP_DENIED),
    ),
    "checkmk-agent": (
        "checkmk",
        speaks_first(
            b"<<<check_mk>>>\nVersion: 2.2.0p14\nAgentOS: linux\nHostname: web01\n"
            b"<<<df>>>\n/dev/sda1 ext4 20511312 5120000 15391312 25% /\n"
        ),
        speaks_first(b"16"),
    ),
    "adb": (
        "adb",
        answers(_adb(b"CNXN", 0x01000001, 0x00100000, _ADB_DEVICE)),
        answers(_adb(b"AUTH", 1, 0, bytes(range(20)))),
    ),
}


def _name_list(names: list[str]) -> bytes:
    raw = ",".join(names).encode()
    return struct.pack(">I", len(raw)) + raw


def ssh_server(banner: bytes) -> Handler:
    """An SSH server's first words as OpenSSH 9 sends them: `banner`, then a KEXINIT of
    today's algorithms (for banners of releases that cannot run here)."""
    payload = (
        bytes([20])
        + bytes(16)
        + _name_list(["curve25519-sha256", "diffie-hellman-group16-sha512"])
        + _name_list(["ssh-ed25519", "rsa-sha2-512"])
        + _name_list(["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"]) * 2
        + _name_list(["hmac-sha2-256-etm@openssh.com"]) * 2
        + _name_list(["none", "zlib@openssh.com"]) * 2
        + _name_list([]) * 2
        + b"\x00"
        + struct.pack(">I", 0)
    )
    padding = 8 - (len(payload) + 5) % 8 + 8
    packet = struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)

    def handle(client: socket.socket) -> None:
        client.sendall(banner + b"\r\n")
        client.recv(4096)
        client.sendall(packet)
        time.sleep(1)

    return handle
