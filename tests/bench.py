"""`make bench`: how audit time grows with the fleet, on real servers.

1. Port stage: each fleet host is a loopback address with two real listening sockets; the
   inventory declares one of them, so every host yields findings. Cost should grow
   linearly (flat ms/host) as the fleet grows.
2. SSH stage (root only): a fleet of real sshd instances from the lab, audited with the
   `ssh` rule pack serially (--concurrency 1) and concurrently.
3. Services stage: 100 hosts, each with real nginx (80), Redis (6379) and memcached
   (11211) listening: every open port identified from what it says, then checked.
4. AWS stage: moto in server mode seeded with 1,000 buckets and 200 security groups,
   audited account-wide (discovery) with the `aws` pack; wall time and API calls per
   resource, counted by botocore's own events.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import yaml
from tabulate import tabulate

from auditor.engine import AuditSettings, run_audit
from auditor.inventory import load_inventory
from auditor.probes.ports import PortProbe
from auditor.probes.registry import ProbeSettings, build_probes
from auditor.probes.ssh_session import SshOptions
from auditor.rules import catalog_for

NETWORK = "127.81"
PORTS = "22,80,443,3306,5432,6379,8000-8100,9200,11211,27017"
SIZES = (10, 50, 100, 200)


def fleet_addresses(count: int) -> list[str]:
    return [f"{NETWORK}.{i // 250}.{i % 250 + 1}" for i in range(count)]


def open_fleet(addresses: list[str]) -> list[socket.socket]:
    sockets = []
    for ip in addresses:
        for port in (8080, 6379):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((ip, port))
            sock.listen(8)
            sockets.append(sock)
    return sockets


def write_inventory(path: Path, addresses: list[str]) -> None:
    servers = [
        {
            "name": f"host-{i:04d}",
            "address": ip,
            "change": {
                "id": f"CHG-{i}",
                "approved": True,
                "exposes": [{"port": 8080, "service": "http", "to": "internal"}],
            },
        }
        for i, ip in enumerate(addresses)
    ]
    data = {"version": 1, "scope": [f"{NETWORK}.0.0/16"], "defaults": {"ports": PORTS}}
    data["servers"] = servers
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def measure(count: int, workdir: Path) -> tuple[float, int]:
    addresses = fleet_addresses(count)
    sockets = open_fleet(addresses)
    try:
        path = workdir / f"fleet-{count}.yaml"
        write_inventory(path, addresses)
        started = time.perf_counter()
        inventory = load_inventory(path)
        catalog = catalog_for(inventory)
        report = run_audit(
            inventory, catalog, [PortProbe()], AuditSettings(timeout=120, show_progress=False)
        )
        elapsed = time.perf_counter() - started
    finally:
        for sock in sockets:
            sock.close()
    incomplete = [r.target.name for r in report.results if not r.complete]
    if incomplete:
        raise SystemExit(f"bench: {len(incomplete)} hosts incomplete, e.g. {incomplete[0]}")
    findings = sum(len(r.findings) for r in report.results)
    return elapsed, findings


def ssh_stage(workdir: Path, count: int = 24) -> list[list[str]]:
    from tests.lab.lab import HARDENED_SSHD, Lab, LabHost, _ssh_change
    from tests.lab.services import Sshd

    fleet = tuple(
        LabHost(f"ssh-{i:02d}", 10 + i, (Sshd(config=HARDENED_SSHD),), change=_ssh_change(f"C{i}"))
        for i in range(count)
    )
    lab = Lab(workdir / "ssh-lab", "127.83.0", fleet)
    problems = lab.missing()
    if problems:
        print(f"SSH stage skipped: {'; '.join(problems)}")
        return []
    lab.up()
    rows = []
    try:
        path = lab.write_inventory(workdir / "ssh.yaml")
        data = yaml.safe_load(path.read_text())
        data["defaults"]["rules"] = ["ssh"]
        path.write_text(yaml.safe_dump(data))
        inventory = load_inventory(path)
        catalog = catalog_for(inventory)
        for concurrency in (1, 4, 10):
            probes = build_probes(
                ProbeSettings(
                    concurrency=concurrency, ssh=SshOptions(known_hosts=(lab.known_hosts,))
                )
            )
            started = time.perf_counter()
            report = run_audit(
                inventory, catalog, probes, AuditSettings(timeout=60, show_progress=False)
            )
            elapsed = time.perf_counter() - started
            go = sum(r.verdict.value == "go" for r in report.results)
            rows.append(
                [
                    count,
                    concurrency,
                    f"{elapsed:.2f}",
                    f"{elapsed / count * 1000:.0f}",
                    f"{go}/{count}",
                ]
            )
    finally:
        lab.down()
    return rows


def services_stage(workdir: Path, count: int = 100) -> list[list[str]]:
    """Identification and checks of every open port on `count` hosts of real daemons."""
    import shutil
    import subprocess

    from auditor.probes.services import ServicesProbe
    from tests.lab.services import stop_group, wait_for_port

    if any(shutil.which(b) is None for b in ("nginx", "redis-server", "memcached")):
        print("services stage skipped: nginx, redis-server or memcached missing")
        return []
    network = "127.85"
    addresses = [f"{network}.{i // 250}.{i % 250 + 1}" for i in range(count)]
    home = workdir / "services"
    (home / "www").mkdir(parents=True)
    (home / "www" / "index.html").write_text("<html><title>bench</title></html>\n")
    listens = "\n".join(f"    listen {ip}:80;" for ip in addresses)
    (home / "nginx.conf").write_text(
        f"daemon off;\n{'user root;' if os.geteuid() == 0 else ''}\npid {home}/nginx.pid;\n"
        f"error_log {home}/nginx-error.log;\nworker_processes 1;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n  access_log off;\n  server {{\n{listens}\n    root {home}/www;\n  }}\n}}\n"
    )
    processes = [
        subprocess.Popen(
            ["nginx", "-c", str(home / "nginx.conf"), "-p", str(home)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    for start in range(0, count, 16):  # redis binds at most 16 addresses per process
        binds = " ".join(addresses[start : start + 16])
        processes.append(
            subprocess.Popen(
                [
                    *("redis-server", "--bind", *binds.split(), "--port", "6379", "--save", ""),
                    *("--protected-mode", "no", "--dir", str(home)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    memcached = ["memcached", "-l", ",".join(addresses), "-p", "11211", "-U", "0", "-m", "16"]
    if os.geteuid() == 0:
        memcached += ["-u", "nobody"]
    processes.append(
        subprocess.Popen(
            memcached, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    )
    try:
        for process, port in ((processes[0], 80), (processes[1], 6379), (processes[-1], 11211)):
            wait_for_port(addresses[0], port, process, timeout=15)
        wait_for_port(addresses[-1], 6379, processes[-2], timeout=15)
        path = workdir / "services.yaml"
        servers = [
            {"name": f"svc-{i:03d}", "address": ip, "rules": ["services"]}
            for i, ip in enumerate(addresses)
        ]
        path.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "scope": [f"{network}.0.0/16"],
                    "defaults": {"ports": "80,6379,11211"},
                    "servers": servers,
                }
            )
        )
        inventory = load_inventory(path)
        probes = [PortProbe(), ServicesProbe(concurrency=16)]
        started = time.perf_counter()
        report = run_audit(
            inventory,
            catalog_for(inventory),
            probes,
            AuditSettings(timeout=60, show_progress=False),
        )
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            stop_group(process.pid)
    ports = sum(
        1
        for r in report.results
        for f in r.findings
        if f.rule == "services.redis-unauthenticated" and f.status.value == "fail"
    )
    unknown = sum(
        1
        for r in report.results
        for f in r.findings
        if f.rule == "services.unidentified-open-port" and f.status.value != "skip"
    )
    incomplete = sum(not r.complete for r in report.results)
    return [
        [
            count,
            count * 3,
            f"{elapsed:.2f}",
            f"{elapsed / count * 1000:.0f}",
            ports,
            unknown,
            incomplete,
        ]
    ]


def aws_stage(workdir: Path, buckets: int = 1000, groups: int = 200) -> list[list[str]]:
    from auditor.inventory.aws_discovery import with_discovered
    from auditor.inventory.model import Inventory
    from auditor.models import AwsSettings
    from auditor.probes import aws_api
    from auditor.probes.aws import AwsProbe
    from auditor.rules import load_catalog
    from auditor.scope import Scope
    from tests.lab import cloud
    from tests.lab.lab import Lab, LabHost
    from tests.lab.services import MotoServer

    os.environ.update(cloud.FAKE_CREDENTIALS)
    lab = Lab(workdir / "aws-lab", "127.84.0", (LabHost("moto", 10, (MotoServer(),), rules=()),))
    lab.up()  # seeds the lab's own resources too
    try:
        endpoint = lab.aws_endpoint or ""
        s3, ec2 = cloud.client(endpoint, "s3"), cloud.client(endpoint, "ec2")
        for index in range(buckets):
            s3.create_bucket(
                Bucket=f"bench-{index:04d}",
                CreateBucketConfiguration={"LocationConstraint": cloud.REGION},
            )
        vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        for index in range(groups):
            group = ec2.create_security_group(
                GroupName=f"bench-{index}", Description="bench", VpcId=vpc
            )["GroupId"]
            ec2.authorize_security_group_ingress(
                GroupId=group,
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 443,
                        "ToPort": 443,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                    }
                ],
            )
        calls = [0]
        original = aws_api.Aws.client

        def counting(self: aws_api.Aws, service: str) -> object:
            client = original(self, service)
            client.meta.events.register(
                "before-call.*.*", lambda **_: calls.__setitem__(0, calls[0] + 1)
            )
            return client

        aws_api.Aws.client = counting  # type: ignore[method-assign]
        settings = AwsSettings(regions=(cloud.REGION,), endpoint_url=endpoint, discover=True)
        started = time.perf_counter()
        inventory = with_discovered(Inventory("<bench>", 1, Scope(()), (), aws=settings))
        report = run_audit(
            inventory,
            load_catalog(["aws"]),
            [AwsProbe(settings, concurrency=16)],
            AuditSettings(timeout=120, show_progress=False),
        )
        elapsed = time.perf_counter() - started
        aws_api.Aws.client = original  # type: ignore[method-assign]
    finally:
        lab.down()
    resources = len(report.results)
    incomplete = sum(not r.complete for r in report.results)
    return [
        [
            resources,
            f"{elapsed:.1f}",
            f"{elapsed / resources * 1000:.1f}",
            calls[0],
            f"{calls[0] / resources:.1f}",
            incomplete,
        ]
    ]


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in SIZES:
            elapsed, findings = measure(count, Path(tmp))
            rows.append([count, f"{elapsed:.2f}", f"{elapsed / count * 1000:.1f}", findings])
        ssh_rows = ssh_stage(Path(tmp))
        service_rows = services_stage(Path(tmp))
        aws_rows = aws_stage(Path(tmp))
    print(f"port probe + baseline rules, {PORTS.count(',') + 101} TCP ports per host, nmap -sT")
    print(tabulate(rows, headers=["hosts", "wall s", "ms / host", "findings"]))
    if ssh_rows:
        print("\nSSH stage (probes ssh, ssh_auth, sshd; rule pack ssh) on real sshd instances")
        print(tabulate(ssh_rows, headers=["sshd", "concurrency", "wall s", "ms / host", "GO"]))
    if service_rows:
        print("\nServices stage: ports + services probes, every open port identified then checked")
        print(
            tabulate(
                service_rows,
                headers=[
                    "hosts",
                    "open ports",
                    "wall s",
                    "ms / host",
                    "redis found",
                    "unidentified",
                    "incomplete",
                ],
            )
        )
    print("\nAWS stage: account-wide audit on moto (1,000 buckets, 200 security groups)")
    print(
        tabulate(
            aws_rows,
            headers=[
                "resources",
                "wall s",
                "ms / resource",
                "API calls",
                "calls / resource",
                "incomplete",
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
