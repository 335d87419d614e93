/* fg_tape.h: the expression-tape VM behind fastgrad.compile.
 *
 * A tape is a validated linear program of array operations over "slots".
 * Every slot is a contiguous row-major float64 buffer of a fixed element
 * count: slot 0 is the input x, constant slots point into the tape's own
 * constant pool, every other slot is written by exactly one instruction
 * (static single assignment) before anything reads it. An operand names a
 * slot plus an element offset, so contiguous slices (x[1:], x[:-1]) and
 * reshapes cost nothing. The last instruction writes the scalar output.
 *
 * fg_tape_create validates the whole program once (slot bounds, extents,
 * shapes, gather indices, write-before-read) and copies it, so the
 * evaluation loops check nothing. A tape is immutable after creation and
 * may be shared by any number of threads; each thread evaluates it with its
 * own workspace (fg_tape_ws), which holds every slot's values and tangents.
 * No global mutable state.
 *
 * Modes (one pass = one sweep over the instructions; the reverse modes add
 * a backward sweep):
 *   value      y = f(x)
 *   dual       x + sum_q t_q e_q: k tangent directions per pass, rules from
 *              the deriv / d_a / d_b columns of fg_ops.def
 *   hyper-dual x = a + b eps1 (k comps) + c eps2 + d eps1 eps2, eps^2 = 0:
 *              f(x) = f(a) + f'(a) b eps1 + f'(a) c eps2
 *                     + (f'(a) d + f''(a) b c) eps1 eps2,
 *              second partials from deriv2 / d_aa / d_ab / d_bb.
 * A constant operand's partials are never evaluated. Comparison results
 * carry no tangent (a step function's derivative is 0 almost everywhere).
 */
#ifndef FASTGRAD_TAPE_H
#define FASTGRAD_TAPE_H

#include <stddef.h>
#include <stdint.h>
#include "fg_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction codes beyond the elementwise table. */
typedef enum fg_tape_code {
    FG_TI_UNARY = 1,   /* out[i] = op(a[i])                       n = out size   */
    FG_TI_BINARY = 2,  /* out[i] = op(a[i*sa], b[i*sb])  sa, sb in {0, 1}      */
    FG_TI_WHERE = 3,   /* out[i] = c[i*sc] != 0 ? a[i*sa] : b[i*sb]            */
    FG_TI_GATHER = 4,  /* out[i] = a[index[p0 + i]]  (slicing, broadcasting,
                          transposes; p0 is an offset into the index pool)     */
    FG_TI_SUM = 5,     /* out[u*post + w] = scale * sum_j a[(u*len + j)*post + w]
                          with (pre, len, post) = (p0, p1, p2)                  */
    FG_TI_MATMUL = 6   /* out[i*P + j] = sum_l a[i*L + l] * b[l*P + j]
                          with (M, L, P) = (p0, p1, p2)                         */
} fg_tape_code;

typedef enum fg_tape_slot_kind {
    FG_SLOT_INPUT = 0,     /* slot 0 only: x */
    FG_SLOT_CONST = 1,     /* read-only data in the constant pool */
    FG_SLOT_COMPUTED = 2   /* written by one instruction */
} fg_tape_slot_kind;

typedef struct fg_tape_instr {
    int32_t code;          /* fg_tape_code */
    int32_t op;            /* fg_op_code for UNARY / BINARY */
    int32_t out;           /* output slot (computed, written by this instruction only) */
    int32_t a, b, c;       /* operand slots, -1 when unused */
    int64_t a_off, b_off, c_off;   /* element offsets into the operand slots */
    int32_t sa, sb, sc;    /* element strides (0: broadcast a scalar, 1: full) */
    int64_t n;             /* output element count (must equal the out slot size) */
    int64_t p0, p1, p2;    /* code-specific parameters (see fg_tape_code) */
    double scale;          /* SUM's factor (1 for sum, 1/len for mean) */
} fg_tape_instr;

/* Everything fg_tape_create needs. All arrays are read, then copied. */
typedef struct fg_tape_spec {
    size_t n_slots;
    const int64_t *slot_size;      /* [n_slots] element counts; slot_size[0] = n (input) */
    const int32_t *slot_kind;      /* [n_slots] fg_tape_slot_kind */
    const int64_t *slot_const_off; /* [n_slots] offset into const_pool (CONST slots) */
    const double *const_pool;
    size_t n_const;
    const int64_t *index_pool;     /* gather indices */
    size_t n_index;
    const fg_tape_instr *instr;
    size_t n_instr;
} fg_tape_spec;

typedef struct fg_tape fg_tape;
typedef struct fg_tape_ws fg_tape_ws;

