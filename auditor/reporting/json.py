"""`--format json`: the versioned `auditor-report/2` document for scripts and pipelines.

Written server by server: the header, summary and rule catalogue first, then each target as
it is read back from the run's spool, so memory does not grow with the fleet. Each finding
sits on one line: a 1,000-server report stays readable with `grep` and small on disk.
"""

from __future__ import annotations

import io
import json
from typing import Any

from auditor.models import Report
from auditor.reporting.base import Reporter, Sink
from auditor.reporting.serialize import LATEST, report_head, target_to_dict


class JsonReporter(Reporter):
    name = "json"
    description = "auditor-report/2 JSON (docs/report.md); --report-schema 1 for the old one"

    def __init__(self, version: int = LATEST) -> None:
        self.version = version

    def render(self, report: Report) -> str:
        out = io.StringIO()
        self.write(report, out)
        return out.getvalue()

    def write(self, report: Report, out: Sink) -> None:
        out.write(_open(json.dumps(report_head(report, self.version), indent=2)))
        out.write(',\n  "targets": [')
        first = True
        for result in report.results:
            target = _target(target_to_dict(result, report, self.version))
            out.write(("\n    " if first else ",\n    ") + target.replace("\n", "\n    "))
            first = False
        out.write("]\n}\n" if first else "\n  ]\n}\n")


def _open(text: str) -> str:
    """A JSON object's text without its closing brace, to append more members."""
    return text[: text.rindex("}")].rstrip()


def _target(data: dict[str, Any]) -> str:
    findings = data.pop("findings")
    facts = data.pop("facts", None)
    text = _open(json.dumps(data, indent=2))
    lines = ",\n    ".join(json.dumps(f) for f in findings)
    text += f',\n  "findings": [\n    {lines}\n  ]' if findings else ',\n  "findings": []'
    if facts is not None:
        text += ',\n  "facts": ' + json.dumps(facts, indent=2).replace("\n", "\n  ")
    return text + "\n}"
