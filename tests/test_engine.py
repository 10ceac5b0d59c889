"""The engine's fail-closed guarantees, with fake probes (fast tier: no lab, no network).

These probes are stand-ins on purpose: what is under test is how the engine contains a
probe that crashes on one target, not any protocol. Everything that talks to a server is
tested against a real one elsewhere.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from auditor.engine import AuditSettings, run_audit
from auditor.inventory import Inventory
from auditor.models import ProbeOutcome, Status, Target
from auditor.probes.base import PerTargetProbe
from auditor.rules import load_catalog
from auditor.scope import Scope

SCOPE = Scope((ipaddress.ip_network("127.80.0.0/24"),))


def _target(name: str, octet: int) -> Target:
    ip = ipaddress.ip_address(f"127.80.0.{octet}")
    return Target(name=name, address=str(ip), ip=ip, ports="22", rules=("ssh",))


class _CrashesOnB(PerTargetProbe):
    """An `sshd` probe that meets a reply nobody foresaw on server b."""

    name = "sshd"

    def probe(
        self, target: Target, scope: Scope, timeout: float, upstream: Mapping[str, ProbeOutcome]
    ) -> ProbeOutcome:
        if target.name == "b":
            raise RecursionError("maximum recursion depth exceeded while decoding JSON")
        settings = {"permitrootlogin": "no", "passwordauthentication": "no"}
        return ProbeOutcome(self.name, facts={"settings": settings, "source": "sshd -T"})


def test_a_crash_on_one_target_is_an_error_on_that_target_only() -> None:
    targets = (_target("a", 1), _target("b", 2), _target("c", 3))
    outcomes = _CrashesOnB().collect(targets, SCOPE, 5.0)
    assert outcomes["a"].ok and outcomes["c"].ok
    error = outcomes["b"].error
    assert error is not None and "RecursionError" in error.message


def test_the_crashed_target_is_incomplete_and_its_rules_error_never_pass() -> None:
    targets = (_target("a", 1), _target("b", 2))
    inventory = Inventory(path="<test>", version=1, scope=SCOPE, targets=targets)
    catalog = load_catalog(["ssh"])
    report = run_audit(
        inventory,
        catalog,
        [_CrashesOnB()],
        AuditSettings(show_progress=False, today=None),
    )
    by_name = {r.target.name: r for r in report.results}
    b = by_name["b"]
    assert not b.complete and b.verdict.value == "no-go"
    root_login = [f for f in b.findings if f.rule == "ssh.permit-root-login"]
    assert [f.status for f in root_login] == [Status.ERROR]
    assert all(f.status is not Status.PASS for f in b.findings if "sshd" in f.message)
    a_root = [f for f in by_name["a"].findings if f.rule == "ssh.permit-root-login"]
    assert [f.status for f in a_root] == [Status.PASS]


def test_a_dependent_probe_starts_on_a_server_as_soon_as_its_prerequisite_reported_there() -> None:
    """Issue 25: the services waited for every server's port scan, not their own. Here
    the scan reports a at once and b only when the services have started on a (or after
    5 s): the services must not wait for b."""
    import threading

    from auditor.probes.base import NO_UPSTREAM, Done, Probe, Upstream, delivery

    started_on_a = threading.Event()
    order: list[str] = []

    class _Scan(Probe):
        name = "ports"

        def collect(  # type: ignore[override]
            self,
            targets,
            scope,
            timeout,
            done: Done | None = None,
            upstream: Upstream = NO_UPSTREAM,
        ) -> Mapping[str, ProbeOutcome]:
            deliver, kept = delivery(done)
            for target in targets:
                if target.name == "b":
                    started_on_a.wait(5.0)
                    order.append("scan b done")
                deliver(target.name, ProbeOutcome("ports", facts={"ports": []}))
            return kept

    class _Services(PerTargetProbe):
        name = "services"
        needs = ("ports",)

        def probe(
            self, target: Target, scope: Scope, timeout: float, upstream: Mapping[str, ProbeOutcome]
        ) -> ProbeOutcome:
            assert upstream["ports"].ok
            order.append(f"services {target.name}")
            if target.name == "a":
                started_on_a.set()
            return ProbeOutcome("services", facts={"services": []})

    targets = tuple(
        Target(name=n, address=f"127.80.0.{i}", ip=ipaddress.ip_address(f"127.80.0.{i}"),
               ports="22", rules=("services",))
        for i, n in ((1, "a"), (2, "b"))
    )  # fmt: skip
    inventory = Inventory(path="<test>", version=1, scope=SCOPE, targets=targets)
    report = run_audit(
        inventory, load_catalog(["services"]), [_Scan(), _Services(2)],
        AuditSettings(show_progress=False),
    )  # fmt: skip
    assert order.index("services a") < order.index("scan b done"), order
    assert all(r.complete for r in report.results), [r.errors for r in report.results]
