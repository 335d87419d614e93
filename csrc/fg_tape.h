/* fg_tape.h: the expression-tape VM behind fastgrad.compile.
 *
 * A tape is a validated linear program of array operations over "slots".
 * Every slot is a contiguous row-major buffer of a fixed element count:
 * slot 0 is the input x, data slots are the caller's data arrays (bound at
 * each call, like x), constant slots point into the tape's own constant
 * pool, every other slot is written by exactly one instruction (static
 * single assignment) before anything reads it. An operand names a
 * slot plus an element offset, so contiguous slices (x[1:], x[:-1]) and
 * reshapes cost nothing. The last instruction writes the scalar output.
 *
 * fg_tape_create validates the whole program once (every field of every
 * slot and instruction, see fg_tape_check) and copies it, so the
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
#include "fg_blas.h"
#include "fg_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction codes beyond the elementwise table, one row each: X(NAME, code).
 * The enum (FG_TI_<NAME>), fg_tape_code_table and Python's view of it
 * (fastgrad._tape.CODES) are generated from these rows. Codes are explicit
 * and only ever appended: pickled tapes store them.
 *
 *   UNARY   out[i] = op(a[i])                                  n = out size
 *   BINARY  out[i] = op(a[i*sa], b[i*sb])                      sa, sb in {0, 1}
 *   WHERE   out[i] = c[i*sc] != 0 ? a[i*sa] : b[i*sb]
 *   GATHER  out[i] = a[index[p0 + i]]   (slicing, broadcasting, transposes;
 *           p0 is an offset into the index pool)
 *   MATMUL  p3 matrix products (M x L)(L x P), (M, L, P) = (p0, p1, p2):
 *           out[(q*M + i)*P + j] = sum_l a[q*sa*M*L + i*L + l] * b[q*sb*L*P + l*P + j]
 *           for q < p3; the stride sa (sb) is 1, or 0 when one matrix of a
 *           (b) serves every product (p3 > 1 only). Through the tape's BLAS
 *           (fg_tape_spec.blas) when it has one.
 * The reductions along one axis view operand a as (pre, len, post) =
 * (p0, p1, p2), element (u, j, w) at a[(u*len + j)*post + w]:
 *   SUM     out[u*post + w] = scale * sum_j a(u, j, w)
 *   MAX     out[u*post + w] = a(u, j*, w), j* the first maximal j or the
 *           first NaN (numpy.argmax's choice); len >= 1. Every derivative
 *           goes to element j* alone.
 *   MIN     the same with the first minimal j (numpy.argmin)
 *   PROD    out[u*post + w] = prod_j a(u, j, w); the partials are the
 *           products of the other factors, formed without division (exact
 *           at zeros)
 *   CUMSUM  out[(u*len + j)*post + w] = sum_{i <= j} a(u, i, w)
 * Integer data (operand b of TAKE, operand a of CAST: a DATA_INT slot,
 * int64 elements):
 *   TAKE    out[i] = a[index[p0 + i] + p1 * j_i], j_i = b[index[p0 + n + i]]
 *           (2n indices from p0 in the index pool: a base offset and the
 *           position of the integer that selects, per output element),
 *           p1 >= 0 the stride of the selected axis, p2 >= 1 its length;
 *           j_i in [-p2, p2), a negative one counting from the end as in
 *           NumPy (class labels indexing logits: Z[arange(m), labels]).
 *           Linear in a, like GATHER.
 *   CAST    out[i] = (double)a[i]: integer data as float64 (no derivative)
 */
#define FG_TAPE_CODES(X)                                                       \
    X(UNARY, 1) X(BINARY, 2) X(WHERE, 3) X(GATHER, 4) X(SUM, 5) X(MATMUL, 6)   \
    X(MAX, 7) X(MIN, 8) X(PROD, 9) X(CUMSUM, 10) X(TAKE, 11) X(CAST, 12)

typedef enum fg_tape_code {
#define FG_TAPE_ENUM_ROW_(name, value) FG_TI_##name = value,
    FG_TAPE_CODES(FG_TAPE_ENUM_ROW_)
#undef FG_TAPE_ENUM_ROW_
} fg_tape_code;

