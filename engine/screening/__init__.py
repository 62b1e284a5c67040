"""Watchlist screening: the list model, the published list formats, and name matching.

Owns the one watchlist model and its canonical YAML (`watchlists`), the readers of published
sanctions list formats (`listformats`), name normalisation and transliteration (`names`) and
the fuzzy name index that screens a party against the lists (`screener`). Reads the language
stage (contract checks, located YAML); nothing here evaluates rules.
"""
