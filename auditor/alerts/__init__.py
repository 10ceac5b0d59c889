"""After go-live: drift between audits of one inventory, sent where someone will see it.

`drift` turns this run and the history into alerts (new failing findings, verdicts that
changed) and keeps them from repeating; `notify` delivers them to webhooks, Slack and
e-mail, failing loudly (docs/monitoring.md)."""
