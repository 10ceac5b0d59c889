"""Cloud providers: how to reach each one's APIs and turn its resources into facts.

One sub-package per provider (`aws/`), each with its settings, read-only call wrapper,
discovery and probe, so that nothing outside it names a provider's SDK.
"""
