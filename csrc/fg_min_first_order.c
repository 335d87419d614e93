/* fg_min_first_order.c: the first-order minimize methods, each an optimizer
 * of fg_optimizer.h (gd, momentum and nesterov are SGD with momentum off,
 * on, or Nesterov's): one out-of-place step of the optimizer's descriptor
 * per iteration, so minimize follows torch.optim's rules, and a new
 * optimizer becomes a method by one row below.
 *
 * The optimizer's hyperparameters come from the option fields of the same
 * names (fg_minimize_option_fields; "beta1" and "beta2" are "betas",
 * "maximize" is the run's) that the method reads (its options list); the
 * others are fixed by the row or take the optimizer's default.
 *
 * Carried state (doubles), in this order: the optimizer's running numbers
 * (its incremental prepare: Adam's powers beta^t), FO_PREPARED (1 when the
 * cache already holds the next step's coefficients), FO_STEP (gd's adaptive
 * step with line_search = armijo), the optimizer's scalar state (NAdam's
 * mu_product), then its state buffers, n each. Buffers an option leaves
 * unused (Adam's max_exp_avg_sq without amsgrad) are still sized and passed:
 * the AVX-512 kernels if-convert the option branches into masked loads, and
 * a masked-off load from NULL costs a fault-suppression microcode assist
 * per vector on AMD Zen (8x slower Adam at n = 100).
 */
#include <math.h>
#include <string.h>
#include "fg_min_method.h"

/* A hyperparameter value a row sets. */
typedef struct fo_value {
    const char *name;
    double value;
} fo_value;

typedef struct fo_row {
    fg_optim_kind optimizer;
    const fo_value *fixed;      /* set by the method, not options; NULL-ended */
    const fo_value *defaults;   /* defaults other than the optimizer's; NULL-ended */
} fo_row;

static const fo_value NONE[] = {{NULL, 0.0}};
static const fo_value NESTEROV_FIXED[] = {{"nesterov", 1.0}, {NULL, 0.0}};
static const fo_value MOMENTUM_DEFAULTS[] = {{"momentum", 0.9}, {NULL, 0.0}};

/* A hyperparameter the method does not read takes the optimizer's default:
 * gd has no momentum, AdamW's decay is decoupled. */
static const fo_row ROWS[FG_MIN_METHOD_COUNT] = {
    [FG_MIN_GD] = {FG_OPTIM_SGD, NONE, NONE},
    [FG_MIN_MOMENTUM] = {FG_OPTIM_SGD, NONE, MOMENTUM_DEFAULTS},
    [FG_MIN_NESTEROV] = {FG_OPTIM_SGD, NESTEROV_FIXED, MOMENTUM_DEFAULTS},
    [FG_MIN_ADAM] = {FG_OPTIM_ADAM, NONE, NONE},
    [FG_MIN_ADAMW] = {FG_OPTIM_ADAMW, NONE, NONE},
    [FG_MIN_RMSPROP] = {FG_OPTIM_RMSPROP, NONE, NONE},
    [FG_MIN_ADAGRAD] = {FG_OPTIM_ADAGRAD, NONE, NONE},
    [FG_MIN_ADAMAX] = {FG_OPTIM_ADAMAX, NONE, NONE},
    [FG_MIN_NADAM] = {FG_OPTIM_NADAM, NONE, NONE},
};

static const fg_optimizer *optimizer_of(const fg_minimize_options *o)
{
    return fg_optimizer_get(ROWS[o->method].optimizer);
}

/* gd with line_search = armijo: f(x(s)) <= f(x) + ARMIJO_C1 * g.(x(s) - x)
 * with c1 = 1/2 accepts s = 1/L on an L-smooth f (the descent lemma), so
 * the steps settle near the local 1/L; each iteration starts from twice the
 * last accepted step, so the step can grow again where f is flatter. */
static const double GD_ARMIJO_C1 = 0.5, GD_GROW = 2.0, GD_SHRINK = 0.5;
/* Hager and Zhang's epsilon for the approximate test (fg_linesearch.h) */
static const double GD_APPROX_EPS = 1e-6;
enum { GD_MAX_EVALS = 64 };

/* The carried state's layout for optimizer d. */
typedef struct fo_layout {
    size_t running, prepared, step, scalars, buffers;   /* offsets */
} fo_layout;

