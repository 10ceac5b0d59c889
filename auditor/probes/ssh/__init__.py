"""Probes that speak SSH: algorithms before login (`wire`), offered auth methods (`auth`),
and, after a verified login, sshd's effective settings and the host's own (`sshd_config`,
`host`) through the read-only command list (`commands`)."""
