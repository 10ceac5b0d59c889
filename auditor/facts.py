"""The catalogue of fact names rule authors may use, and which probe provides each.

This is the contract between probes and rules (documented in docs/rules.md). Rule packs are
checked against it at load, so a misspelt fact is an input error naming the rule, not a
rule that silently never fails. It also tells the engine which probes a rule depends on:
if one of them failed on a target, the rule is `error` there, never `pass`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.cloud import providers
from auditor.factschema import FactRoot, ListOf

PORT_FIELDS: Mapping[str, Any] = {
    "number": "int: port number",
    "proto": "str: `tcp` or `udp`",
    "state": "str: `open`, `closed`, `filtered` or `not-scanned` (declared but outside the scan)",
    "open": "bool: true when the scan saw it open",
    "service": "str: service name: from version detection when run, else nmap's port table",
    "service_source": "str: `version-detection`, `port-table` or `none`",
    "product": "str: product name from version detection, else empty",
    "version": "str: product version from version detection, else empty",
    "declared": "bool: true when the change record declares this port",
    "declared_service": "str: service the change record names, else empty",
    "declared_to": "str: `internet`, `internal`, `localhost`, or empty when undeclared",
}

EXPOSURE_FIELDS: Mapping[str, Any] = {
    "port": "int: declared port",
    "proto": "str: `tcp` or `udp`",
    "service": "str: declared service name, else empty",
    "to": "str: `internet`, `internal` or `localhost`",
}

SERVICE_FIELDS: Mapping[str, Any] = {
    "port": "int: port number",
    "proto": "str: `tcp`, or `udp` for the UDP questions (`snmp`, `ntp`, `dns`, "
    "`memcached-udp`, `ipmi`, `tftp`; docs/services.md#udp)",
    "kind": "str: the check that ran: `redis`, `memcached`, `mongodb`, `elasticsearch`, "
    "`postgresql`, `mysql`, `vnc`, `smb`, `http`, `https`, `ftp`, `rsync`, or the id of a check "
    "file's check (`docker`, `etcd`, `kubelet`, `prometheus`, yours); or, on a port no check "
    "covers, the "
    "identified protocol (`ssh`, `smtp`, `tls`, `telnet`, `pop3`, `imap`) "
    "or `unknown`",
    "identified": "str: the protocol the identification greetings named on this port, or `unknown`",
    "detected_by": "str: why it was checked: identified, nmap's name, the well-known port, the "
    "change record",
    "unauthenticated": "bool: true when it handed out data or control without credentials",
    "evidence": "str: a few redacted bytes that prove the answer",
    "details": "map: map of check-specific facts (e.g. http: listing, git_exposed, env_exposed)",
    "reference": "str: the nuclei template whose proof the check uses",
    "rule": "str: for a check file's check: the rule that judges it (its own, or the generic "
    "`services.open-access`); empty for Python checks",
    "error": "str: why the check failed (then every rule on this service is `error`), else empty",
}

TLS_FIELDS: Mapping[str, Any] = {
    "port": "int: port number",
    "proto": "str: `tcp`",
    "version": "str: the version a client that accepts anything gets, e.g. `TLSv1.3`",
    "cipher": "str: the suite that client gets (OpenSSL's name)",
    "versions": "list: versions the server takes: `SSLv3`, `TLSv1.0`, `TLSv1.1`, `TLSv1.2`, "
    "`TLSv1.3`",
    "weak_ciphers": "list: weak suites it takes (IANA names: NULL, export, RC4, DES, 3DES, "
    "anonymous key exchange)",
    "weak_kinds": "list: the classes of those suites: `NULL`, `EXPORT`, `RC4`, `DES`, `3DES`, "
    "`anonymous`",
    "certificate": {
        "subject": "str: subject (RFC 4514)",
        "issuer": "str: issuer (RFC 4514)",
        "names": "list: DNS names and IP addresses it is for (subject alternative names, else "
        "the common name)",
        "not_before": "str: start of validity, ISO 8601 UTC",
        "not_after": "str: end of validity, ISO 8601 UTC",
        "days_left": "int: whole days until it expires (negative once expired)",
        "expired": "bool: past its end of validity",
        "not_yet_valid": "bool: before its start of validity",
        "self_signed": "bool: issued by itself (its own key verifies its signature)",
        "trusted": "bool: its chain verifies against the system trust store (`SSL_CERT_FILE` "
        "and `SSL_CERT_DIR` add a private CA)",
        "trust_error": "str: why it does not verify (OpenSSL's reason), else empty",
        "hostname": "str: the name it was checked against: the inventory's address",
        "hostname_match": "bool: that name is among `names` (RFC 6125 wildcard rules)",
        "key_type": "str: `rsa`, `ec`, `dsa`, `ed25519` or `ed448`",
        "key_bits": "int: key size in bits",
        "signature_hash": "str: hash of its signature, e.g. `sha256`, `sha1`, `md5`",
    },
    "error": "str: why the inspection failed (then every rule on it is `error`), else empty",
}

_MODE_FIELDS: Mapping[str, Any] = {
    "path": "str: file path",
    "owner": "str: owner name",
    "group": "str: group name",
    "mode": "str: octal mode as text",
    "group_writable": "bool: the group may write it",
    "other_writable": "bool: anyone may write it",
    "other_readable": "bool: anyone may read it",
}

LISTENER_FIELDS: Mapping[str, Any] = {
    "address": "str: bound address (an IPv4-mapped IPv6 address as its IPv4 form)",
    "port": "int: port",
    "wildcard": "bool: bound to all addresses",
    "loopback": "bool: bound to a loopback address only (IPv4-mapped loopback included)",
    "reachable": "bool: reachable from outside the host (wildcard or non-loopback)",
}

ROOTS: Mapping[str, FactRoot] = {
    root.name: root
    for root in (
        FactRoot(
            "target",
            None,
            "the server as the inventory names it",
            {
                "name": "str: server name",
                "address": "str: address as written in the inventory",
                "ip": "str: the resolved IP address",
                "tags": "map: map of tag name to value",
                "adhoc": "bool: true for a host named on `auditor scan`'s command line (no change "
                "record exists to check)",
            },
        ),
        FactRoot(
            "change",
            None,
            "the change record of this build (all fields present; `present` false when none)",
            {
                "present": "bool: true when the inventory has a change record for this server",
                "id": "str: change id, empty when none",
                "approved": "bool: the change is approved",
                "owner": "str: owner, empty when none",
                "go_live": "str: ISO date, empty when none",
                "data": "list: list of data classes the server will hold, e.g. `personal`",
                "retention_days": "int: -1 when not declared",
                "exposes": ListOf(EXPOSURE_FIELDS, "declared exposures"),
                "data_paths": "list: list of paths where the declared data lives",
            },
        ),
        FactRoot("params", None, "the rule's parameters (after overrides)", {}),
        FactRoot(
            "ports",
            "ports",
            "every port resource of the target: one for every port the scan found open and "
            "for every declared port; a `port` rule sees one of them as `port`",
            ListOf(PORT_FIELDS),
        ),
        FactRoot("port", "ports", "the port a `port` rule is judging", PORT_FIELDS),
        FactRoot(
            "ssh",
            "ssh",
            "what the SSH server says before login: its banner and KEXINIT, read raw through "
            "the server's SSH endpoint (ssh_config's Port and ProxyJump included), no login",
            {
                "banner": "str: the server's version line",
                "protocol": "str: protocol version, `2.0`",
                "software": "str: software name, e.g. `OpenSSH`",
                "version": "str: software version, e.g. `9.2p1`",
                "kex": "list: key-exchange algorithms offered",
                "host_key_algorithms": "list: host-key signature algorithms offered",
                "ciphers": "list: ciphers offered, both directions",
                "macs": "list: MACs offered, both directions",
                "compression": "list: compression methods offered",
                "strict_kex": "bool: the server offers strict key exchange (Terrapin fix)",
            },
        ),
        FactRoot(
            "ssh_auth",
            "ssh_auth",
            "what the SSH server accepts, asked without credentials (on the audit's own "
            "verified connection when it logs in), and each host key it presents",
            {
                "user": "str: the user name the methods were asked for",
                "methods": "list: authentication methods offered, e.g. `publickey`, `password`",
                "host_keys": ListOf(
                    {
                        "type": "str: `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, ...",
                        "bits": "int: key size in bits",
                        "fingerprint": "str: SHA256 fingerprint as OpenSSH prints it",
                    },
                    "host keys the server presented",
                ),
            },
        ),
        FactRoot(
            "sshd",
            "sshd",
            "the effective settings of the sshd serving the audited socket (`sshd -T` told "
            "that daemon's own `-f` and `-o`), read after logging in; host key verified",
            {
                "source": "str: `sshd -T` (effective) or `files` (fallback: text of sshd_config)",
                "describes": {
                    "address": "str: the server's side of the audit's connection",
                    "port": "int: the audited port",
                    "config": "str: the config file of the daemon listening there",
                },
                "settings": "map: map of sshd keyword (lower case) to value, as `sshd -T` prints",
                "files": ListOf(
                    {
                        "path": "str: `/etc/ssh` or `/etc/ssh/sshd_config`",
                        "owner": "str: owner name",
                        "group": "str: group name",
                        "mode": "str: octal mode as text, e.g. `644`",
                        "group_writable": "bool: the group may write it",
                        "other_writable": "bool: anyone may write it",
                        "other_readable": "bool: anyone may read it",
                    },
                    "ownership and mode of the SSH configuration",
                ),
                "host_keys": ListOf(
                    {
                        "type": "str: `rsa`, `ed25519`, `ecdsa`, `dsa`",
                        "bits": "int: key size in bits",
                        "fingerprint": "str: SHA256 fingerprint",
                    },
                    "host keys on disk",
                ),
            },
        ),
        FactRoot(
            "services",
            "services",
            "every service checked on the server's open TCP ports: where nmap names it (port "
            "table, or version detection with `--service-detection`), on its well-known port, or "
            "where the change record declares it; a `service` rule sees one as `service`",
            ListOf(SERVICE_FIELDS),
        ),
        FactRoot("service", "services", "the service a `service` rule judges", SERVICE_FIELDS),
        FactRoot(
            "tls_endpoints",
            "tls_endpoints",
            "every port of the server that completed a TLS handshake when the services probe "
            "identified it (any port number); a `tls` rule sees one as `tls`",
            ListOf(TLS_FIELDS),
        ),
        FactRoot("tls", "tls_endpoints", "the TLS endpoint a `tls` rule judges", TLS_FIELDS),
        FactRoot(
            "listener", "host", "the listening socket a `listener` rule judges", LISTENER_FIELDS
        ),
        FactRoot(
            "host",
            "host",
            "the server's own settings, read over the same SSH session as `sshd` (commands in "
            "[host.md](host.md)); facts that need root are read with `sudo -n`, and when that is "
            "refused they are left out (named in `unavailable`), so a rule reading them is "
            "`error`, never `pass`",
            {
                "os": {
                    "id": "str: e.g. `debian`",
                    "version_id": "str: e.g. `12`",
                    "pretty_name": "str: name",
                },
                "uid0_accounts": "list: accounts with UID 0, by name",
                "empty_password_accounts": "list: accounts with an empty password (needs root)",
                "files": ListOf(_MODE_FIELDS, "modes of /etc/passwd and /etc/shadow"),
                "listening": ListOf(LISTENER_FIELDS, "listening TCP sockets"),
                "firewall": {
                    "tool": "str: `nft`, `iptables` or `none`",
                    "active": "bool: inbound traffic is denied by default",
                    "default": "str: `deny` or `accept`: inbound traffic no rule takes",
                    "rules": "int: number of rule lines",
                },
                "auditd_running": "bool: the audit daemon runs",
                "log_forwarding": "bool: rsyslog or journal-upload sends logs off the host",
                "security_updates": "int: pending security updates; absent when unknown",
                "unavailable": "map: facts that could not be read, by name: why",
                "reads": "map: the host reads declared as data (rules/hostreads/), by id, "
                "each shaped by its parser (docs/host.md#host-reads): `sysctl` (kernel "
                "parameter → value), `sudoers`, `mounts`, `permissions` (path → exists, owner, "
                "group, mode, perms), `packages`, `units`, `accounts`, `pam_auth` (lines)...; "
                "only the reads some rule of the server reads are run, and a read that failed "
                "is left out and named in `unavailable` as `reads.ID`",
                "redis_conf": {
                    "found": "bool: the file exists",
                    "protected_mode": "str: `yes`/`no`",
                    "requirepass_set": "bool: a password is required",
                    "bind": "str: bind line",
                },
                "mongod_conf": {
                    "found": "bool: the file exists",
                    "value": "str: `security.authorization` value",
                },
                "elasticsearch_conf": {
                    "found": "bool: the file exists",
                    "value": "str: `xpack.security.enabled` value",
                },
                "pg_hba": {
                    "found": "bool: a PostgreSQL cluster's pg_hba.conf exists",
                    "files": "int: number of pg_hba.conf files (one per cluster)",
                    "trust_tcp": "int: `host*` lines whose method is `trust`",
                    "trust_local": "int: `local` lines whose method is `trust`",
                },
                "samba": {
                    "found": "bool: Samba's testparm is installed",
                    "guest_shares": "int: shares with `guest ok = yes` (or `public = yes`)",
                },
                "mysqld": {
                    "found": "bool: my_print_defaults (MySQL/MariaDB) is installed",
                    "skip_grant_tables": "bool: `skip-grant-tables` is set for mysqld",
                    "bind_address": "str: mysqld's `bind-address`, else empty",
                    "skip_networking": "bool: `skip-networking` is set: no TCP at all",
                },
                "nfs_exports": {
                    "found": "bool: /etc/exports or /etc/exports.d/*.exports exists",
                    "world_rw": "int: export entries to everyone (`*`, 0.0.0.0/0, no client), rw",
                    "world_ro": "int: export entries to everyone, read-only",
                },
                "retention": ListOf(
                    {
                        "path": "str: declared data path",
                        "exists": "bool: the path exists",
                        "count": "int: files older than `change.retention_days`",
                        "oldest_days": "int: age in days of the oldest such file",
                    },
                    "one entry per `change.data_paths` entry",
                ),
            },
        ),
        *(p.root for p in providers()),
        *(k.root for p in providers() for k in p.kinds),
    )
}
"""Every fact root, declared once: the inventory's, each probe's, each provider's."""

_HOST_ROOTS = (
    *(p.name for p in providers()),
    "target",
    "change",
    "params",
    "ports",
    "ssh",
    "ssh_auth",
    "sshd",
    "services",
    "tls_endpoints",
    "host",
)

RESOURCE_KINDS: Mapping[str, tuple[str, ...]] = {
    "host": _HOST_ROOTS,
    "port": (*_HOST_ROOTS, "port"),
    "service": (*_HOST_ROOTS, "service"),
    "tls": (*_HOST_ROOTS, "tls"),
    "listener": (*_HOST_ROOTS, "listener"),
    **{k.name: (*_HOST_ROOTS, k.name) for p in providers() for k in p.kinds},
}
"""Which roots a rule of each `applies_to` kind may read."""

RESOURCE_PROVIDER: Mapping[str, str | None] = {
    "host": None,
    "port": "ports",
    "service": "services",
    "tls": "tls_endpoints",
    "listener": "host",
    **{k.name: p.name for p in providers() for k in p.kinds},
}
"""The probe whose facts enumerate the resources of each kind."""
