"""Watchlist screening: the list model, the published list formats, and name matching.

Owns the one watchlist model and its canonical YAML (`watchlists`), the readers of published
sanctions list formats (`listformats`: `formats_us`, `formats_europe`, on `listread`), name
normalisation and transliteration (`names`, then `tokens`), the score of two names
(`scoring`), the name index (`index`, its large parts in `flatindex`) and the screening of a
party against the lists (`screener`, its results in `result`). Reads the language stage
(contract checks, located YAML); nothing here evaluates rules.
"""
