"""`--format json`: the versioned `auditor-report/1` document for scripts and pipelines."""

from __future__ import annotations

import json

from auditor.models import Report
from auditor.reporting.base import Reporter
from auditor.reporting.serialize import report_to_dict


class JsonReporter(Reporter):
    name = "json"
    description = "auditor-report/1 JSON (docs/report.md)"

    def render(self, report: Report) -> str:
        return json.dumps(report_to_dict(report), indent=2, sort_keys=False) + "\n"
