"""Inventory v1 (docs/inventory.md): YAML in, a validated `Inventory` out, or one clear error.

Nothing is probed until the whole file validates: every unknown key, wrong type, duplicate
server name and out-of-scope address is an `InputError` naming file, line and key.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from auditor.addresses import resolve
from auditor.cloud import Provider, providers
from auditor.errors import InputError
from auditor.inventory.model import INVENTORY_VERSION, Inventory
from auditor.models import (
    ChangeRecord,
    Exposure,
    IPNetwork,
    SshSettings,
    Target,
)
from auditor.portspec import parse_ports
from auditor.scope import Scope
from auditor.yamlsource import Node, load_yaml, plain, read_text

TOP_KEYS = {"version", "scope", "defaults", "servers", "rule_params", "cloud"}
DEFAULT_KEYS = {"ports", "rules", "ssh", "tags"}
SERVER_KEYS = {"name", "address", "tags", "change", "ports", "rules", "ssh"}
"""Besides one link key per cloud provider (`aws:`), from auditor.cloud."""
SSH_KEYS = {"user", "port", "identity_file", "known_hosts", "proxy_jump"}
CHANGE_KEYS = {
    "id",
    "approved",
    "owner",
    "go_live",
    "data",
    "retention_days",
    "exposes",
    "data_paths",
}
EXPOSE_KEYS = {"port", "proto", "service", "to"}
EXPOSURE_AUDIENCES = {"internet", "internal", "localhost"}
DEFAULT_PORTS = "1-65535"
DEFAULT_RULES = ("baseline",)


def load_inventory(path: str | Path, imported: Sequence[Mapping[str, Any]] = ()) -> Inventory:
    """Load inventory v1; `imported` servers (Ansible, Terraform) merge in by name."""
    source = Path(path)
    text = read_text(source, "inventory")
    root = Node.root(load_yaml(source, text), source)
    if root.value is None:
        raise InputError("the inventory is empty", path=source, hint="see docs/inventory.md")
    if imported:
        _merge_imported(root, imported)
    root.mapping(TOP_KEYS)
    version = root.require("version").as_(int)
    if version != INVENTORY_VERSION:
        raise root.require("version").error(
            f"unsupported inventory version {version}",
            hint=f"this auditor reads version {INVENTORY_VERSION}",
        )
    scope = _scope(root.require("scope"))
    defaults = root.get("defaults")
    if defaults is not None:
        defaults.mapping(DEFAULT_KEYS)
    servers_node = root.require("servers")
    targets: list[Target] = []
    seen: dict[str, int | None] = {}
    for server in servers_node.items():
        target = _target(server, defaults, scope)
        if target.name in seen:
            raise server.require("name").error(
                f"duplicate server name (first at line {seen[target.name]})",
                hint="server names must be unique",
            )
        seen[target.name] = server.line
        targets.append(target)
    clouds = _clouds(root.get("cloud"))
    if not targets and not any(
        p.discovers(clouds[p.name]) for p in providers() if p.name in clouds
    ):
        raise servers_node.error(
            "no servers listed",
            hint="add at least one server, or audit a whole account with cloud.aws.discover",
        )
    for cloud in providers():
        if cloud.name not in clouds and any(cloud.name in t.clouds for t in targets):
            raise root.error(
                f"servers link {cloud.title} resources "
                f"but there is no `cloud.{cloud.name}` section",
                hint=f"add `{cloud.settings_example}`",
            )
    return Inventory(
        path=str(source),
        version=version,
        scope=scope,
        targets=tuple(targets),
        rule_params=_rule_params(root.get("rule_params")),
        rule_param_lines=_rule_param_lines(root.get("rule_params")),
        clouds=clouds,
        digest=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
    )


def _clouds(node: Node | None) -> dict[str, Any]:
    """Each provider's settings from `cloud.<name>`."""
    if node is None:
        return {}
    node.mapping({p.name for p in providers()})
    return _per_provider(node, lambda provider, section: provider.parse_settings(section))


def _per_provider(node: Node, parse: Callable[[Provider, Node], Any]) -> dict[str, Any]:
    """`parse` of each provider's key under `node` (`cloud.<name>`, a server's `<name>:`).
    An inventory that needs a cloud whose SDK extra is not installed is bad input, named
    where it asks for that cloud, rather than a probe error on every server."""
    parsed: dict[str, Any] = {}
    for provider in providers():
        section = node.get(provider.name)
        if section is None:
            continue
        missing = provider.missing_sdk()
        if missing is not None:
            what, fix = missing
            raise section.error(what, hint=fix)
        parsed[provider.name] = parse(provider, section)
    return parsed


def _merge_imported(root: Node, imported: Sequence[Mapping[str, Any]]) -> None:
    """Imported hosts bring addresses and SSH settings; the file's entries (change records,
    rules, explicit settings) win where both say something."""
    mapping = root.mapping()
    servers = mapping.get("servers")
    if servers is None:
        servers = mapping["servers"] = []
    by_name = {s.get("name"): s for s in servers if isinstance(s, dict)}
    for entry in imported:
        own = by_name.get(entry["name"])
        if own is None:
            servers.append(dict(entry))
            continue
        for key, value in entry.items():
            if key not in own:
                own[key] = value
            elif key in ("ssh", "tags", *(p.name for p in providers())) and isinstance(
                own[key], dict
            ):
                merged = {**value, **own[key]}
                for list_key in ("buckets", "db_instances", "security_groups"):
                    if list_key in value and list_key in own[key]:
                        merged[list_key] = sorted({*value[list_key], *own[key][list_key]})
                own[key].update(merged)


