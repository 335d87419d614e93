"""Other compiled extensions use fastgrad's kernels: a Cython consumer that
cimports the .pxd exports and a C consumer that includes fastgrad.h and
links libfgcore.a are built from source here (one setuptools build, same
toolchain, temp folder) and must give the same answers as the Python API.

Both consumers carry their own Rosenbrock objective (value, analytic
gradient, dual form). Where the arithmetic path is the same as the Python
API's (analytic gradient in the C loop, finite differences of the same
values) the answers must agree bit for bit; where only the summation order
differs (dual tangents summed by NumPy vs sequentially) to a few ulps.
"""
import functools
import importlib.util
import json
import operator
import os
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import fastgrad as fg
from fastgrad import _fd, _minimize

HERE = os.path.join(os.path.dirname(__file__), "embedding")
PUBLIC_PXD = ["__init__.pxd", "_optim.pxd", "_dual.pxd", "_fd.pxd", "_minimize.pxd",
              "_dual_grad.pxd"]


@pytest.fixture(scope="module")
def consumers(tmp_path_factory):
    build = tmp_path_factory.mktemp("consumer")
    for name in os.listdir(HERE):
        if name.endswith((".pyx", ".c", ".py")):
            shutil.copy(os.path.join(HERE, name), build)
    env = dict(os.environ, SKBUILD_EDITABLE_VERBOSE="0")
    out = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=build,
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    sys.path.insert(0, str(build))
    try:
        import c_consumer
        import cy_consumer
        yield {"cython": cy_consumer, "c": c_consumer}
    finally:
        sys.path.remove(str(build))


# The consumers' objective in Python, operation for operation.
def rosen_seq(x):
    """Summed left to right, as the C loops do."""
    a, b = x[1:] - x[:-1] * x[:-1], 1.0 - x[:-1]
    return functools.reduce(operator.add, (100.0 * (a * a) + b * b).tolist(), 0.0)


def rosen_np(x):
    """The same with NumPy operations only (works on DualArray)."""
    a, b = x[1:] - x[:-1] * x[:-1], 1.0 - x[:-1]
    return np.sum(100.0 * (a * a) + b * b)


def rosen_grad(x):
    a, b = x[1:] - x[:-1] * x[:-1], 1.0 - x[:-1]
    g = np.zeros_like(x)
    g[:-1] += -400.0 * x[:-1] * a - 2.0 * b
    g[1:] += 200.0 * a
    return g


X0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.3])
WHICH = ["cython", "c"]


@pytest.mark.parametrize("which", WHICH)
@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"])
def test_minimize_own_objective_equals_python_api_bit_for_bit(consumers, which, method):
    lr = 1e-3 if method in ("gd", "momentum", "nesterov") else 1e-2
    expected = fg.minimize(rosen_seq, X0, method=method, jac=rosen_grad, lr=lr, maxiter=300,
                           tol=1e-10)
    x = X0.copy()
    st, f, g, nit, stop = consumers[which].minimize(x, _minimize.METHODS[method], lr, 300,
                                                    1e-10, False)
    assert st == 0 and stop == expected.status == 1            # FG_MIN_MAXITER
    assert nit == expected.nit == 300
    np.testing.assert_array_equal(x, expected.x)
    np.testing.assert_array_equal(g, expected.jac)
    assert f == expected.fun
    assert not np.array_equal(x, X0)


def test_minimize_converges_to_the_minimum(consumers):
    for mod in consumers.values():
        x = np.array([-1.2, 1.0])
        st, f, g, nit, stop = mod.minimize(x, _minimize.METHODS["adam"], 2e-2, 20000, 1e-8,
                                           False)
        assert (st, stop) == (0, 0)                                # FG_MIN_CONVERGED
        np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-7)
        assert np.linalg.norm(g) <= 1e-8


