"""Load and no data loss: N POST /v1/assessments against a real `riskrules serve`, then checks.

The command: `python benchmarks/load.py --help`. The scenarios and checks are in
loadkit/load.py, which tests/api/test_reliability.py runs in small sizes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadkit.load import main

if __name__ == "__main__":
    sys.exit(main())
