"""Agentless auditor that gates the launch of newly built servers (GO / NO-GO)."""

__version__ = "0.5.0"
"""Declared here once; pyproject.toml reads it (`dynamic = ["version"]`). A literal, not
importlib.metadata, which costs every command ~30 ms of start-up."""
