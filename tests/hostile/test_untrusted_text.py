"""Issue 10: text a server sends never reaches a person raw, in any format.

Property-based: Hypothesis feeds arbitrary text (escapes, bidi overrides, markup, NULs) as
an SSH banner, algorithm names and a probe error through the real engine and every
reporter. The probe here is a stand-in that returns that text as facts; the real servers
that send such banners are in `test_hostile_servers.py`.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import struct
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.engine import AuditSettings, run_audit
from auditor.inventory import Inventory
from auditor.models import ChangeRecord, ProbeOutcome, Target
from auditor.probes.base import PerTargetProbe, ProbeFailure
from auditor.reporting import REPORTERS
from auditor.rules import load_catalog
from auditor.scope import Scope
from auditor.untrusted import clean
from tests import responders
from tests.conftest import LISTENER_NETWORK, run_auditor

SCOPE = Scope((ipaddress.ip_network("127.80.1.0/24"),))
PACK = """
format: 1
pack: echo
rules:
  - id: echo.banner
    title: banner
    severity: high
    applies_to: host
    check: "ssh.banner == 'never this'"
    message: "banner {ssh.banner} offers {ssh.kex}"
    references: [test]
  - id: echo.auth
    title: auth
    severity: high
    applies_to: host
    check: "size(ssh_auth.methods) == 0"
    message: "methods {ssh_auth.methods}"
    references: [test]
