"""Benchmark host reads (issue 26): their allowlisted commands run for real (`sh -c`, as
the SSH session runs them) and their parsers read output as the daemons write it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.probes.ssh.commands import UnsafeCommand, command
from auditor.probes.ssh.hostreads import PARSERS


def _run(line: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", line], capture_output=True, text=True, check=False, timeout=30
    )


def test_tabs_in_a_pam_file_are_blanks_to_the_rules() -> None:
    """Debian's PAM files separate fields with tabs; on the first run of the hardening pack
    they reached the rules as `\\x09` text, so `pam_unix.so` was "missing" on stock Debian."""
    out = (
        "== /etc/pam.d/common-auth\n|auth\t[success=1 default=ignore]\tpam_unix.so nullok\n== end\n"
    )
    lines = PARSERS["lines"](out, ())["lines"]
    assert lines == ["auth [success=1 default=ignore] pam_unix.so nullok"]


def test_assignments_are_read_in_file_order_the_last_one_winning() -> None:
    out = (
        "== /etc/systemd/journald.conf\n|[Journal]\n|Storage=auto\n|#Compress=no\n"
        "== /etc/systemd/journald.conf.d/cis.conf\n|Storage=persistent\n"
        "== /etc/login.defs\n|PASS_MAX_DAYS\t99999\n|enforce_for_root\n== end\n"
    )
    values = PARSERS["assignments"](out, ())["values"]
    assert values["Storage"] == "persistent" and "Compress" not in values
    assert values["PASS_MAX_DAYS"] == "99999" and values["enforce_for_root"] == ""


def test_a_cut_listing_or_a_forged_header_is_an_error() -> None:
    with pytest.raises(ValueError, match="cut short"):
        PARSERS["lines"]("== /etc/motd\n|hello\n", ())
    with pytest.raises(ValueError, match="after the end marker"):
        PARSERS["lines"]("== /etc/motd\n== end\n|after\n", ())
    with pytest.raises(ValueError, match="unexpected line"):
        PARSERS["lines"]("== /etc/motd\nno bar in front\n== end\n", ())


def test_file_modes_name_each_permission_bit() -> None:
    found = PARSERS["modes"]("root shadow 640 regular file|/etc/shadow\nmissing|/etc/shadow-\n", ())
    assert found["/etc/shadow"]["perms"] == ["ur", "uw", "gr"]
    assert found["/etc/shadow"]["mode"] == "0640"
    assert found["/etc/shadow-"]["exists"] is False


def test_unit_states_tell_a_missing_unit_from_a_broken_systemctl() -> None:
    units = PARSERS["units"](
        "cron.service|enabled|unknown\n"
        "nope.service|Failed to get unit file state for nope.service: No such file or directory|unknown\n",
        (),
    )
    assert units["cron.service"]["state"] == "enabled"
    assert units["nope.service"]["state"] == "not-found"
    with pytest.raises(ValueError):
        PARSERS["units"]("cron.service|Failed to connect to bus|unknown\n", ())


def test_packages_in_config_files_state_are_not_installed() -> None:
    found = PARSERS["packages"]("telnet|rc  0.17\nsudo|ii  1.9.13\naide|not-found\n", ())
    assert [found[p]["installed"] for p in ("telnet", "sudo", "aide")] == [False, True, False]


def test_modules_are_matched_whatever_their_dash_or_underscore() -> None:
    out = (
        "== config\ninstall usb_storage /bin/false\nblacklist usb_storage\n"
        "== loaded\nsctp\n== available\nusb-storage\nsctp\n== end\n"
    )
    found = PARSERS["modules"](out, ("usb-storage", "sctp", "cramfs"))
    assert found["usb-storage"] == {
        "available": True,
        "loaded": False,
        "install": "/bin/false",
        "blacklisted": True,
    }
    assert found["sctp"]["loaded"] and not found["cramfs"]["available"]


def test_text_reads_keep_passwords_on_the_host(tmp_path: Path) -> None:
    """file_text runs for real: a grub password hash and a requirepass leave as <set>;
    a PAM `password` line and a number stay."""
    config = tmp_path / "grub.cfg"
    config.write_text(
        "password_pbkdf2 root grub.pbkdf2.sha512.10000.AB\nrequirepass hunter2\n"
        "password\trequisite\tpam_pwquality.so\nPASS_MAX_DAYS 90\n"
    )
    result = _run(command("file_text", sudo="", paths=str(config)))
    assert result.returncode == 0, result.stderr
    assert "grub.pbkdf2" not in result.stdout and "hunter2" not in result.stdout
    lines = PARSERS["lines"](result.stdout, ())["lines"]
    assert lines == [
        "password_pbkdf2 root <set>",
        "requirepass <set>",
        "password requisite pam_pwquality.so",
        "PASS_MAX_DAYS 90",
    ]


def test_a_text_read_never_names_a_secret_file() -> None:
    for path in ("/etc/shadow", "/etc/ssh/ssh_host_ed25519_key", "/etc/ssl/private/x.pem"):
        with pytest.raises(UnsafeCommand):
            command("file_text", sudo="", paths=path)


def test_a_read_naming_a_secret_file_is_refused_when_it_loads(tmp_path: Path) -> None:
    """docs/host.md: a text read of a file that may hold secrets is refused when the read
    file loads (one line, file and line), not on every server once the audit runs."""
    from auditor.errors import InputError
    from auditor.probes.ssh.hostreads import load_reads

    folder = tmp_path / "reads"
    folder.mkdir()
    (folder / "mine.yaml").write_text(
        "format: 1\nreads:\n  - id: hashes\n    command: files\n    parse: lines\n"
        "    args: [/etc/login.defs, /etc/shadow]\n"
    )
    with pytest.raises(InputError, match=r"mine.yaml:6.*may hold secrets"):
        load_reads([folder])
