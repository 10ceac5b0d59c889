"""A real Debian 12 system for the host-hardening rules: a debootstrap root, built once and
cached, that each lab host sees through its own overlay, chrooted in private mount and PID
namespaces (and the host's network namespace). Its files, packages, unit files, accounts
and PAM stack are Debian's own, so the hardening pack judges what a freshly built server
really carries, not this machine.

`hardened` applies the CIS Debian 12 v1.1.0 remediation the benchmark itself gives (as a
shell script run in the root, `HARDEN`); without it the host is the vendor build: stock
Debian with what a vendor leaves (clear-text clients, a NOPASSWD deploy account).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab.services import SSHD, Sshd, _spawn

MIRROR = os.environ.get("AUDITOR_LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = [
    "openssh-server",
    "sudo",
    "auditd",
    "aide",
    "aide-common",
    "apparmor",
    "apparmor-utils",
    "chrony",
    "nftables",
    "rsyslog",
    "logrotate",
    "cron",
    "libpam-pwquality",
    "procps",
    "iproute2",
    "kmod",
    "systemd",
    "systemd-journal-remote",
    "unattended-upgrades",
    "telnet",
    "ftp",
    "ldap-utils",
]
"""What the image carries: the benchmark's tools, and the clients a vendor leaves."""
CACHE = Path(os.environ.get("AUDITOR_LAB_CACHE", Path.home() / ".cache" / "auditor-lab"))

MODULES = [
    "cramfs",
    "freevxfs",
    "hfs",
    "hfsplus",
    "jffs2",
    "overlay",
    "squashfs",
    "udf",
    "usb-storage",
    "afs",
    "ceph",
    "cifs",
    "exfat",
    "gfs2",
    "nfs",
    "nilfs2",
    "ocfs2",
    "smbfs",
    "dccp",
    "tipc",
    "rds",
    "sctp",
]