/* Slot kinds, one row each: X(NAME, value) gives FG_SLOT_<NAME>.
 *   INPUT     slot 0 only: x
 *   CONST     read-only data in the constant pool
 *   COMPUTED  written by exactly one instruction
 *   DATA      a float64 data array, read in place at each call: the j-th
 *             data slot (in slot order, DATA and DATA_INT alike) reads
 *             data[j] of the entry points below
 *   DATA_INT  an int64 data array, likewise; only TAKE (operand b) and CAST
 *             (operand a) read it, and only they may
 * Data carry no derivative (they are not x); their sizes are fixed per
 * tape (a new batch size is a new tape). */
#define FG_TAPE_SLOT_KINDS(X)                                                  \
    X(INPUT, 0) X(CONST, 1) X(COMPUTED, 2) X(DATA, 3) X(DATA_INT, 4)

typedef enum fg_tape_slot_kind {
#define FG_TAPE_ENUM_ROW_(name, value) FG_SLOT_##name = value,
    FG_TAPE_SLOT_KINDS(FG_TAPE_ENUM_ROW_)
#undef FG_TAPE_ENUM_ROW_
} fg_tape_slot_kind;

/* A row of a name table (codes, slot kinds), for bindings. */
typedef struct fg_tape_name {
    const char *name;
    int32_t value;
} fg_tape_name;

/* The instruction codes by name (FG_TAPE_CODES); *count (if not NULL)
 * receives the number of rows. A static table, never NULL. */
const fg_tape_name *fg_tape_code_table(size_t *count);
/* The slot kinds by name (FG_TAPE_SLOT_KINDS), as fg_tape_code_table. */
const fg_tape_name *fg_tape_slot_kind_table(size_t *count);

/* The instruction record, one row per field: X(type, name). The struct, the
 * field table fg_tape_instr_fields and Python's structured dtype
 * (fastgrad._tape.INSTR_DTYPE) are generated from these rows.
 *   code          fg_tape_code
 *   op            fg_op_code (UNARY, BINARY), else 0
 *   out           the output slot: computed, written by this instruction only
 *   a, b, c       operand slots, -1 when the code has no such operand
 *   a_off, ...    element offsets into the operand slots (0 when unused)
 *   sa, sb, sc    element strides, 0 (broadcast one element) or 1 (BINARY,
 *                 WHERE; MATMUL's batch strides; 1 for an operand that other
 *                 codes read, else 0)
 *   n             output element count, equal to the out slot's size
 *   p0 .. p3      code-specific parameters (see FG_TAPE_CODES), else 0
 *   scale         SUM's factor (1 for sum, 1/len for mean), else 1 */
#define FG_TAPE_INSTR_FIELDS(X)                                                \
    X(int32_t, code) X(int32_t, op) X(int32_t, out)                            \
    X(int32_t, a) X(int32_t, b) X(int32_t, c)                                  \
    X(int64_t, a_off) X(int64_t, b_off) X(int64_t, c_off)                      \
    X(int32_t, sa) X(int32_t, sb) X(int32_t, sc)                               \
    X(int64_t, n) X(int64_t, p0) X(int64_t, p1) X(int64_t, p2) X(int64_t, p3)  \
    X(double, scale)

typedef struct fg_tape_instr {
#define FG_TAPE_FIELD_ROW_(type, name) type name;
    FG_TAPE_INSTR_FIELDS(FG_TAPE_FIELD_ROW_)
#undef FG_TAPE_FIELD_ROW_
} fg_tape_instr;

/* One field of fg_tape_instr: its name, byte offset, size in bytes and
 * kind ('i' signed integer, 'f' floating point). */
typedef struct fg_tape_field {
    const char *name;
    size_t offset, size;
    char kind;
} fg_tape_field;

/* The fields of fg_tape_instr in declaration order; *count receives their
 * number and *record_size sizeof(fg_tape_instr) (either may be NULL). */
const fg_tape_field *fg_tape_instr_fields(size_t *count, size_t *record_size);

/* Everything fg_tape_create needs. All arrays are read, then copied; an
 * array may be NULL when its count is 0 (slot_const_off: when no slot is
 * constant, all offsets are then 0). blas (copied too) is the BLAS the
 * MATMUL instructions call; NULL: the plain loops (see fg_blas.h). */