static fo_layout layout(const fg_optimizer *d)
{
    fo_layout l;
    l.running = 0;
    l.prepared = (size_t)d->n_running;
    l.step = l.prepared + 1;
    l.scalars = l.step + 1;
    l.buffers = l.scalars + (size_t)d->n_scalar;
    return l;
}

/* ---- options to hyperparameters ------------------------------------------ */

/* The option field that holds hyperparameter `name` (and which of its
 * values), or NULL. */
static const fg_minimize_option_field *field_of(const char *name, int *index)
{
    size_t count;
    const fg_minimize_option_field *f = fg_minimize_option_fields(&count);
    *index = 0;
    if (strcmp(name, "beta1") == 0 || strcmp(name, "beta2") == 0) {
        *index = name[4] == '2';
        name = "betas";
    }
    for (size_t k = 0; k < count; k++)
        if (strcmp(f[k].name, name) == 0) return &f[k];
    return NULL;
}

static int reads(const fg_min_method *m, const char *field)
{
    for (const char *const *o = m->info.options; *o; o++)
        if (strcmp(*o, field) == 0) return 1;
    return 0;
}

static const fo_value *find(const fo_value *v, const char *name)
{
    for (; v->name; v++)
        if (strcmp(v->name, name) == 0) return v;
    return NULL;
}

/* The optimizer's hyperparameters for the options o. */
static void hyper_of(const fg_minimize_options *o, double *hyper)
{
    const fo_row *row = &ROWS[o->method];
    const fg_optimizer *d = fg_optimizer_get(row->optimizer);
    const fg_min_method *m = fg_min_method_of(o->method);
    for (int i = 0; i < d->n_hyper; i++) {
        const char *name = d->hyper[i].name;
        const fo_value *fixed = find(row->fixed, name);
        int k;
        const fg_minimize_option_field *f = field_of(name, &k);
        if (strcmp(name, "maximize") == 0) {
            hyper[i] = o->maximize != 0;
        } else if (fixed) {
            hyper[i] = fixed->value;
        } else if (f && reads(m, f->name)) {
            const char *at = (const char *)o + f->offset;
            hyper[i] = f->kind == FG_MIN_FIELD_INT ? (double)(*(const int *)at != 0)
                                                   : ((const double *)at)[k];
        } else {
            hyper[i] = d->hyper[i].default_value;
        }
    }
}

/* The options' defaults for the method: the optimizer's (or the row's) in
 * every field the method reads. */
static void fo_defaults(fg_minimize_options *o)
{
    const fo_row *row = &ROWS[o->method];
    const fg_optimizer *d = fg_optimizer_get(row->optimizer);
    const fg_min_method *m = fg_min_method_of(o->method);
    o->lr = d->lr_default;
    for (int i = 0; i < d->n_hyper; i++) {
        int k;
        const fg_minimize_option_field *f = field_of(d->hyper[i].name, &k);
        if (!f || !reads(m, f->name)) continue;
        const fo_value *def = find(row->defaults, d->hyper[i].name);
        const double v = def ? def->value : d->hyper[i].default_value;
        char *at = (char *)o + f->offset;
        if (f->kind == FG_MIN_FIELD_INT) *(int *)at = v != 0.0;
        else ((double *)at)[k] = v;
    }
}

/* ---- sizes, check, init ---------------------------------------------------- */

static fg_status fo_sizes(size_t n, const fg_minimize_options *o, size_t *state, size_t *scratch)
{
    const fg_optimizer *d = optimizer_of(o);
    const size_t head = layout(d).buffers, k = (size_t)d->n_state;
    if (k && n > (SIZE_MAX - head) / k) return FG_ERR_ARG;
    *state = head + k * n;
    *scratch = 0;
    return FG_OK;
}

/* The optimizer judges its hyperparameters (lr 0 when a schedule supplies it). */
static fg_status fo_check(const fg_minimize_options *o)
{
    double hyper[FG_OPTIM_MAX_HYPER];
    hyper_of(o, hyper);
    if (o->method == FG_MIN_GD && o->line_search == FG_MIN_LS_ARMIJO
        && (o->weight_decay != 0.0 || o->lr_fn || !(o->lr > 0.0)))
        return FG_ERR_ARG;   /* the search starts from lr > 0 and tests f itself */
    return fg_optimizer_check(optimizer_of(o), hyper, o->lr_fn ? 0.0 : o->lr, 1, NULL);
}

