"""Process exit codes: a public contract that CI pipelines branch on (docs/exit-codes.md)."""

from enum import IntEnum


class ExitCode(IntEnum):
    """What the whole run concluded; only the CLI turns a run into one of these."""

    GO = 0
    """Every target was fully audited and nothing failing at or above --fail-on remains."""
    NO_GO = 1
    """At least one target has an unwaived failing finding at or above --fail-on."""
    BAD_INPUT = 2
    """Bad inventory, rule pack, waiver file or usage; nothing was probed."""
    INCOMPLETE = 3
    """No failing findings, but at least one target could not be fully audited."""
    INTERNAL_ERROR = 4
    """A bug in the auditor: no verdict; the traceback is in the log named on stderr."""
    ALERT_NOT_DELIVERED = 5
    """The audit ran and its report holds the verdict, but a drift alert could not be
    delivered to a --notify destination (named on stderr)."""
