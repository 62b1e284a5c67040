"""Tools over a loaded pack, for analysts and the CLI: nothing here runs when the API scores.

Owns rule tests and coverage (`tester`), impact analysis between two packs (`impact`),
counterfactual readings (`whatif`), the editor JSON Schemas (`schema`) and the field reference
(`fields`).
"""
