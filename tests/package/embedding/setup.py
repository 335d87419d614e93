"""How a third-party package builds against fastgrad (the README's embedding section)."""
import os

import fastgrad
from Cython.Build import cythonize
from setuptools import Extension, setup

# The folder that holds the fastgrad package, so `cimport fastgrad._optim` finds the
# .pxd files (in an editable install the package spans two folders: keep both).
pxd_path = [os.path.dirname(p) for p in fastgrad.__path__]
inc = [fastgrad.get_include()]   # fastgrad.h and fg_*.h (_minimize.pxd's structs)

setup(
    name="fastgrad-consumer",
    ext_modules=cythonize([Extension("cy_consumer", ["cy_consumer.pyx"], include_dirs=inc)],
                          include_path=pxd_path, language_level=3)
    + [Extension("c_consumer", ["c_consumer.c"], include_dirs=inc,
                 library_dirs=[fastgrad.get_library_dir()], libraries=["fgcore", "m", "pthread"])],
)