typedef struct fg_tape_spec {
    size_t n_slots;
    const int64_t *slot_size;      /* [n_slots] element counts; slot_size[0] = n (input) */
    const int32_t *slot_kind;      /* [n_slots] fg_tape_slot_kind */
    const int64_t *slot_const_off; /* [n_slots] offset into const_pool (CONST slots), else 0 */
    const double *const_pool;
    size_t n_const;
    const int64_t *index_pool;     /* gather indices */
    size_t n_index;
    const fg_tape_instr *instr;
    size_t n_instr;
    const fg_blas *blas;
} fg_tape_spec;

/* Where a spec is invalid: the instruction and slot concerned (-1: none)
 * and a static description. */
typedef struct fg_tape_problem {
    int64_t instr;
    int64_t slot;
    const char *what;
} fg_tape_problem;

typedef struct fg_tape fg_tape;
typedef struct fg_tape_ws fg_tape_ws;

/* Validate spec, field by field, without building anything: the checks of
 * fg_tape_create, with the first problem found described in *where (may be
 * NULL). Slot 0 is the one INPUT slot (n >= 1 elements); every other slot
 * is CONST (inside the constant pool), COMPUTED, or DATA / DATA_INT (at
 * least one element; integer data read by TAKE and CAST only, each take
 * index and its selected axis inside the operands); every instruction has a
 * known code, an op of its kind, its parameters and n consistent, each
 * operand it reads an existing slot written before, with [off, off +
 * extent) inside it (overflow-safe), every field it does not read at its
 * unused value (see fg_tape_instr), gather indices inside their operand;
 * each computed slot is written once; the last instruction writes one
 * element; and a workspace fits in the address space.
 * Returns FG_OK, FG_ERR_ARG (malformed program), FG_ERR_SHAPE (sizes that
 * disagree or cannot exist), FG_ERR_UNSUPPORTED (unknown code or op),
 * FG_ERR_NOMEM. */
fg_status fg_tape_check(const fg_tape_spec *spec, fg_tape_problem *where);

/* Validate spec (fg_tape_check) and build an immutable tape in *out (free
 * with fg_tape_free). Returns as fg_tape_check. */
fg_status fg_tape_create(const fg_tape_spec *spec, fg_tape **out);
/* Free a tape from fg_tape_create (NULL is allowed). */
void fg_tape_free(fg_tape *tape);

/* Length n of the input x. */
size_t fg_tape_input_size(const fg_tape *tape);
/* The number of data slots (the length of the entry points' data array). */
size_t fg_tape_data_count(const fg_tape *tape);
/* The j-th data slot's kind (FG_SLOT_DATA or FG_SLOT_DATA_INT) in *kind
 * and element count in *size (either may be NULL). FG_OK or FG_ERR_ARG
 * (j out of range). */
fg_status fg_tape_data_info(const fg_tape *tape, size_t j, int32_t *kind, size_t *size);
/* Sum of all slot sizes: the number of values one pass computes. */
size_t fg_tape_total_size(const fg_tape *tape);

/* A workspace for one thread: values, k tangent directions and hyper-dual
 * parts of every computed slot, allocated once here (k >= 1; k > n is
 * clamped to n). Returns FG_OK, FG_ERR_ARG, FG_ERR_NOMEM (also when its
 * size overflows). */
fg_status fg_tape_ws_create(const fg_tape *tape, size_t k, fg_tape_ws **out);
/* Free a workspace from fg_tape_ws_create (NULL is allowed). */
void fg_tape_ws_free(fg_tape_ws *ws);

/* Evaluation entry points. Preconditions for all of them: ws was created
 * for this tape and serves one call at a time; x (and v) hold n doubles;
 * data holds fg_tape_data_count pointers (NULL when the tape has no data
 * slots), data[j] pointing to the j-th data slot's elements (double, or
 * int64_t for DATA_INT), read during the call only; the outputs (grad,
 * hess) do not overlap the inputs. Every entry point returns FG_ERR_ARG,
 * before any pass, for a missing data pointer or an integer datum outside
 * the range its TAKE instructions allow. Non-finite values
 * propagate as IEEE arithmetic makes them (nothing is turned finite), and
 * derivatives follow the dual numbers' NaN-safe rule: a zero tangent or
 * adjoint times an infinite or NaN partial contributes exactly 0.
 *
 * *value = f(x). Returns FG_OK or FG_ERR_ARG (NULL pointer, foreign ws). */
fg_status fg_tape_eval_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                           const void *const *data, double *value);

