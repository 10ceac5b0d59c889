"""Rule packs: loading (data → compiled rules) and evaluation (rules and facts → findings)."""

from auditor.rules.catalog import RuleCatalog, catalog_for, load_catalog
from auditor.rules.evaluate import evaluate_target
from auditor.rules.spec import Rule, RulePack

__all__ = ["Rule", "RuleCatalog", "RulePack", "catalog_for", "evaluate_target", "load_catalog"]