static fg_status fo_init(fg_min_run *r, int warm)
{
    const fg_minimize_options *o = r->opt;
    const fg_optimizer *d = optimizer_of(o);
    const fo_layout l = layout(d);
    double *s = r->state, *hyper = r->cache.fo.hyper;
    hyper_of(o, hyper);
    r->cache.fo.d = d;
    r->cache.fo.running = s + l.running;
    r->cache.fo.prepared = s + l.prepared;
    r->cache.fo.scalars = s + l.scalars;
    for (int i = 0; i < d->n_state; i++) r->cache.fo.buffers[i] = s + l.buffers + (size_t)i * r->n;
    if (!warm) {
        memset(s, 0, l.buffers * sizeof *s);
        for (int i = 0; i < d->n_scalar; i++) s[l.scalars + i] = d->scalar[i].initial;
        for (int i = 0; i < d->n_state; i++) {
            const double v = fg_optimizer_state_initial(d, hyper, i);
            for (size_t j = 0; j < r->n; j++) r->cache.fo.buffers[i][j] = v;
        }
        s[l.step] = o->lr;
    } else {
        if (!fg_min_all_finite(s, l.buffers + (size_t)d->n_state * r->n)) return FG_ERR_ARG;
        if (o->method == FG_MIN_GD && o->line_search == FG_MIN_LS_ARMIJO && !(s[l.step] > 0.0))
            return FG_ERR_ARG;
        if ((s[l.prepared] != 0.0 && s[l.prepared] != 1.0)
            || (s[l.prepared] != 0.0 && !d->running_prepare))
            return FG_ERR_ARG;
    }
    if (d->running_start) {
        double scalars[FG_OPTIM_MAX_SCALAR];   /* prepare must not advance the carried ones */
        memcpy(scalars, s + l.scalars, (size_t)d->n_scalar * sizeof *scalars);
        if (d->running_start(s + l.running, hyper, !warm) != FG_OK
            || d->prepare(&r->cache.fo.c, hyper, o->lr_fn ? 0.0 : o->lr, 1, scalars) != FG_OK)
            return FG_ERR_ARG;
        if (s[l.prepared] != 0.0)
            d->running_prepare(&r->cache.fo.c, hyper, o->lr, s + l.running);
    }
    return FG_OK;
}

/* ---- the step -------------------------------------------------------------- */

/* The trial's evaluation, shared by every method without a line search. */
static fg_minimize_stop evaluate_trial(fg_min_run *r)
{
    if (r->lower) fg_min_project(r->xt, r->lower, r->upper, r->n);
    fg_ls_eval e = fg_min_value_grad(r, r->xt, &r->ft, r->gt, &r->gtnorm);
    return e == FG_LS_EVAL_OK ? FG_MIN_STOP_COUNT : fg_min_eval_stop(e);
}

fg_minimize_stop fg_min_first_order_update(fg_min_run *r)
{
    const fg_optimizer *d = r->cache.fo.d;
    const double *hyper = r->cache.fo.hyper;
    double *const *buffers = r->cache.fo.buffers;
    void *c = &r->cache.fo.c;
    fg_status st;
    if (d->running_prepare) {
        double *running = r->cache.fo.running, *prepared = r->cache.fo.prepared;
        const int fixed_lr = !r->opt->lr_fn;
        if (*prepared == 0.0) {
            d->running_advance(running);
            d->running_prepare(c, hyper, r->lr, running);
        }
        st = d->step_f64(r->x, r->xt, r->g, buffers, r->n, c);
        /* With a fixed lr, the next step's coefficients (a chain of
         * dependent scalar operations, ~60 cycles for Adam) are computed
         * now, where they overlap the objective evaluation that follows
         * instead of delaying the next update. */
        *prepared = fixed_lr;
        if (fixed_lr) {
            d->running_advance(running);
            d->running_prepare(c, hyper, r->lr, running);
        }
    } else {
        /* a bad scheduled lr gets FG_ERR_ARG here: the options were checked */
        st = d->prepare(c, hyper, r->lr, r->t, r->cache.fo.scalars);
        if (st == FG_OK) st = d->step_f64(r->x, r->xt, r->g, buffers, r->n, c);
    }
    return st == FG_OK ? FG_MIN_STOP_COUNT
         : st == FG_ERR_NONFINITE ? FG_MIN_DIVERGED : FG_MIN_SCHEDULE_ERROR;
}