@pytest.mark.parametrize("method", ["gd", "adam", "momentum"])
def test_minimize_with_dual_gradient_equals_python_dual(consumers, method):
    """fastgrad's dual driver as the objective's gradient (fg_dual_value_grad)
    vs fastgrad.minimize with its default dual gradient of rosen_np."""
    expected = fg.minimize(rosen_np, X0, method=method, lr=1e-3, maxiter=300, tol=1e-10)
    results = []
    for which in WHICH:
        x = X0.copy()
        st, f, g, nit, stop = consumers[which].minimize(x, _minimize.METHODS[method], 1e-3,
                                                        300, 1e-10, True)
        assert st == 0 and nit == expected.nit
        np.testing.assert_allclose(x, expected.x, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(g, expected.jac, rtol=1e-11, atol=1e-12)
        results.append((x, f, g))
    # the two consumers run the same arithmetic: identical bits
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]


@pytest.mark.parametrize("which", WHICH)
@pytest.mark.parametrize("method", ["forward", "central", "five-point", "richardson"])
def test_fd_gradient_of_c_callback_equals_python_api(consumers, which, method):
    x = np.linspace(-1.0, 1.3, 7)
    st, g = consumers[which].fd_gradient(x, _fd.METHOD_CODES[method])
    assert st == 0
    expected = fg.gradient(rosen_np, x, method=method)
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12)
    tol = {"forward": 1e-4, "central": 1e-7, "five-point": 1e-9, "richardson": 1e-9}[method]
    np.testing.assert_allclose(g, rosen_grad(x), rtol=tol, atol=tol)


@pytest.mark.parametrize("which", WHICH)
def test_central_fd_is_bit_for_bit(consumers, which):
    """Same stencil, same function values (no sum order difference for this
    x and n): the C callback path and the Python batch path agree exactly."""
    x = np.linspace(-1.0, 1.0, 7)
    st, g = consumers[which].fd_gradient(x, _fd.METHOD_CODES["central"])
    np.testing.assert_array_equal(g, fg.gradient(rosen_np, x, method="central"))


@pytest.mark.parametrize("which", WHICH)
@pytest.mark.parametrize("chunk", [0, 1, 3, 7])
def test_dual_gradient_of_own_callback_equals_python_api(consumers, which, chunk):
    x = np.random.default_rng(chunk).uniform(-2, 2, 7)
    st, value, g = consumers[which].dual_gradient(x, chunk)
    assert st == 0
    assert value == rosen_seq(x)
    np.testing.assert_allclose(g, fg.gradient(rosen_np, x), rtol=1e-14, atol=1e-13)
    np.testing.assert_allclose(g, rosen_grad(x), rtol=1e-14, atol=1e-13)


def python_api_adam(p, g, steps, lr):
    opt = fg.Adam(p, lr=lr)
    for _ in range(steps):
        opt.step(g)
    return p


@pytest.mark.parametrize("which", WHICH)
def test_consumer_adam_equals_python_api(consumers, which):
    rng = np.random.default_rng(0)
    p0, g = rng.standard_normal(5000), rng.standard_normal(5000)
    p, m, v = p0.copy(), np.zeros(5000), np.zeros(5000)
    assert consumers[which].adam_steps(p, g, m, v, 25, 1e-2) == 0
    expected = python_api_adam(p0.copy(), g, 25, 1e-2)
    np.testing.assert_array_equal(p, expected)


def test_module_style_cimport(consumers):
    """`from fastgrad cimport _optim` then `_optim.adam_step_f64(...)`."""
    rng = np.random.default_rng(3)
    p0, g = rng.standard_normal(100), rng.standard_normal(100)
    p, m, v = p0.copy(), np.zeros(100), np.zeros(100)
    assert consumers["cython"].adam_steps(p, g, m, v, 10, 1e-2, module_style=True) == 0
    np.testing.assert_array_equal(p, python_api_adam(p0.copy(), g, 10, 1e-2))


def test_package_level_cimport(consumers):
    """`from fastgrad cimport adam_step_f32, dual_gradient_f64` (fastgrad/__init__.pxd)."""
    cy = consumers["cython"]
    rng = np.random.default_rng(4)
    p0, g = rng.standard_normal(64).astype(np.float32), rng.standard_normal(64).astype(np.float32)
    p, m, v = p0.copy(), np.zeros(64, np.float32), np.zeros(64, np.float32)
    assert cy.adam_steps(p, g, m, v, 10, 1e-2) == 0            # float32: package style
    np.testing.assert_array_equal(p, python_api_adam(p0.copy(), g, 10, 1e-2))
    x = np.linspace(-1.5, 1.5, 9)
    assert cy.dual_gradient(x, 4, package_style=True) == cy.dual_gradient(x, 4)


