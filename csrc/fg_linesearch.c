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

/* ---- strong Wolfe (Moré-Thuente) ------------------------------------------ */

/* The bisection safeguard's factor and the unbracketed extrapolation limits
 * (the published algorithm's values). */
static const double MT_SHRINK = 0.66, MT_XTRAP_LO = 1.1, MT_XTRAP_HI = 4.0;

/* The stationary point of the cubic through (a, fa, ga), (b, fb, gb) that
 * is a minimum, a + r (b - a); *gamma = 0 when the cubic has no real
 * minimizer (the point is then meaningless and the caller falls back). */
static double cubic_min(double a, double fa, double ga, double b, double fb, double gb,
                        double *gamma)
{
    const double theta = 3.0 * (fa - fb) / (b - a) + ga + gb;
    const double s = fmax(fmax(fabs(theta), fabs(ga)), fabs(gb));
    const double disc = (theta / s) * (theta / s) - (ga / s) * (gb / s);
    double gam = s * sqrt(fmax(0.0, disc));
    if (b < a) gam = -gam;
    const double p = (gam - ga) + theta;
    const double q = ((gam - ga) + gam) + gb;
    *gamma = gam;
    return a + (p / q) * (b - a);
}

/* The interval [stx, sty] (stx the best end, fx/gx its value and slope) and
 * whether it brackets a minimizer. */
typedef struct mt_interval {
    double stx, fx, gx, sty, fy, gy;
    int bracketed;
} mt_interval;

/* One Moré-Thuente update with the trial (stp, fp, gp): the interval, and
 * the next trial step (returned); lo, hi bound it before bracketing. */
static double mt_step(mt_interval *I, double stp, double fp, double gp, double lo, double hi)
{
    const double stx = I->stx, fx = I->fx, gx = I->gx;
    const double sgnd = gp * copysign(1.0, gx);
    double next, stpc, stpq, gamma;
    if (fp > fx) {
        /* higher value: a minimizer lies between stx and stp; the cubic step
         * when closer to stx than the quadratic one, else their midpoint */
        stpc = cubic_min(stx, fx, gx, stp, fp, gp, &gamma);
        stpq = stx + (gx / ((fx - fp) / (stp - stx) + gx)) / 2.0 * (stp - stx);
        next = fabs(stpc - stx) < fabs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2.0;
        I->bracketed = 1;
    } else if (sgnd < 0.0) {
        /* lower value, slope of the other sign: bracketed; the cubic or the
         * secant step, whichever is farther from stp */
        stpc = cubic_min(stx, fx, gx, stp, fp, gp, &gamma);
        stpq = stp + (gp / (gp - gx)) * (stx - stp);
        next = fabs(stpc - stp) > fabs(stpq - stp) ? stpc : stpq;
        I->bracketed = 1;
    } else if (fabs(gp) < fabs(gx)) {
        /* lower value, same slope sign, shrinking slope: extrapolate by the
         * cubic when it has a minimizer beyond stp (else to the limit) or
         * the secant step; never past two thirds of the way to sty */
        stpc = cubic_min(stp, fp, gp, stx, fx, gx, &gamma);
        if (!(gamma != 0.0 && (stpc - stp) * (stx - stp) < 0.0)) stpc = stp > stx ? hi : lo;
        stpq = stp + (gp / (gp - gx)) * (stx - stp);
        if (I->bracketed) {
            next = fabs(stpc - stp) < fabs(stpq - stp) ? stpc : stpq;
            const double limit = stp + MT_SHRINK * (I->sty - stp);
            next = stp > stx ? fmin(limit, next) : fmax(limit, next);
        } else {
            next = fabs(stpc - stp) > fabs(stpq - stp) ? stpc : stpq;
            next = fmax(lo, fmin(hi, next));
        }
    } else {
        /* lower value, same slope sign, the slope does not shrink: the cubic
         * through stp and sty when bracketed, else the limit */
        if (I->bracketed) next = cubic_min(stp, fp, gp, I->sty, I->fy, I->gy, &gamma);
        else next = stp > stx ? hi : lo;
    }
    if (fp > fx) {
        I->sty = stp;
        I->fy = fp;
        I->gy = gp;
    } else {
        if (sgnd < 0.0) {
            I->sty = stx;
            I->fy = fx;
            I->gy = gx;
        }
        I->stx = stp;
        I->fx = fp;
        I->gx = gp;
    }
    return next;
}

