"""`make bench`: how audit time grows with the fleet, on real servers.

1. Port stage: each fleet host is a loopback address with two real listening sockets; the
   inventory declares one of them, so every host yields findings. Cost should grow
   linearly (flat ms/host) as the fleet grows.
2. Fleet stage (root only): 50 / 200 / 1,000 real sshd (`BENCH_FLEET`), each in its own
   mount namespace on its own loopback address, audited with the baseline, ssh and host
   packs by `auditor audit` in its own process: time and CPU per server, peak RSS (the
   kernel's high-water mark), JSON report size per server, SSH connections and sshd CPU
   per server (from the sshd logs and /proc), and a digest of the findings so two commits
   can be compared. Each sshd sees a stock root home and no apt lists (`Sshd.stock_host`):
   this machine's own would cost seconds of CPU per server and measure them, not the audit.
3. Hardening stage (root only): `BENCH_DEBIAN` (20) real Debian 12 systems hardened by the
   benchmark's remediation (tests/lab/debian.py), audited with baseline + ssh + host, then
   with the hardening pack too: the cost of 230 more rules and 48 host reads per server,
   and the SSH logins per server (from each system's own sshd log: still one).
4. Services stage: 100 hosts, each with real nginx (80), Redis (6379) and memcached
   (11211) listening: every open port identified from what it says, then checked.
5. AWS stage: moto in server mode seeded with 1,000 buckets and 200 security groups,
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
from typing import Any

import yaml
from tabulate import tabulate

from auditor.engine import AuditSettings, run_audit
from auditor.inventory import load_inventory
from auditor.probes.ports import PortProbe
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


FLEET_SIZES = tuple(int(n) for n in os.environ.get("BENCH_FLEET", "50,200,1000").split(","))
"""Sizes of the sshd fleet (`BENCH_FLEET=50,200` for a shorter run)."""


BLOCK = 240
FLEET_PACKS = tuple(os.environ.get("BENCH_PACKS", "baseline,ssh,host").split(","))
"""Rule packs of the fleet stage: baseline, ssh and host need every SSH probe."""


def sshd_usage(labs: list[Any]) -> tuple[int, float]:
    """SSH connections the fleet's sshd have logged (VERBOSE: `Connection from`, less those
    closed before any SSH was said: the port scan), and their CPU seconds so far, the
    listeners' own and their reaped per-connection children's, from /proc."""
    import json

    connections, cpu_ticks = 0, 0
    for lab in labs:
        for log in lab.state_dir.glob("*/ssh-*/sshd.log"):
            text = log.read_text(errors="replace")
            connections += text.count("Connection from")
            connections -= text.count("kex_exchange_identification: Connection closed")
        state = lab.state_dir / "state.json"
        for entry in json.loads(state.read_text()) if state.exists() else []:
            try:
                fields = Path(f"/proc/{entry['pid']}/stat").read_text().rsplit(")", 1)[1].split()
            except (KeyError, OSError):
                continue
            cpu_ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return connections, cpu_ticks / os.sysconf("SC_CLK_TCK")


def sshd_fleet(workdir: Path, count: int) -> list[Any]:
    """`count` real sshd, each in its own mount namespace on its own loopback address, as
    labs of at most 240 hosts (127.83.N.10-249) sharing one client key."""
    from tests.lab.lab import HARDENED_SSHD, Lab, LabHost, _ssh_change
    from tests.lab.services import Sshd

    labs = []
    for block in range(0, count, BLOCK):
        fleet = tuple(
            LabHost(
                f"ssh-{block + i:04d}",
                10 + i,
                (Sshd(config=HARDENED_SSHD, stock_host=True),),
                change=_ssh_change(f"C{block + i}"),
            )
            for i in range(min(BLOCK, count - block))
        )
        labs.append(Lab(workdir / f"ssh-lab-{block // BLOCK}", f"127.83.{block // BLOCK}", fleet))
    return labs


def fleet_inventory(labs: list[Any], path: Path) -> Path:
    known_hosts = path.with_name("fleet_known_hosts")
    known_hosts.write_text("".join(lab.known_hosts.read_text() for lab in labs))
    data = labs[0].inventory()
    data["scope"] = ["127.83.0.0/16"]
    data["defaults"]["rules"] = list(FLEET_PACKS)
    data["defaults"]["ssh"]["known_hosts"] = str(known_hosts)
    data["servers"] = [server for lab in labs for server in lab.inventory()["servers"]]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def audit_process(inventory: Path, report: Path) -> dict[str, float]:
    """Run `auditor audit` as its own process and measure it: wall time, CPU, its peak RSS
    (the kernel's own high-water mark, from wait4) and that of its rule workers."""
    import subprocess

    command = [
        *(sys.executable, "-m", "auditor", "audit", str(inventory), "-q"),
        *("--no-history", "-f", f"json={report}", "--timeout", "120"),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    workers: dict[int, int] = {}
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        try:  # the rule workers' high-water marks, while they live
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
        except OSError:
            children = ""
        for child in map(int, children.split()):
            workers[child] = max(workers.get(child, 0), _hwm_kb(child))
        time.sleep(0.2)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": time.perf_counter() - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "workers_mb": sum(workers.values()) / 1024,
        "exit": float(process.returncode),
    }


def findings_digest(document: dict[str, Any]) -> str:
    """A short hash of every (target, rule, resource, status) and verdict in a report, so that two
    runs of the fleet stage (on two commits) show at a glance whether they found the same.
    Evidence is left out: it holds the fleet's host-key fingerprints, new on every run."""
    import hashlib
    import json

    rows = sorted(
        json.dumps([t["name"], f["rule"], f["resource"], f["status"]])
        for t in document["targets"]
        for f in t["findings"]
    )
    rows += sorted(
        json.dumps([t["name"], t["verdict"], len(t["errors"])]) for t in document["targets"]
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:12]


def _hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def fleet_stage(workdir: Path) -> list[list[str]]:
    """Baseline + ssh on fleets of real sshd: time per server, peak RSS, report size."""
    import json

    labs = sshd_fleet(workdir, max(FLEET_SIZES))
    problems = labs[0].missing()
    if problems:
        print(f"fleet stage skipped: {'; '.join(problems)}")
        return []
    rows = []
    try:
        started = time.perf_counter()
        for lab in labs:
            if lab is not labs[0]:  # one client key for every block
                lab.state_dir.mkdir(parents=True, exist_ok=True)
                for name in (labs[0].client_key.name, labs[0].client_key.name + ".pub"):
                    (lab.state_dir / name).write_bytes((labs[0].state_dir / name).read_bytes())
                    (lab.state_dir / name).chmod(0o600)
            lab.up()
        print(f"fleet of {max(FLEET_SIZES)} sshd up in {time.perf_counter() - started:.0f} s")
        for count in FLEET_SIZES:
            chosen = sshd_fleet(workdir, count)
            for lab, own in zip(chosen, labs, strict=False):
                lab.state_dir = own.state_dir
            path = fleet_inventory(chosen, workdir / f"fleet-sshd-{count}.yaml")
            report = workdir / f"fleet-sshd-{count}.json"
            connections, sshd_cpu = sshd_usage(labs)
            figures = audit_process(path, report)
            after, sshd_after = sshd_usage(labs)
            document = json.loads(report.read_text())
            size = report.stat().st_size
            go = document["summary"]["go"]
            incomplete = document["summary"]["incomplete"]
            rows.append(
                [
                    count,
                    f"{figures['wall']:.1f}",
                    f"{figures['wall'] / count * 1000:.0f}",
                    f"{figures['cpu'] / count * 1000:.0f}",
                    f"{figures['rss_mb']:.0f}",
                    f"{figures['workers_mb']:.0f}",
                    f"{size / count / 1024:.1f}",
                    f"{go}/{count}",
                    incomplete,
                    f"{(after - connections) / count:.2f}",
                    f"{(sshd_after - sshd_cpu) / count * 1000:.0f}",
                    findings_digest(document),
                ]
            )
            print("  ", rows[-1], flush=True)
    finally:
        for lab in labs:
            lab.down()
    return rows


DEBIAN_COUNT = int(os.environ.get("BENCH_DEBIAN", "20"))
HARDENING_PACKS = (("baseline", "ssh", "host"), ("baseline", "ssh", "host", "hardening"))


def debian_logins(lab: Any) -> int:
    """Logins the fleet's Debian systems have logged (their own sshd log, in the overlay)."""
    return sum(
        log.read_text(errors="replace").count("Accepted publickey")
        for log in lab.state_dir.glob("*/ssh-*/upper/var/log/sshd.log")
    )


def hardening_stage(workdir: Path) -> list[list[str]]:
    """The host stage before and after the hardening pack, on real hardened Debian."""
    import json

    from tests.lab.debian import DebianHost
    from tests.lab.lab import (
        DEV_SEC_NET_SYSCTLS,
        HARDENED_NET_SYSCTLS,
        HARDENED_SSHD,
        Lab,
        LabHost,
        _declared,
    )

    config = (*HARDENED_SSHD, "Banner /etc/issue.net", "AllowGroups root", "AddressFamily inet")
    fleet = tuple(
        LabHost(
            f"debian-{i:03d}",
            100 + i,
            (DebianHost(hardened=True, config=config),),
            change=_declared(f"CHG-{i}", (22, "ssh")),
            netns=True,
            sysctls=HARDENED_NET_SYSCTLS + DEV_SEC_NET_SYSCTLS,
        )
        for i in range(DEBIAN_COUNT)
    )
    lab = Lab(workdir / "debian-lab", "127.85.0", fleet)
    problems = lab.missing()
    if problems:
        print(f"hardening stage skipped: {'; '.join(problems)}")
        return []
    rows = []
    try:
        started = time.perf_counter()
        lab.up()
        print(f"{DEBIAN_COUNT} Debian systems up in {time.perf_counter() - started:.0f} s")
        for packs in HARDENING_PACKS:
            data = lab.inventory()
            data["defaults"]["rules"] = list(packs)
            for server in data["servers"]:
                server.pop("rules", None)
            path = workdir / f"debian-{len(packs)}.yaml"
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            report = workdir / f"debian-{len(packs)}.json"
            logins = debian_logins(lab)
            figures = audit_process(path, report)
            document = json.loads(report.read_text())
            findings = sum(len(t["findings"]) for t in document["targets"])
            rows.append(
                [
                    " + ".join(packs),
                    f"{figures['wall']:.1f}",
                    f"{figures['cpu'] / DEBIAN_COUNT * 1000:.0f}",
                    f"{figures['rss_mb']:.0f}",
                    f"{report.stat().st_size / DEBIAN_COUNT / 1024:.1f}",
                    findings // DEBIAN_COUNT,
                    document["summary"]["incomplete"],
                    f"{(debian_logins(lab) - logins) / DEBIAN_COUNT:.2f}",
                ]
            )
            print("  ", rows[-1], flush=True)
    finally:
        lab.down()
    return rows


def _nginx(home: Path, server: str) -> Any:
    """One nginx worker serving one `server { ... }` block (the stages' many addresses)."""
    import subprocess

    (home / "nginx.conf").write_text(
        f"daemon off;\n{'user root;' if os.geteuid() == 0 else ''}\npid {home}/nginx.pid;\n"
        f"error_log {home}/nginx-error.log;\nworker_processes 1;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n  access_log off;\n  server {{\n{server}\n  }}\n}}\n"
    )
    return subprocess.Popen(
        ["nginx", "-c", str(home / "nginx.conf"), "-p", str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


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
    processes = [_nginx(home, f"{listens}\n    root {home}/www;")]
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
        data = {"scope": [f"{network}.0.0/16"], "defaults": {"ports": "80,6379,11211"}}
        report, elapsed = _timed_audit(path, data | {"servers": servers}, [ServicesProbe(16)])
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
    from auditor.cloud.aws import api as aws_api
    from auditor.cloud.aws.probe import AwsProbe
    from auditor.cloud.aws.settings import AwsSettings
    from auditor.inventory.model import Inventory
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
        inventory = Inventory("<bench>", 1, Scope(()), (), clouds={"aws": settings})
        inventory = inventory.with_discovered()
        report = run_audit(
            inventory,
            load_catalog(["aws"]),
            [AwsProbe(settings, concurrency=16)],
            AuditSettings(timeout=120, show_progress=False),
        )
        elapsed = time.perf_counter() - started
        aws_api.Aws.client = original  # type: ignore[method-assign]
        # The same account audited by the CLI in its own process: peak RSS, report size.
        account = workdir / "account.yaml"
        account.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "scope": ["127.84.0.0/24"],
                    "servers": [],
                    "cloud": {
                        "aws": {
                            "endpoint_url": endpoint,
                            "regions": [cloud.REGION],
                            "discover": True,
                        }
                    },
                }
            )
        )
        report_path = workdir / "account.json"
        cli = audit_process(account, report_path)
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
            f"{cli['wall']:.1f}",
            f"{cli['rss_mb']:.0f}",
            f"{report_path.stat().st_size / 1e6:.2f}",
        ]
    ]


