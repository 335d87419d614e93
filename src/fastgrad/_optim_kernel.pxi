# _optim_kernel.pxi: part of fastgrad._optim (included after the value
# checks it uses). The raw step kernels of fastgrad.kernels: a Kernel binds
# a call's arguments in C and steps with one optimizer's descriptor.

cdef enum:
    # A kernel call's values by role: 0 param, 1 grad, 2 step, 3 lr, 4 out,
    # then the state buffers, the hyperparameters and the scalar state.
    FIRST_STATE = 5
    MAX_ROLES = 5 + FG_OPTIM_MAX_STATE + FG_OPTIM_MAX_HYPER + FG_OPTIM_MAX_SCALAR

#: The default of a kernel argument that has none.
REQUIRED = object()


def _kernel_named(str name):
    import fastgrad.kernels
    return getattr(fastgrad.kernels, name).__self__


cdef class Kernel:
    """One optimizer's step on raw arrays (the engine of fastgrad.kernels).

    Built once per optimizer from the argument list of its kernel function
    (each argument's name, role, default and whether it may be positional)
    and the constants for hyperparameters no argument sets. ``call`` binds
    the arguments in C (no Python frame in between), validates everything
    before C touches memory, then makes one step, in place or into ``out``.
    """
    cdef const fg_optimizer *opt
    cdef str name
    cdef tuple state_names, hyper_names, scalar_names
    cdef tuple arg_names, arg_defaults, constants
    cdef Py_ssize_t n_args, n_positional
    cdef int arg_role[MAX_ROLES]
    cdef object owner

    def __reduce__(self):
        # A kernel function pickles as getattr(its kernel, its name): the
        # kernel by name, found again in fastgrad.kernels.
        return (_kernel_named, (self.name,))

    def __getattr__(self, str name):
        if name == self.name:
            import fastgrad.kernels
            return getattr(fastgrad.kernels, name)
        raise AttributeError(name)

    def __cinit__(self, int kind, str name, tuple arguments, tuple constants,
                  tuple state_names, tuple hyper_names, tuple scalar_names):
        """arguments: (name, role, positional, default or REQUIRED) in the
        function's order; constants: one value per role (REQUIRED where an
        argument supplies it)."""
        cdef Py_ssize_t k
        self.opt = descriptor(kind)
        cdef int n_roles = FIRST_STATE + self.opt.n_state + self.opt.n_hyper + self.opt.n_scalar
        if (len(state_names) != self.opt.n_state or len(hyper_names) != self.opt.n_hyper
                or len(scalar_names) != self.opt.n_scalar or len(constants) != n_roles
                or len(arguments) > n_roles):
            raise ValueError("Kernel: the names do not match the descriptor")
        self.name = name
        self.state_names, self.hyper_names, self.scalar_names = (state_names, hyper_names,
                                                                 scalar_names)
        self.constants = constants
        self.n_args = len(arguments)
        self.arg_names = tuple(a[0] for a in arguments)
        self.arg_defaults = tuple(a[3] for a in arguments)
        self.n_positional = sum(1 for a in arguments if a[2])
        for k in range(self.n_args):
            self.arg_role[k] = arguments[k][1]

    cdef object call(self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames):
        """Bind a vectorcall's arguments (args[0:nargs] positional, then one
        value per name in kwnames) as a Python function with this argument
        list would, then step."""
        cdef PyObject *by_arg[MAX_ROLES]
        cdef PyObject *v[MAX_ROLES]
        cdef Py_ssize_t k, j, nkw = 0 if kwnames == NULL else PyTuple_GET_SIZE(<object>kwnames)
        cdef int n_roles = FIRST_STATE + self.opt.n_state + self.opt.n_hyper + self.opt.n_scalar
        if nargs > self.n_positional:
            raise TypeError(f"{self.name}() takes {self.n_positional} positional arguments "
                            f"but {nargs} were given")
        for k in range(self.n_args):
            by_arg[k] = args[k] if k < nargs else NULL
        for j in range(nkw):
            key = <object>PyTuple_GET_ITEM(<object>kwnames, j)
            for k in range(self.n_args):
                if self.arg_names[k] == key:
                    break
            else:
                raise TypeError(f"{self.name}() got an unexpected keyword argument {key!r}")
            if by_arg[k] != NULL:
                raise TypeError(f"{self.name}() got multiple values for argument {key!r}")
            by_arg[k] = args[nargs + j]
        for k in range(n_roles):
            v[k] = PyTuple_GET_ITEM(self.constants, k)
        for k in range(self.n_args):
            if by_arg[k] == NULL:
                by_arg[k] = PyTuple_GET_ITEM(self.arg_defaults, k)
                if <object>by_arg[k] is REQUIRED:
                    raise TypeError(f"{self.name}() missing required argument "
                                    f"{self.arg_names[k]!r}")
            v[self.arg_role[k]] = by_arg[k]
        return self.step(v)

    cdef int refuse_overlap(self, const arrays_of_call *c, int first, int second) except -1:
        names = ("param", "grad") + self.state_names + ("out",)
        a, b = names[c.who[first]], names[c.who[second]]
        raise ValueError(f"{b} overlaps {a} in memory; this call writes "
                         f"{b if c.writes[second] else a}, so they must be different arrays")

    cdef object step(self, PyObject **v):
        """The step with the call's values by role (borrowed references,
        kept alive by the caller's arguments); returns the new scalar state
        (None, a float, or a tuple for several values)."""
        cdef const fg_optimizer *opt = self.opt
        cdef double h[FG_OPTIM_MAX_HYPER]
        cdef double sc[FG_OPTIM_MAX_SCALAR]
        cdef void *ptrs[FG_OPTIM_MAX_STATE]
        cdef fg_optim_coeffs coeffs
        cdef Py_ssize_t i
        cdef cnp.ndarray a
        cdef int ns = opt.n_state
        cdef Py_ssize_t first_hyper = FIRST_STATE + ns, first_scalar = first_hyper + opt.n_hyper
        for i in range(opt.n_hyper):
            h[i] = hyper_value(&opt.hyper[i], self.hyper_names[i], <object>v[first_hyper + i])
        cdef int64_t t = step_value(<object>v[2])
        cdef double rate = lr_value(<object>v[3])
        for i in range(opt.n_scalar):
            sc[i] = scalar_value(<object>v[first_scalar + i], self.scalar_names[i])
        refuse_rule(opt, h, self.hyper_names)
        out = <object>v[4]
        cdef cnp.ndarray p = float_array(<object>v[0], "param", out is None)
        cdef cnp.ndarray g = matching_array(<object>v[1], "grad", p, "param", False)
        cdef arrays_of_call call
        call.count = 0
        add_array(&call, p, out is None, 0)
        add_array(&call, g, False, 1)
        for i in range(ns):
            s = <object>v[FIRST_STATE + i]
            if s is None:
                if fg_optimizer_state_used(opt, h, i):
                    raise TypeError(f"{self.state_names[i]} is required with these options "
                                    "but is None")
                ptrs[i] = NULL
            else:
                a = matching_array(s, self.state_names[i], p, "param", True)
                ptrs[i] = cnp.PyArray_DATA(a)
                add_array(&call, a, True, 2 + i)
        cdef void *op = NULL
        if out is not None:
            a = matching_array(out, "out", p, "param", True)
            op = cnp.PyArray_DATA(a)
            add_array(&call, a, True, 2 + ns)
        cdef int first, second
        if first_overlap(&call, &first, &second):
            self.refuse_overlap(&call, first, second)
        cdef fg_status st = opt.prepare(&coeffs, h, rate, t, sc)
        if st != FG_OK:
            raise_status(st, self.name)
        cdef size_t n = cnp.PyArray_SIZE(p)
        cdef bint f32 = cnp.PyArray_TYPE(p) == cnp.NPY_FLOAT
        cdef void *pp = cnp.PyArray_DATA(p)
        cdef void *gp = cnp.PyArray_DATA(g)
        # In place: run_step(src = NULL, p); out of place: run_step(src = p, out).
        cdef const void *src = NULL if op == NULL else pp
        cdef void *dst = pp if op == NULL else op
        if n >= FG_GIL_THRESHOLD:
            with nogil:
                st = run_step(opt, f32, src, dst, gp, ptrs, n, &coeffs)
        else:
            st = run_step(opt, f32, src, dst, gp, ptrs, n, &coeffs)
        # A non-finite result is not an error here: out of place it is
        # reported (FG_ERR_NONFINITE), in place it is not looked for.
        if st != FG_OK and st != FG_ERR_NONFINITE:
            raise_status(st, self.name)
        if opt.n_scalar == 0:
            return None
        if opt.n_scalar == 1:
            return sc[0]
        return tuple(sc[i] for i in range(opt.n_scalar))


