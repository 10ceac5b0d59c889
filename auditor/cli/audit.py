"""`auditor audit` and `auditor scan`: load, probe, judge, report, exit with the verdict."""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from auditor import __version__
from auditor.addresses import check_endpoint
from auditor.alerts.drift import ALERT_ON, drift, record
from auditor.alerts.notify import Destination, document, parse_destination, send
from auditor.cli.base import F, cli, log, rules_dir_option, user_errors, verbosity_options
from auditor.cli.draft import draft_inventory
from auditor.cli.outputs import Destination as ReportDestination
from auditor.cli.outputs import Output, Terminal, open_outputs
from auditor.cli.outputs import destinations as output_destinations
from auditor.cloud.aws.settings import AwsSettings
from auditor.engine import AuditSettings, run_audit
from auditor.errors import InputError
from auditor.evidence import bundle as evidence
from auditor.evidence.sshsig import SignatureError
from auditor.exitcodes import ExitCode
from auditor.gate import exit_code
from auditor.history import History, default_path, inventory_key
from auditor.inventory import Inventory, adhoc_inventory, load_inventory
from auditor.inventory.ansible import ansible_servers
from auditor.inventory.terraform import terraform_sources
from auditor.merge import Shard, select
from auditor.models import (
    Report,
    Severity,
    SshSettings,
    Status,
    Target,
    TargetResult,
)
from auditor.probes.registry import ProbeSettings, build_probes
from auditor.probes.ssh.options import SshOptions
from auditor.probes.ssh.presence import without_absent_ssh
from auditor.reporting import REPORTERS
from auditor.reporting.base import Reporter
from auditor.reporting.common import verdict_line
from auditor.reporting.json import JsonReporter
from auditor.reporting.serialize import LATEST
from auditor.reporting.table import TableReporter
from auditor.rules import catalog_for
from auditor.runinputs import input_digests
from auditor.spool import mapped
from auditor.untrusted import clean
from auditor.waivers import DEFAULT_MAX_DAYS, WaiverSet, load_waivers
from auditor.yamlsource import load_plain

SEVERITIES = [s.value for s in Severity]
SCAN_PACKS = ("baseline", "services", "ssh")
"""What `auditor scan` judges by default: exposure, what answers, SSH before login."""
LOGIN_PROBES = frozenset({"sshd", "host"})
"""Probes that log in: an ad-hoc scan runs them only with --ssh-user."""
PARAM_EXAMPLE = "ssh.max-auth-tries.max=4"
"""Kept valid by a test: the help's example must work."""


REPORT_SCHEMA = click.option(
    "--report-schema",
    type=click.IntRange(1, LATEST),
    default=LATEST,
    show_default=True,
    help="JSON report schema version: 2, or 1 for consumers not yet migrated "
    "(docs/report.md#migrating-from-1-to-2).",
)


HISTORY = click.option(
    "--history",
    "history_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Run history database (default: $AUDITOR_HISTORY or "
    "~/.local/state/server-auditor/history.sqlite).",
)
NO_HISTORY = click.option("--no-history", is_flag=True, help="Do not record this run.")