"""

HOSTILE = st.text(
    alphabet=st.sampled_from(
        list("\x1b\x07\x00\r\n\x9b\u202e\u2066<>&\"'`[]()!|*_#/\\:;=") + list("ab1 ")
    )
    | st.characters(),
    max_size=80,
)
SEEDS = [
    "\x1b[2J\x1b]0;pwned\x07SSH-2.0-OpenSSH",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "![x](https://evil.example/x.png)",
    "</details><h1>hi</h1>",
    "\u202egnp.exe",
    "]]><!--",
]


class _Echo(PerTargetProbe):
    def __init__(self, name: str, facts: Mapping[str, object] | None, error: str = "") -> None:
        super().__init__(1)
        self.name = name
        self._facts = facts
        self._error = error

    def probe(
        self, target: Target, scope: Scope, timeout: float, upstream: Mapping[str, ProbeOutcome]
    ) -> ProbeOutcome:
        if self._error:
            raise ProbeFailure(self._error)
        return ProbeOutcome(self.name, facts=dict(self._facts or {}))


def _render_all(text: str, tmp: Path) -> dict[str, str]:
    pack = tmp / "echo.yaml"
    pack.write_text(PACK)
    ip = ipaddress.ip_address("127.80.1.5")
    target = Target(
        name="s",
        address=str(ip),
        ip=ip,
        rules=(str(pack),),
        change=ChangeRecord(id="C", approved=True),
    )
    inventory = Inventory(path="<test>", version=1, scope=SCOPE, targets=(target,))
    probes = [
        _Echo("ssh", {"banner": text, "kex": [text, "curve25519-sha256"]}),
        _Echo("ssh_auth", None, error=f"server said {text}"),
    ]
    report = run_audit(
        inventory, load_catalog([str(pack)]), probes, AuditSettings(show_progress=False)
    )
    return {name: reporter().render(report) for name, reporter in REPORTERS.items()}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag + "".join(sorted(f" {k}" for k, _ in attrs)))


def _tags(html: str) -> list[str]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _check(text: str, tmp: Path, benign_tags: list[str]) -> None:
    out = _render_all(text, tmp)
    for name in ("table", "markdown"):
        bad = [c for c in out[name] if unicodedata.category(c) == "Cc" and c != "\n"]
        assert not bad, f"{name}: control characters {bad!r}"
        assert not any(c in out[name] for c in "\u202e\u2066"), f"{name}: bidi override"
    markdown = out["markdown"]
    for raw in ("<script", "<img", "](", "</details><"):
        if raw in text:
            assert raw not in markdown.replace("</details>\n", ""), (raw, markdown)
    ET.fromstring(out["junit"])  # parses
    json.loads(out["sarif"])
    findings = {f["rule"]: f for f in json.loads(out["json"])["targets"][0]["findings"]}
    # Not vacuous: the text did reach the reports, made safe.
    assert findings["echo.banner"]["status"] == "fail"
    assert clean(text) in findings["echo.banner"]["message"]
    assert findings["echo.auth"]["status"] == "error"
    assert clean(f"server said {text}")[:40] in findings["echo.auth"]["message"]
    assert _tags(out["html"]) == benign_tags


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=HOSTILE)
def test_arbitrary_server_text_is_inert_in_every_format(text: str, tmp_path: Path) -> None:
    benign = _tags(_render_all("benign", tmp_path)["html"])
    _check(text, tmp_path, benign)


def test_known_attacks_are_inert_in_every_format(tmp_path: Path) -> None:
    benign = _tags(_render_all("benign", tmp_path)["html"])
    for seed in SEEDS:
        _check(seed, tmp_path, benign)


# ------------------------------------------- a real hostile SSH server, end to end

EVIL = "\x1b[2J\x1b]0;pwned\x07<script>alert(1)</script>![x](https://evil.example/x.png)"


def _name_list(names: list[str]) -> bytes:
    raw = ",".join(names).encode()
    return struct.pack(">I", len(raw)) + raw


def _evil_ssh(client: socket.socket) -> None:
    """Banner and KEXINIT algorithm names carrying terminal escapes and markup."""
    client.sendall(f"SSH-2.0-OpenSSH_9.2p1 {EVIL}\r\n".encode())
    weak = ["diffie-hellman-group1-sha1", f"evil{EVIL}"]
    payload = (
        bytes([20])
        + bytes(16)
        + _name_list(weak)
        + _name_list(["ssh-ed25519", f"x{EVIL}"])
        + _name_list(["aes128-cbc"])
        + _name_list(["aes128-cbc"])
        + _name_list(["hmac-md5"])
        + _name_list(["hmac-md5"])
        + _name_list(["none"])
        + _name_list(["none"])
        + _name_list([])
        + _name_list([])
        + b"\x00"
        + struct.pack(">I", 0)
    )
    padding = 8 - (len(payload) + 5) % 8 + 8
    packet = struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)
    client.recv(4096)
    client.sendall(packet)
    time.sleep(3)


def test_a_hostile_ssh_server_reaches_no_output_raw(tmp_path: Path) -> None:
    ip = f"{LISTENER_NETWORK}.171"
    with responders.serve(ip, _evil_ssh) as port:
        result = run_auditor(
            *("scan", ip, "--ports", str(port), "--ssh-port", str(port), "--rules", "ssh"),
            *("--timeout", "2", "--no-history"),
            *("-f", "markdown", "-o", str(tmp_path / "r.md")),
            *("-f", "junit", "-o", str(tmp_path / "r.xml")),
            *("-f", "sarif", "-o", str(tmp_path / "r.sarif")),
            *("-f", "html", "-o", str(tmp_path / "r.html")),
            *("-f", "json", "-o", str(tmp_path / "r.json")),
            *("-f", "table"),  # the n-th -o goes with the n-th -f: the table, last, to stdout
        )
    assert result.code in (1, 3), result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    report = (tmp_path / "r.json").read_text()
    assert "\\u001b" not in report  # no raw ESC even inside JSON strings
    assert "\\\\x1b" in report  # shown escaped: the reader sees what was sent
    markdown = (tmp_path / "r.md").read_text()
    assert "<script>" not in markdown and "](https://evil" not in markdown
    assert "\x1b" not in markdown
    ET.parse(tmp_path / "r.xml")
    json.loads((tmp_path / "r.sarif").read_text())
    assert "<script>" not in (tmp_path / "r.html").read_text()


def test_listings_go_through_the_reports_one_safe_renderer(tmp_path: Path) -> None:
    """Issue 25: `history`, `diff` and `rules list` had a renderer of their own (tabulate,
    cells as given). A title from a user's rule pack carrying an escape sequence is shown
    as text, in the same layout as the report table."""
    from click.testing import CliRunner

    from auditor.cli import cli

    (tmp_path / "evil.yaml").write_text(
        'format: 1\npack: evil\nrules:\n  - id: evil.title\n    title: "clear \\x1b[2J screen"\n'
        "    severity: low\n    applies_to: host\n    check: 'true'\n    message: x\n"
        "    references: [x]\n"
    )
    result = CliRunner().invoke(
        cli, ["rules", "list", "--rules-dir", str(tmp_path), "--pack", "evil"]
    )
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "clear \\x1b[2J screen" in result.output
    assert result.output.splitlines()[1].startswith("----------  --------")
