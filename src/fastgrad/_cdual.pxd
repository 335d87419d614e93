# Raw declarations of csrc/fg_dual.h for fastgrad's own Cython modules.
# Embedders cimport fastgrad._dual instead (no header, no link step).
# Each C kernel has the signature of its cdef export in _dual.pxd (the
# function types there give the fg_status code as an int).
from fastgrad._dual cimport (dual_unary_f64_fn, dual_unary_f32_fn, dual_binary_f64_fn,
                             dual_binary_f32_fn)

cdef extern from "fg_dual.h" nogil:
    dual_unary_f64_fn fg_dual_unary_f64, fg_hdual_unary_f64
    dual_unary_f32_fn fg_dual_unary_f32, fg_hdual_unary_f32
    dual_binary_f64_fn fg_dual_binary_f64, fg_hdual_binary_f64
    dual_binary_f32_fn fg_dual_binary_f32, fg_hdual_binary_f32
