"""`python -m auditor` is the same command as `auditor`."""

from auditor.cli import main

main()