def _output_options(func: F) -> F:
    options = [
        REPORT_SCHEMA,
        click.option(
            "-f",
            "--format",
            "formats",
            multiple=True,
            envvar="AUDITOR_FORMAT",
            metavar="FORMAT[=FILE]",
            help=(
                f"Output format ({', '.join(sorted(REPORTERS))}) on stdout, or as FORMAT=FILE "
                "to a file; repeatable, e.g. -f json=report.json -f sarif=audit.sarif."
            ),
        ),
        click.option(
            "-o",
            "--output",
            "outputs",
            multiple=True,
            envvar="AUDITOR_OUTPUT",
            type=click.Path(dir_okay=False, path_type=Path),
            help=(
                "Write a report to FILE, its format taken from the extension (.json .sarif "
                ".xml .md .html .txt); repeatable. The table stays on stdout."
            ),
        ),
        click.option(
            "--fail-on",
            type=click.Choice(SEVERITIES),
            default="high",
            show_default=True,
            help="Lowest severity of a failing finding that makes a server NO-GO.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.01),
            default=120.0,
            show_default=True,
            help="Deadline in seconds for one probe on one server.",
        ),
        click.option(
            "--service-detection/--no-service-detection",
            default=False,
            help="Run nmap version detection (-sV --version-light); slower.",
        ),
        click.option(
            "--scanner",
            type=click.Choice(["auto", "nmap", "nmap-syn", "connect"]),
            default="auto",
            show_default=True,
            help="Port scanner: auto = nmap SYN scan as root (as nmap itself chooses), else "
            "the nmap connect scan; nmap; nmap-syn; or the built-in connect scanner, also "
            "used when nmap is missing. The report notes which one ran.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 256),
            default=16,
            show_default=True,
            help="Servers probed at once by each SSH/service probe.",
        ),
        click.option(
            "--known-hosts",
            "known_hosts",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="Extra known_hosts file (besides ~/.ssh/known_hosts); repeatable.",
        ),
        click.option(
            "--trust-on-first-use",
            "tofu",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Accept unknown SSH host keys and record them in this file; changed keys "
            "are still refused.",
        ),
        click.option(
            "--ssh-config",
            type=click.Path(dir_okay=False, path_type=Path),
            default=Path("~/.ssh/config"),
            show_default=True,
            help="OpenSSH client config to read User, Port, IdentityFile, ProxyJump from.",
        ),
        rules_dir_option,
        click.option(
            "--try-default-credentials",
            is_flag=True,
            help="Also try one login with a product's documented default where a check knows "
            "one (MySQL/MariaDB root with no password, RabbitMQ guest/guest), then "
            "disconnect. Off by default: agree it with the server's owner.",
        ),
        click.option(
            "--service-checks-dir",
            "service_checks_dirs",
            multiple=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Folder of your own network checks (YAML, docs/network-checks.md), used "
            "beside the shipped ones; repeatable.",
        ),
        click.option(
            "--waivers",
            "waivers_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Waivers file (docs/waivers.md): accepted risks with an approver and an expiry.",
        ),
        HISTORY,
        NO_HISTORY,
        click.option(
            "--alert-on",
            type=click.Choice(ALERT_ON),
            help="Compare with the last finished run of this inventory and alert on: new "
            "failing findings and servers that got worse (new), any verdict change (changed), "
            "or also the first run's findings (any). Needs the history. See docs/monitoring.md.",
        ),
        click.option(
            "--notify",
            multiple=True,
            metavar="DEST",
            help="Send the alerts to DEST (repeatable): an https:// JSON webhook, "
            "slack+https://..., smtp://host:587?to=ops@example.com, or env:VAR naming one.",
        ),
        click.option(
            "--bundle",
            type=click.Path(file_okay=False, path_type=Path),
            help="Also write a signed evidence bundle to this new or empty folder: JSON and "
            "HTML reports, a manifest of digests, its SSHSIG signature (needs --sign-key; "
            "docs/evidence.md).",
        ),
        click.option(
            "--sign-key",
            type=click.Path(dir_okay=False, path_type=Path),
            help="SSH key that signs the bundle: a private key file, or a .pub whose private "
            "key ssh-agent holds.",
        ),
        click.option(
            "--heartbeat",
            is_flag=True,
            help="With --notify: send a message even when nothing changed.",
        ),
        click.option(
            "--include-facts",
            is_flag=True,
            help="Write every fact collected on each server into the JSON report, once per "
            "server (findings carry only what their rule read).",
        ),
        click.option(
            "--shard",
            metavar="K/N",
            help="Audit only shard K of N: the servers whose name hashes to K (stable as the "
            "inventory grows); merge the N JSON reports with `auditor merge`.",
        ),
        click.option(
            "--only",
            multiple=True,
            metavar="RULE",
            help="Run only rules whose id matches (glob, repeatable), e.g. 'ssh.*'.",
        ),
        click.option(
            "--skip",
            multiple=True,
            metavar="RULE",
            help="Do not run rules whose id matches (glob, repeatable).",
        ),
        click.option(
            "--severity",
            "show_severity",
            type=click.Choice(SEVERITIES),
            help="Show only findings of at least this severity (errors always show); the gate "
            "still uses --fail-on.",
        ),
        click.option(
            "--color",
            type=click.Choice(["auto", "always", "never"]),
            default="auto",
            show_default=True,
            help="Colour the table: auto = on a terminal, unless NO_COLOR is set.",
        ),
        click.option(
            "--strict-waivers",
            is_flag=True,
            help="Refuse (exit 2) a waiver whose rule or target matches nothing, instead of "
            "warning about it.",
        ),
        click.option(
            "--max-waiver-days",
            type=click.IntRange(1, 3650),
            default=DEFAULT_MAX_DAYS,
            show_default=True,
            help="Reject waivers that expire further away than this.",
        ),
        click.option(
            "--param",
            "params",
            multiple=True,
            metavar="RULE_ID.NAME=VALUE",
            help=(
                "Override a rule parameter, RULE_ID.NAME=VALUE (VALUE is YAML and must have "
                "the type of the default; see `auditor rules show RULE_ID`), e.g. "
                f"{PARAM_EXAMPLE}."
            ),
        ),
        *verbosity_options,
    ]
    for option in reversed(options):
        func = option(func)
    return func


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
@_output_options
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

    def load() -> Inventory:
        imported: list[dict[str, Any]] = []
        extra: list[Target] = []
        if ansible_file is not None:
            imported += ansible_servers(ansible_file)
        if terraform_file is not None:
            servers, extra = terraform_sources(terraform_file)
            imported += servers
        inventory = load_inventory(inventory_file, imported)
        return replace(inventory, targets=(*inventory.targets, *extra)) if extra else inventory

    _run(load, imports={"ansible": ansible_file, "terraform": terraform_file}, **options)


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
@_output_options
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

    def load() -> Inventory:
        inventory = adhoc_inventory(
            list(hosts),
            ports=ports,
            rules=tuple(rule_packs),
            ssh=ssh,
            clouds={"aws": aws} if aws is not None else {},
        )
        return without_absent_ssh(inventory, options["timeout"], options["ssh_config"])

    _run(
        load,
        login=ssh_user is not None,
        emit_inventory=emit_inventory,
        **options,
    )


