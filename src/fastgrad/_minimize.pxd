# The minimize driver for other Cython code, callable nogil with no link step:
#     from fastgrad._minimize cimport (minimize_options_init, minimize_workspace_size,
#                                      minimize_run_f64)
# These are thin wrappers over csrc/fg_minimize.h (see that header for the loop,
# the options, the stop reasons and the status codes); Cython fetches them from
# fastgrad._minimize at import. Compile with include_dirs=[fastgrad.get_include()].
from fastgrad._cstatus cimport fg_status
from fastgrad._cminimize cimport (fg_objective, fg_minimize_method, fg_minimize_stop,
                                  fg_minimize_options, fg_minimize_result,
                                  fg_minimize_state)

cdef fg_status minimize_options_init(fg_minimize_options *opt, size_t struct_size,
                                     fg_minimize_method method) noexcept nogil
cdef size_t minimize_workspace_size(size_t n, const fg_minimize_options *opt) noexcept nogil
cdef size_t minimize_state_size(size_t n, const fg_minimize_options *opt) noexcept nogil
cdef fg_status minimize_run_f64(const fg_objective *obj, double *x, size_t n,
                                const fg_minimize_options *opt, double *work, size_t work_len,
                                double *grad, fg_minimize_result *res) noexcept nogil
cdef const char *minimize_stop_message(fg_minimize_stop stop) noexcept nogil

# For fastgrad's own modules (minimize_many), called with the GIL: the
# options struct from minimize.py's validated dict, and the C side of a
# compiled objective (a fresh capsule, so a workspace of its own, kept alive
# in `keep`; compiled_hvp is False when the objective has no products).
cdef int fill_options(fg_minimize_options *o, str method, dict options) except -1
cdef fg_objective compiled_objective(object objective, size_t n, list keep) except *
cdef bint compiled_hvp(object objective, fg_minimize_options *o, size_t n,
                       list keep) except -1

# For fastgrad's own Cython modules (the stochastic loop, _stochastic.pyx):
# an options struct with a method's defaults, and one option field set by
# its entry of OPTION_FIELDS (values validated by the caller).
cdef int init_options(fg_minimize_options *o, str method) except -1
cdef int set_field(fg_minimize_options *o, dict field, object value) except -1
