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
    "number": "port number (int)",
    "proto": "`tcp` or `udp`",
    "state": "`open`, `closed`, `filtered` or `not-scanned` (declared but outside the scan)",
    "open": "true when the scan saw it open (bool)",
    "service": "service name: from version detection when run, else nmap's port table",
    "service_source": "`version-detection`, `port-table` or `none`",
    "product": "product name from version detection, else empty",
    "version": "product version from version detection, else empty",
    "declared": "true when the change record declares this port (bool)",
    "declared_service": "service the change record names, else empty",
    "declared_to": "`internet`, `internal`, `localhost`, or empty when undeclared",
}

EXPOSURE_FIELDS: Mapping[str, Any] = {
    "port": "declared port (int)",
    "proto": "`tcp` or `udp`",
    "service": "declared service name, else empty",
    "to": "`internet`, `internal` or `localhost`",
}

ROOTS: Mapping[str, FactRoot] = {
    root.name: root
    for root in (
        FactRoot(
            "target",
            None,
            "the server as the inventory names it",
            {
                "name": "server name",
                "address": "address as written in the inventory",
                "ip": "the resolved IP address",
                "tags": "map of tag name to value",
                "adhoc": "true for a host named on `auditor scan`'s command line (no change "
                "record exists to check)",
            },
        ),
        FactRoot(
            "change",
            None,
            "the change record of this build (all fields present; `present` false when none)",
            {
                "present": "true when the inventory has a change record for this server",
                "id": "change id, empty when none",
                "approved": "bool",
                "owner": "owner, empty when none",
                "go_live": "ISO date, empty when none",
                "data": "list of data classes the server will hold, e.g. `personal`",
                "retention_days": "int, -1 when not declared",
                "exposes": ListOf(EXPOSURE_FIELDS, "declared exposures"),
                "data_paths": "list of paths where the declared data lives",
            },
        ),
        FactRoot("params", None, "the rule's parameters (after overrides)", {}),
        FactRoot(
            "ports",
            "ports",
            "every port resource of the target: open ones and declared ones",
            ListOf(PORT_FIELDS),
        ),
        FactRoot("port", "ports", "the port a `port` rule is judging", PORT_FIELDS),
        FactRoot(
            "ssh",
            "ssh",
            "what the SSH server says before login (banner and KEXINIT, raw socket)",
            {
                "banner": "the server's version line",
                "protocol": "protocol version, `2.0`",
                "software": "software name, e.g. `OpenSSH`",
                "version": "software version, e.g. `9.2p1`",
                "kex": "key-exchange algorithms offered (list)",
                "host_key_algorithms": "host-key signature algorithms offered (list)",
                "ciphers": "ciphers offered, both directions (list)",
                "macs": "MACs offered, both directions (list)",
                "compression": "compression methods offered (list)",
                "strict_kex": "true when the server offers strict key exchange (Terrapin fix)",
            },
        ),
        FactRoot(
            "ssh_auth",
            "ssh_auth",
            "what the SSH server accepts, asked without credentials",
            {
                "user": "the user name the methods were asked for",
                "methods": "authentication methods offered, e.g. `publickey`, `password`",
                "host_keys": ListOf(
                    {
                        "type": "`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, ...",
                        "bits": "key size in bits (int)",
                        "fingerprint": "SHA256 fingerprint as OpenSSH prints it",
                    },
                    "host keys the server presented",
                ),
            },
        ),
        FactRoot(
            "sshd",
            "sshd",
            "the sshd configuration read after logging in",
            {
                "source": "`sshd -T` (effective) or `files` (fallback: text of sshd_config)",
                "describes": {
                    "address": "the server's side of the audit's connection",
                    "port": "the audited port (int)",
                    "config": "the config file of the daemon listening there",
                },
                "settings": "map of sshd keyword (lower case) to value, as `sshd -T` prints",
                "files": ListOf(
                    {
                        "path": "`/etc/ssh` or `/etc/ssh/sshd_config`",
                        "owner": "owner name",
                        "group": "group name",
                        "mode": "octal mode as text, e.g. `644`",
                        "group_writable": "bool",
                        "other_writable": "bool",
                        "other_readable": "bool",
                    },
                    "ownership and mode of the SSH configuration",
                ),
                "host_keys": ListOf(
                    {
                        "type": "`rsa`, `ed25519`, `ecdsa`, `dsa`",
                        "bits": "key size in bits (int)",
                        "fingerprint": "SHA256 fingerprint",
                    },
                    "host keys on disk",
                ),
            },
        ),
    )
}

SERVICE_FIELDS: Mapping[str, Any] = {
    "port": "port number (int)",
    "proto": "`tcp`",
    "kind": "the check that ran: `redis`, `memcached`, `mongodb`, `elasticsearch`, "
    "`postgresql`, `mysql`, `vnc`, `smb`, `http`, `https`, `ftp`, `rsync`, or the id of a check "
    "file's check (`docker`, `etcd`, `kubelet`, `prometheus`, yours); or, on a port no check "
    "covers, the "
    "identified protocol (`ssh`, `smtp`, `tls`, `telnet`, `pop3`, `imap`) "
    "or `unknown`",
    "identified": "the protocol the identification greetings named on this port, or `unknown`",
    "detected_by": "why it was checked: identified, nmap's name, the well-known port, the "
    "change record",
    "unauthenticated": "true when it handed out data or control without credentials",
    "evidence": "a few redacted bytes that prove the answer",
    "details": "map of check-specific facts (e.g. http: listing, git_exposed, env_exposed)",
    "reference": "the nuclei template whose proof the check uses",
    "rule": "for a check file's check: the rule that judges it (its own, or the generic "
    "`services.open-access`); empty for Python checks",
    "error": "why the check failed (then every rule on this service is `error`), else empty",
}