/* The end without a Wolfe step: the best trial when it does not increase f. */
static fg_ls_status mt_best(const mt_interval *I, double f0, fg_ls_keep_fn keep, void *ctx,
                            fg_ls_trial *out, fg_ls_status otherwise)
{
    if (!(I->stx > 0.0 && I->fx <= f0)) return otherwise;
    keep(ctx, FG_LS_RESTORE);
    out->alpha = I->stx;
    out->f = I->fx;
    out->slope = I->gx;
    return FG_LS_OK;
}

fg_ls_status fg_ls_wolfe(fg_ls_phi_fn phi, fg_ls_keep_fn keep, void *ctx, double f0,
                         double slope0, const fg_ls_wolfe_params *p, fg_ls_trial *out)
{
    if (!(slope0 < 0.0)) return FG_LS_FAILED;
    const double gtest = p->c1 * slope0;
    mt_interval I = {0.0, f0, slope0, 0.0, f0, slope0, 0};
    int stage = 1;
    double width = p->alpha_max, width1 = 2.0 * width;
    double stp = p->alpha0, lo = 0.0, hi = stp + MT_XTRAP_HI * stp;
    double cap = INFINITY;   /* the smallest step with a non-finite trial */
    for (int k = 0; k < p->max_evals; k++) {
        out->alpha = stp;
        out->want_slope = 1;
        const fg_ls_eval e = phi(ctx, out);
        if (e == FG_LS_EVAL_ERROR) return FG_LS_ERROR;
        if (e == FG_LS_EVAL_MAXFUN) return mt_best(&I, f0, keep, ctx, out, FG_LS_MAXFUN);
        if (e != FG_LS_EVAL_OK || !isfinite(out->f) || !isfinite(out->slope)) {
            cap = stp;
            stp = I.stx + 0.5 * (stp - I.stx);
            continue;
        }
        const double fp = out->f, gp = out->slope;
        const double ftest = f0 + stp * gtest;
        if (fp <= ftest && fabs(gp) <= -p->c2 * slope0) return FG_LS_OK;
        if (stp == p->alpha_max && fp <= ftest && gp <= gtest) return FG_LS_OK;
        if (stage == 1 && fp <= ftest && gp >= fmin(p->c1, p->c2) * slope0) stage = 2;
        const double prev = I.stx;
        double next;
        if (stage == 1 && fp <= I.fx && fp > ftest) {
            /* psi, whose minimizers are the sufficient-decrease steps */
            mt_interval M = {I.stx, I.fx - I.stx * gtest, I.gx - gtest,
                             I.sty, I.fy - I.sty * gtest, I.gy - gtest, I.bracketed};
            next = mt_step(&M, stp, fp - stp * gtest, gp - gtest, lo, hi);
            I.stx = M.stx;
            I.sty = M.sty;
            I.bracketed = M.bracketed;
            I.fx = M.fx + M.stx * gtest;
            I.gx = M.gx + gtest;
            I.fy = M.fy + M.sty * gtest;
            I.gy = M.gy + gtest;
        } else {
            next = mt_step(&I, stp, fp, gp, lo, hi);
        }
        if (I.stx != prev) keep(ctx, FG_LS_KEEP);
        if (I.bracketed) {
            if (fabs(I.sty - I.stx) >= MT_SHRINK * width1) next = I.stx + 0.5 * (I.sty - I.stx);
            width1 = width;
            width = fabs(I.sty - I.stx);
            lo = fmin(I.stx, I.sty);
            hi = fmax(I.stx, I.sty);
        } else {
            lo = next + MT_XTRAP_LO * (next - I.stx);
            hi = next + MT_XTRAP_HI * (next - I.stx);
        }
        next = fmin(fmax(next, 0.0), p->alpha_max);
        /* rounding errors or a tiny interval: no further progress */
        if (I.bracketed && (next <= lo || next >= hi || hi - lo <= p->xtol * hi))
            return mt_best(&I, f0, keep, ctx, out, FG_LS_FAILED);
        if (next >= cap) next = I.stx + 0.5 * (cap - I.stx);
        stp = next;
    }
    return mt_best(&I, f0, keep, ctx, out, FG_LS_FAILED);
}
