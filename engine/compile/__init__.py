"""Compiling rules onto durable_rules and running them.

Owns the compiler from normalised conditions to durable_rules expressions (`compiler`), the
layout of the fact the compiled rules read (`layout`), the fact built from a proposal
(`facts`) and the only door to durable_rules (`matcher`).
"""
