/* The tape VM from C: a program using every instruction code at the edge
 * sizes, every entry point (the modes agree with each other, parts equal
 * whole calls), and every field of every instruction corrupted in turn
 * (through the field table): refused by validation, or a valid program that
 * every mode then evaluates. Under ASan/UBSan, any out-of-bounds access
 * aborts. */
#include "check.h"
#include "fastgrad.h"

enum { MAXS = 24, MAXI = 20 };

typedef struct program {
    int64_t size[MAXS];
    int32_t kind[MAXS];
    int64_t coff[MAXS];
    double pool[2048];
    int64_t index[1024];
    fg_tape_instr ins[MAXI];
    size_t ns, ni, nc, nx;
} program;

static int slot(program *p, int64_t size, int32_t kind)
{
    p->size[p->ns] = size;
    p->kind[p->ns] = kind;
    p->coff[p->ns] = 0;
    return (int)p->ns++;
}

/* An instruction with every unused field at its unused value. */
static fg_tape_instr *emit(program *p, int code, int64_t n, int a)
{
    fg_tape_instr *I = &p->ins[p->ni++];
    memset(I, 0, sizeof *I);
    I->code = code;
    I->out = slot(p, n, FG_SLOT_COMPUTED);
    I->n = n;
    I->a = a;
    I->sa = a >= 0;
    I->b = I->c = -1;
    I->scale = 1.0;
    return I;
}

static fg_tape_instr *emit2(program *p, int code, int64_t n, int a, int b)
{
    fg_tape_instr *I = emit(p, code, n, a);
    I->b = b;
    I->sb = 1;
    return I;
}

/* f(x) = max(where(rev(x) > x, cumsum(sin x) * w, sin x)) + prod(sin x)
 *        + x . where(...) + min(cumsum(sin x) * w) + 0.5 sum(x^2) */
static void build(program *p, int64_t n)
{
    memset(p, 0, sizeof *p);
    slot(p, n, FG_SLOT_INPUT);
    const int w = slot(p, n, FG_SLOT_CONST);
    p->coff[w] = 0;
    for (int64_t i = 0; i < n; i++) p->pool[i] = 0.5 + 0.25 * (double)(i % 5);
    p->nc = (size_t)n;
    for (int64_t i = 0; i < n; i++) p->index[i] = n - 1 - i;
    p->nx = (size_t)n;
    fg_tape_instr *I;
    I = emit(p, FG_TI_UNARY, n, 0);
    I->op = FG_OP_sin;
    const int s1 = I->out;
    I = emit(p, FG_TI_CUMSUM, n, s1);
    I->p0 = 1; I->p1 = n; I->p2 = 1;
    const int s2 = I->out;
    I = emit2(p, FG_TI_BINARY, n, s2, w);
    I->op = FG_OP_multiply;
    const int s4 = I->out;
    I = emit(p, FG_TI_GATHER, n, 0);
    const int s5 = I->out;
    I = emit2(p, FG_TI_BINARY, n, s5, 0);
    I->op = FG_OP_greater;
    const int s6 = I->out;
    I = emit2(p, FG_TI_WHERE, n, s4, s1);
    I->c = s6; I->sc = 1;
    const int s7 = I->out;
    I = emit(p, FG_TI_MAX, 1, s7);
    I->p0 = 1; I->p1 = n; I->p2 = 1;
    const int s8 = I->out;
    I = emit(p, FG_TI_PROD, 1, s1);
    I->p0 = 1; I->p1 = n; I->p2 = 1;
    const int s9 = I->out;
    I = emit2(p, FG_TI_MATMUL, 1, 0, s7);
    I->p0 = 1; I->p1 = n; I->p2 = 1; I->p3 = 1;
    const int s10 = I->out;
    I = emit(p, FG_TI_MIN, 1, s4);
    I->p0 = 1; I->p1 = n; I->p2 = 1;
    const int s11 = I->out;
    I = emit(p, FG_TI_UNARY, n, 0);
    I->op = FG_OP_square;
    const int s12 = I->out;
    I = emit(p, FG_TI_SUM, 1, s12);
    I->p0 = 1; I->p1 = n; I->p2 = 1; I->scale = 0.5;
    const int s13 = I->out;
    int acc = s8;
    const int terms[4] = {s9, s10, s11, s13};
    for (int t = 0; t < 4; t++) {
        I = emit2(p, FG_TI_BINARY, 1, acc, terms[t]);
        I->op = FG_OP_add;
        acc = I->out;
    }
}

static fg_tape_spec spec_of(const program *p)
{
    fg_tape_spec s = {p->ns, p->size, p->kind, p->coff, p->pool, p->nc, p->index, p->nx,
                      p->ins, p->ni};
    return s;
}

