"""``python -m benchmarks``: the whole benchmark in one run (see benchmarks/README.md)."""

from benchmarks.main import main

main()
