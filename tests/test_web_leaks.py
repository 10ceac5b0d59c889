"""Dumps and status pages behind a real web server (issue 27): real nginx on the lab's
vendor build with a migration's SQL dump left in its web root, and on the TLS host with
stub_status open. The dump is proven from its first 2 KiB (a Range request), never
downloaded whole; the checks run on every web port, TLS ones included."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import audit_in_process
from tests.lab.lab import Lab


@pytest.fixture(scope="module")
def findings(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    inventory = lab.write_inventory(
        tmp_path_factory.mktemp("leaks") / "inv.yaml", ["vendor-built", "web-tls"]
    )
    report = audit_in_process(inventory).report
    return {
        f"{t['name']} {f['rule']} {f['resource']}": f
        for t in report["targets"]
        for f in t["findings"]
        if f["status"] != "skip"
    }


def test_the_dump_in_the_vendors_web_root_is_found_from_its_first_bytes(
    findings: dict[str, dict[str, Any]],
) -> None:
    dump = findings["vendor-built services.web-root-dump service:sql-dump@80/tcp"]
    assert dump["status"] == "fail" and dump["severity"] == "critical"
    assert dump["message"].startswith(
        "80/tcp: GET /backup.sql (first 2048 bytes) → HTTP 206, a dump or archive"
    )
    assert "vendor-built services.web-root-dump service:backup-archive@80/tcp" not in findings, (
        "no archive there: looked for on every web port, found nowhere, no record"
    )


def test_an_open_status_page_is_found_and_only_where_it_is(
    findings: dict[str, dict[str, Any]],
) -> None:
    status = findings["web-tls services.status-page-exposed service:nginx-status@80/tcp"]
    assert status["status"] == "fail" and "GET /nginx_status → HTTP 200" in status["message"]
    assert not any("nginx-status" in key for key in findings if key.startswith("vendor-built")), (
        "no status page on the vendor build: no record"
    )
    # every TLS port of the TLS host is read over TLS, its weak one (RSA 1024) included
    assert findings["web-tls services.http-directory-listing service:https@9443/tcp"]
    assert not any(f["status"] == "error" for k, f in findings.items() if "web-tls" in k)