def test_consumer_sees_status_codes(consumers):
    p, g, m, v = np.ones(3), np.ones(3), np.zeros(3), np.zeros(3)
    for mod in consumers.values():
        assert mod.adam_steps(p, g, m, v, 1, -1.0) == 1        # FG_ERR_ARG: lr < 0
        np.testing.assert_array_equal(p, 1.0)
        x = X0.copy()
        assert mod.minimize(x, _minimize.METHODS["adam"], -1.0, 10, 0.0, False)[0] == 1
        np.testing.assert_array_equal(x, X0)                  # nothing written
        assert mod.minimize(x, 99, 1e-3, 10, 0.0, False)[0] == 1  # unknown method
    assert consumers["c"].status_message(1) == "invalid argument"


def test_version_macro(consumers):
    assert consumers["c"].version() == fg.__version__


# ------------------------------------------------------ public headers --

def umbrella_headers():
    inc = fg.get_include()
    text = open(os.path.join(inc, "fastgrad.h")).read()
    return inc, re.findall(r'#include "([^"]+)"', text)


def test_public_headers_audit():
    inc, headers = umbrella_headers()
    assert "fg_dual_grad.h" in headers and "fg_status.h" in headers
    text = open(os.path.join(inc, "fastgrad.h")).read()
    assert re.search(r'#define FASTGRAD_VERSION "\d+\.\d+\.\d+"', text)
    assert f'#define FASTGRAD_VERSION "{fg.__version__}"' in text
    for h in headers:
        src = open(os.path.join(inc, h)).read()
        guard = re.search(r"#ifndef (FASTGRAD_\w+_H)\s+#define \1", src)
        assert guard, f"{h}: no include guard"
        assert src.rstrip().endswith("#endif /* " + guard.group(1) + " */"), h
        assert 'extern "C" {' in src and src.count("#ifdef __cplusplus") == 2, h
        assert not re.search(r"\bFG_T\b", src) and "_body.h" not in src, \
            f"{h}: templating in a public header"
        # every prototype has its own comment right above it; only a float32
        # twin may share the comment of its float64 sibling just before it
        protos = list(re.finditer(r"\n(?:fg_status|size_t|int|double|const \w+ \*)\s*(fg_\w+)\(",
                                  src))
        assert protos or h == "fg_objective.h", h
        for prev, m in zip([None] + protos[:-1], protos):
            before = src[:m.start()].rstrip()
            twin = (prev is not None and m.group(1).endswith("_f32")
                    and prev.group(1) == m.group(1)[:-4] + "_f64" and before.endswith(");"))
            assert before.endswith("*/") or twin, f"{h}: {m.group(1)} has no comment"


def test_status_enum_is_public():
    inc, _ = umbrella_headers()
    src = open(os.path.join(inc, "fg_status.h")).read()
    for name in ("FG_OK = 0", "FG_ERR_ARG = 1", "FG_ERR_CALLBACK = 8"):
        assert name in src


