"""Evaluating a proposal: from the proposal as sent to the decision and its explanation.

Owns proposal validation (`validation`), enrichment and derived facts (`enrich`, `derive`), what
each leaf test means in plain Python (`semantics`), scores and bands (`scoring`), the final
decision (`decision`), evidence and summaries (`explain`), missing information (`missing`) and
the reference interpreter the fast paths are tested against (`reference`). Reads the language
stage; knows nothing of durable_rules.
"""
