"""How a run speaks SSH: the settings shared by every target of the run."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SshOptions:
    known_hosts: tuple[Path, ...] = (Path("~/.ssh/known_hosts"),)
    trust_on_first_use: Path | None = None
    """Record unknown host keys here and accept them; changed keys are still refused."""
    config_file: Path | None = Path("~/.ssh/config")
    use_agent: bool = True
    command_timeout: float = 30.0
    """At most this long for one remote command (the target's deadline bounds them all)."""
    tofu_lock: threading.Lock = field(default_factory=threading.Lock, compare=False)
    """Held while a trust-on-first-use file is read and written (one key per host)."""