CXX_PROGRAM = r"""
#include "fastgrad.h"
#include <cstdio>
#include <cstring>
static fg_status sq(const double *x, const double *xt, size_t n, size_t k, double *v,
                    double *vt, void *) {
    *v = 0; for (size_t j = 0; j < k; j++) vt[j] = 0;
    for (size_t i = 0; i < n; i++) { *v += x[i] * x[i];
        for (size_t j = 0; j < k; j++) vt[j] += 2 * x[i] * xt[i * k + j]; }
    return FG_OK;
}
static fg_status fails(const double *, const double *, size_t, size_t k, double *v,
                       double *, void *) {
    *v = 1.0;
    return k ? FG_ERR_ARG : FG_OK;   /* value-only calls succeed */
}
int main() {
    double x[3] = {1, 2, 3}, g[3], v, work[12];
    fg_status st = fg_dual_gradient_f64(sq, NULL, x, 3, 0, &v, g, work);
    fg_adam_coeffs c;
    fg_status st2 = fg_adam_prepare(&c, 1e-3, 0.9, 0.999, 1e-8, 0, 0, 0, 0, 1);
    std::printf("%d %d %g %g %g %g %s\n", (int)st, (int)st2, v, g[0], g[1], g[2],
                fg_status_message(FG_ERR_ARG));
    /* argument errors, callback failure (NaN-filled outputs), value-only objective */
    std::printf("%d %d %d %zu\n", (int)fg_dual_gradient_f64(NULL, NULL, x, 3, 0, &v, g, work),
                (int)fg_dual_gradient_f64(sq, NULL, x, 3, 0, &v, NULL, work),
                (int)fg_dual_gradient_f64(sq, NULL, x, 3, 2, &v, g, NULL),
                fg_dual_gradient_workspace_size(3, 2));
    st = fg_dual_gradient_f64(fails, NULL, x, 3, 2, &v, g, work);
    std::printf("%d %d %d %d %d\n", (int)st, v != v, g[0] != g[0], g[1] != g[1], g[2] != g[2]);
    fg_dual_objective o = {sq, NULL, 1, work};
    double v2 = 0, g2[3];
    fg_status a = fg_dual_value_grad(x, 3, &v2, NULL, &o);
    std::printf("%d %g ", (int)a, v2);
    a = fg_dual_value_grad(x, 3, &v2, g2, &o);
    std::printf("%d %g %g %g %g ", (int)a, v2, g2[0], g2[1], g2[2]);
    o.fn = fails;
    std::printf("%d %d\n", (int)fg_dual_value_grad(x, 3, &v2, NULL, &o),
                (int)fg_dual_value_grad(x, 3, &v2, g2, &o));
    return std::strcmp(FASTGRAD_VERSION, "") == 0;
}
"""


def test_header_compiles_and_links_as_cxx(tmp_path):
    """A C++ program includes fastgrad.h and links libfgcore.a: without the
    extern "C" guards the calls would be C++-mangled and fail to link."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        # justified: the check needs a C++ compiler, which a user's machine may lack
        pytest.skip("no C++ compiler on this machine: the extern \"C\" guards cannot be "
                    "checked by compiling (test_public_headers_audit still reads them)")
    src = tmp_path / "t.cpp"
    src.write_text(CXX_PROGRAM)
    exe = tmp_path / "t"
    out = subprocess.run([cxx, "-std=c++11", "-Wall", "-Wextra", "-pedantic", "-Werror",
                          "-I", fg.get_include(), str(src), "-o", str(exe),
                          "-L", fg.get_library_dir(), "-lfgcore", "-lm", "-lpthread"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["0", "0", "14", "2", "4", "6", "invalid", "argument"]
    assert lines[1].split() == ["1", "1", "1", "8"]     # FG_ERR_ARG x3; 2*(3+1) doubles
    assert lines[2].split() == ["8", "1", "1", "1", "1"]  # FG_ERR_CALLBACK, NaN everywhere
    assert lines[3].split() == ["0", "14", "0", "14", "2", "4", "6", "0", "8"]


def test_header_is_pedantic_c99(tmp_path):
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        # justified: compiling the header needs a C compiler, which a user's
        # machine may lack (the pure-text header audit above still runs)
        pytest.skip("no C compiler on this machine: the header cannot be compiled")
    src = tmp_path / "t.c"
    src.write_text('#include "fastgrad.h"\nint main(void) { return FG_OK; }\n')
    out = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                          "-fsyntax-only", "-I", fg.get_include(), str(src)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]


def test_public_pxd_files_need_no_numpy():
    """Embedders must not need NumPy's headers: the public .pxd files and the
    raw declarations they cimport never cimport numpy."""
    pkg = [p for p in fg.__path__ if os.path.exists(os.path.join(p, "_optim.pxd"))][0]
    seen, todo = set(), list(PUBLIC_PXD)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        text = open(os.path.join(pkg, name)).read()
        assert not re.search(r"^\s*(c?import numpy|from numpy)", text, re.M), name
        todo += [m + ".pxd" for m in re.findall(r"from fastgrad\.(\w+) cimport", text)]
    assert {"_cstatus.pxd", "_cminimize.pxd"} <= seen


# ------------------------------------- the CMake / scikit-build-core way --

CMAKE_CHECK = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import c_consumer, cy_consumer
x0 = [-1.2, 1.0, -0.5, 0.8, 1.3]
out = {}
for name, mod in (("cython", cy_consumer), ("c", c_consumer)):
    x = np.array(x0)
    st, f, g, nit, stop = mod.minimize(x, 3, 1e-2, 300, 1e-10, False)
    out[name] = {"status": st, "x": x.tolist(), "f": f,
                 "dual": mod.dual_gradient(np.linspace(-1, 1, 7), 3)}
print(json.dumps(out))
"""