/* Every entry point once (results unchecked): what a valid but odd program
 * must survive. */
static void run_all(const fg_tape *t, size_t n, const double *x, const double *v)
{
    double value, jv, *g = calloc(n, sizeof *g), *h = calloc(n * n, sizeof *h);
    double *hv = calloc(n, sizeof *hv);
    for (size_t k = 1; k <= 3; k += 2) {
        fg_tape_ws *ws = NULL;
        if (fg_tape_ws_create(t, k, &ws) != FG_OK) continue;
        fg_tape_eval_f64(t, ws, x, NULL, &value);
        fg_tape_value_grad_f64(t, ws, x, NULL, &value, g);
        fg_tape_value_grad_reverse_f64(t, ws, x, NULL, &value, g);
        fg_tape_jvp_f64(t, ws, x, NULL, v, &value, &jv);
        fg_tape_hvp_f64(t, ws, x, NULL, v, hv, &value, g);
        fg_tape_hessian_f64(t, ws, x, NULL, h, &value, g);
        fg_tape_hessian_reverse_f64(t, ws, x, NULL, h, &value, g);
        fg_tape_ws_free(ws);
    }
    free(g);
    free(h);
    free(hv);
}

static int close_to(double a, double b, double tol)
{
    return fabs(a - b) <= tol * (1.0 + fabs(a) + fabs(b));
}

static void test_modes_agree(int64_t n)
{
    program p;
    build(&p, n);
    fg_tape_spec s = spec_of(&p);
    fg_tape *t = NULL;
    CHECK_STATUS(fg_tape_create(&s, &t), FG_OK);
    if (!t) return;
    uint64_t seed = 7 + (uint64_t)n;
    double *x = fg_test_doubles((size_t)n, &seed, -1.5, 1.5);
    double *v = fg_test_doubles((size_t)n, &seed, -1.0, 1.0);
    double *gd = malloc((size_t)n * sizeof *gd), *gr = malloc((size_t)n * sizeof *gr);
    double *gp = malloc((size_t)n * sizeof *gp), *hv = malloc((size_t)n * sizeof *hv);
    double *hh = malloc((size_t)(n * n) * sizeof *hh), *hr = malloc((size_t)(n * n) * sizeof *hr);
    double *hp = malloc((size_t)(n * n) * sizeof *hp);
    double v0, v1, v2, jv;
    fg_tape_ws *ws = NULL;
    CHECK_STATUS(fg_tape_ws_create(t, 3, &ws), FG_OK);
    CHECK_STATUS(fg_tape_eval_f64(t, ws, x, NULL, &v0), FG_OK);
    CHECK_STATUS(fg_tape_value_grad_f64(t, ws, x, NULL, &v1, gd), FG_OK);
    CHECK_STATUS(fg_tape_value_grad_reverse_f64(t, ws, x, NULL, &v2, gr), FG_OK);
    CHECK(v0 == v1 && v0 == v2 && isfinite(v0));
    for (int64_t i = 0; i < n; i++) CHECK(close_to(gd[i], gr[i], 1e-12));
    /* the dual gradient in parts starting at multiples of k: the same numbers */
    for (size_t j = 0; j < (size_t)n; j += 3)
        CHECK_STATUS(fg_tape_value_grad_part_f64(t, ws, x, NULL, j, j + 3 < (size_t)n ? j + 3 : (size_t)n,
                                                 NULL, gp), FG_OK);
    for (int64_t i = 0; i < n; i++) CHECK(gp[i] == gd[i]);
    CHECK_STATUS(fg_tape_jvp_f64(t, ws, x, NULL, v, NULL, &jv), FG_OK);
    double dot = 0.0;
    for (int64_t i = 0; i < n; i++) dot += gd[i] * v[i];
    CHECK(close_to(jv, dot, 1e-12));
    CHECK_STATUS(fg_tape_hessian_f64(t, ws, x, NULL, hh, NULL, NULL), FG_OK);
    CHECK_STATUS(fg_tape_hessian_reverse_f64(t, ws, x, NULL, hr, NULL, NULL), FG_OK);
    for (int64_t i = 0; i < n * n; i++) CHECK(close_to(hh[i], hr[i], 1e-11));
    for (int reverse = 0; reverse < 2; reverse++) {   /* parts: the whole call's numbers */
        for (size_t j = 0; j < (size_t)n; j += 6)
            CHECK_STATUS(fg_tape_hessian_part_f64(t, ws, x, NULL, j, j + 6 < (size_t)n ? j + 6 : (size_t)n,
                                                  reverse, hp, NULL, NULL), FG_OK);
        for (int64_t i = 0; i < n * n; i++) CHECK(hp[i] == (reverse ? hr[i] : hh[i]));
    }
    CHECK_STATUS(fg_tape_hvp_f64(t, ws, x, NULL, v, hv, NULL, NULL), FG_OK);
    for (int64_t i = 0; i < n; i++) {
        double r = 0.0;
        for (int64_t j = 0; j < n; j++) r += hr[i * n + j] * v[j];
        CHECK(close_to(hv[i], r, 1e-10));
    }
    CHECK_STATUS(fg_tape_value_grad_part_f64(t, ws, x, NULL, 2, 1, NULL, gp), FG_ERR_ARG);
    fg_tape_ws_free(ws);
    fg_tape_free(t);
    free(x); free(v); free(gd); free(gr); free(gp); free(hv); free(hh); free(hr); free(hp);
}

