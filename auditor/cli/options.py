"""The options `audit` and `scan` share (and `merge` some of), declared once."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.alerts.drift import ALERT_ON
from auditor.cli.base import F, rules_dir_option, verbosity_options
from auditor.models import Severity
from auditor.reporting import REPORTERS
from auditor.reporting.serialize import LATEST
from auditor.waivers import DEFAULT_MAX_DAYS

SEVERITIES = [s.value for s in Severity]
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


def run_options(func: F) -> F:
    """Every option of a run (outputs, probing, SSH, rules, waivers, history, alerts)."""
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
            "--nuclei-templates",
            "nuclei_templates",
            multiple=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Folder of nuclei templates you have: the read-only subset (GET/HEAD, "
            "read-only tcp inputs) runs beside the shipped checks, the rest is skipped and "
            "counted (docs/nuclei.md); repeatable.",
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
            "--framework",
            "frameworks",
            multiple=True,
            metavar="NAME",
            help="Judge only the rules of a compliance framework (cis-debian12-l1, "
            "dev-sec-linux-baseline...; repeatable) and sum its controls per section in the "
            "report (docs/compliance.md).",
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