def _run(
    load: Callable[[], Inventory],
    *,
    imports: dict[str, Path | None] | None = None,
    login: bool = True,
    emit_inventory: Path | None = None,
    formats: tuple[str, ...],
    outputs: tuple[Path, ...],
    fail_on: str,
    timeout: float,
    service_detection: bool,
    scanner: str,
    rules_dirs: tuple[Path, ...],
    service_checks_dirs: tuple[Path, ...],
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
) -> None:
    """Validate options, then the inventory and rule packs, and only then probe."""
    destinations = output_destinations(formats, outputs)
    alert_on, targets = _alerting(alert_on, notify, heartbeat, no_history)
    if alert_on is not None and shard:
        raise click.UsageError(
            "--alert-on compares whole runs of an inventory; a shard is part of one: "
            "alert from an unsharded run"
        )
    if (bundle is None) != (sign_key is None):
        raise click.UsageError("--bundle and --sign-key go together")
    overrides = _parse_params(params)
    waivers = load_waivers(waivers_file, max_waiver_days) if waivers_file else WaiverSet()
    chosen = Shard.parse(shard) if shard else None
    inventory = load().with_discovered()
    # The whole inventory decides the rule packs (and is validated) in every shard, so the
    # shards' reports name the same packs and can be merged.
    catalog = catalog_for(inventory, search=rules_dirs, extra_overrides=overrides).select(
        only, skip
    )
    if not login:  # an ad-hoc scan without --ssh-user: no credentials to log in with
        before = len(catalog.all_rules())
        catalog = catalog.without_probes(LOGIN_PROBES)
        if len(catalog.all_rules()) < before and not click.get_current_context().obj["quiet"]:
            click.echo(
                "auditor: scan: checks that log in (sshd settings, host) need --ssh-user: not run",
                err=True,
            )
    for problem in waivers.unmatched((r.id for r in catalog.all_rules()), inventory.targets):
        if strict_waivers:
            raise InputError(problem, hint="fix the pattern, or drop --strict-waivers")
        click.echo(f"auditor: warning: {problem}", err=True)
    # Digests of everything that decides what is audited and how, read before any probe
    # (a file edited mid-run cannot change them): shards that differ are refused by merge.
    inputs = input_digests(
        version=__version__,
        inventory=inventory.path,
        ansible=(imports or {}).get("ansible"),
        terraform=(imports or {}).get("terraform"),
        rules={
            "packs": {p.name: p.digest for p in catalog.info()},
            "selected": sorted(r.id for r in catalog.all_rules()),
        },
        params=overrides,
        waivers=waivers_file,
        max_waiver_days=max_waiver_days,
        service_checks=service_checks_dirs,
        probing={
            "fail_on": fail_on,
            "timeout": timeout,
            "scanner": scanner,
            "service_detection": service_detection,
            "try_default_credentials": try_default_credentials,
        },
    )
    expected = tuple(t.name for t in inventory.targets)
    if chosen is not None:  # after every check of the whole inventory: shards agree
        inventory = replace(inventory, targets=select(inventory.targets, chosen))
    ssh = SshOptions(
        known_hosts=(Path("~/.ssh/known_hosts"), *known_hosts),
        trust_on_first_use=tofu,
        config_file=ssh_config,
    )
    probes = build_probes(
        ProbeSettings(
            concurrency,
            service_detection,
            scanner,
            ssh,
            inventory.clouds,
            service_checks_dirs,
            try_default_credentials,
        ),
    )
    history = None if no_history else History(history_path or default_path())
    writers = open_outputs(destinations)  # before any probe: a bad path costs nothing
    if bundle is not None and sign_key is not None:
        try:
            evidence.prepare(bundle, sign_key)  # a key that cannot sign costs no probing
        except SignatureError as exc:
            raise InputError(
                f"--bundle: {exc}", hint="give a new folder and a usable SSH key"
            ) from None
    key = inventory_key(inventory.path)
    run_id = history.start(key, datetime.now(UTC).isoformat(), __version__) if history else 0
    settings = AuditSettings(
        fail_on=Severity(fail_on),
        timeout=timeout,
        show_progress=not click.get_current_context().obj["quiet"],
        waivers=waivers,
        on_result=(lambda result: history.record_target(run_id, result)) if history else None,
        include_facts=include_facts,
    )
    try:
        report = run_audit(inventory, catalog, probes, settings)
    except KeyboardInterrupt:
        _interrupted(history, run_id)
    report = replace(
        report,
        inventory_digest=inputs["inventory"],
        shard=(chosen.index, chosen.count) if chosen else None,
        inputs=inputs,
        expected=expected,
    )
    failures = 0
    if history is not None:
        history.finish(run_id, report)
        if alert_on is not None:
            failures = _alert(history, key, run_id, alert_on, targets, heartbeat)
        history.close()
        log.info("recorded as run %s in %s", run_id, history.path)
    if bundle is not None and sign_key is not None:
        try:
            manifest = evidence.write(bundle, report, sign_key)
        except (SignatureError, OSError) as exc:
            raise InputError(f"--bundle: {exc}", path=bundle) from None
        log.info("signed evidence bundle: %s", manifest)
    if emit_inventory is not None:
        draft_inventory(report, emit_inventory)
        log.warning("wrote a draft inventory to %s: review every exposure", emit_inventory)
    emit(report, destinations, writers, color, show_severity, report_schema, failures)


