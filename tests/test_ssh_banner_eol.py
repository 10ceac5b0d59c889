"""An SSH banner that names a Debian release past its end of life (nuclei
network/misconfig/ssh-eol-debian). Those releases cannot run here: a responder sends the
banners Debian's OpenSSH packages send (the release's revision suffix, as listed in
richlamdev/ssh-default-banners) and a KEXINIT; the real Debian 12 sshd passes in the lab's
SSH tests (tests/test_ssh.py, the hardened host)."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.models import SshSettings, Status, Target
from auditor.probes.ssh.options import SshOptions
from auditor.probes.ssh.probe import SshProbe
from auditor.rules import evaluate_target, load_catalog
from auditor.scope import Scope
from tests import responders
from tests.conftest import LISTENER_NETWORK

IP = f"{LISTENER_NETWORK}.106"
SCOPE = Scope((ipaddress.ip_network(f"{LISTENER_NETWORK}.0/24"),))


@pytest.mark.parametrize(
    ("banner", "expected"),
    [
        (b"SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7", Status.FAIL),
        (b"SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3", Status.FAIL),
        (b"SSH-2.0-OpenSSH_5.5p1 Debian-6+squeeze5", Status.FAIL),
        (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", Status.PASS),
        (b"SSH-2.0-OpenSSH_9.9", Status.PASS),
    ],
    ids=["stretch", "bullseye", "squeeze", "bookworm", "no-revision"],
)
def test_a_banner_of_an_end_of_life_debian_release_fails(banner: bytes, expected: Status) -> None:
    with responders.serve(IP, responders.ssh_server(banner)) as port:
        target = Target("old", IP, ipaddress.ip_address(IP), ssh=SshSettings(port=port))
        probe = SshProbe(SshOptions(known_hosts=()), roots=("ssh",))
        outcome = probe.collect([target], SCOPE, timeout=5.0)["old"]
    assert outcome.ok, outcome.error
    rules = [r for r in load_catalog(["ssh"]).all_rules() if r.id == "ssh.end-of-life-release"]
    (finding,) = evaluate_target(target, rules, {"ssh": outcome})
    assert finding.status is expected, finding
    if expected is Status.FAIL:
        assert banner.decode()[8:] in finding.message
