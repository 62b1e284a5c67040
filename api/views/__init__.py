"""HTTP blueprints: assessments, ruleset and rules, operations."""
