"""Agentless auditor that gates the launch of newly built servers (GO / NO-GO)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("server-auditor")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
