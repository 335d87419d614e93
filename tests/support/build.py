"""Builds the test-only extensions in this folder (``testing_*.pyx``) against
the installed fastgrad, the way a third-party package would, and imports
them. They hold C objectives and calls of fastgrad's cdef exports that the
tests and benchmarks need but users never do, so the wheel does not ship
them.

The build is cached in a folder named by a hash of everything it depends on
(these sources and this builder, fastgrad's version, its .pxd files and C headers), so a
session rebuilds only after one of them changed; set FASTGRAD_TEST_BUILD to
choose the cache's parent folder.
"""
from __future__ import annotations

import glob
import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

import fastgrad

HERE = os.path.dirname(os.path.abspath(__file__))

SETUP = """
import os, sys
import fastgrad
import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

pxd_path = [os.path.dirname(p) for p in fastgrad.__path__]
inc = [fastgrad.get_include(), numpy.get_include()]
names = sys.argv.pop(1).split(",")
setup(name="fastgrad-testing", script_args=["build_ext", "--inplace", "-q"],
      ext_modules=cythonize(
          [Extension(n, [n + ".pyx"], include_dirs=inc,
                     # fastgrad's C core, statically: the status messages and any
                     # fg_* function a test objective calls directly
                     library_dirs=[fastgrad.get_library_dir()],
                     libraries=["fgcore", "m", "pthread"],
                     define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
           for n in names],
          include_path=pxd_path, language_level=3, quiet=True))
"""


def _sources() -> list[str]:
    return sorted(glob.glob(os.path.join(HERE, "testing_*.pyx")))


def _fingerprint(sources: list[str]) -> str:
    h = hashlib.sha256(fastgrad.__version__.encode())
    deps = [os.path.abspath(__file__)] + list(sources)
    for base in fastgrad.__path__:
        deps += sorted(glob.glob(os.path.join(base, "*.pxd")))
    deps += sorted(glob.glob(os.path.join(fastgrad.get_include(), "*")))
    for path in deps:
        h.update(os.path.basename(path).encode())
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def build_dir() -> str:
    """The folder holding the built modules (built now if missing)."""
    sources = _sources()
    parent = os.environ.get("FASTGRAD_TEST_BUILD") or os.path.join(
        tempfile.gettempdir(), "fastgrad-testing")
    target = os.path.join(parent, _fingerprint(sources))
    if os.path.isdir(target):
        return target
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix="build-", dir=parent)
    try:
        for src in sources:
            shutil.copy(src, work)
        with open(os.path.join(work, "setup.py"), "w") as f:
            f.write(SETUP)
        names = ",".join(os.path.splitext(os.path.basename(s))[0] for s in sources)
        env = dict(os.environ, SKBUILD_EDITABLE_VERBOSE="0")
        out = subprocess.run([sys.executable, "setup.py", names], cwd=work, env=env,
                             capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise RuntimeError("building the test-only extensions failed:\n"
                               + out.stdout[-4000:] + out.stderr[-4000:])
        try:
            os.rename(work, target)   # atomic: a concurrent build of the same inputs wins
        except OSError:
            if not os.path.isdir(target):
                raise
    finally:
        if os.path.isdir(work):
            shutil.rmtree(work, ignore_errors=True)
    return target


def load(name: str):
    """Import the test-only module ``name`` (e.g. ``"testing_fd"``)."""
    folder = build_dir()
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)
