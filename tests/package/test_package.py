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


def test_namespace_holds_no_import_leftovers():
    public = {n for n in dir(fg) if not n.startswith("_")}
    assert not public & {"os", "annotations", "sys", "np"}, public


def test_cli_output_piped_into_a_reader_that_stops_early():
    """`fastgrad --help | head -1`: the pipe closes before the usage is
    written; the command must end quietly (no BrokenPipeError traceback)."""
    env = dict(os.environ, SKBUILD_EDITABLE_VERBOSE="0")
    code = ("import subprocess, sys\n"
            "p = subprocess.Popen([sys.executable, '-c', 'from fastgrad.__main__ import _run; "
            "import sys; sys.argv = [\"fastgrad\", \"bench\", \"--quick\", \"--sizes\", \"10\"]; "
            "sys.exit(_run())'], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
            "p.stdout.readline(); p.stdout.close()\n"
            "err = p.stderr.read().decode(); p.wait()\n"
            "print(repr(err))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "BrokenPipeError" not in out.stdout and "Traceback" not in out.stdout, out.stdout


@pytest.mark.parametrize("sizes, message", [("abc", "'abc' is not a number"),
                                            ("0", "'0' is not a whole number"),
                                            ("10,2.5", "'2.5' is not a whole number")])
def test_cli_bench_rejects_bad_sizes_with_a_clear_message(sizes, message):
    out = run_cli("bench", "--quick", "--sizes", sizes)
    assert out.returncode == 2 and "--sizes" in out.stderr and message in out.stderr, out.stderr
    assert "lambda" not in out.stderr


def test_cli_bench_default_sizes_are_the_readme_table_sizes():
    from fastgrad.benchmark import DEFAULT_SIZES
    readme = open(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                               "README.md")).read()
    rows = [line.split() for line in readme.splitlines()
            if line.startswith("Adam ") and line.split()[1].startswith("1e+")]
    assert rows
    assert sorted({int(float(r[1])) for r in rows}) == sorted(DEFAULT_SIZES)


def test_cli_demo_maxiter_limits_every_run():
    out = run_cli("demo", "--no-plot", "--maxiter", "3")
    assert out.returncode == 0, out.stderr
    # the table's columns: problem (16 characters), method (10), iterations (11)
    iterations = [int(line[26:37]) for line in out.stdout.splitlines()
                  if line.startswith(("Rosenbrock ", "3x^2 ", "x^2 "))]
    assert iterations and max(iterations) <= 3, out.stdout
    bad = run_cli("demo", "--no-plot", "--maxiter", "0")
    assert bad.returncode == 2 and "--maxiter" in bad.stderr
