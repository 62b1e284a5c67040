"""The bundled pack's proposal contract (rules/contract.yaml), for tests that need the contract
without loading the whole pack."""

from __future__ import annotations

from pathlib import Path

from engine.evaluate.validation import Validator
from engine.language.contractfile import load_contract

RULES = Path(__file__).resolve().parents[1] / "rules"
BUNDLED = load_contract(RULES)
validate = Validator(BUNDLED.root)
