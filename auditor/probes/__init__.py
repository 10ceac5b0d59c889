"""Probes: one module each, turning targets into facts (or error facts), nothing else."""