def _scope(node: Node) -> Scope:
    networks: list[IPNetwork] = []
    for item in node.items():
        text = item.as_(str, "an address or CIDR network")
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=True))
        except ValueError as exc:
            raise item.error(f"not a network: {exc}", hint="write e.g. 10.0.0.0/24") from None
    if not networks:
        raise node.error("scope is empty", hint="list the networks you may audit")
    return Scope(tuple(networks))


def _target(node: Node, defaults: Node | None, scope: Scope) -> Target:
    node.mapping(SERVER_KEYS | {p.name for p in providers()})
    name = node.require("name").string()
    address_node = node.require("address")
    address = str(address_node.value).strip()
    ip = resolve(address, address_node)
    if not scope.allows(ip):
        raise address_node.error(
            f"{address} ({ip}) is outside the inventory scope ({scope})",
            hint="fix the address or widen `scope:` if you are authorised",
        )
    ports = _ports(_pick("ports", node, defaults))
    rules_node = _pick("rules", node, defaults)
    rules = rules_node.string_list() if rules_node else DEFAULT_RULES
    tags = {**_tags(defaults.get("tags") if defaults else None), **_tags(node.get("tags"))}
    ssh = _ssh(defaults.get("ssh") if defaults else None, node.get("ssh"))
    change_node = node.get("change")
    links = _per_provider(node, lambda provider, link: provider.parse_link(link))
    return Target(
        name=name,
        address=address,
        ip=ip,
        ports=ports,
        rules=rules,
        tags=tags,
        ssh=ssh,
        change=_change(change_node) if change_node else None,
        line=node.line,
        clouds=links,
    )


def _pick(key: str, node: Node, defaults: Node | None) -> Node | None:
    own = node.get(key)
    if own is not None:
        return own
    return defaults.get(key) if defaults else None


def _ports(node: Node | None) -> str:
    if node is None:
        return DEFAULT_PORTS
    spec = str(node.value) if isinstance(node.value, int) else node.string()
    try:
        parse_ports(spec)
    except ValueError as exc:
        raise node.error(
            f"bad port list: {exc}", hint='use nmap syntax, e.g. "22,80,8000-8100"'
        ) from None
    return spec


def _tags(node: Node | None) -> dict[str, str]:
    if node is None:
        return {}
    tags: dict[str, str] = {}
    for key, value in node.entries():
        if isinstance(value.value, dict | list):
            raise value.error("tag values must be plain strings or numbers")
        tags[key] = str(value.value)
    return tags


def _ssh(defaults: Node | None, own: Node | None) -> SshSettings:
    merged: dict[str, Node] = {}
    for layer in (defaults, own):
        if layer is None:
            continue
        layer.mapping(SSH_KEYS)
        merged.update(dict(layer.entries()))
    settings: dict[str, Any] = {}
    for key, value in merged.items():
        if value.value is None:
            continue
        if key == "port":
            port = value.as_(int)
            if not 1 <= port <= 65535:
                raise value.error("port must be 1-65535")
            settings[key] = port
        else:
            settings[key] = value.string()
    return SshSettings(**settings)


def _change(node: Node) -> ChangeRecord:
    node.mapping(CHANGE_KEYS)
    retention = node.get("retention_days")
    retention_days = retention.as_(int) if retention else None
    if retention_days is not None and retention_days < 0:
        raise retention.error("must be zero or more")  # type: ignore[union-attr]
    exposes = node.get("exposes")
    data = node.get("data")
    paths = node.get("data_paths")
    owner = node.get("owner")
    go_live = node.get("go_live")
    return ChangeRecord(
        id=str(node.require("id").value),
        approved=node.require("approved").as_(bool),
        owner=owner.string() if owner else None,
        go_live=go_live.convert(_date, "an ISO date like 2026-12-01") if go_live else None,
        data=data.string_list() if data else (),
        retention_days=retention_days,
        exposes=tuple(_exposure(e) for e in exposes.items()) if exposes else (),
        data_paths=paths.string_list() if paths else (),
    )


def _exposure(node: Node) -> Exposure:
    node.mapping(EXPOSE_KEYS)
    port_node = node.require("port")
    port = port_node.as_(int)
    if not 1 <= port <= 65535:
        raise port_node.error("port must be 1-65535")
    proto = node.get("proto")
    service = node.get("service")
    to = node.get("to")
    return Exposure(
        port=port,
        proto=proto.choice({"tcp", "udp"}) if proto else "tcp",
        service=service.string() if service else None,
        to=to.choice(EXPOSURE_AUDIENCES) if to else "internal",
    )


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _rule_params(node: Node | None) -> dict[str, dict[str, Any]]:
    if node is None:
        return {}
    params: dict[str, dict[str, Any]] = {}
    for rule_id, values in node.entries():
        params[rule_id] = {key: plain(v.value) for key, v in values.entries()}
    return params


def _rule_param_lines(node: Node | None) -> dict[str, int]:
    lines: dict[str, int] = {}
    for rule_id, values in node.entries() if node is not None else ():
        for key, value in values.entries():
            if value.line is not None:
                lines[f"{rule_id}.{key}"] = value.line
    return lines
