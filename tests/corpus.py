"""Reads the `# expect:` header of files in the broken-input corpora under tests/data."""

from __future__ import annotations

from pathlib import Path


def expectations(path: Path) -> tuple[int, str]:
    """(line the error must name, or 0 for none; text the error must contain)."""
    line, text = 0, ""
    for row in path.read_text().splitlines():
        if row.startswith("# expect-line:"):
            line = int(row.split(":", 1)[1])
        elif row.startswith("# expect:"):
            text = row.split(":", 1)[1].strip()
    assert text, f"{path} has no '# expect:' header"
    return line, text
