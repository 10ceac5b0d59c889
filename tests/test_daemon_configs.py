"""Issue 24 #2: daemon configs read the way the daemon reads them, proven against the real
daemon's own answer.

Each Redis config below is started with a real redis-server; what `CONFIG GET` says is
compared with what the host probe concludes from the same file, read by the very shell and
awk command it runs over SSH (run here with `sh -c`) and the same parser."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from auditor.probes.ssh.commands import command
from auditor.probes.ssh.daemon_configs import ConfigError, redis_facts, redis_split
from tests.conftest import LISTENER_NETWORK
from tests.lab.services import stop_group, wait_for_port

IP = f"{LISTENER_NETWORK}.180"

CASES = {
    # The three configs of the issue: real Redis 7 runs with protected mode off and no
    # password, and the host probe on main said "protected".
    "case-insensitive, last wins": "protected-mode yes\nPROTECTED-MODE no\n",
    "empty requirepass": 'protected-mode no\nrequirepass ""\n',
    "two lines, the last says no": "protected-mode yes\nprotected-mode no\n",
    # And the other ways round.
    "a password": "protected-mode no\nrequirepass s3cret-value\n",
    "a quoted password with a blank": 'protected-mode no\nrequirepass "two words"\n',
    "single-quoted empty password": "protected-mode no\nrequirepass ''\n",
    "password then cleared": "requirepass first\nRequirePass ''\nprotected-mode no\n",
    "include overrides earlier lines": "protected-mode yes\ninclude {extra}\n",
    "later lines override an include": "include {extra}\nprotected-mode yes\n",
    "defaults": "",
}
EXTRA = "protected-mode no\n"


def _resp(sock: socket.socket, *words: str) -> Any:
    sock.sendall(
        f"*{len(words)}\r\n".encode()
        + b"".join(f"${len(w.encode())}\r\n{w}\r\n".encode() for w in words)
    )
    reader = sock.makefile("rb")
    return _read(reader)


def _read(reader: Any) -> Any:
    line = reader.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"*":
        return [_read(reader) for _ in range(int(rest))]
    if kind == b"$":
        data = reader.read(int(rest) + 2)[:-2]
        return data.decode()
    if kind == b"-":
        raise AssertionError(rest.decode())
    return rest.decode()


def _password(config: str) -> str | None:
    last = None
    for line in config.splitlines():
        words = redis_split(line.strip()) if line.strip() else []
        if words and words[0].lower() == "requirepass":
            last = words[1]
    return last or None


def _real_redis(config: str, home: Path, port: int) -> dict[str, str]:
    """What redis-server itself runs with, for this config."""
    conf = home / "redis.conf"
    conf.write_text(
        f"bind {IP}\nport {port}\ndaemonize no\nsave ''\nappendonly no\n"
        f"dir {home}\nlogfile {home / 'redis.log'}\n" + config
    )
    server = subprocess.Popen(
        ["redis-server", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(IP, port, server, timeout=10)
        with socket.create_connection((IP, port), timeout=5) as sock:
            password = _password(config.replace("{extra}", ""))
            if password:
                assert _resp(sock, "AUTH", password) == "OK"
            protected = _resp(sock, "CONFIG", "GET", "protected-mode")
            requirepass = _resp(sock, "CONFIG", "GET", "requirepass")
        return {"protected-mode": protected[1], "requirepass": requirepass[1]}
    finally:
        stop_group(server.pid)


def _probe_reads(config: str) -> dict[str, Any]:
    """What the host probe concludes: its own remote command, its own parser."""

    def run(path: str) -> str:
        line = command("redis_config", sudo="", path=path)
        done = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return redis_facts(run(config), run)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
@pytest.mark.parametrize("name", sorted(CASES))
def test_redis_config_is_read_as_redis_reads_it(tmp_path: Path, name: str) -> None:
    extra = tmp_path / "extra.conf"
    extra.write_text(EXTRA)
    config = CASES[name].replace("{extra}", str(extra))
    port = 6400 + sorted(CASES).index(name)
    real = _real_redis(config, tmp_path, port)
    main = tmp_path / "redis.conf"  # the full file redis-server ran with
    probed = _probe_reads(str(main))
    assert probed["protected_mode"] == real["protected-mode"], (name, probed, real)
    assert probed["requirepass_set"] == (real["requirepass"] != ""), (name, probed, real)
    listed = subprocess.run(
        ["sh", "-c", command("redis_config", sudo="", path=str(main))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "s3cret" not in listed and "two words" not in listed  # reduced on the host


def test_a_missing_include_or_a_wildcard_is_unknown_never_a_pass(tmp_path: Path) -> None:
    main = tmp_path / "redis.conf"

    def run(path: str) -> str:
        line = command("redis_config", sudo="", path=path)
        return subprocess.run(["sh", "-c", line], capture_output=True, text=True).stdout

    for text in (f"include {tmp_path}/nope.conf\n", f"include {tmp_path}/*.conf\n"):
        main.write_text("protected-mode yes\n" + text)
        with pytest.raises(ConfigError):
            redis_facts(run(str(main)), run)
    main.write_text('bind "unbalanced\n')  # Redis refuses to start with it
    with pytest.raises(ConfigError):
        redis_facts(run(str(main)), run)
    assert redis_facts(run(str(tmp_path / "absent.conf")), run)["found"] is False


def _config_file(path: Path) -> str:
    line = command("config_file", sudo="", path=str(path))
    done = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("security:\n  authorization: enabled\n", "enabled"),
        ("security:\n  authorization: disabled\n", "disabled"),
        # On main an `authorization:` line anywhere counted, commented block or not.
        ("#security:\nsetParameter:\n  authorization: enabled\n", ""),
        ("net:\n  port: 27017\n", ""),
        ("", ""),
    ],
)
def test_mongod_conf_is_read_as_nested_yaml(tmp_path: Path, text: str, value: str) -> None:
    """mongod takes nested settings only (no real mongod in Debian 12: its documented
    reading, https://www.mongodb.com/docs/manual/reference/configuration-options/)."""
    from auditor.probes.ssh.daemon_configs import yaml_setting

    path = tmp_path / "mongod.conf"
    path.write_text(text)
    got = yaml_setting(_config_file(path), "security.authorization", flat_keys=False)
    assert got == {"found": True, "value": value}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("xpack.security.enabled: false\n", "false"),
        ("xpack:\n  security:\n    enabled: true\n", "true"),
        ("xpack:\n  security.enabled: false\n", "false"),
        ("cluster.name: x\n", ""),
    ],
)
def test_elasticsearch_yml_takes_flat_and_nested_keys(
    tmp_path: Path, text: str, value: str
) -> None:
    """Elasticsearch reads flat dotted keys and nesting alike (its settings docs)."""
    from auditor.probes.ssh.daemon_configs import yaml_setting

    path = tmp_path / "elasticsearch.yml"
    path.write_text(text)
    got = yaml_setting(_config_file(path), "xpack.security.enabled", flat_keys=True)
    assert got == {"found": True, "value": value}


