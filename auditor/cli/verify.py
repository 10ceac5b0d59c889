"""`auditor verify`: is this evidence bundle exactly what a known signer produced?"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli.base import cli, user_errors, verbosity_options
from auditor.evidence import bundle
from auditor.evidence.sshsig import SignatureError
from auditor.reporting.escape import terminal


@cli.command("verify")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--allowed-signers",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='OpenSSH allowed_signers file: `PRINCIPAL namespaces="server-auditor" KEY` lines.',
)
@user_errors
def verify_command(folder: Path, allowed_signers: Path, **_: object) -> None:
    """Check an evidence bundle's signature and every file it lists; exit 1 on any mismatch.

    \b
    The same check with plain OpenSSH:
      ssh-keygen -Y verify -f allowed_signers -I PRINCIPAL -n server-auditor \\
        -s FOLDER/manifest.json.sig < FOLDER/manifest.json
    """
    try:
        checked = bundle.check(folder, allowed_signers)
    except (SignatureError, OSError) as exc:
        checked = bundle.Checked([str(exc)], [], {})
    for problem in checked.problems:
        click.echo(f"auditor: verify: {terminal(problem)}", err=True)
    if checked.problems:
        sys.exit(1)
    manifest = checked.manifest
    inventory = manifest.get("inventory") or {}
    click.echo(
        f"verified: {folder} signed by {terminal(', '.join(checked.signers))}; every file intact"
    )
    # What the signer attested, so that an old GO bundle is not taken for today's.
    for label, value in (
        ("verdict", str(manifest.get("verdict", "")).upper()),
        (
            "inventory",
            f"{inventory.get('path', '')} (sha256 {str(inventory.get('sha256', ''))[:16]}…)",
        ),
        ("audited", f"{manifest.get('started', '')} → {manifest.get('finished', '')}"),
        ("auditor", str(manifest.get("auditor_version", ""))),
    ):
        click.echo(f"  {label + ':':<10} {terminal(value)}")


for option in reversed(verbosity_options):
    verify_command = option(verify_command)
