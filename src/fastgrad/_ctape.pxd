# Raw declarations of csrc/fg_tape.h and csrc/fg_objective.h, for fastgrad's
# own Cython modules. Embedders cimport fastgrad._tape instead, which needs
# no header and no link step.
from libc.stdint cimport int32_t, int64_t

from fastgrad._cstatus cimport fg_status
from fastgrad._cblas cimport fg_blas
from fastgrad._cobjective cimport *

cdef extern from "fg_tape.h" nogil:
    ctypedef struct fg_tape_name:
        const char *name
        int32_t value
    const fg_tape_name *fg_tape_code_table(size_t *count)
    const fg_tape_name *fg_tape_slot_kind_table(size_t *count)
    ctypedef struct fg_tape_instr:
        pass                       # its layout reaches Python as INSTR_DTYPE
    ctypedef struct fg_tape_field:
        const char *name
        size_t offset, size
        char kind
    const fg_tape_field *fg_tape_instr_fields(size_t *count, size_t *record_size)
    ctypedef struct fg_tape_spec:
        size_t n_slots
        const int64_t *slot_size
        const int32_t *slot_kind
        const int64_t *slot_const_off
        const double *const_pool
        size_t n_const
        const int64_t *index_pool
        size_t n_index
        const fg_tape_instr *instr
        size_t n_instr
        const fg_blas *blas
    ctypedef struct fg_tape_problem:
        int64_t instr
        int64_t slot
        const char *what
    ctypedef struct fg_tape:
        pass
    ctypedef struct fg_tape_ws:
        pass
    fg_status fg_tape_check(const fg_tape_spec *spec, fg_tape_problem *where)
    fg_status fg_tape_create(const fg_tape_spec *spec, fg_tape **out)
    void fg_tape_free(fg_tape *tape)
    size_t fg_tape_input_size(const fg_tape *tape)
    size_t fg_tape_data_count(const fg_tape *tape)
    fg_status fg_tape_data_info(const fg_tape *tape, size_t j, int32_t *kind, size_t *size)
    size_t fg_tape_total_size(const fg_tape *tape)
    fg_status fg_tape_ws_create(const fg_tape *tape, size_t k, fg_tape_ws **out)
    void fg_tape_ws_free(fg_tape_ws *ws)
    fg_status fg_tape_eval_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x, const void *const *data,
                               double *value)
    fg_status fg_tape_value_grad_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x, const void *const *data,
                                     double *value, double *grad)
    fg_status fg_tape_value_grad_part_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x, const void *const *data,
                                          size_t j0, size_t j1, double *value, double *grad)
    fg_status fg_tape_value_grad_reverse_f64(const fg_tape *tape, fg_tape_ws *ws,
                                             const double *x, const void *const *data, double *value, double *grad)
    fg_status fg_tape_jvp_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x, const void *const *data,
                              const double *v, double *value, double *jv)
    fg_status fg_tape_hessian_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x, const void *const *data,
                                  double *hess, double *value, double *grad)
    fg_status fg_tape_hessian_part_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x, const void *const *data,
                                       size_t j0, size_t j1, int reverse, double *hess,
                                       double *value, double *grad)
    fg_status fg_tape_hvp_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x, const void *const *data,
                              const double *v, double *hv, double *value, double *grad)
    fg_status fg_tape_hessian_reverse_f64(const fg_tape *tape, fg_tape_ws *ws,
                                          const double *x, const void *const *data, double *hess, double *value,
                                          double *grad)

