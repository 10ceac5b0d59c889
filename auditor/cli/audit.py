"""`auditor audit` and `auditor scan`: options in, an `AuditRequest` out to the
application layer (auditor/app), the report printed, the exit code the verdict."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from auditor.addresses import check_endpoint
from auditor.alerts.notify import parse_destination
from auditor.app import AdhocHosts, Alerting, AuditRequest, Evidence, InventoryFile, prepare, run
from auditor.app.pipeline import Interrupted
from auditor.app.request import SCAN_PACKS
from auditor.cli.base import cli, user_errors
from auditor.cli.emit import emit
from auditor.cli.options import run_options
from auditor.cli.outputs import destinations as output_destinations
from auditor.cli.outputs import open_outputs
from auditor.cloud.aws.settings import AwsSettings
from auditor.errors import InputError
from auditor.history import default_path
from auditor.merge import Shard
from auditor.models import Severity, SshSettings
from auditor.probes.ssh.options import SshOptions
from auditor.yamlsource import load_plain


@cli.command()
@click.argument("inventory_file", type=click.Path(path_type=Path))
@click.option(
    "--ansible",
    "ansible_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Take servers from this Ansible inventory (INI or YAML); INVENTORY_FILE adds "
    "scope, defaults and change records by server name.",
)
@click.option(
    "--terraform",
    "terraform_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Take servers and cloud resources from `terraform show -json` output.",
)
@run_options
@user_errors
def audit(
    inventory_file: Path, ansible_file: Path | None, terraform_file: Path | None, **options: Any
) -> None:
    """Audit every server of an inventory and gate its launch.

    \b
    Examples:
      auditor audit inventories/lab.yaml
      auditor audit inv.yaml -o report.json --fail-on medium
      auditor audit inv.yaml -f table -f json -o report.json -o audit.sarif
      auditor audit changes.yaml --ansible hosts.ini
      terraform show -json > state.json && auditor audit changes.yaml --terraform state.json
    """

    _run(InventoryFile(inventory_file, ansible_file, terraform_file), **options)


@cli.command()
@click.argument("hosts", nargs=-1, required=False)
@click.option(
    "-p",
    "--ports",
    default="1-65535",
    show_default=True,
    help="Ports to scan (nmap syntax: 22,80,8000-8100).",
)
@click.option(
    "--rules",
    "rule_packs",
    multiple=True,
    default=list(SCAN_PACKS),
    show_default=True,
    help="Rule pack name or file; repeat for several. Checks that log in (sshd settings, "
    "host) run only with --ssh-user.",
)
@click.option(
    "--emit-inventory",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a draft inventory v1 of what was found (each open port as a declared "
    "exposure to review), to gate the next run on a change record.",
)
@click.option("--ssh-user", help="SSH user for probes that log in.")
@click.option(
    "--ssh-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="SSH port of every HOST  [default: ssh_config's Port, else 22]",
)
@click.option("--identity-file", type=click.Path(dir_okay=False), help="SSH private key.")
@click.option(
    "--aws-discover",
    is_flag=True,
    help="Also audit every bucket, security group, instance and RDS database of the AWS "
    "account (standard credential chain) in --aws-region.",
)
@click.option("--aws-region", "aws_regions", multiple=True, help="Region to discover; repeatable.")
@click.option("--aws-endpoint-url", help="S3-compatible or emulated AWS endpoint.")
@run_options
@user_errors
def scan(
    hosts: tuple[str, ...],
    ports: str,
    rule_packs: tuple[str, ...],
    ssh_user: str | None,
    ssh_port: int | None,
    identity_file: str | None,
    aws_discover: bool,
    aws_regions: tuple[str, ...],
    aws_endpoint_url: str | None,
    emit_inventory: Path | None,
    **options: Any,
) -> None:
    """Ad-hoc audit of HOSTS without an inventory; the scope is exactly these hosts.

    With no change record, open ports are information; what answers on them is judged
    (services, SSH before login). A host where nothing answered is said so, never GO.

    \b
    Examples:
      auditor scan 127.0.0.1
      auditor scan 10.0.0.5 10.0.0.6 -p 22,80,443,6379 -f json
      auditor scan 10.0.0.5:8000-8100 --ssh-user audit --emit-inventory draft.yaml
      auditor scan --aws-discover --aws-region eu-west-1
    """
    if not hosts and not aws_discover:
        raise click.UsageError("name at least one HOST, or use --aws-discover")
    ssh = SshSettings(user=ssh_user, port=ssh_port, identity_file=identity_file)
    aws = (
        AwsSettings(regions=aws_regions, endpoint_url=_endpoint(aws_endpoint_url), discover=True)
        if aws_discover
        else None
    )
    source = AdhocHosts(hosts, ports, rule_packs, ssh, aws)
    _run(source, emit_inventory=emit_inventory, **options)


def _run(
    source: InventoryFile | AdhocHosts,
    *,
    emit_inventory: Path | None = None,
    formats: tuple[str, ...],
    outputs: tuple[Path, ...],
    fail_on: str,
    timeout: float,
    service_detection: bool,
    scanner: str,
    rules_dirs: tuple[Path, ...],
    service_checks_dirs: tuple[Path, ...],
    nuclei_templates: tuple[Path, ...],
    try_default_credentials: bool,
    params: tuple[str, ...],
    concurrency: int,
    known_hosts: tuple[Path, ...],
    tofu: Path | None,
    ssh_config: Path,
    waivers_file: Path | None,
    max_waiver_days: int,
    strict_waivers: bool,
    color: str,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    frameworks: tuple[str, ...],
    show_severity: str | None,
    shard: str | None,
    include_facts: bool,
    history_path: Path | None,
    no_history: bool,
    report_schema: int,
    alert_on: str | None,
    notify: tuple[str, ...],
    heartbeat: bool,
    bundle: Path | None,
    sign_key: Path | None,
) -> NoReturn:
    """Options to a request; inputs checked, then report files opened (a bad path costs
    no probing), then the run; printed; exit with the verdict."""
    destinations = output_destinations(formats, outputs)
    if (bundle is None) != (sign_key is None):
        raise click.UsageError("--bundle and --sign-key go together")
    quiet = bool(click.get_current_context().obj["quiet"])
    request = AuditRequest(
        source=source,
        fail_on=Severity(fail_on),
        timeout=timeout,
        concurrency=concurrency,
        scanner=scanner,
        service_detection=service_detection,
        ssh=SshOptions(
            known_hosts=(Path("~/.ssh/known_hosts"), *known_hosts),
            trust_on_first_use=tofu,
            config_file=ssh_config,
        ),
        rules_dirs=rules_dirs,
        service_checks_dirs=service_checks_dirs,
        nuclei_templates=nuclei_templates,
        try_default_credentials=try_default_credentials,
        params=_parse_params(params),
        only=only,
        skip=skip,
        frameworks=frameworks,
        waivers=waivers_file,
        max_waiver_days=max_waiver_days,
        strict_waivers=strict_waivers,
        shard=Shard.parse(shard) if shard else None,
        include_facts=include_facts,
        history=None if no_history else (history_path or default_path()),
        alerting=_alerting(alert_on, notify, heartbeat),
        evidence=Evidence(bundle, sign_key) if bundle and sign_key else None,
        emit_inventory=emit_inventory,
        show_progress=not quiet,
    )
    prepared = prepare(request, _say)
    writers = open_outputs(destinations)  # before any probe: a bad path costs nothing
    try:
        outcome = run(prepared, _say)
    except Interrupted as stop:
        _interrupted(request.history, stop)
    emit(
        outcome.report,
        destinations,
        writers,
        color,
        show_severity,
        report_schema,
        outcome.alert_failures,
    )


def _say(message: str) -> None:
    click.echo(f"auditor: {message}", err=True)


def _interrupted(path: Path | None, stop: Interrupted) -> NoReturn:
    """Ctrl-C: servers judged so far are already committed to the history; leave now
    instead of waiting for probes that are still talking to slow servers."""
    if path is not None:
        click.echo(
            f"auditor: interrupted; run {stop.run_id} kept {stop.kept} finished server(s) in "
            f"{path} (marked interrupted)",
            err=True,
        )
    else:
        click.echo("auditor: interrupted", err=True)
    sys.stderr.flush()
    os._exit(130)  # 128 + SIGINT, the shell convention; probe threads are abandoned


def _endpoint(url: str | None) -> str | None:
    if url is None:
        return None
    try:
        return check_endpoint(url)
    except ValueError as exc:
        raise click.UsageError(f"--aws-endpoint-url: {exc}") from None


def _parse_params(params: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    parsed: dict[str, dict[str, Any]] = {}
    for item in params:
        key, sep, raw = item.partition("=")
        rule_id, dot, name = key.rpartition(".")
        if not sep or not dot or not rule_id or not name:
            raise click.UsageError(f"--param {item!r}: expected RULE_ID.NAME=VALUE")
        try:
            value = load_plain(raw, "--param")
        except InputError as exc:
            raise click.UsageError(f"--param {item!r}: VALUE is not valid YAML ({exc})") from None
        parsed.setdefault(rule_id, {})[name] = value
    return parsed


def _alerting(alert_on: str | None, notify: tuple[str, ...], heartbeat: bool) -> Alerting | None:
    """--alert-on/--notify/--heartbeat checked before anything is probed."""
    targets = tuple(parse_destination(spec) for spec in notify)
    if targets and alert_on is None:
        alert_on = "new"  # --notify alone: the common case
    if heartbeat and not targets:
        raise click.UsageError("--heartbeat needs at least one --notify destination")
    return Alerting(alert_on, targets, heartbeat) if alert_on is not None else None
