"""Three small protocols whose first exchange already proves the exposure (each one
request, read-only, bounded, under the deadline):

- **epmd** (Erlang port mapper, 4369): NAMES_REQ lists the Erlang nodes of the host and
  their distribution ports: the first step to an Erlang node whose cookie is guessable
  (nmap epmd-info, nuclei network/misconfig/erlang-daemon);
- **MQTT** (1883): a CONNECT without user name or password; CONNACK return code 0 means
  the broker lets anyone publish and subscribe (nmap mqtt-subscribe, nuclei
  mqtt-uauth-broker). A DISCONNECT follows at once: nothing is subscribed or published;
- **SOCKS5** (1080): the method negotiation offering only "no authentication"; a proxy
  that accepts it relays anyone's traffic (nmap socks-open-proxy, nuclei
  open-socks-proxy). No CONNECT is ever sent: the proxy is never asked to go anywhere.
"""

from __future__ import annotations

import os
import struct

from auditor.probes.deadline import Deadline
from auditor.probes.services.base import Answer, ServiceCheck
from auditor.probes.services.wire import (
    ServiceError,
    connect,
    printable,
    recv_exactly,
    recv_until,
    send,
)

MQTT_RESULTS = {
    1: "unacceptable protocol version",
    2: "identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}


def epmd(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        send(sock, b"\x00\x01n")  # NAMES_REQ (110)
        reply = recv_until(sock, None, deadline, limit=8192)
    if len(reply) < 4:
        raise ServiceError("not an epmd NAMES reply")
    names = [
        printable(line[5:].split(b" at port ")[0], 40)
        for line in reply[4:].split(b"\n")
        if line.startswith(b"name ") and b" at port " in line
    ]
    if struct.unpack(">I", reply[:4])[0] != port and not names:
        raise ServiceError("not an epmd NAMES reply")
    if not names:
        return Answer(False, "epmd answers, with no Erlang node registered", {"nodes": []})
    shown = ", ".join(names[:5])
    return Answer(True, f"epmd lists Erlang nodes to anyone: {shown}", {"nodes": names})


def _mqtt_connect(client_id: bytes) -> bytes:
    variable = b"\x00\x04MQTT\x04\x02" + struct.pack(">H", 10)  # 3.1.1, clean session
    payload = struct.pack(">H", len(client_id)) + client_id
    body = variable + payload
    return b"\x10" + bytes([len(body)]) + body


def mqtt(ip: str, port: int, deadline: Deadline) -> Answer:
    client_id = b"auditor-" + os.urandom(4).hex().encode()
    with connect(ip, port, deadline) as sock:
        send(sock, _mqtt_connect(client_id))
        reply = recv_exactly(sock, 4, deadline)
        if reply[:2] != b"\x20\x02":
            raise ServiceError("not an MQTT CONNACK")
        code = reply[3]
        if code == 0:
            send(sock, b"\xe0\x00")  # DISCONNECT
            return Answer(True, "MQTT broker accepted a connection with no credentials", {})
    said = MQTT_RESULTS.get(code, f"code {code}")
    return Answer(False, f"MQTT broker refused an anonymous connection ({said})", {})


def socks(ip: str, port: int, deadline: Deadline) -> Answer:
    with connect(ip, port, deadline) as sock:
        send(sock, b"\x05\x01\x00")  # version 5, one method: no authentication
        reply = recv_exactly(sock, 2, deadline)
    if reply[0] != 5:
        raise ServiceError("not a SOCKS5 method reply")
    if reply[1] == 0x00:
        return Answer(True, "SOCKS5 proxy accepts clients with no authentication", {})
    if reply[1] == 0xFF:
        return Answer(False, "SOCKS5 proxy refuses clients without authentication", {})
    raise ServiceError(f"SOCKS5 chose method {reply[1]}, which was not offered")


EPMD = ServiceCheck(
    "epmd",
    epmd,
    ports=(4369,),
    names=("epmd",),
    reference="nmap NSE: epmd-info; nuclei-templates: network/misconfig/erlang-daemon",
)
MQTT = ServiceCheck(
    "mqtt",
    mqtt,
    ports=(1883,),
    names=("mqtt",),
    reference=(
        "nmap NSE: mqtt-subscribe; nuclei-templates: javascript/misconfiguration/mqtt-uauth-broker"
    ),
)
SOCKS = ServiceCheck(
    "socks",
    socks,
    ports=(1080,),
    names=("socks", "socks5"),
    reference="nmap NSE: socks-open-proxy; nuclei-templates: network/misconfig/open-socks-proxy",
)
