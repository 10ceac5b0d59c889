"""After a recorded run: what changed since the last finished run, said and delivered."""

from __future__ import annotations

import logging
from collections.abc import Callable

from auditor.alerts.drift import drift, record
from auditor.alerts.notify import document, send
from auditor.app.request import Alerting
from auditor.history import History
from auditor.untrusted import clean

log = logging.getLogger("auditor")


def alert(
    history: History, inventory: str, run_id: int, asked: Alerting, say: Callable[[str], None]
) -> int:
    """Compute the drift, say it, deliver it; the number of failed deliveries."""
    found = drift(history, inventory, run_id, asked.on)
    if found.baseline and asked.on != "any":
        say("first finished run of this inventory: baseline set, no alerts")
    for item in found.alerts:
        say(f"alert: {clean(item.summary, 300)}")
    if not asked.destinations or (not found.alerts and not asked.heartbeat):
        record(history, inventory, run_id, found, delivered=True)
        return 0
    payload = document(found.alerts, inventory, run_id, asked.heartbeat)
    failures = 0
    for destination in asked.destinations:
        problem = send(destination, payload)
        if problem is None:
            log.info("alerts sent to %s", destination.shown)
        else:
            failures += 1
            say(f"error: alert not delivered to {problem}")
    record(history, inventory, run_id, found, delivered=failures == 0)
    return failures
