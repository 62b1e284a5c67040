"""Faults under load: a killed worker, the database cut off, pack reloads, a full or read-only disk.

The command: `python benchmarks/faults.py --help`. The scenarios and checks are in
loadkit/faults.py, which tests/api/test_reliability.py runs in small sizes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadkit.faults import main

if __name__ == "__main__":
    sys.exit(main())