def test_scikit_build_core_consumer(tmp_path):
    """The CMakeLists.txt of the README's embedding section (embedding/cmake): a
    scikit-build-core project that asks fastgrad for its folders at configure
    time builds both consumers, and they agree with the Python API."""
    missing = [m for m in ("scikit_build_core", "cython_cmake")
               if importlib.util.find_spec(m) is None]
    if shutil.which("cmake") is None and importlib.util.find_spec("cmake") is None:
        missing.append("cmake")
    if missing:
        # justified: this build needs fastgrad's own build tools (test extras
        # install them, so CI runs it); without them there is nothing to build with
        pytest.skip(f"the CMake consumer build needs {', '.join(missing)} (fastgrad's own "
                    "build requirements); the setuptools consumers above still run")
    for name in ("cy_consumer.pyx", "c_consumer.c", "cmake/CMakeLists.txt",
                 "cmake/pyproject.toml"):
        shutil.copy(os.path.join(HERE, name), tmp_path)
    env = dict(os.environ, SKBUILD_EDITABLE_VERBOSE="0")
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation",
                          "--no-deps", "--no-index", "-q", "-w", "dist", "."], cwd=tmp_path,
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    wheels = os.listdir(tmp_path / "dist")
    assert len(wheels) == 1
    with zipfile.ZipFile(tmp_path / "dist" / wheels[0]) as z:
        z.extractall(tmp_path / "site")
    run = subprocess.run([sys.executable, "-c", CMAKE_CHECK, str(tmp_path / "site")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    expected = fg.minimize(rosen_seq, X0, method="adam", jac=rosen_grad, lr=1e-2, maxiter=300,
                           tol=1e-10)
    xs = np.linspace(-1, 1, 7)
    for which in WHICH:
        assert got[which]["status"] == 0
        np.testing.assert_array_equal(got[which]["x"], expected.x)
        assert got[which]["f"] == expected.fun
        st, value, g = got[which]["dual"]
        assert st == 0 and value == rosen_seq(xs)
        np.testing.assert_allclose(g, fg.gradient(rosen_np, xs), rtol=1e-14, atol=1e-13)


def test_readme_c_program_builds_and_runs(tmp_path):
    """The README's C example, as written there, compiles against the
    installed header, links libfgcore.a and converges."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        # justified: building the example needs a C compiler, which a user's machine may lack
        pytest.skip("no C compiler on this machine: the README's C example cannot be built")
    readme = pathlib.Path(__file__).resolve().parents[2] / "README.md"
    blocks = [b for b in re.findall(r"```c\n(.*?)```", readme.read_text(), flags=re.S)
              if "int main(" in b]
    assert len(blocks) == 1, "the README has one complete C program"
    src = tmp_path / "demo.c"
    src.write_text(blocks[0])
    exe = tmp_path / "demo"
    out = subprocess.run([cc, "-std=c99", "-Wall", "-Werror", str(src), "-I", fg.get_include(),
                          "-L", fg.get_library_dir(), "-lfgcore", "-lm", "-lpthread",
                          "-o", str(exe)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("success: x = ("), run.stdout
