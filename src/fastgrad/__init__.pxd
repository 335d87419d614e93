# Package-level cimports for other Cython code: `from fastgrad cimport
# adam_step_f64, fd_gradient_f64, dual_gradient_f64` (or `from fastgrad cimport
# _optim` and call `_optim.adam_step_f64`). These re-export the nogil cdef
# functions of the public .pxd files below; Cython fetches each pointer from its
# own module at import (no header, no link step, no NumPy). The minimize
# driver is not re-exported here because its structs come from fg_minimize.h:
# `from fastgrad._minimize cimport ...` with include_dirs=[fastgrad.get_include()].
from fastgrad._optim cimport (sgd_step_f64, sgd_step_f32, adam_step_f64, adam_step_f32,
                              rmsprop_step_f64, rmsprop_step_f32, adagrad_step_f64,
                              adagrad_step_f32)
from fastgrad._dual cimport (dual_unary_f64, dual_unary_f32, dual_binary_f64, dual_binary_f32,
                             hdual_unary_f64, hdual_unary_f32, hdual_binary_f64,
                             hdual_binary_f32)
from fastgrad._fd cimport (fd_scalar_fn, fd_value_grad_fn, fd_gradient_workspace_size,
                           fd_gradient_f64, fd_directional_f64, fd_hessian_workspace_size,
                           fd_hessian_f64)
from fastgrad._dual_grad cimport (dual_scalar_fn, dual_objective, dual_default_chunk,
                                  dual_gradient_workspace_size, dual_gradient_f64,
                                  dual_value_grad)
