"""One UDP question and its answer, under the deadline, bounded, from the target only.

UDP cannot prove a port closed: silence may be a filter, a lost datagram or a service that
ignores what it did not like. So an exchange has three outcomes, never two: a reply, an
ICMP "port unreachable" (`REFUSED`: nothing listens), or no reply (`None`). Each question
is sent twice (a datagram can be lost), and a reply counts only from the target's
address; one datagram of at most `MAX_DATAGRAM` bytes is read.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from auditor.probes.deadline import Deadline
from auditor.probes.services.wire import ServiceError

MAX_DATAGRAM = 4096
WAIT = 1.5
"""Seconds to wait for a reply to a question (sent again halfway through)."""
REFUSED: Final = b"\x00refused"
_IP_RECVERR, _IPV6_RECVERR = 11, 25
"""linux/in.h and linux/in6.h (Python's socket module does not name them)."""
"""Sentinel: the target answered with ICMP port unreachable."""


def ask(
    ip: str, port: int, question: bytes, deadline: Deadline, *, any_source_port: bool = False
) -> bytes | None:
    """The first datagram the target sends back, `REFUSED`, or None for no reply.

    `any_source_port`: accept the reply from another port of the same address (TFTP
    answers from a port of its own); the socket is then not connected, and on Linux asks
    for ICMP errors explicitly (elsewhere a closed port is only silent)."""
    _left(deadline)
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        if not any_source_port:
            sock.connect((ip, port))
        elif sys.platform.startswith("linux"):
            # Not connected, so the kernel must be asked to report ICMP errors (IP_RECVERR):
            # only then is a closed port "refused" at once rather than silent.
            level, option = (
                (socket.IPPROTO_IPV6, _IPV6_RECVERR) if ":" in ip else (socket.SOL_IP, _IP_RECVERR)
            )
            sock.setsockopt(level, option, 1)
        for attempt in (0, 1):
            try:
                sock.sendto(question, (ip, port))
            except ConnectionRefusedError:
                return REFUSED
            except OSError as exc:
                raise ServiceError(f"cannot send to {port}/udp: {exc.strerror or exc}") from None
            reply = _receive(sock, ip, deadline.sub(WAIT / 2 if attempt == 0 else WAIT))
            if reply is not None:
                return reply
    _left(deadline)  # silence counts only when we waited for it in full
    return None


def _left(deadline: Deadline) -> None:
    try:
        deadline.remaining()
    except TimeoutError as exc:
        raise ServiceError(str(exc)) from None


def ask_all(
    ip: str, port: int, questions: Sequence[bytes], deadline: Deadline
) -> list[bytes | None]:
    """Each question's answer (as `ask`), all asked at once: silence is paid once, not once
    per question."""
    with ThreadPoolExecutor(len(questions), thread_name_prefix="udp-ask") as pool:
        return list(pool.map(lambda q: ask(ip, port, q, deadline), questions))


def _receive(sock: socket.socket, ip: str, deadline: Deadline) -> bytes | None:
    while True:
        try:
            sock.settimeout(deadline.remaining())
            data, source = sock.recvfrom(MAX_DATAGRAM)
        except TimeoutError:
            return None
        except ConnectionRefusedError:
            return REFUSED
        except OSError as exc:
            raise ServiceError(f"receive failed: {exc.strerror or exc}") from None
        if source[0] == ip:
            return data
        # a datagram from anyone else is not an answer: keep waiting until the deadline
