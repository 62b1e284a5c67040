"""Tests of the `riskrules` command line (cli/)."""