def emit(
    report: Report,
    destinations: list[ReportDestination],
    writers: list[Output | None],
    color: str,
    show_severity: str | None,
    report_schema: int = LATEST,
    alert_failures: int = 0,
) -> NoReturn:
    """Render every requested format, say the verdict, exit with its code (5 when the
    verdict is rendered but a drift alert could not be delivered)."""
    shown = _shown(report, Severity(show_severity)) if show_severity else report
    for (name, path), writer in zip(destinations, writers, strict=True):
        reporter: Reporter
        if name == "table":
            reporter = TableReporter(width=_width(), color=writer is None and _colour(color))
        elif name == "json":
            reporter = JsonReporter(report_schema)
        else:
            reporter = REPORTERS[name]()
        if writer is None:
            reporter.write(shown, Terminal())
        else:
            writer.finish(functools.partial(reporter.write, shown))
            log.info("wrote %s report to %s", name, path)
    quiet = click.get_current_context().obj["quiet"]
    if ("table", None) not in destinations and not quiet:  # a person still sees the verdict
        click.echo(f"auditor: {verdict_line(report)}", err=True)
    if alert_failures:
        sys.exit(ExitCode.ALERT_NOT_DELIVERED)
    sys.exit(exit_code(report))


def _interrupted(history: History | None, run_id: int) -> NoReturn:
    """Ctrl-C: servers judged so far are already committed to the history; leave now
    instead of waiting for probes that are still talking to slow servers."""
    if history is not None:
        kept = len(history.findings(run_id))
        history.close()
        click.echo(
            f"auditor: interrupted; run {run_id} kept {kept} finished server(s) in "
            f"{history.path} (marked interrupted)",
            err=True,
        )
    else:
        click.echo("auditor: interrupted", err=True)
    sys.stderr.flush()
    os._exit(130)  # 128 + SIGINT, the shell convention; probe threads are abandoned


