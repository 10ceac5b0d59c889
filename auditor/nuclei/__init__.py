"""The community's nuclei templates, run read-only (`--nuclei-templates DIR`).

A user who already has nuclei templates points the auditor at them; the read-only subset
(`template.py`) becomes service checks (`run.py`) that run in the services probe beside
the shipped ones, under the same deadline, bounds and fail-closed handling. Every template
that is not run is counted with its reason (`NucleiSummary`), in the report and on stderr:
never silently dropped, never half-run. No template ships with the auditor.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from auditor.nuclei.run import service_check
from auditor.nuclei.template import Skip, Template, find, load
from auditor.probes.services.base import ServiceCheck


@dataclass(frozen=True)
class NucleiSummary:
    folders: tuple[str, ...]
    templates: int
    run: int
    skipped: Mapping[str, int] = field(default_factory=dict)
    """How many templates each reason kept from running."""

    def line(self) -> str:
        reasons = ", ".join(
            f"{n} {why}" for why, n in sorted(self.skipped.items(), key=lambda i: -i[1])
        )
        skipped = self.templates - self.run
        return (
            f"nuclei templates: {self.templates} found, {self.run} run read-only, "
            f"{skipped} skipped" + (f" ({reasons})" if reasons else "")
        )


def load_templates(directories: Iterable[Path]) -> tuple[tuple[ServiceCheck, ...], NucleiSummary]:
    folders = tuple(directories)
    runnable: list[Template] = []
    skipped: Counter[str] = Counter()
    paths = find(folders)
    seen: set[str] = set()
    for path in paths:
        try:
            template = load(path)
        except Skip as why:
            skipped[str(why)] += 1
            continue
        if template.id in seen:
            skipped["duplicate id"] += 1
            continue
        seen.add(template.id)
        runnable.append(template)
    summary = NucleiSummary(
        tuple(str(f) for f in folders), len(paths), len(runnable), dict(skipped)
    )
    return tuple(service_check(t) for t in runnable), summary