/* Validate spec and build an immutable tape in *out (free with fg_tape_free).
 * Checks: slot 0 is the only INPUT slot; every operand is an existing slot and
 * [off, off + extent) lies inside it; computed slots are written exactly once
 * and read only after; sizes agree with each code's shape parameters; gather
 * indices lie in the operand; there is at least one instruction and the last
 * one writes a single element that depends on x.
 * Returns FG_OK, FG_ERR_ARG (malformed program), FG_ERR_SHAPE (sizes that
 * disagree), FG_ERR_UNSUPPORTED (unknown code or op), FG_ERR_NOMEM. */
fg_status fg_tape_create(const fg_tape_spec *spec, fg_tape **out);
/* Free a tape from fg_tape_create (NULL is allowed). */
void fg_tape_free(fg_tape *tape);

/* Length n of the input x. */
size_t fg_tape_input_size(const fg_tape *tape);
/* Number of instructions. */
size_t fg_tape_instr_count(const fg_tape *tape);
/* Sum of all slot sizes: the number of values one pass computes. */
size_t fg_tape_total_size(const fg_tape *tape);

/* A workspace for one thread: values, k tangent directions and hyper-dual
 * parts of every computed slot, allocated once here (k >= 1; k > n is
 * clamped to n). Returns FG_OK, FG_ERR_ARG, FG_ERR_NOMEM. */
fg_status fg_tape_ws_create(const fg_tape *tape, size_t k, fg_tape_ws **out);
/* Free a workspace from fg_tape_ws_create (NULL is allowed). */
void fg_tape_ws_free(fg_tape_ws *ws);
/* The number of tangent directions per pass the workspace was sized for. */
size_t fg_tape_ws_chunk(const fg_tape_ws *ws);

/* Evaluation entry points. Preconditions for all of them: ws was created
 * for this tape and serves one call at a time; x (and v) hold n doubles;
 * the outputs (grad, hess) do not overlap the inputs. Non-finite values
 * propagate as IEEE arithmetic makes them (nothing is turned finite).
 *
 * *value = f(x). Returns FG_OK or FG_ERR_ARG (NULL pointer, foreign ws). */
fg_status fg_tape_eval_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                           double *value);

/* *value = f(x) and grad[0..n) = grad f(x) by dual numbers: ceil(n/k) passes,
 * each carrying the unit directions e_j for k consecutive j.
 * value may be NULL. Returns FG_OK or FG_ERR_ARG. */
fg_status fg_tape_value_grad_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                                 double *value, double *grad);

/* The same gradient by reverse mode: one value pass, then one adjoint sweep
 * backwards over the tape (adj_operand += adj_out * partial, partials from
 * the deriv / d_a / d_b columns of fg_ops.def). Cost independent of n
 * (a few value passes), where dual mode costs ceil(n/k) passes; results
 * agree with dual mode to rounding. value may be NULL.
 * Returns FG_OK or FG_ERR_ARG. */
fg_status fg_tape_value_grad_reverse_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                                         double *value, double *grad);

/* *value = f(x) and *jv = grad f(x) . v (one dual pass, one direction).
 * value may be NULL. Returns FG_OK or FG_ERR_ARG. */
fg_status fg_tape_jvp_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                          const double *v, double *value, double *jv);

/* hess[0..n*n) = the Hessian of f at x, row-major, exact to rounding, by
 * hyper-dual numbers: for each column j, eps2 carries e_j and eps1 carries
 * k unit directions e_i per pass; only rows i <= j are computed (about
 * n^2 / (2k) passes) and mirrored. Optionally *value = f(x) and
 * grad[0..n) = grad f(x) (from the eps1 parts; each may be NULL).
 * Returns FG_OK or FG_ERR_ARG. */
fg_status fg_tape_hessian_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                              double *hess, double *value, double *grad);

/* The same Hessian by forward-over-reverse: for k columns j per pass, one
 * dual pass carrying e_j, then the adjoint sweep differentiated along them
 * (adjoint tangents from the deriv2 / d_aa / d_ab / d_bb columns): the
 * columns of d(grad f)/dx. About n/k passes of (1 + k) times a reverse
 * gradient's work, where the hyper-dual mode needs about n^2/(2k) passes:
 * 60x faster at n = 100. Exact to rounding; the result is the mean of the
 * computed matrix and its transpose (exactly symmetric). value and grad as
 * in fg_tape_hessian_f64. The workspace's first call to this or
 * fg_tape_hvp_f64 allocates its buffers for this mode (about k + 1 doubles
 * per element). Returns FG_OK, FG_ERR_ARG or FG_ERR_NOMEM. */
fg_status fg_tape_hessian_reverse_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                                      double *hess, double *value, double *grad);

/* hv[0..n) = H(x) v, the Hessian times v without forming H: one dual pass
 * carrying v, then the differentiated adjoint sweep (no n^2 work). Optionally *value = f(x) and grad[0..n) = grad f(x)
 * from the same passes (each may be NULL). hv must not overlap x or v.
 * Returns FG_OK, FG_ERR_ARG or FG_ERR_NOMEM (see above). */
fg_status fg_tape_hvp_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x, const double *v,
                          double *hv, double *value, double *grad);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_TAPE_H */
