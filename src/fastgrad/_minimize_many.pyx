# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_minimize_many.{h,c}: k minimize runs in one C call.

Layers: minimize_many.py validates the arguments; ``run`` here fills the
options struct (fastgrad._minimize's fill_options, the same as minimize's),
makes one objective per thread from the compiled function (each capsule owns
a tape workspace), sizes every buffer once and calls
fg_minimize_many_run_f64 with the GIL released. Only the poll (Ctrl-C, the
progress line) takes the GIL, on the calling thread, about every 50 ms.
Arrays: X in/out (k, n); bounds and warm-start states in; the rest out.
"""
cimport numpy as cnp
from libc.stdint cimport int64_t
from libc.string cimport memset
from fastgrad._cstatus cimport fg_status, FG_OK, FG_ERR_ARG, fg_status_message
from fastgrad._cminimize cimport (fg_minimize_options, fg_minimize_result, fg_minimize_stop,
                                  fg_minimize_state_size, fg_minimize_stop_message,
                                  FG_MIN_STOP_COUNT)
from fastgrad._cminimize_many cimport *
from fastgrad._poll cimport now_seconds, progress_due
from fastgrad._minimize cimport fill_options, compiled_objective, compiled_hvp
from fastgrad._cobjective cimport fg_batch_objective, FG_BATCH_CAPSULE_NAME
from cpython.pycapsule cimport PyCapsule_IsValid, PyCapsule_GetPointer

import sys

import numpy as np

from fastgrad import _minimize

cnp.import_array()

#: at most this many threads run
MAX_THREADS = FG_MINIMIZE_MANY_MAX_THREADS
#: stop code -> message (the single run's messages)
MESSAGES = {code: fg_minimize_stop_message(<fg_minimize_stop>code).decode()
            for code in range(<int>FG_MIN_STOP_COUNT)}

# As minimize: Ctrl-C is seen within about this many seconds; the progress
# line is refreshed at most every PROGRESS_SECONDS.
cdef double POLL_SECONDS = 0.05
cdef double PROGRESS_SECONDS = 0.2


cdef class _Poll:
    """What the poll reports to, and the first exception it met."""
    cdef object error
    cdef bint progress
    cdef double next_progress


cdef int print_progress(size_t done, size_t k, bint final) except -1:
    sys.stderr.write(f"\rminimize_many: {done:>9d} of {k} problems done"
                     + ("\n" if final else ""))
    sys.stderr.flush()
    return 0


cdef int many_poll(size_t done, size_t k, void *ctx) noexcept nogil:
    """Pending signals (Ctrl-C raises KeyboardInterrupt here) and the
    progress line; nonzero stops every run."""
    with gil:
        p = <_Poll>ctx
        try:
            if progress_due(p.progress, &p.next_progress, PROGRESS_SECONDS):
                print_progress(done, k, False)
            return 0
        except BaseException as exc:
            if p.error is None:
                p.error = exc
            return 1


cdef cnp.ndarray raw_buffer(size_t count, size_t size):
    """A fresh zeroed byte buffer for `count` C structs of `size` bytes."""
    return np.zeros(count * size, dtype=np.uint8)


cdef int bind_data(object objective, tuple data, size_t rows, size_t k, size_t n,
                   fg_minimize_worker *workers, size_t nworkers, list keep) except -1:
    """Point every worker at a fresh batch capsule of `objective` (its own
    workspace) evaluated on each problem's block of `rows` rows of the
    `data` arrays (C-contiguous, k blocks each, kept alive in `keep`)."""
    cdef size_t nd = len(data), w, j
    cdef cnp.ndarray bind_buf = raw_buffer(nworkers, sizeof(fg_minimize_many_data))
    cdef fg_minimize_many_data *binds = <fg_minimize_many_data*>cnp.PyArray_DATA(bind_buf)
    cdef cnp.ndarray bases = raw_buffer(nd, sizeof(void*))
    cdef cnp.ndarray current = raw_buffer(nworkers * nd, sizeof(void*))
    cdef const void **bp = <const void**>cnp.PyArray_DATA(bases)
    cdef const void **cp = <const void**>cnp.PyArray_DATA(current)
    cdef fg_batch_objective *b
    keep.extend([bind_buf, bases, current, data])
    for j in range(nd):
        bp[j] = cnp.PyArray_DATA(<cnp.ndarray>data[j])
    # the same gradient mode as minimize(cf, x0, data=...) on one problem
    mode = "reverse" if n > 2 else "dual"
    for w in range(nworkers):
        capsule = objective._fg_batch_capsule([rows], mode)
        if not PyCapsule_IsValid(capsule, FG_BATCH_CAPSULE_NAME):
            raise TypeError(f"_fg_batch_capsule() must return a PyCapsule named "
                            f"{FG_BATCH_CAPSULE_NAME.decode()!r}")
        keep.append(capsule)
        b = <fg_batch_objective*>PyCapsule_GetPointer(capsule, FG_BATCH_CAPSULE_NAME)
        if b.n != n or b.n_data != nd:
            raise ValueError(f"the compiled objective takes {b.n} unknowns and {b.n_data} "
                             f"data arrays, not {n} and {nd}")
        for j in range(nd):
            # C reads k blocks of rows * row_bytes[j] bytes of data[j]
            if b.row_bytes[j] * rows * k != <size_t>cnp.PyArray_NBYTES(<cnp.ndarray>data[j]):
                raise ValueError(f"data[{j}] holds {cnp.PyArray_NBYTES(<cnp.ndarray>data[j])} "
                                 f"bytes, not {k} problems of {rows} rows of "
                                 f"{b.row_bytes[j]} bytes")
        binds[w].batch = b
        binds[w].data = bp
        binds[w].rows = rows
        binds[w].current = cp + w * nd
        workers[w].objective.value_grad = fg_minimize_many_data_value_grad
        workers[w].objective.hessian = NULL
        workers[w].objective.ctx = &binds[w]
        workers[w].select = fg_minimize_many_data_select
        workers[w].select_ctx = &binds[w]
    return 0


def run(object objective, cnp.ndarray x, str method, dict options, *, Py_ssize_t threads=1,
        cnp.ndarray lower=None, cnp.ndarray upper=None, bint per_problem_bounds=False,
        cnp.ndarray states=None, bint keep_state=False, bint progress=False,
        tuple data=None, Py_ssize_t rows=0):
    """One call of fg_minimize_many_run_f64.

    objective: a compiled function (``_fg_objective_capsule``, and
    ``_fg_hvp_capsule`` for the methods that use Hessian-vector products).
    x (in/out): (k, n) C-contiguous float64, each row a problem's x0, its
    result on return. options: as fastgrad._minimize.run's (validated by the
    caller). lower, upper: None, n values shared by every problem, or with
    per_problem_bounds (k, n) values. states: the (k, state_size) carried
    states to continue (a warm start) or None; keep_state: return every
    problem's carried state. data: None, or per-problem data for a compiled
    function with data inputs (checked by the caller: C-contiguous arrays of
    its dtypes, each k blocks of `rows` rows) evaluated through one batch
    capsule per thread (value and gradient only: the caller leaves methods
    that use Hessians or their products to the loop). Returns a dict of
    (k,) arrays f, grad_norm,
    nit, nfev, njev, nhev, stop and the (k, n) grad (and ``state``).
    """
    cdef fg_minimize_options o, ho
    cdef fg_minimize_many_options m
    cdef size_t k = <size_t>cnp.PyArray_DIM(x, 0), n = <size_t>cnp.PyArray_DIM(x, 1)
    cdef size_t nworkers = <size_t>max(1, min(threads, k, MAX_THREADS))
    cdef size_t w, i, wlen, carried
    cdef fg_status st
    cdef list keep = []
    cdef _Poll poll = _Poll()
    fill_options(&o, method, options)
    fg_minimize_many_options_init(&m, sizeof(fg_minimize_many_options))

    cdef cnp.ndarray worker_buf = raw_buffer(nworkers, sizeof(fg_minimize_worker))
    cdef fg_minimize_worker *workers = <fg_minimize_worker*>cnp.PyArray_DATA(worker_buf)
    uses_hvp = _minimize.METHOD_TABLE[method]["uses_hvp"]
    if data is not None:
        bind_data(objective, data, <size_t>rows, k, n, workers, nworkers, keep)
    else:
        for w in range(nworkers):
            workers[w].objective = compiled_objective(objective, n, keep)
            ho = o
            if uses_hvp and compiled_hvp(objective, &ho, n, keep):
                workers[w].hvp = ho.hvp
                workers[w].hvp_ctx = ho.hvp_ctx

    if lower is not None:
        o.lower = <const double*>cnp.PyArray_DATA(lower)
        o.upper = <const double*>cnp.PyArray_DATA(upper)
        m.bounds_stride = n if per_problem_bounds else 0
    wlen = fg_minimize_many_workspace_size(n, &o, nworkers)
    carried = fg_minimize_state_size(n, &o)
    if wlen == 0:
        raise ValueError(f"minimize_many: the workspace for n = {n} with method={method!r} "
                         "does not fit in memory")
    cdef cnp.ndarray work = np.empty(wlen)
    cdef cnp.ndarray kept = None
    if states is not None:
        if cnp.PyArray_NDIM(states) != 2 or <size_t>cnp.PyArray_DIM(states, 0) != k \
                or <size_t>cnp.PyArray_DIM(states, 1) != carried:
            raise ValueError(f"warm_start: the saved states have shape "
                             f"{np.shape(states)}, but {k} problems of method={method!r} "
                             f"at n = {n} carry ({k}, {carried})")
        kept = np.array(states, dtype=np.float64, order="C")   # written by the runs
        o.warm_start = 1
    elif keep_state:
        kept = np.empty((k, carried))
    if kept is not None:
        m.states = <double*>cnp.PyArray_DATA(kept)
    poll.progress = progress
    poll.next_progress = now_seconds() + PROGRESS_SECONDS
    m.poll = many_poll
    m.poll_ctx = <void*>poll
    m.poll_interval = POLL_SECONDS

    cdef cnp.ndarray grad = np.empty((k, n))
    cdef cnp.ndarray res_buf = raw_buffer(k, sizeof(fg_minimize_result))
    cdef fg_minimize_result *res = <fg_minimize_result*>cnp.PyArray_DATA(res_buf)
    cdef double *xp = <double*>cnp.PyArray_DATA(x)
    cdef double *gp = <double*>cnp.PyArray_DATA(grad)
    cdef double *wp = <double*>cnp.PyArray_DATA(work)
    with nogil:
        st = fg_minimize_many_run_f64(workers, nworkers, xp, k, n, &o, &m, wp, wlen, gp, res)
    if st != FG_OK:
        what = ("warm_start: a saved state does not belong to this method, size and options"
                if states is not None and st == FG_ERR_ARG else
                f"{fg_status_message(st).decode()} (check the options)")
        raise ValueError(f"minimize_many: {what}")
    if poll.error is not None:
        raise poll.error
    if progress:
        print_progress(k, k, True)

    cdef cnp.ndarray f = np.empty(k), gnorm = np.empty(k)
    cdef cnp.ndarray nit = np.empty(k, dtype=np.int64), nfev = np.empty(k, dtype=np.int64)
    cdef cnp.ndarray njev = np.empty(k, dtype=np.int64), nhev = np.empty(k, dtype=np.int64)
    cdef cnp.ndarray stop = np.empty(k, dtype=np.int64)
    cdef double[::1] fv = f, gv = gnorm
    cdef int64_t[::1] itv = nit, fev = nfev, jev = njev, hev = nhev, sv = stop
    for i in range(k):
        fv[i] = res[i].f
        gv[i] = res[i].grad_norm
        itv[i] = res[i].nit
        fev[i] = res[i].nfev
        jev[i] = res[i].njev
        hev[i] = res[i].nhev
        sv[i] = <int64_t>res[i].stop
    return dict(f=f, grad_norm=gnorm, nit=nit, nfev=nfev, njev=njev, nhev=nhev, stop=stop,
                grad=grad, state=kept if keep_state else None)
