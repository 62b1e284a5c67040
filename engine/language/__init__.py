"""The rule language: what an analyst writes and what the engine reads it into.

Owns reading YAML with positions (`yamlsource`), the syntax tree (`syntax`), the operator registry
(`operators`), the proposal contract and its file (`contract`, `contractfile`), the pattern
syntax of `matches` (`regex`), parsing and checking pack.yaml, rule and list files (`parser`),
the negation-free rewrite (`normalize`), warnings (`lint`) and the did-you-mean hints (`hints`).
Imports nothing from the other stages.
"""