def test_a_setting_given_twice_or_broken_yaml_is_unknown(tmp_path: Path) -> None:
    from auditor.probes.ssh.daemon_configs import yaml_setting

    path = tmp_path / "elasticsearch.yml"
    for text in (
        "xpack.security.enabled: true\nxpack:\n  security:\n    enabled: false\n",
        "xpack.security.enabled: true\nxpack.security.enabled: false\n",
        "xpack: [unclosed\n",
    ):
        path.write_text(text)
        with pytest.raises(ConfigError):
            yaml_setting(_config_file(path), "xpack.security.enabled", flat_keys=True)
    absent = yaml_setting(_config_file(tmp_path / "nope.yml"), "a.b", flat_keys=True)
    assert absent == {"found": False, "value": ""}


@pytest.mark.skipif(shutil.which("mariadbd") is None, reason="mariadb-server not installed")
@pytest.mark.parametrize(
    "cnf",
    [
        "[mysqld]\nskip-grant-tables\n",
        "[mysqld]\nskip-grant-tables\nskip_grant_tables=0\n",  # the last one wins
        "[mysqld]\nloose-skip-grant-tables=ON\n",  # on main: not seen at all
        "[mysqld]\nSKIP_GRANT_TABLES=OFF\n",
        "[mysqld]\nbind-address=127.0.0.1\nskip-networking=1\n",
        "[client]\nskip-grant-tables\n",  # another program's section
    ],
)
def test_mysqld_options_are_read_as_mariadbd_reads_them(tmp_path: Path, cnf: str) -> None:
    """The probe's command (my_print_defaults, the server's own option reader) against
    what mariadbd itself says it would run with (`--verbose --help`), for one more option
    file read the way both read it: ~/.my.cnf, after the system's own files."""
    from auditor.probes.ssh.host import _mysqld

    (tmp_path / ".my.cnf").write_text(cnf)
    env = {"HOME": str(tmp_path), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    line = command("mysqld_options", sudo="")
    probed = subprocess.run(
        ["sh", "-c", line], capture_output=True, text=True, env=env, check=True
    ).stdout
    facts = _mysqld(probed)
    told = subprocess.run(
        ["mariadbd", "--verbose", "--help"], capture_output=True, text=True, env=env, check=False
    ).stdout
    real = {words[0]: words[1] for words in map(str.split, told.splitlines()) if len(words) == 2}
    assert facts["skip_grant_tables"] == (real["skip-grant-tables"] == "TRUE"), probed
    assert facts["skip_networking"] == (real["skip-networking"] == "TRUE"), probed
    bind = real.get("bind-address", "(No")
    assert facts["bind_address"] == ("" if bind.startswith("(") else bind), probed
