"""riskrules engine: the rule language, its compiler onto durable_rules, scoring and explanations.

Public API: `load_pack(path) -> Pack`, `Pack.assess(proposal) -> Assessment`.
"""

from engine.assessment import Assessment
from engine.errors import EngineError, PackError, RiskrulesError
from engine.pack import Pack, load_pack

__all__ = ["Assessment", "EngineError", "Pack", "PackError", "RiskrulesError", "load_pack"]