def _shown(report: Report, least: Severity) -> Report:
    """The report with findings below `least` left out of what is shown; errors stay (they
    say what was not checked), and verdicts are the real ones."""

    def view(r: TargetResult) -> TargetResult:
        shown = (f for f in r.findings if f.status is Status.ERROR or f.severity.at_least(least))
        return replace(r, findings=tuple(shown))

    return replace(report, results=mapped(report.results, view))


def _width() -> int:
    """The table's width: $COLUMNS, else the terminal's, else 80 (piped or a file)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return 80


def _colour(choice: str) -> bool:
    """--color always|never wins; auto colours a terminal unless NO_COLOR is set (no-color.org)."""
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


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


def _alerting(
    alert_on: str | None, notify: tuple[str, ...], heartbeat: bool, no_history: bool
) -> tuple[str | None, list[Destination]]:
    """--alert-on/--notify/--heartbeat checked before anything is probed."""
    targets = [parse_destination(spec) for spec in notify]
    if targets and alert_on is None:
        alert_on = "new"  # --notify alone: the common case
    if heartbeat and not targets:
        raise click.UsageError("--heartbeat needs at least one --notify destination")
    if alert_on is not None and no_history:
        raise click.UsageError(
            "--alert-on compares with earlier runs in the history: drop --no-history"
        )
    return alert_on, targets


def _alert(
    history: History,
    inventory: str,
    run_id: int,
    alert_on: str,
    targets: list[Destination],
    heartbeat: bool,
) -> int:
    """Compute the drift, say it on stderr, deliver it; the number of failed deliveries."""
    found = drift(history, inventory, run_id, alert_on)
    if found.baseline and alert_on != "any":
        click.echo(
            "auditor: first finished run of this inventory: baseline set, no alerts",
            err=True,
        )
    for alert in found.alerts:
        click.echo(f"auditor: alert: {clean(alert.summary, 300)}", err=True)
    if not targets or (not found.alerts and not heartbeat):
        record(history, inventory, run_id, found, delivered=True)
        return 0
    payload = document(found.alerts, inventory, run_id, heartbeat)
    failures = 0
    for destination in targets:
        problem = send(destination, payload)
        if problem is None:
            log.info("alerts sent to %s", destination.shown)
        else:
            failures += 1
            click.echo(f"auditor: error: alert not delivered to {problem}", err=True)
    record(history, inventory, run_id, found, delivered=failures == 0)
    return failures
