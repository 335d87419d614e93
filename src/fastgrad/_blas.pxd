# The BLAS of the C core's matrix products, for fastgrad's Cython modules:
#     from fastgrad._blas cimport scipy_blas
# (fetched from fastgrad._blas.__pyx_capi__ at import).
from fastgrad._cblas cimport fg_blas

cdef fg_blas scipy_blas(long long min_work) except *   # needs the GIL: may import SciPy
