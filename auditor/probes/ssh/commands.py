"""The only commands the auditor ever runs on a target over SSH (docs/ssh.md).

A fixed, read-only list. Arguments are validated against strict patterns before they are
placed in a command line, so no value from an inventory or a server reaches a shell
unchecked. Adding a command means adding it here, with a reason, and to the docs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping

from auditor.errors import AuditorError

_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
_SSH_PATH = re.compile(r"^/etc/ssh/[A-Za-z0-9_.*/-]{1,200}$")


def _ip(value: str) -> str:
    return str(ipaddress.ip_address(value))


def _user(value: str) -> str:
    if not _USER.match(value):
        raise ValueError(f"unsafe user name {value!r}")
    return value


def _ssh_path(value: str) -> str:
    if not _SSH_PATH.match(value) or ".." in value:
        raise ValueError(f"path {value!r} is not a file under /etc/ssh")
    return value


_DATA_PATH = re.compile(r"^/[A-Za-z0-9_./-]{0,250}$")


def _data_path(value: str) -> str:
    if not _DATA_PATH.match(value) or ".." in value.split("/"):
        raise ValueError(f"data path {value!r} must be absolute, plain characters, no '..'")
    return value


def _days(value: str) -> str:
    if not value.isdigit() or len(value) > 6:
        raise ValueError(f"{value!r} is not a number of days")
    return value


_CONFIG_PATH = re.compile(r"^/[A-Za-z0-9_./-]{1,250}$")


def _config_path(value: str) -> str:
    if not _CONFIG_PATH.match(value) or ".." in value.split("/"):
        raise ValueError(f"config path {value!r} must be absolute, plain characters, no '..'")
    return value


SYSCTL_KEY = re.compile(r"^[a-z0-9_]{1,40}(\.[a-z0-9_-]{1,40}){1,6}$")
"""A kernel parameter name: dotted lower-case words (also what host reads may name)."""


def _sysctl_keys(value: str) -> str:
    """Space-separated kernel parameter names, each `a.b.c` of plain characters."""
    keys = value.split(" ")
    if not 1 <= len(keys) <= 64 or not all(SYSCTL_KEY.match(k) for k in keys):
        raise ValueError("kernel parameter names are dotted lower-case words")
    return value


MOUNT_PATH = re.compile(r"^/[A-Za-z0-9_./-]{0,100}$")
"""A path whose mount is read: absolute, plain characters (also what host reads may name)."""


def _mount_paths(value: str) -> str:
    paths = value.split(" ")
    if not 1 <= len(paths) <= 16 or not all(
        MOUNT_PATH.match(p) and ".." not in p.split("/") for p in paths
    ):
        raise ValueError("paths are absolute, of plain characters, without '..'")
    return value


READ_PATH = re.compile(r"^/[A-Za-z0-9_.*?+@-][A-Za-z0-9_./*?+@-]{0,200}$")
"""A path a host read may name: absolute, plain characters and the globs `*` and `?`."""
SECRET_FILE = re.compile(
    r"(shadow|gshadow|opasswd|_key$|\.key$|\.pem$|/private/|secret|credential|\.netrc$)"
)
"""Files whose text a read never asks for (their modes it may): hashes and private keys."""
UNIT = re.compile(r"^[A-Za-z0-9@_.:-]{1,100}$")
PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]{0,100}$")
MODULE = re.compile(r"^[a-z0-9_-]{1,40}$")


def _names(pattern: re.Pattern[str], what: str, limit: int = 64) -> Callable[[str], str]:
    """A validator of space-separated names, each matching `pattern`."""

    def validate(value: str) -> str:
        names = value.split(" ")
        if not 1 <= len(names) <= limit or not all(pattern.match(n) for n in names):
            raise ValueError(f"{what} must match {pattern.pattern}, at most {limit}")
        return value

    return validate


def _read_paths(value: str) -> str:
    _names(READ_PATH, "paths")(value)
    if any(".." in p.split("/") for p in value.split(" ")):
        raise ValueError("paths must not contain '..'")
    return value


def _text_paths(value: str) -> str:
    _read_paths(value)
    for path in value.split(" "):
        if SECRET_FILE.search(path):
            raise ValueError(f"{path} may hold secrets: its text is never read")
    return value


def _number(value: str) -> str:
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        raise ValueError(f"{value!r} is not a number")
    return value


_SSHD_OPTION = re.compile(r"^(-o [A-Za-z]{2,40}=[A-Za-z0-9@.,:_+/*=-]{0,200}|-p [0-9]{1,5}|-[46])$")


def _sshd_options(value: str) -> str:
    """` -o Key=value -p 2222 ...`: a daemon's own command-line settings, each checked
    against a pattern with no shell metacharacter and no blank inside a value."""
    if not value:
        return ""
    parts = re.findall(r"-o \S+|-p \S+|-[46]|\S+", value.strip())
    if " ".join(parts) != value.strip() or not all(_SSHD_OPTION.match(p) for p in parts):
        raise ValueError("sshd options other than -o Key=value, -p PORT, -4, -6")
    return " " + " ".join(parts)


def _sudo(value: str) -> str:
    if value not in ("", "sudo -n "):
        raise ValueError("sudo prefix must be empty or 'sudo -n '")
    return value


def _or_missing(path: str) -> str:
    """Shell that prints `missing` and stops when `path` does not exist — but fails when
    its folder cannot be searched (a non-root user and /etc/redis, mode 2750), because then
    nobody knows whether it exists."""
    folder = path.rsplit("/", 1)[0]
    return (
        (
            f"if ! test -e {path}; then "
            f"if test -d {folder} && ! test -x {folder}; then "
            f"echo 'cannot search {folder}' >&2; exit 77; fi; "
            "echo missing; exit 0; fi; "
        )
        .replace("{", "{{")
        .replace("}", "}}")
    )


_PROVEN_ABSENT = (
    'd="${{f%/*}}"; d="${{d:-/}}"; case $f in *[*?]*) s=;; *) s="{sudo}";; esac; '
    'if $s test -d "$d" && ! $s test -x "$d"; then '
    'echo "cannot search $d" >&2; exit 77; fi; '
)
"""Shell, for a path `$f` that `test -e` did not find: fails unless its folder can be
searched (by sudo, or by the login user for a glob, which the login user's shell expanded),
so that "missing" is proven, never a folder we could not look into."""

# Commands are `str.format` templates: literal braces (awk, shell groups) are doubled.
COMMANDS: Mapping[str, str] = {
    # Who we are: decides whether privileged reads need `sudo -n` (never a password prompt).
    "uid": "id -u",
    # The client address as the server sees it, for `sshd -T -C addr=...` (Match blocks).
    "client_address": 'printf "%s\\n" "$SSH_CONNECTION"',
    # The effective configuration of the daemon that serves the audited socket, Include
    # and Match resolved by sshd itself: its own `-f` file and command-line `-o`/`-p`
    # options (found with the next two commands), never merely /etc/ssh/sshd_config.
    "sshd_effective_file": (
        "{sudo}/usr/sbin/sshd -T -f {config}{options} -C user={user},host={addr},addr={addr}"
    ),
    # Which process owns the server's side of our own connection ($SSH_CONNECTION: the
    # socket the daemon really listens on, whatever NAT or a ProxyJump did), and its command
    # line: `ss -tlnp` (with `sudo -n` when not root: naming another user's process needs
    # it), then each listed process's argv. One command, so the daemon is known after the
    # probe's first batch. ss's own failure (sudo refused) fails the command. A process that
    # exits between `ss` and the read (a child sshd forked for another client holds the
    # listening socket for a moment) is reported `gone`; the parser decides what that means.
    "socket_daemon": (
        'set -- $SSH_CONNECTION; [ -n "$4" ] || {{ echo "no SSH_CONNECTION" >&2; exit 2; }}; '
        'if [ "$(id -u)" = 0 ]; then s=; else s="sudo -n"; fi; '
        'out=$($s ss -Htlnp "sport = :$4") || exit $?; echo "== ss"; printf "%s\\n" "$out"; '
        'for p in $(printf "%s\\n" "$out" | grep -o "pid=[0-9]*" | cut -d= -f2 | sort -u); '
        'do if c=$(tr "\\000" "\\n" 2>/dev/null < "/proc/$p/cmdline"); then '
        'echo "== cmdline $p"; printf "%s\\n" "$c"; '
        'elif [ -e "/proc/$p" ]; then echo "cannot read /proc/$p/cmdline" >&2; exit 1; '
        'else echo "== gone $p"; fi; done; echo "== end"'
    ),
    # Owner, group and mode of the SSH configuration (dev-sec sshd-04/05).
    "ssh_file_modes": "stat -c '%U %G %a %n' /etc/ssh /etc/ssh/sshd_config",
    # Host key types and sizes on disk (public halves only).
    # Any key that cannot be read fails the listing: a partial one would hide that key.
    "host_key_sizes": (
        "rc=0; for f in /etc/ssh/ssh_host_*_key.pub; do "
        'ssh-keygen -l -f "$f" || rc=$?; done; exit $rc'
    ),
    # Fallback when sshd -T cannot run: the configuration files themselves.
    "read_ssh_config": "{sudo}cat -- {path}",
    # ---- host probe (docs/host.md) ----
    "os_release": "cat /etc/os-release",
    # Account names and UIDs only (no GECOS, no shells).
    "uid_zero_accounts": "awk -F: '$3 == 0 {{print $1}}' /etc/passwd",
    # Names of accounts whose password field is empty; no hash ever leaves the host.
    "empty_password_accounts": (
        "{sudo}awk -F: '$2 == \"\" {{print $1}}' /etc/shadow && echo __end__"
    ),
    "account_file_modes": "stat -c '%U %G %a %n' /etc/passwd /etc/shadow",
    "listening_sockets": "ss -H -tln",
    "firewall_rules": (
        "if command -v nft >/dev/null; then echo tool=nft; {sudo}nft list ruleset; "
        "elif command -v iptables >/dev/null; then echo tool=iptables; {sudo}iptables -S; "
        "else echo tool=none; fi"
    ),
    # pidof exits 1 when no such process; a missing pidof (127) is an error, not "stopped".
    "auditd_running": (
        "command -v pidof >/dev/null || exit 127; "
        "if pidof auditd >/dev/null; then echo running; else echo stopped; fi"
    ),
    # rsyslog's configuration (rsyslog.conf and rsyslog.d/*.conf, comments dropped) and
    # journal-upload's URL= lines, at most 256 KiB: the auditor decides which targets
    # leave the host (a legacy `@host`, `action(type="omfwd" target=...)`, omrelp; never a
    # loopback target). Absent files are no forwarding; an unreadable one fails awk.
    "log_forwarding": (
        "files=; for f in /etc/rsyslog.conf /etc/rsyslog.d/*.conf; do "
        'if test -e "$f"; then files="$files $f"; fi; done; '
        "echo '== rsyslog'; "
        "if test -n \"$files\"; then awk '!/^[[:space:]]*(#|$)/' $files | head -c 262144 "
        "|| exit $?; fi; "
        "echo '== journal-upload'; "
        "if [ -e /etc/systemd/journal-upload.conf ]; then "
        "awk '/^[[:space:]]*URL=/' /etc/systemd/journal-upload.conf || exit $?; fi; "
        "echo '== end'"
    ),
    # Simulated upgrade (no changes, no lock): number of packages from a security suite.
    # apt-get's own failure is the command's failure (no pipe hides it).
    "security_updates": (
        "if ! command -v apt-get >/dev/null; then echo unknown; exit 0; fi; "
        "out=$(apt-get -s -o Debug::NoLocking=1 upgrade) || exit $?; "
        "printf '%s\\n' \"$out\" | awk '/^Inst .*[Ss]ecurity/ {{n++}} END {{print n+0}}'"
    ),
    # Database settings that decide authentication; secrets are reduced to "set". A file
    # that exists but cannot be read (sudo refused) fails the command: never "missing".
    # A Redis config file (the main one, then each `include`), as Redis reads it: every
    # line, in order, so that the parser can apply Redis's own rules (keywords in any case,
    # the last occurrence wins, includes in place). Secrets are reduced on the host: the
    # value of requirepass/masterauth becomes <set> or "" (empty = no password), and ACL
    # passwords (>pw, #hash) become <set>. Capped at 256 KiB; a bigger file is an error.
    "redis_config": (
        "if ! test -e {path}; then p={path}; "
        'if test -d "${{p%/*}}" && ! test -x "${{p%/*}}"; then '
        'echo "cannot search ${{p%/*}}" >&2; exit 77; fi; echo missing; exit 0; fi; '
        "out=$({sudo}head -c 262145 -- {path}) || exit $?; "
        "test ${{#out}} -le 262144 || {{ echo 'larger than 256 KiB' >&2; exit 27; }}; "
        "printf '%s\\n' \"$out\" | awk '"
        "{{k = tolower($1)}} "
        'k == "requirepass" || k == "masterauth" {{v = $0; '
        'sub(/^[ \\t]*[^ \\t]+[ \\t]*/, "", v); sub(/[ \\t\\r]+$/, "", v); '
        'if (v == "" || v == "\\"\\"" || v == "\\047\\047") print $1, "\\"\\""; '
        'else print $1, "<set>"; next}} '
        'k == "user" {{for (i = 3; i <= NF; i++) if ($i ~ /^[>#<!]/) $i = "<set>"}} '
        '{{print}} END {{print "__found__"}}\''
    ),
    # A YAML config file (mongod.conf, elasticsearch.yml) whole, capped at 256 KiB, for the
    # auditor to read as YAML the way the daemon does (nesting, flat dotted keys); only the
    # values the rules need are kept as facts.
    "config_file": (
        "if ! test -e {path}; then p={path}; "
        'if test -d "${{p%/*}}" && ! test -x "${{p%/*}}"; then '
        'echo "cannot search ${{p%/*}}" >&2; exit 77; fi; echo missing; exit 0; fi; '
        "out=$({sudo}head -c 262145 -- {path}) || exit $?; "
        "test ${{#out}} -le 262144 || {{ echo 'larger than 256 KiB' >&2; exit 27; }}; "
        "printf '%s\\n__found__\\n' \"$out\""
    ),
    # Every PostgreSQL cluster's pg_hba.conf (Debian: /etc/postgresql/VERSION/CLUSTER/):
    # one line per file, then one per line whose method is `trust` (its connection type
    # only: never an address or a user name). An unreadable file fails the command.
    "pg_hba": (
        'set -- /etc/postgresql/*/*/pg_hba.conf; if ! test -e "$1"; then '
        "if test -d /etc/postgresql && ! test -x /etc/postgresql; then "
        "echo 'cannot search /etc/postgresql' >&2; exit 77; fi; echo missing; exit 0; fi; "
        '{sudo}awk \'FNR == 1 {{print "file"}} '
        '!/^[[:space:]]*(#|$)/ {{for (i = 4; i <= NF; i++) if ($i == "trust") '
        '{{print "trust", $1; break}}}} END {{print "found"}}\' "$@"'
    ),
    # MySQL/MariaDB server options as mysqld will read them from every config file; only
    # the options that decide who may connect are kept (no password can leak through).
    "mysqld_options": (
        "if ! command -v my_print_defaults >/dev/null; then echo missing; exit 0; fi; "
        "out=$({sudo}my_print_defaults --mysqld) || exit $?; "
        "printf '%s\\n' \"$out\" | awk -F= 'tolower($1) ~ /^--(loose[-_])?(skip[-_]grant[-_]tables|"
        'bind[-_]address|skip[-_]networking)$/ {{print}} END {{print "found"}}\''
    ),
    # Samba's effective configuration (testparm resolves includes and synonyms such as
    # `public = yes`): the number of shares a guest may open, never their names or paths.
    "samba_guest_shares": (
        "if ! command -v testparm >/dev/null; then echo missing; exit 0; fi; "
        "out=$({sudo}testparm -s 2>/dev/null) || exit $?; "
        "printf '%s\\n' \"$out\" | awk '/^\\[/ {{s = $0}} "
        '/^[[:space:]]*guest ok = Yes/ && s != "[global]" {{n++}} '
        'END {{print n+0, "found"}}\''
    ),
    # NFS exports (/etc/exports and /etc/exports.d/*.exports, as exportfs reads them): how
    # many export entries go to everyone (`*`, 0.0.0.0/0, ::/0, or no client at all), read-
    # write and read-only; never a path or a client. An unreadable file fails awk.
    "nfs_exports": (
        "files=; for f in /etc/exports /etc/exports.d/*.exports; do "
        'if test -e "$f"; then files="$files $f"; fi; done; '
        'if test -z "$files"; then echo missing; exit 0; fi; '
        "{sudo}awk '/^[[:space:]]*(#|$)/ {{next}} "
        "NF == 1 {{ro++; next}} "
        '{{d = ""; for (i = 2; i <= NF; i++) {{c = $i; '
        'if (c ~ /^-/) {{d = c; continue}} p = index(c, "("); '
        "h = p ? substr(c, 1, p - 1) : c; o = p ? substr(c, p) : d; "
        'if (h == "" || h == "*" || h == "0.0.0.0/0" || h == "::/0") '
        "{{if (o ~ /(^|[(,-])rw([,)]|$)/) rw++; else ro++}}}}}} "
        'END {{print rw + 0, ro + 0, "found"}}\' $files'
    ),
    # Files older than the retention limit under a declared data path: a count and the
    # oldest modification time, never a file name (names can be personal data). find's
    # own failure (sudo refused, an unreadable folder) fails the command, never "0 files".
    "retention": (
        "p={path}; "
        'if {sudo}test -d "$p"; then '
        "out=$({sudo}find \"$p\" -xdev -type f -mtime +{days} -printf '%T@\\n') || exit $?; "
        "printf '%s\\n' \"$out\" "
        "| awk 'NF {{n++; if (n == 1 || $1 < min) min = $1}} END {{print n+0, min}}'; exit 0; fi; "
        'if {sudo}test -e "$p" || {sudo}test -L "$p"; then '
        'echo "not a folder" >&2; exit 20; fi; '
        # Absent is proven only by its deepest existing ancestor being a folder that can
        # be searched (by the user the reads run as): an unsearchable one (0700, another
        # owner) or a refused sudo proves nothing, and fails the command.
        'a="${{p%/*}}"; while [ -n "$a" ] && ! {sudo}test -e "$a"; do a="${{a%/*}}"; done; '
        'a="${{a:-/}}"; if ! {sudo}test -d "$a" || ! {sudo}test -x "$a"; then '
        'echo "cannot search $a" >&2; exit 77; fi; echo missing'
    ),
    # Host reads (auditor/probes/ssh/hostreads.py, rules/hostreads/). Kernel parameters by
    # name, as `key = value` lines; a key this kernel does not have is left out (-e), so a
    # rule reading it is `error`.
    "sysctl_keys": "sysctl -e -- {keys}",
    # The file system holding each path and its mount options, as the kernel reports them
    # (findmnt reads /proc/self/mountinfo): `PATH MOUNTPOINT OPTIONS` per path. Of mounts
    # stacked on one point, the last listed is the one in effect.
    # A path that does not exist (no /var/log/audit) is held by its nearest existing
    # ancestor's file system, which is what its mount options would be: proven only where
    # that ancestor can be searched.
    "mount_options": (
        "for p in {paths}; do q=$p; "
        'while [ ! -e "$q" ]; do a="${{q%/*}}"; a="${{a:-/}}"; '
        'if [ -d "$a" ] && [ ! -x "$a" ]; then echo "cannot search $a" >&2; exit 77; fi; '
        "q=$a; done; "
        'out=$(findmnt -rn -o TARGET,OPTIONS --target "$q") || exit $?; '
        'printf \'%s %s\\n\' "$p" "$(printf \'%s\\n\' "$out" | tail -n 1)"; done'
    ),
    # sudo's user specifications: /etc/sudoers and the files of /etc/sudoers.d that sudo
    # reads (no '.' in the name, no trailing '~'); an unreadable file fails the command.
    "sudoers_rules": (
        "{sudo}cat -- /etc/sudoers && "
        "{sudo}find /etc/sudoers.d -maxdepth 1 -type f ! -name '*.*' ! -name '*~' "
        "-exec cat -- {{}} +"
    ),
    # ---- breadth reads (rules/hostreads/benchmark.yaml; docs/host.md#host-reads) ----
    # Owner, group, mode and type of named paths (globs expand here): `OWNER GROUP MODE
    # TYPE|PATH`, or `missing|PATH`. Absence is proven only where the folder can be searched
    # (by the login user for a glob, which the login user's shell expands).
    "file_stat": (
        "for f in {paths}; do "
        'if {sudo}test -e "$f" || {sudo}test -L "$f"; then '
        "{sudo}stat -c '%U %G %a %F|%n' -- \"$f\" || exit $?; continue; fi; "
        + _PROVEN_ABSENT
        + 'echo "missing|$f"; done'
    ),
    # Named configuration files whole, in order (globs expand here), each line behind `|`
    # under an `== PATH` header, at most 256 KiB a file. A value that looks like a secret
    # (first word naming a password, secret, token or credential, a value not a number, not
    # a PAM line) leaves the host as `<set>`. A file that cannot be read fails the command;
    # absence is proven as for file_stat.
    "file_text": (
        "for f in {paths}; do "
        'if ! {sudo}test -e "$f"; then ' + _PROVEN_ABSENT + "continue; fi; "
        'out=$({sudo}head -c 262145 -- "$f") || exit $?; '
        'test ${{#out}} -le 262144 || {{ echo "$f: larger than 256 KiB" >&2; exit 27; }}; '
        'echo "== $f"; printf \'%s\\n\' "$out" | awk \''
        '{{w = tolower($1); v = $0; sub(/^[^=[:space:]]*[=[:space:]]+/, "", v)}} '
        "w ~ /(pass|secret|token|credential)/ && $0 !~ /pam_/ && v !~ /^[0-9]*$/ "
        '{{k = $1; sub(/=.*/, "", k); n = (k == "password" || k == "password_pbkdf2") ? 2 : 1; '
        'out = k; for (i = 2; i <= n && i <= NF; i++) out = out " " $i; '
        'print "|" out " <set>"; next}} {{print "|" $0}}\''
        "; done; echo '== end'"
    ),
    # Each unit's unit-file state (`systemctl is-enabled`, which reads unit files and works
    # without a running manager) and, when systemd runs, its active state: `UNIT|STATE|ACTIVE`
    # (`unknown` without systemd; rules then look at the process list).
    "unit_states": (
        "command -v systemctl >/dev/null || exit 127; "
        'for u in {units}; do s=$(systemctl is-enabled -- "$u" 2>&1); '
        'if test -d /run/systemd/system; then a=$(systemctl is-active -- "$u" 2>&1); '
        "else a=unknown; fi; "
        'printf \'%s|%s|%s\\n\' "$u" "$(printf \'%s\\n\' "$s" | head -n 1)" '
        '"$(printf \'%s\\n\' "$a" | head -n 1)"; done'
    ),
    # Installed state and version of named Debian packages: `NAME|STATUS VERSION` or
    # `NAME|not-found`. dpkg's own record must be readable first, so a broken database is
    # an error, never "nothing installed".
    "package_states": (
        "command -v dpkg-query >/dev/null || exit 127; dpkg-query -W dpkg >/dev/null || exit $?; "
        "for p in {packages}; do "
        "if out=$(dpkg-query -W -f '${{db:Status-Abbrev}} ${{Version}}' -- \"$p\" 2>/dev/null); "
        'then printf \'%s|%s\\n\' "$p" "$out"; else printf \'%s|not-found\\n\' "$p"; fi; done'
    ),
    # Running processes: owner and command name only (never arguments, which can hold
    # secrets).
    "process_list": "ps -e -o user:32=,comm=",
    # Kernel modules: modprobe's effective `install` and `blacklist` lines, those loaded
    # (none when the kernel has no module support: no /proc/modules), and which of the named
    # ones this kernel's module tree has.
    "kernel_modules": (
        "command -v modprobe >/dev/null || exit 127; k=$(uname -r) || exit $?; "
        "conf=$(modprobe --showconfig) || exit $?; echo '== config'; "
        'printf \'%s\\n\' "$conf" | awk \'$1 == "install" || $1 == "blacklist"\'; '
        "echo '== loaded'; "
        "if test -e /proc/modules; then cut -d' ' -f1 /proc/modules || exit $?; fi; "
        "echo '== available'; if test -d \"/lib/modules/$k\"; then for m in {modules}; do "
        'u=$(printf %s "$m" | tr - _); d=$(printf %s "$m" | tr _ -); '
        'n=$(find "/lib/modules/$k" \\( -name "$u.ko*" -o -name "$d.ko*" \\) -print -quit) '
        '|| exit $?; if test -n "$n"; then echo "$m"; fi; done; fi; echo \'== end\''
    ),
    # Local accounts and groups without a secret: passwd (password field reduced to x,
    # empty or other; no GECOS), group, and shadow with the password field reduced to its
    # kind (empty, locked, hash-ID, other) and the aging fields; then today in days.
    "account_database": (
        "{sudo}awk -F: -v OFS='|' '"
        'FILENAME == "/etc/passwd" {{p = $2 == "x" ? "x" : ($2 == "" ? "empty" : "other"); '
        'print "passwd", $1, p, $3, $4, $6, $7; next}} '
        'FILENAME == "/etc/group" {{print "group", $1, $3, $4; next}} '
        '{{p = $2; if (p == "") c = "empty"; else if (p ~ /^[!*]/) c = "locked"; '
        "else if (p ~ /^\\$[^$]+\\$/) "
        '{{c = substr(p, 2); c = "hash-" substr(c, 1, index(c, "$") - 1)}} '
        'else c = "other"; print "shadow", $1, c, $3, $4, $5, $6, $7}}\' '
        '/etc/passwd /etc/group /etc/shadow && echo "today|$(( $(date +%s) / 86400 ))"'
    ),
    # Each interactive account's home (UID >= 1000 or root, a login shell): owner and mode,
    # and the names of its risky dot files (group/world-writable, .netrc, .rhosts, .forward).
    "home_directories": (
        "awk -F: '($3 >= 1000 || $3 == 0) && $7 !~ /(nologin|false|sync|halt|shutdown)$/ "
        "{{print $1 \"|\" $6}}' /etc/passwd | while IFS='|' read -r u h; do "
        'if ! {sudo}test -d "$h"; then echo "$u|missing"; continue; fi; '
        "s=$({sudo}stat -c '%U %a' -- \"$h\") || exit $?; "
        "r=$({sudo}find \"$h\" -maxdepth 1 -name '.*' -type f \\( -perm /022 -o -name .netrc "
        "-o -name .rhosts -o -name .forward \\) -printf '%f ') || exit $?; "
        'echo "$u|$s|$r"; done'
    ),
    # Log files under /var/log that others may read or the group may write (the login
    # records wtmp, btmp and lastlog, which are group utmp by design, left out): a count and
    # the first 20 paths.
    "open_log_files": (
        "out=$({sudo}find /var/log -type f -perm /0137 ! -name 'wtmp*' ! -name 'btmp*' "
        "! -name 'lastlog*' -print) || exit $?; "
        "printf '%s\\n' \"$out\" | awk 'NF {{n++; if (n <= 20) p[n] = $0}} "
        'END {{print "count", n + 0; for (i = 1; i <= n && i <= 20; i++) print p[i]}}\''
    ),
    # Diffie-Hellman groups of /etc/ssh/moduli under 2048 bits (field 5 is the size minus
    # one): a count; no file is no weak group (sshd then uses its built-in ones).
    "weak_moduli": (
        "if ! test -e /etc/ssh/moduli; then echo 'count 0'; exit 0; fi; "
        "awk '!/^#/ && NF >= 7 && $5 < 2047 {{n++}} END {{print \"count\", n + 0}}' /etc/ssh/moduli"
    ),
    # One bounded walk of the root file system (-xdev; /proc, /sys, /dev, /run left out):
    # world-writable files, world-writable folders without the sticky bit, files without a
    # known owner or group (each as a count and its first 20 paths), and every set-UID/GID
    # file. find's own failure fails the command.
    "filesystem_scan": (
        "out=$({sudo}find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run "
        "\\) -prune -o \\( -type f -perm -0002 -printf 'world-writable %p\\n' \\) "
        "-o \\( -type d -perm -0002 ! -perm -1000 -printf 'world-writable %p\\n' \\) "
        "-o \\( \\( -nouser -o -nogroup \\) -printf 'unowned %p\\n' \\) "
        "-o \\( -type f -perm /6000 -printf 'setid %p\\n' \\)) || exit $?; "
        'printf \'%s\\n\' "$out" | awk \'NF {{n[$1]++; if ($1 == "setid" || n[$1] <= 20) print}} '
        'END {{for (k in n) print "count", k, n[k]}}\''
    ),
}

VALIDATORS: Mapping[str, Callable[[str], str]] = {
    "user": _user,
    "addr": _ip,
    "path": _ssh_path,
    "sudo": _sudo,
    "days": _days,
    "config": _config_path,
    "port": _number,
    "keys": _sysctl_keys,
    "paths": _mount_paths,
    "units": _names(UNIT, "unit names"),
    "packages": _names(PACKAGE, "package names"),
    "modules": _names(MODULE, "module names"),
}
PER_COMMAND_VALIDATORS: Mapping[tuple[str, str], Callable[[str], str]] = {
    ("retention", "path"): _data_path,
    ("redis_config", "path"): _config_path,
    ("config_file", "path"): _config_path,
    ("sshd_effective_file", "options"): _sshd_options,
    ("file_stat", "paths"): _read_paths,
    ("file_text", "paths"): _text_paths,
}


class UnsafeCommand(AuditorError):
    """A command outside the allowlist, or an argument that fails validation."""


def command(name: str, **args: str) -> str:
    if name not in COMMANDS:
        raise UnsafeCommand(f"command {name!r} is not in the read-only allowlist")
    safe: dict[str, str] = {}
    for key, value in args.items():
        try:
            validate = PER_COMMAND_VALIDATORS.get((name, key)) or VALIDATORS[key]
            safe[key] = validate(value)
        except (KeyError, ValueError) as exc:
            raise UnsafeCommand(f"command {name!r}: argument {key}: {exc}") from None
    try:
        return COMMANDS[name].format(**safe)
    except KeyError as exc:
        raise UnsafeCommand(f"command {name!r} needs argument {exc}") from None
