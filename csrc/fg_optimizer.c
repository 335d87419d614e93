/* fg_optimizer.c: the table of descriptors (generated from
 * fg_optim_table.def) and the checks every optimizer shares. */
#include <math.h>
#include <string.h>
#include "fg_optimizer.h"

static const fg_optimizer *const fg_optimizers[FG_OPTIM_COUNT] = {
#define FG_OPTIMIZER(NAME, name) [FG_OPTIM_##NAME] = &fg_optimizer_##name,
#include "fg_optim_table.def"
#undef FG_OPTIMIZER
};

const fg_optimizer *fg_optimizer_get(int kind)
{
    return kind >= 0 && kind < FG_OPTIM_COUNT ? fg_optimizers[kind] : NULL;
}

const fg_optimizer *fg_optimizer_find(const char *name)
{
    if (!name) return NULL;
    for (int k = 0; k < FG_OPTIM_COUNT; k++)
        if (strcmp(fg_optimizers[k]->name, name) == 0) return fg_optimizers[k];
    return NULL;
}

fg_status fg_optimizer_defaults(const fg_optimizer *opt, double *hyper)
{
    if (!opt || !hyper) return FG_ERR_ARG;
    for (int i = 0; i < opt->n_hyper; i++) hyper[i] = opt->hyper[i].default_value;
    return FG_OK;
}

static int hyper_allowed(const fg_optim_hyper *h, double x)
{
    if (h->kind == FG_HYPER_FLAG) return x == 0.0 || x == 1.0;
    if (!isfinite(x)) return 0;
    int above = h->low_open ? x > h->low : x >= h->low;
    int below = h->high_open ? x < h->high : x <= h->high;
    return above && below;
}

fg_status fg_optimizer_check(const fg_optimizer *opt, const double *hyper, double lr,
                             int64_t step, int *bad)
{
    if (bad) *bad = FG_OPTIM_NONE;
    if (!opt || (opt->n_hyper && !hyper) || !isfinite(lr) || !(lr >= 0.0) || step < 1)
        return FG_ERR_ARG;
    for (int i = 0; i < opt->n_hyper; i++) {
        if (!hyper_allowed(&opt->hyper[i], hyper[i])) {
            if (bad) *bad = i;
            return FG_ERR_ARG;
        }
    }
    int blamed = opt->check ? opt->check(hyper) : FG_OPTIM_NONE;
    if (blamed != FG_OPTIM_NONE) {
        if (bad) *bad = blamed;
        return FG_ERR_ARG;
    }
    return FG_OK;
}

int fg_optimizer_state_used(const fg_optimizer *opt, const double *hyper, int i)
{
    if (!opt || i < 0 || i >= opt->n_state) return 0;
    int k = opt->state[i].used_if;
    return k == FG_OPTIM_NONE || (hyper && hyper[k] != 0.0);
}

double fg_optimizer_state_initial(const fg_optimizer *opt, const double *hyper, int i)
{
    if (!opt || i < 0 || i >= opt->n_state) return 0.0;
    int k = opt->state[i].initial_from;
    return k == FG_OPTIM_NONE || !hyper ? opt->state[i].initial : hyper[k];
}