HARDEN = textwrap.dedent(
    r"""
    set -e
    dpkg --purge telnet inetutils-telnet ftp tnftp ldap-utils >/dev/null
    for m in MODULES; do printf 'install %s /bin/false\nblacklist %s\n' "$m" "$m"; done \
        > /etc/modprobe.d/cis.conf
    echo 'Authorised access only. Activity is logged and monitored.' > /etc/issue
    cp /etc/issue /etc/issue.net; : > /etc/motd; chmod 644 /etc/issue /etc/issue.net /etc/motd
    mkdir -p /boot/grub
    cat > /boot/grub/grub.cfg <<'EOF'
    set superusers="root"
    password_pbkdf2 root grub.pbkdf2.sha512.10000.00AA.11BB
    menuentry 'Debian GNU/Linux' {
      linux /vmlinuz root=/dev/vda1 ro quiet apparmor=1 security=apparmor
    }
    EOF
    chmod 600 /boot/grub/grub.cfg
    echo '* hard core 0' > /etc/security/limits.d/cis.conf
    chmod 600 /etc/crontab; chmod 700 /etc/cron.hourly /etc/cron.daily /etc/cron.weekly \
        /etc/cron.monthly /etc/cron.d
    echo root > /etc/cron.allow; chown root:crontab /etc/cron.allow; chmod 640 /etc/cron.allow
    rm -f /etc/cron.deny
    printf '#!/bin/sh\n/usr/bin/aide --config /etc/aide/aide.conf --check\n' > /etc/cron.daily/aide
    chmod 700 /etc/cron.daily/aide
    printf 'Defaults use_pty\nDefaults logfile="/var/log/sudo.log"\n' > /etc/sudoers.d/cis
    chmod 440 /etc/sudoers.d/cis
    groupadd -f sugroup
    echo 'auth required pam_wheel.so use_uid group=sugroup' >> /etc/pam.d/su
    # Debian's own layout: fields separated by tabs.
    t=$(printf '\t')
    cat > /etc/pam.d/common-auth <<EOF
    auth${t}required${t}pam_faillock.so preauth
    auth${t}[success=1 default=ignore]${t}pam_unix.so
    auth${t}[default=die]${t}pam_faillock.so authfail
    auth${t}requisite${t}${t}${t}pam_deny.so
    auth${t}required${t}${t}${t}pam_permit.so
    EOF
    cat > /etc/pam.d/common-account <<EOF
    account${t}[success=1 new_authtok_reqd=done default=ignore]${t}pam_unix.so
    account${t}requisite${t}${t}${t}pam_deny.so
    account${t}required${t}${t}${t}pam_permit.so
    account${t}required${t}${t}${t}pam_faillock.so
    EOF
    cat > /etc/pam.d/common-password <<EOF
    password${t}requisite${t}${t}${t}pam_pwquality.so retry=3
    password${t}requisite${t}${t}${t}pam_pwhistory.so remember=24 enforce_for_root use_authtok
    password${t}[success=1 default=ignore]${t}pam_unix.so obscure use_authtok try_first_pass yescrypt
    password${t}requisite${t}${t}${t}pam_deny.so
    password${t}required${t}${t}${t}pam_permit.so
    EOF
    mkdir -p /etc/security/pwquality.conf.d
    printf 'minlen = 14\ndifok = 2\nminclass = 3\nmaxrepeat = 3\nmaxsequence = 3\ndictcheck = 1\nenforcing = 1\nenforce_for_root\n' \
        > /etc/security/pwquality.conf.d/cis.conf
    printf 'deny = 5\nunlock_time = 900\n' > /etc/security/faillock.conf
    printf 'remember = 24\nenforce_for_root\n' > /etc/security/pwhistory.conf
    sed -i -E 's/^(PASS_MAX_DAYS|PASS_WARN_AGE|ENCRYPT_METHOD|UMASK|LOG_OK_LOGINS|LOGIN_RETRIES|LOGIN_TIMEOUT|CHFN_RESTRICT|FAILLOG_ENAB)\b.*//' /etc/login.defs
    printf 'PASS_MAX_DAYS 365\nPASS_WARN_AGE 7\nENCRYPT_METHOD YESCRYPT\nUMASK 027\nLOG_OK_LOGINS yes\nLOGIN_RETRIES 5\nLOGIN_TIMEOUT 60\nCHFN_RESTRICT rwh\nFAILLOG_ENAB yes\n' \
        >> /etc/login.defs
    useradd -D -f 45
    printf 'TMOUT=900\nreadonly TMOUT\nexport TMOUT\n' > /etc/profile.d/cis-tmout.sh
    mkdir -p /etc/systemd/journald.conf.d
    printf '[Journal]\nSystemMaxUse=1G\nSystemKeepFree=500M\nRuntimeMaxUse=200M\nRuntimeKeepFree=50M\nMaxFileSec=1month\n' \
        > /etc/systemd/journald.conf.d/cis.conf
    printf '$FileCreateMode 0640\n*.* @@192.0.2.10:514\n' > /etc/rsyslog.d/cis.conf
    systemctl mask systemd-journal-remote.socket systemd-journal-remote.service >/dev/null 2>&1
    cat > /etc/audit/rules.d/cis.rules <<'EOF'
    -w /etc/sudoers -p wa -k scope
    -w /etc/sudoers.d -p wa -k scope
    -a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change
    -w /etc/localtime -p wa -k time-change
    -w /etc/passwd -p wa -k identity
    -w /etc/group -p wa -k identity
    -w /etc/shadow -p wa -k identity
    -w /etc/gshadow -p wa -k identity
    -w /var/log/lastlog -p wa -k logins
    -w /var/run/faillock -p wa -k logins
    -e 2
    EOF
    sed -i -E 's/^max_log_file_action.*/max_log_file_action = keep_logs/; s/^space_left_action.*/space_left_action = email/; s/^admin_space_left_action.*/admin_space_left_action = single/' \
        /etc/audit/auditd.conf
    echo 'deb http://deb.debian.org/debian-security bookworm-security main' \
        > /etc/apt/sources.list.d/security.list
    printf 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' \
        > /etc/apt/apt.conf.d/20auto-upgrades
    cat > /etc/nftables.conf <<'EOF'
    #!/usr/sbin/nft -f
    flush ruleset
    table inet filter {
      chain input {
        type filter hook input priority 0; policy drop;
        iif "lo" accept
        ip saddr 127.0.0.0/8 counter drop
        ip6 saddr ::1 counter drop
        ct state established,related accept
        tcp dport 22 accept
        log prefix "nft input drop: " drop
      }
      chain forward {
        type filter hook forward priority 0; policy drop;
      }
      chain output {
        type filter hook output priority 0; policy drop;
        ct state established,related,new accept
      }
    }
    EOF
    systemctl enable nftables >/dev/null 2>&1
    """
).replace("MODULES", " ".join(MODULES))
"""The benchmark's remediation, section by section, as its own audit text expects it."""

VENDOR = textwrap.dedent(
    r"""
    set -e
    dpkg --purge aide aide-common >/dev/null
    useradd -m -s /bin/bash deploy
    echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/90-vendor
    chmod 644 /etc/crontab
    """
)
"""What the vendor of the breach left: a deploy account that is root without a password."""