/* Every field of every instruction set to each of a list of values, via
 * the field table: refused, or evaluated in every mode. */
static void test_corrupted_fields(int64_t n)
{
    static const int64_t values[] = {-9223372036854775807LL - 1, -2147483648LL, -2, -1, 0, 1,
                                     2, 3, 5, 9, 17, 2147483647LL, 4294967296LL,
                                     4611686018427387904LL, 9223372036854775807LL};
    size_t nf = 0;
    const fg_tape_field *fields = fg_tape_instr_fields(&nf, NULL);
    uint64_t seed = 99;
    double *x = fg_test_doubles((size_t)n, &seed, -1.5, 1.5);
    double *v = fg_test_doubles((size_t)n, &seed, -1.0, 1.0);
    size_t accepted = 0, refused = 0;
    program p;
    build(&p, n);
    for (size_t j = 0; j < p.ni; j++)
        for (size_t f = 0; f < nf; f++)
            for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
                program q = p;
                unsigned char *field = (unsigned char *)&q.ins[j] + fields[f].offset;
                if (fields[f].kind == 'f') {
                    const double d = (double)values[k];
                    memcpy(field, &d, sizeof d);
                } else if (fields[f].size == 4) {
                    const int32_t i32 = (int32_t)values[k];
                    memcpy(field, &i32, sizeof i32);
                } else {
                    memcpy(field, &values[k], sizeof values[k]);
                }
                fg_tape_spec s = spec_of(&q);
                fg_tape_problem where;
                fg_tape *t = NULL;
                const fg_status st = fg_tape_create(&s, &t);
                CHECK(fg_tape_check(&s, &where) == st);
                if (st != FG_OK) {
                    CHECK(t == NULL && where.what && where.what[0]);
                    refused++;
                    continue;
                }
                accepted++;
                run_all(t, (size_t)n, x, v);
                fg_tape_free(t);
            }
    CHECK(refused > accepted);
    free(x);
    free(v);
}

static void test_sizes_that_cannot_exist(void)
{
    program p;
    build(&p, 4);
    fg_tape_spec s = spec_of(&p);
    fg_tape *t = NULL;
    p.size[0] = 0;   /* no input */
    CHECK_STATUS(fg_tape_create(&s, &t), FG_ERR_ARG);
    p.size[0] = (int64_t)1 << 61;   /* a slot past the address space */
    CHECK_STATUS(fg_tape_create(&s, &t), FG_ERR_SHAPE);
    CHECK(t == NULL);
    /* x * x summed for n = 2^40: a valid tape, but k = 2^30 directions
     * overflow the workspace's size: refused before any allocation */
    program q;
    memset(&q, 0, sizeof q);
    const int64_t n = (int64_t)1 << 40;
    slot(&q, n, FG_SLOT_INPUT);
    fg_tape_instr *I = emit2(&q, FG_TI_BINARY, n, 0, 0);
    I->op = FG_OP_multiply;
    I = emit(&q, FG_TI_SUM, 1, I->out);
    I->p0 = 1; I->p1 = n; I->p2 = 1;
    fg_tape_spec big = spec_of(&q);
    CHECK_STATUS(fg_tape_create(&big, &t), FG_OK);
    fg_tape_ws *ws = NULL;
    CHECK_STATUS(fg_tape_ws_create(t, (size_t)1 << 30, &ws), FG_ERR_NOMEM);
    CHECK(ws == NULL);
    fg_tape_free(t);
}

/* Data inputs: f(x, z, lab) = sum(x[lab] * cast(lab)) + sum(z * x[0]), with
 * lab int64 (DATA_INT, read by TAKE and CAST) and z float64 (DATA). The
 * values and both gradients against hand sums; missing data, labels out of
 * range and integer data read by another code are refused. */
