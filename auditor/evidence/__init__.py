"""Evidence a client can check: a folder of reports with a manifest of their digests,
signed with an SSH key in OpenSSH's SSHSIG format (docs/evidence.md)."""