/* *value = f(x) and grad[0..n) = grad f(x) by dual numbers: ceil(n/k) passes,
 * each carrying the unit directions e_j for k consecutive j.
 * value may be NULL. Returns FG_OK or FG_ERR_ARG. */
fg_status fg_tape_value_grad_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                                 const void *const *data, double *value, double *grad);

/* The part grad[j0..j1) of fg_tape_value_grad_f64 (0 <= j0 <= j1 <= n), for
 * callers that split the O(n) passes (to check for interrupts in between):
 * passes of k directions starting at j0, so any split whose parts start at
 * multiples of k gives the same numbers. value (may be NULL) is f(x).
 * Returns FG_OK or FG_ERR_ARG. */
fg_status fg_tape_value_grad_part_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                                      const void *const *data, size_t j0, size_t j1,
                                      double *value, double *grad);

/* The same gradient by reverse mode: one value pass, then one adjoint sweep
 * backwards over the tape (adj_operand += adj_out * partial, partials from
 * the deriv / d_a / d_b columns of fg_ops.def). Cost independent of n
 * (a few value passes), where dual mode costs ceil(n/k) passes; results
 * agree with dual mode to rounding. value may be NULL.
 * Returns FG_OK or FG_ERR_ARG. */
fg_status fg_tape_value_grad_reverse_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                                         const void *const *data, double *value, double *grad);

/* *value = f(x) and *jv = grad f(x) . v (one dual pass, one direction).
 * value may be NULL. Returns FG_OK or FG_ERR_ARG. */
fg_status fg_tape_jvp_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                          const void *const *data, const double *v, double *value, double *jv);

/* hess[0..n*n) = the Hessian of f at x, row-major, exact to rounding, by
 * hyper-dual numbers: for each column j, eps2 carries e_j and eps1 carries
 * k unit directions e_i per pass; only rows i <= j are computed (about
 * n^2 / (2k) passes) and mirrored. Optionally *value = f(x) and
 * grad[0..n) = grad f(x) (from the eps1 parts; each may be NULL).
 * Returns FG_OK, FG_ERR_ARG (also when n * n overflows). */
fg_status fg_tape_hessian_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                              const void *const *data, double *hess, double *value,
                              double *grad);

/* The same Hessian by forward-over-reverse: for k columns j per pass, one
 * dual pass carrying e_j, then the adjoint sweep differentiated along them
 * (adjoint tangents from the deriv2 / d_aa / d_ab / d_bb columns): the
 * columns of d(grad f)/dx. About n/k passes of (1 + k) times a reverse
 * gradient's work, where the hyper-dual mode needs about n^2/(2k) passes.
 * Exact to rounding; the result is the mean of the computed matrix and its
 * transpose (exactly symmetric). value and grad as in fg_tape_hessian_f64.
 * The workspace's first call to this or fg_tape_hvp_f64 allocates its
 * buffers for this mode (about k + 1 doubles per element).
 * Returns FG_OK, FG_ERR_ARG or FG_ERR_NOMEM. */
fg_status fg_tape_hessian_reverse_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                                      const void *const *data, double *hess, double *value,
                                      double *grad);

/* Columns [j0, j1) of fg_tape_hessian_f64 (reverse = 0) or
 * fg_tape_hessian_reverse_f64 (reverse = 1), for callers that split the
 * work (to check for interrupts in between). Call it with consecutive
 * ranges covering [0, n) in order: the call whose range ends at n finishes
 * the matrix (the reverse mode's mean with the transpose) and writes value
 * and grad (each may be NULL). Parts that start at multiples of k give the
 * numbers of one whole call. Returns as the whole calls. */
fg_status fg_tape_hessian_part_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                                   const void *const *data, size_t j0, size_t j1, int reverse,
                                   double *hess, double *value, double *grad);

/* hv[0..n) = H(x) v, the Hessian times v without forming H: one dual pass
 * carrying v, then the differentiated adjoint sweep (no n^2 work).
 * Optionally *value = f(x) and grad[0..n) = grad f(x) from the same passes
 * (each may be NULL). hv must not overlap x or v.
 * Returns FG_OK, FG_ERR_ARG or FG_ERR_NOMEM (see above). */
fg_status fg_tape_hvp_f64(const fg_tape *tape, fg_tape_ws *ws, const double *x,
                          const void *const *data, const double *v, double *hv, double *value,
                          double *grad);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_TAPE_H */
