"""Where the list of servers to audit comes from: inventory files and ad-hoc host lists."""

from auditor.inventory.adhoc import adhoc_inventory
from auditor.inventory.loader import load_inventory
from auditor.inventory.model import Inventory

__all__ = ["Inventory", "adhoc_inventory", "load_inventory"]