ROOTS = {
    **ROOTS,
    "services": FactRoot(
        "services", "services", "services checked on the open ports", ListOf(SERVICE_FIELDS)
    ),
    "service": FactRoot(
        "service", "services", "the service a `service` rule judges", SERVICE_FIELDS
    ),
}

_MODE_FIELDS: Mapping[str, Any] = {
    "path": "file path",
    "owner": "owner name",
    "group": "group name",
    "mode": "octal mode as text",
    "group_writable": "bool",
    "other_writable": "bool",
    "other_readable": "bool",
}

LISTENER_FIELDS: Mapping[str, Any] = {
    "address": "bound address (an IPv4-mapped IPv6 address as its IPv4 form)",
    "port": "port (int)",
    "wildcard": "bound to all addresses",
    "loopback": "bound to a loopback address only (IPv4-mapped loopback included)",
    "reachable": "reachable from outside the host (wildcard or non-loopback)",
}

ROOTS = {
    **ROOTS,
    "listener": FactRoot(
        "listener", "host", "the listening socket a `listener` rule judges", LISTENER_FIELDS
    ),
    "host": FactRoot(
        "host",
        "host",
        "the server's own settings, read over SSH",
        {
            "os": {"id": "e.g. `debian`", "version_id": "e.g. `12`", "pretty_name": "name"},
            "uid0_accounts": "accounts with UID 0 (list of names)",
            "empty_password_accounts": "accounts whose password field is empty (needs root)",
            "files": ListOf(_MODE_FIELDS, "modes of /etc/passwd and /etc/shadow"),
            "listening": ListOf(LISTENER_FIELDS, "listening TCP sockets"),
            "firewall": {
                "tool": "`nft`, `iptables` or `none`",
                "active": "inbound traffic is denied by default (bool)",
                "default": "`deny` or `accept`: the verdict on inbound traffic no rule took",
                "rules": "number of rule lines",
            },
            "auditd_running": "bool",
            "log_forwarding": "rsyslog or journal-upload sends logs off the host (bool)",
            "security_updates": "pending security updates (int; absent when unknown)",
            "unavailable": {},
            "redis_conf": {
                "found": "bool",
                "protected_mode": "`yes`/`no`",
                "requirepass_set": "bool",
                "bind": "bind line",
            },
            "mongod_conf": {"found": "bool", "value": "`security.authorization` value"},
            "elasticsearch_conf": {"found": "bool", "value": "`xpack.security.enabled` value"},
            "pg_hba": {
                "found": "a PostgreSQL cluster's pg_hba.conf exists (bool)",
                "files": "number of pg_hba.conf files (one per cluster)",
                "trust_tcp": "`host*` lines whose method is `trust` (int)",
                "trust_local": "`local` lines whose method is `trust` (int)",
            },
            "samba": {
                "found": "Samba's testparm is installed (bool)",
                "guest_shares": "shares with `guest ok = yes` (or `public = yes`), counted",
            },
            "mysqld": {
                "found": "my_print_defaults (MySQL/MariaDB) is installed (bool)",
                "skip_grant_tables": "`skip-grant-tables` is set for mysqld (bool)",
                "bind_address": "mysqld's `bind-address`, else empty",
                "skip_networking": "`skip-networking` is set: no TCP at all (bool)",
            },
            "nfs_exports": {
                "found": "/etc/exports or /etc/exports.d/*.exports exists (bool)",
                "world_rw": "export entries to everyone (`*`, 0.0.0.0/0, no client), rw (int)",
                "world_ro": "export entries to everyone, read-only (int)",
            },
            "retention": ListOf(
                {
                    "path": "declared data path",
                    "exists": "bool",
                    "count": "files older than `change.retention_days` (int)",
                    "oldest_days": "age in days of the oldest such file (int)",
                },
                "one entry per `change.data_paths` entry",
            ),
        },
    ),
}

ROOTS = {
    **ROOTS,
    **{p.root.name: p.root for p in providers()},
    **{k.name: k.root for p in providers() for k in p.kinds},
}

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
    "host",
)

RESOURCE_KINDS: Mapping[str, tuple[str, ...]] = {
    "host": _HOST_ROOTS,
    "port": (*_HOST_ROOTS, "port"),
    "service": (*_HOST_ROOTS, "service"),
    "listener": (*_HOST_ROOTS, "listener"),
    **{k.name: (*_HOST_ROOTS, k.name) for p in providers() for k in p.kinds},
}
"""Which roots a rule of each `applies_to` kind may read."""

RESOURCE_PROVIDER: Mapping[str, str | None] = {
    "host": None,
    "port": "ports",
    "service": "services",
    "listener": "host",
    **{k.name: p.name for p in providers() for k in p.kinds},
}
"""The probe whose facts enumerate the resources of each kind."""