static void test_data_inputs(void)
{
    program p;
    memset(&p, 0, sizeof p);
    slot(&p, 3, FG_SLOT_INPUT);
    const int z = slot(&p, 2, FG_SLOT_DATA), lab = slot(&p, 4, FG_SLOT_DATA_INT);
    fg_tape_instr *I = emit2(&p, FG_TI_TAKE, 4, 0, lab);   /* x[lab] */
    I->p0 = 0;
    I->p1 = 1;
    I->p2 = 3;
    for (int i = 0; i < 4; i++) {
        p.index[i] = 0;          /* base */
        p.index[4 + i] = i;      /* which label */
    }
    p.nx = 8;
    const int took = I->out;
    I = emit(&p, FG_TI_CAST, 4, lab);
    const int cast = I->out;
    I = emit2(&p, FG_TI_BINARY, 4, took, cast);
    I->op = FG_OP_multiply;
    const int prod = I->out;
    I = emit(&p, FG_TI_SUM, 1, prod);
    I->p0 = 1; I->p1 = 4; I->p2 = 1;
    const int s1 = I->out;
    I = emit2(&p, FG_TI_BINARY, 2, z, 0);
    I->op = FG_OP_multiply;
    I->sb = 0;
    I = emit(&p, FG_TI_SUM, 1, I->out);
    I->p0 = 1; I->p1 = 2; I->p2 = 1;
    I = emit2(&p, FG_TI_BINARY, 1, s1, I->out);
    I->op = FG_OP_add;
    fg_tape_spec s = spec_of(&p);
    fg_tape *t = NULL;
    CHECK_STATUS(fg_tape_create(&s, &t), FG_OK);
    if (!t) return;
    CHECK(fg_tape_data_count(t) == 2);
    int32_t kind = -1;
    size_t size = 0;
    CHECK_STATUS(fg_tape_data_info(t, 1, &kind, &size), FG_OK);
    CHECK(kind == FG_SLOT_DATA_INT && size == 4);
    CHECK_STATUS(fg_tape_data_info(t, 2, NULL, NULL), FG_ERR_ARG);
    const double x[3] = {1.5, -2.0, 4.0}, zv[2] = {0.5, 3.0};
    const int64_t labels[4] = {2, 0, -1, 1}, bad[4] = {2, 0, 3, 1};
    const void *data[2] = {zv, labels}, *bad_data[2] = {zv, bad}, *missing[2] = {zv, NULL};
    fg_tape_ws *ws = NULL;
    CHECK_STATUS(fg_tape_ws_create(t, 2, &ws), FG_OK);
    double v = 0, g[3], gd[3];
    /* 4 * 2 + 1.5 * 0 + 4 * -1 + -2 * 1 = 2; plus (0.5 + 3) * 1.5 */
    CHECK_STATUS(fg_tape_eval_f64(t, ws, x, data, &v), FG_OK);
    CHECK(v == 2.0 + 3.5 * 1.5);
    CHECK_STATUS(fg_tape_value_grad_reverse_f64(t, ws, x, data, &v, g), FG_OK);
    CHECK_STATUS(fg_tape_value_grad_f64(t, ws, x, data, NULL, gd), FG_OK);
    /* d/dx0 = 0 (label 0 times x0) + 3.5; d/dx1 = 1; d/dx2 = 2 - 1 */
    CHECK(g[0] == 3.5 && g[1] == 1.0 && g[2] == 1.0);
    CHECK(gd[0] == g[0] && gd[1] == g[1] && gd[2] == g[2]);
    CHECK_STATUS(fg_tape_eval_f64(t, ws, x, NULL, &v), FG_ERR_ARG);
    CHECK_STATUS(fg_tape_eval_f64(t, ws, x, missing, &v), FG_ERR_ARG);
    CHECK_STATUS(fg_tape_value_grad_reverse_f64(t, ws, x, bad_data, &v, g), FG_ERR_ARG);
    fg_tape_ws_free(ws);
    fg_tape_free(t);
    /* integer data read by a float operation, a float slot as TAKE's index */
    p.ins[2].b = lab;
    CHECK_STATUS(fg_tape_check(&s, NULL), FG_ERR_ARG);
    p.ins[2].b = cast;
    p.ins[0].b = z;
    CHECK_STATUS(fg_tape_check(&s, NULL), FG_ERR_ARG);
    p.ins[0].b = lab;
    p.index[0] = 1;   /* base 1 + (3 - 1): the axis leaves x */
    CHECK_STATUS(fg_tape_check(&s, NULL), FG_ERR_SHAPE);
    p.index[0] = 0;
    CHECK_STATUS(fg_tape_check(&s, NULL), FG_OK);
}

int main(void)
{
    test_data_inputs();
    static const int64_t sizes[] = {1, 2, 3, 7, 8, 9, 17, 33};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) test_modes_agree(sizes[i]);
    test_corrupted_fields(5);
    test_sizes_that_cannot_exist();
    return TEST_EXIT();
}
