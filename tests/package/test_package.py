"""Package-level contract: exports, get_include, py.typed, the command line."""
import os
import subprocess
import sys

import pytest

import fastgrad as fg


def test_get_include_has_public_headers():
    inc = fg.get_include()
    for header in ("fastgrad.h", "fg_status.h", "fg_optim.h", "fg_ops.h", "fg_ops.def",
                   "fg_objective.h"):
        assert os.path.exists(os.path.join(inc, header)), header
    text = open(os.path.join(inc, "fastgrad.h")).read()
    assert "FASTGRAD_VERSION" in text and '#include "fg_optim.h"' in text


def test_py_typed_marker_ships():
    assert any(os.path.exists(os.path.join(p, "py.typed")) for p in fg.__path__)


def test_type_hints_check_clean():
    """The package ships py.typed, so its hints are a contract: mypy finds no
    error in the sources (the compiled modules are described by .pyi stubs)."""
    # justified: mypy is a test extra (CI installs it, so CI runs this check);
    # a bare `pip install fastgrad` plus pytest has no type checker to run
    pytest.importorskip("mypy", reason="mypy is a test extra: pip install '.[test]'")
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir)
    src = os.path.join(root, "src", "fastgrad")
    if not os.path.isdir(src):
        # justified: the check reads the sources; tests run against an installed
        # copy without the repository have none (CI runs from the clone)
        pytest.skip("no source tree next to the tests (an installed copy only)")
    out = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--config-file",
                          os.path.join(root, "pyproject.toml"), src],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


def test_public_names():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "kernels", "schedules"):
        assert hasattr(fg, name), name


def run_cli(*args):
    env = dict(os.environ, SKBUILD_EDITABLE_VERBOSE="0")
    return subprocess.run([sys.executable, "-m", "fastgrad", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_cli_bench_prints_ratio_table():
    out = run_cli("bench", "--quick", "--sizes", "10,1000")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("Adam") and "x" in line for line in lines)
    assert sum(line.split()[0] in ("Adam", "SGD+momentum", "RMSprop", "Adagrad")
               for line in lines if line.strip()) == 8


def test_cli_usage_and_unknown_command():
    assert run_cli("--help").returncode == 0
    bad = run_cli("frobnicate")
    assert bad.returncode == 2 and "unknown command" in bad.stderr