static fg_minimize_stop fo_step(fg_min_run *r)
{
    fg_minimize_stop stop = fg_min_first_order_update(r);
    return stop == FG_MIN_STOP_COUNT ? evaluate_trial(r) : stop;
}

/* ---- gd with Armijo backtracking --------------------------------------- */

/* phi(alpha) = f(P(x - alpha * g)) (signed: -f when maximizing). */
static fg_ls_eval gd_phi(void *ctx, fg_ls_trial *t)
{
    fg_min_run *r = ctx;
    const double a = -r->sign * t->alpha;
    double lin = 0.0;
    for (size_t i = 0; i < r->n; i++) r->xt[i] = r->x[i] + a * r->g[i];
    if (r->lower) fg_min_project(r->xt, r->lower, r->upper, r->n);
    if (!fg_min_all_finite(r->xt, r->n)) return FG_LS_EVAL_NONFINITE;
    for (size_t i = 0; i < r->n; i++) lin += r->g[i] * (r->xt[i] - r->x[i]);
    fg_ls_eval e = fg_min_value_grad(r, r->xt, &r->ft, r->gt, &r->gtnorm);
    t->f = r->sign * r->ft;
    t->lin = r->sign * lin;
    if (e == FG_LS_EVAL_OK && t->want_slope) {
        double end = 0.0;
        for (size_t i = 0; i < r->n; i++) end += r->gt[i] * (r->xt[i] - r->x[i]);
        t->lin_end = r->sign * end;
    }
    return e;
}

static fg_minimize_stop gd_step(fg_min_run *r)
{
    if (r->opt->line_search != FG_MIN_LS_ARMIJO) return fo_step(r);
    double *step = r->cache.fo.prepared + 1;   /* FO_STEP follows FO_PREPARED */
    const fg_ls_armijo_params p = {GD_ARMIJO_C1, GD_GROW * *step, GD_SHRINK, GD_MAX_EVALS, 1,
                                   GD_APPROX_EPS};
    fg_ls_trial t;
    fg_ls_status ls = fg_ls_armijo(gd_phi, r, r->sign * r->f, 0.0, &p, &t);
    if (ls != FG_LS_OK) return fg_min_ls_stop(ls);
    *step = t.alpha;
    return FG_MIN_STOP_COUNT;
}

/* ---- the rows ------------------------------------------------------------ */

static const char *const GD_OPTIONS[] = {"weight_decay", NULL};
static const char *const MOMENTUM_OPTIONS[] = {"momentum", "dampening", "weight_decay", NULL};
static const char *const NESTEROV_OPTIONS[] = {"momentum", "weight_decay", NULL};
static const char *const ADAM_OPTIONS[] = {"betas", "eps", "weight_decay", "amsgrad", NULL};
static const char *const RMSPROP_OPTIONS[] = {"alpha", "eps", "weight_decay", "momentum",
                                              "centered", NULL};
static const char *const ADAGRAD_OPTIONS[] = {"lr_decay", "weight_decay",
                                              "initial_accumulator_value", "eps", NULL};
static const char *const ADAMAX_OPTIONS[] = {"betas", "eps", "weight_decay", NULL};
static const char *const NADAM_OPTIONS[] = {"betas", "eps", "weight_decay", "momentum_decay",
                                            "decoupled_weight_decay", NULL};

#define NO_LS (1u << FG_MIN_LS_NONE)
#define FIRST_ORDER(row, name_, options_, lines, step_)                                       \
    const fg_min_method row = {                                                               \
        {name_, FG_MIN_NEEDS_GRADIENT, 1, 0, lines, FG_MIN_LS_NONE, options_},                \
        fo_sizes, fo_check, fo_init, step_, fo_defaults}

FIRST_ORDER(fg_min_gd, "gd", GD_OPTIONS, NO_LS | (1u << FG_MIN_LS_ARMIJO), gd_step);
FIRST_ORDER(fg_min_momentum, "momentum", MOMENTUM_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_nesterov, "nesterov", NESTEROV_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_adam, "adam", ADAM_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_adamw, "adamw", ADAM_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_rmsprop, "rmsprop", RMSPROP_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_adagrad, "adagrad", ADAGRAD_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_adamax, "adamax", ADAMAX_OPTIONS, NO_LS, fo_step);
FIRST_ORDER(fg_min_nadam, "nadam", NADAM_OPTIONS, NO_LS, fo_step);