HARDENED_PARTITIONS = (
    ("/var", "nodev,nosuid"),
    ("/var/log", "nodev,nosuid,noexec"),
    ("/var/log/audit", "nodev,nosuid,noexec"),
    ("/var/tmp", "nodev,nosuid,noexec"),
    ("/home", "nodev,nosuid"),
    ("/tmp", "nodev,nosuid,noexec"),
)


def debian_root() -> Path:
    """The cached debootstrap root (built on first use, about a minute; 300 MB)."""
    digest = hashlib.sha256(" ".join([MIRROR, *PACKAGES]).encode()).hexdigest()[:12]
    root = CACHE / f"debian12-{digest}"
    if (root / ".complete").exists():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".complete").exists():
            return root
        building = root.with_name(root.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                "bookworm",
                str(building),
                MIRROR,
            ],
            check=True,
            capture_output=True,
            timeout=900,  # a stalled mirror must not hang the lab
        )
        (building / ".complete").touch()
        building.rename(root)
    return root


@dataclass(frozen=True)
class DebianHost(Sshd):
    """A Debian 12 root, hardened or as the vendor built it, audited over its own sshd."""

    hardened: bool = False
    start_seconds: float = field(default=90.0, init=False, repr=False)
    """The setup removes packages with dpkg first (20 s for AIDE's)."""

    def binaries(self) -> tuple[str, ...]:
        return ("debootstrap", "unshare", "chroot", "mount", "ssh-keygen")

    def start(self, ip: str, home: Path, netns: str | None = None) -> subprocess.Popen[bytes]:
        base = debian_root()
        upper, work, merged = home / "upper", home / "work", home / "root"
        for folder in (upper, work):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        merged.mkdir(exist_ok=True)
        keys = upper / "etc" / "ssh" / "authorized_keys"
        keys.mkdir(parents=True)
        shutil.copy(home / "etc_ssh" / "authorized_keys" / "root", keys / "root")
        etc = home / "etc_ssh"  # this host's own key, which the lab's known_hosts lists
        key = etc / "ssh_host_ed25519_key"
        if not key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                check=True,
                capture_output=True,
            )
        for part in (key, key.with_suffix(".pub")):
            shutil.copy(part, upper / "etc" / "ssh" / part.name)
        config = upper / "etc" / "ssh" / "sshd_config.d"
        config.mkdir(parents=True)
        (config / "lab.conf").write_text(
            "\n".join(
                [
                    f"ListenAddress {ip}:{self.port}",
                    "HostKey /etc/ssh/ssh_host_ed25519_key",
                    "AuthorizedKeysFile /etc/ssh/authorized_keys/%u",
                    "PermitRootLogin prohibit-password",
                    *self.config,
                ]
            )
            + "\n"
        )
        setup = upper / "usr" / "local" / "sbin"
        setup.mkdir(parents=True)
        (setup / "lab-setup").write_text(HARDEN if self.hardened else VENDOR)
        boot = (
            "set -e; sh /usr/local/sbin/lab-setup; "
            "mkdir -p /run/sshd /run/chrony; "
            + ("find /var/log -type f -exec chmod g-wx,o-rwx {} +; " if self.hardened else "")
            + ("nft -f /etc/nftables.conf; " if self.hardened else "")
            + "rsyslogd; cron; chronyd -x; "
            "(/lib/systemd/systemd-journald >/dev/null 2>&1 &); "
            f"exec {SSHD} -D -E /var/log/sshd.log"
        )
        mounts = [
            f"mount -t overlay overlay -o lowerdir={base},upperdir={upper},workdir={work} {merged}",
            f"mount --rbind /dev {merged}/dev",
            f"mount -t proc proc {merged}/proc",
            f"mount --rbind /sys {merged}/sys",
            # journald wants a cgroup file system (a network namespace's /sys has none)
            f"mount -t cgroup2 cgroup2 {merged}/sys/fs/cgroup",
            f"mount -t tmpfs tmpfs {merged}/run",
            f"mount -t tmpfs -o {'nodev,nosuid,noexec' if self.hardened else 'rw'} tmpfs "
            f"{merged}/dev/shm",
        ]
        if self.hardened:
            mounts += [
                f"mount --bind {merged}{path} {merged}{path} && "
                f"mount -o remount,bind,{options} {merged}{path}"
                for path, options in HARDENED_PARTITIONS
            ]
        script = " && ".join(mounts) + f" && exec chroot {merged} /bin/sh -c '{boot}'"
        argv = ["unshare", "-m", "-p", "--fork", "--propagation", "private", "sh", "-c", script]
        return _spawn(argv, home, netns)
