#!/usr/bin/env python
"""Alias of ``python -m benchmarks`` (see benchmarks/README.md), kept for old habits:
``python benchmarks/run.py [--quick] [--only SECTION] ...``."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run as a script, this directory is first on the path, where its modules (engine, report, ...)
# would shadow top-level packages of those names; the checkout is what must be there.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from benchmarks.main import main  # noqa: E402

if __name__ == "__main__":
    main()
