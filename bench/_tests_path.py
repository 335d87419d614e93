"""Put tests/ on sys.path: the benchmarks share the tests' helpers (the
``support`` package: test-only C extensions, objectives), whether pytest
runs them (bench/conftest.py imports this) or they run as scripts."""
import os
import sys

TESTS = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, "tests"))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