STAGES = set(
    os.environ.get("BENCH_STAGES", "ports,fleet,hardening,services,aws,tls-udp").split(",")
)
"""Which stages to run (`BENCH_STAGES=hardening make bench`); all by default."""


def _timed_audit(path: Path, data: dict[str, Any], probes: list[Any]) -> tuple[Any, float]:
    """Write an inventory v1 of `data`, audit it in process with the port probe and
    `probes`, and time the audit alone."""
    path.write_text(yaml.safe_dump({"version": 1, **data}))
    inventory = load_inventory(path)
    started = time.perf_counter()
    report = run_audit(
        inventory,
        catalog_for(inventory),
        [PortProbe(), *probes],
        AuditSettings(timeout=60, show_progress=False),
    )
    return report, time.perf_counter() - started


TLS_UDP_COUNT = int(os.environ.get("BENCH_TLS_UDP", "100"))


def tls_udp_stage(workdir: Path, count: int = TLS_UDP_COUNT) -> list[list[Any]]:
    """What the TLS and UDP stages cost per 100 hosts: one nginx serving TLS on 443 of
    every address and one snmpd answering `public` on 161/udp of every address; the
    services probe run with its UDP questions off, then on, then with the tls probe."""
    import resource
    import shutil
    import subprocess

    from auditor.probes.services import ServicesProbe
    from auditor.probes.services import udp as udp_module
    from auditor.probes.tls import TlsProbe
    from tests.lab.certs import certificate
    from tests.lab.services import stop_group, udp_bound, wait_for_port

    if any(shutil.which(b) is None for b in ("nginx", "snmpd", "openssl")):
        print("tls-udp stage skipped: nginx, snmpd or openssl missing")
        return []
    network = "127.86"
    addresses = [f"{network}.{i // 250}.{i % 250 + 1}" for i in range(count)]
    home = workdir / "tls-udp"
    home.mkdir(parents=True)
    cert, key = certificate(home / "tls", "self-signed", addresses[0])
    listens = "\n".join(f"    listen {ip}:443 ssl;" for ip in addresses)

    agents = ",".join(f"udp:{ip}:161" for ip in addresses)
    (home / "snmpd.conf").write_text(f"agentaddress {agents}\nrocommunity public default\n")
    processes = [
        _nginx(home, f"{listens}\n    ssl_certificate {cert};\n    ssl_certificate_key {key};"),
        subprocess.Popen(
            ["snmpd", "-f", "-C", "-c", str(home / "snmpd.conf"), "-p", str(home / "snmpd.pid")],
            start_new_session=True,
            env={**os.environ, "SNMP_PERSISTENT_DIR": str(home / "snmp")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    rows: list[list[Any]] = []
    saved = udp_module.UDP_CHECKS
    try:
        wait_for_port(addresses[-1], 443, processes[0], timeout=15)
        deadline = time.monotonic() + 15
        while not udp_bound(addresses[-1], 161, None) and time.monotonic() < deadline:
            time.sleep(0.1)
        path = workdir / "tls-udp.yaml"
        servers = [{"name": f"t-{i:03d}", "address": ip} for i, ip in enumerate(addresses)]
        for label, packs, udp_on in (
            ("services, UDP off", ["services"], False),
            ("services with UDP", ["services"], True),
            ("services with UDP + tls", ["services", "tls"], True),
        ):
            udp_module.UDP_CHECKS = saved if udp_on else ()
            data = {"scope": [f"{network}.0.0/16"], "servers": servers}
            data["defaults"] = {"ports": "443", "rules": packs}
            cpu = resource.getrusage(resource.RUSAGE_SELF)
            report, elapsed = _timed_audit(path, data, [ServicesProbe(16), TlsProbe(16)])
            after = resource.getrusage(resource.RUSAGE_SELF)
            used = (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
            fails = sum(f.status.value == "fail" for r in report.results for f in r.findings)
            incomplete = sum(not r.complete for r in report.results)
            rows.append(
                [
                    label,
                    count,
                    f"{elapsed:.2f}",
                    f"{elapsed / count * 100:.1f}",
                    f"{used / count * 1000:.0f}",
                    fails,
                    incomplete,
                ]
            )
    finally:
        udp_module.UDP_CHECKS = saved
        for process in processes:
            stop_group(process.pid)
    return rows


def main() -> int:
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in SIZES if "ports" in STAGES else ():
            elapsed, findings = measure(count, Path(tmp))
            rows.append([count, f"{elapsed:.2f}", f"{elapsed / count * 1000:.1f}", findings])
        ssh_rows = fleet_stage(Path(tmp)) if "fleet" in STAGES else []
        hardening_rows = hardening_stage(Path(tmp)) if "hardening" in STAGES else []
        service_rows = services_stage(Path(tmp)) if "services" in STAGES else []
        aws_rows = aws_stage(Path(tmp)) if "aws" in STAGES else []
        tls_udp_rows = tls_udp_stage(Path(tmp)) if "tls-udp" in STAGES else []
    if tls_udp_rows:
        print(
            f"\nTLS and UDP stages: {TLS_UDP_COUNT} hosts, TLS on 443 and SNMP public on 161/udp each"
        )
        print(
            tabulate(
                tls_udp_rows,
                headers=[
                    "packs",
                    "hosts",
                    "wall s",
                    "wall s / 100 hosts",
                    "CPU ms / host",
                    "fails",
                    "incomplete",
                ],
            )
        )
    if rows:
        print(f"port probe + baseline rules, {PORTS.count(',') + 101} TCP ports per host, nmap -sT")
        print(tabulate(rows, headers=["hosts", "wall s", "ms / host", "findings"]))
    if ssh_rows:
        print(
            f"\nFleet of real sshd, rule packs {' + '.join(FLEET_PACKS)}, default concurrency, "
            "`auditor audit` as its own process"
        )
        print(
            tabulate(
                ssh_rows,
                headers=[
                    "sshd",
                    "wall s",
                    "ms / server",
                    "CPU ms / server",
                    "peak RSS MB",
                    "rule workers MB",
                    "JSON KB / server",
                    "GO",
                    "incomplete",
                    "SSH conns / server",
                    "sshd CPU ms / server",
                    "findings digest",
                ],
            )
        )
    if hardening_rows:
        print(f"\nHardening stage: {DEBIAN_COUNT} hardened Debian 12 systems, before and after")
        print(
            tabulate(
                hardening_rows,
                headers=[
                    "packs",
                    "wall s",
                    "CPU ms / server",
                    "peak RSS MB",
                    "JSON KB / server",
                    "findings / server",
                    "incomplete",
                    "SSH logins / server",
                ],
            )
        )
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
    if not aws_rows:
        return 0
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
                "CLI wall s",
                "CLI peak RSS MB",
                "JSON MB",
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