cdef object kernel_vectorcall(object kernel, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames):
    return (<Kernel>kernel).call(args, nargs, kwnames)


cdef class KernelFunction:
    """Owns the method table entry of a kernel function (see kernel_function)."""
    cdef PyMethodDef method
    cdef bytes name, doc
    cdef Kernel kernel


def kernel_function(Kernel kernel, str name, str text_signature, str doc, str module):
    """``kernel`` as a built-in function called like one written in C: the
    interpreter hands it the arguments as an array (vectorcall), so a call
    builds no tuple or dict and runs no Python frame. ``text_signature``
    (``(param, grad, ...)``, defaults as literals) is what
    ``inspect.signature`` reports."""
    cdef KernelFunction owner = KernelFunction()
    owner.kernel = kernel
    owner.name = name.encode()
    owner.doc = f"{name}($self, {text_signature[1:]}\n--\n\n{doc}".encode()
    owner.method.ml_name = owner.name
    owner.method.ml_meth = <PyCFunction><void*>kernel_vectorcall
    owner.method.ml_flags = METH_FASTCALL | METH_KEYWORDS
    owner.method.ml_doc = owner.doc
    kernel.owner = owner       # the method table entry lives as long as the kernel
    return PyCFunction_NewEx(&owner.method, kernel, module)
