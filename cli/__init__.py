"""The `riskrules` command line: one module per sub-command, dispatched by cli.main."""
