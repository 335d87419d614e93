/* fg_linesearch.c: the line searches of fg_linesearch.h. */
#include <math.h>
#include "fg_linesearch.h"

fg_ls_status fg_ls_armijo(fg_ls_phi_fn phi, void *ctx, double f0, double slope0,
                          const fg_ls_armijo_params *p, fg_ls_trial *out)
{
    double alpha = p->alpha0;
    for (int k = 0; k < p->max_evals; k++, alpha *= p->shrink) {
        out->alpha = alpha;
        out->want_slope = p->approx_eps > 0.0;
        fg_ls_eval e = phi(ctx, out);
        if (e == FG_LS_EVAL_ERROR) return FG_LS_ERROR;
        if (e == FG_LS_EVAL_MAXFUN) return FG_LS_MAXFUN;
        if (e != FG_LS_EVAL_OK) continue;   /* not finite: shrink */
        /* (c1 * alpha) * slope0, left to right as the reference twin
         * computes it, so both accept the same trials */
        const double bound = p->use_lin ? f0 + p->c1 * out->lin : f0 + p->c1 * alpha * slope0;
        if (out->f <= bound) return FG_LS_OK;
        if (p->approx_eps > 0.0 && out->f <= f0 + p->approx_eps * fabs(f0)
            && out->lin_end <= (2.0 * p->c1 - 1.0) * out->lin)
            return FG_LS_OK;
    }
    return FG_LS_FAILED;
}
