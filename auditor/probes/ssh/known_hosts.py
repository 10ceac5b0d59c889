"""known_hosts files, read once per run and indexed by host name.

paramiko's `HostKeys` is parsed anew for every connection and searched line by line, so
with one line per server a fleet of N servers cost N parses of N lines: on 1,000 sshd the
SSH stage's CPU per server doubled between 200 and 1,000 servers. Here each set of files is
read once (again only when one of them changes, as a trust-on-first-use file does), plain
names are a dictionary lookup, and only hashed entries (`|1|salt|hash`) are tried one by
one, as they must be.
"""

from __future__ import annotations

import stat
import threading
from collections.abc import Sequence
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey


class UnreadableKnownHosts(Exception):
    """A known_hosts file that exists but cannot be read: an error, never "no key known"."""


class KnownHosts:
    """Keys by host name (plain entries) plus the hashed entries, from known_hosts files."""

    def __init__(self) -> None:
        self.plain: dict[str, list[paramiko.PKey]] = {}
        self.hashed: list[tuple[str, paramiko.PKey]] = []

    def add_file(self, path: Path) -> None:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                try:
                    entry = HostKeyEntry.from_line(text, number)
                except paramiko.SSHException:
                    continue  # a key type paramiko cannot load: skipped, as paramiko does
                if entry is None:
                    continue
                for name in entry.hostnames:
                    if name.startswith("|1|"):
                        self.hashed.append((name, entry.key))
                    else:
                        self.plain.setdefault(name, []).append(entry.key)

    def lookup(self, name: str) -> list[paramiko.PKey]:
        keys = list(self.plain.get(name, ()))
        for hashed, key in self.hashed:
            if paramiko.HostKeys.hash_host(name, hashed) == hashed:
                keys.append(key)
        return keys


_CACHE: dict[tuple[tuple[str, int, int], ...], KnownHosts] = {}
_LOCK = threading.Lock()


def _stamp(path: Path) -> tuple[str, int, int] | None:
    """(path, mtime, size) of a regular file, in one stat (this runs on every login)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return (str(path), info.st_mtime_ns, info.st_size) if stat.S_ISREG(info.st_mode) else None


def load(paths: Sequence[Path]) -> KnownHosts:
    """The index of these files (missing ones count as empty), shared while none changes.

    Raises UnreadableKnownHosts, naming the file, for one that cannot be read.
    """
    stamp = tuple(mark for p in paths if (mark := _stamp(p.expanduser())) is not None)
    with _LOCK:
        cached = _CACHE.get(stamp)
        if cached is not None:
            return cached
    index = KnownHosts()
    for path, _, _ in stamp:
        try:
            index.add_file(Path(path))
        except (OSError, UnicodeDecodeError, InvalidHostKey) as exc:
            raise UnreadableKnownHosts(f"cannot read known_hosts file {path}: {exc}") from None
    with _LOCK:
        if len(_CACHE) > 16:  # a long-lived process auditing many inventories
            _CACHE.clear()
        _CACHE[stamp] = index
    return index
