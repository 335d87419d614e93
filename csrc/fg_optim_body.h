/* fg_optim_body.h: the optimizer step kernels, written once and included
 * twice by fg_optim.c, with FG_T = double / float (FG_UINT = uint64_t /
 * uint32_t, an unsigned integer of the same size), FG_SUFFIX = f64 / f32,
 * FG_FMA = fma / fmaf, FG_SQRT = sqrt / sqrtf. Not a public header.
 *
 * Scalars are read from the coefficient struct (computed in double) and cast
 * to FG_T once, the way ATen casts a Python float to the tensor's dtype.
 * Branches on options sit outside the loops so each loop body is straight
 * arithmetic that gcc vectorizes.
 */
#define FG_CAT2(a, b) a##_##b
#define FG_CAT(a, b) FG_CAT2(a, b)
#define FG_NAME(base) FG_CAT(base, FG_SUFFIX)

/* ATen's lerp(start, end, w): two branches keep it exact at both ends. */
#define FG_LERP(start, end, w, one_minus_w, small_w) \
    ((small_w) ? FG_FMA((w), (end) - (start), (start)) \
               : FG_FMA(-((end) - (start)), (one_minus_w), (end)))

/* Each loop body is an always-inline function whose option flags are
 * compile-time constants at every call site: the dispatching switch below it
 * instantiates one straight-line, vectorizable loop per option pattern.
 * (With runtime flags inside the loop gcc vectorized only some versions and
 * Adam ran at 8 ns/element instead of 1.) */

FG_INLINE void FG_NAME(sgd_body)(FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g,
                                 FG_T *FG_RESTRICT buf, size_t n, FG_T sign, FG_T wd,
                                 FG_T mom, FG_T omd, FG_T neg_lr, const int use_wd,
                                 const int mom_mode)
{
    /* mom_mode: 0 none, 1 first step, 2 first step Nesterov, 3 later, 4 later Nesterov */
    for (size_t i = 0; i < n; i++) {
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(p[i], wd, gi);
        FG_T d = gi;
        if (mom_mode) {
            FG_T b = (mom_mode <= 2) ? gi : FG_FMA(gi, omd, buf[i] * mom);
            buf[i] = b;
            d = (mom_mode == 2 || mom_mode == 4) ? FG_FMA(b, mom, gi) : b;
        }
        p[i] = FG_FMA(d, neg_lr, p[i]);
    }
}

FG_VECTOR_CLONES
static void FG_NAME(sgd_loop)(FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g,
                              FG_T *FG_RESTRICT buf, size_t n, const fg_sgd_coeffs *c)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, mom = (FG_T)c->momentum;
    const FG_T omd = (FG_T)c->one_minus_dampening, neg_lr = (FG_T)(-c->lr);
    const int use_wd = c->weight_decay != 0.0;
    const int mom_mode = c->momentum == 0.0 ? 0 : (c->first_step ? 1 : 3) + (c->nesterov != 0);
#define FG_SGD(w, m) FG_NAME(sgd_body)(p, g, buf, n, sign, wd, mom, omd, neg_lr, w, m)
    switch (use_wd * 8 + mom_mode) {
    case 0: FG_SGD(0, 0); break;
    case 1: FG_SGD(0, 1); break;
    case 2: FG_SGD(0, 2); break;
    case 3: FG_SGD(0, 3); break;
    case 4: FG_SGD(0, 4); break;
    case 8: FG_SGD(1, 0); break;
    case 9: FG_SGD(1, 1); break;
    case 10: FG_SGD(1, 2); break;
    case 11: FG_SGD(1, 3); break;
    default: FG_SGD(1, 4); break;
    }
#undef FG_SGD
}

fg_status FG_NAME(fg_sgd_step)(FG_T *param, const FG_T *grad, FG_T *momentum_buffer,
                               size_t n, const fg_sgd_coeffs *c)
{
    if (!c || (n && (!param || !grad))) return FG_ERR_ARG;
    if (n && c->momentum != 0.0 && !momentum_buffer) return FG_ERR_ARG;
    FG_NAME(sgd_loop)(param, grad, momentum_buffer, n, c);
    return FG_OK;
}

/* Returns nonzero if out_of_place and a new parameter is not finite, else 0:
 * the OR of the bits of p - p, which is +0 (all bits zero) exactly when p is
 * finite. Integer work in lanes as wide as FG_T, so it vectorizes without
 * repacking the lanes (an int OR of comparisons measured 30% slower here). */
FG_INLINE FG_UINT FG_NAME(adam_body)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                      const FG_T *FG_RESTRICT g,
                                      FG_T *FG_RESTRICT m, FG_T *FG_RESTRICT v,
                                      FG_T *FG_RESTRICT vmax, size_t n, const fg_adam_coeffs *c,
                                      const int wd_mode, const int amsgrad, const int small_w,
                                      const int out_of_place)
{
    /* wd_mode: 0 none, 1 coupled (Adam), 2 decoupled (AdamW); out_of_place:
     * read the parameters from src (p is only written), else p in place */
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, decay = (FG_T)c->decay_factor;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const FG_T beta2 = (FG_T)c->beta2, omb2 = (FG_T)c->one_minus_beta2;
    const FG_T bc2_sqrt = (FG_T)c->bc2_sqrt, eps = (FG_T)c->eps;
    const FG_T neg_ss = (FG_T)c->neg_step_size;
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        FG_T gi = sign * g[i];
        FG_T pi = out_of_place ? src[i] : p[i];
        if (wd_mode == 2) pi = pi * decay;
        if (wd_mode == 1) gi = FG_FMA(pi, wd, gi);
        FG_T mi = FG_LERP(m[i], gi, w, omw, small_w);
        FG_T vi = FG_FMA(gi, gi * omb2, v[i] * beta2);
        m[i] = mi;
        v[i] = vi;
        FG_T vv = vi;
        if (amsgrad) {
            FG_T vm = vmax[i] > vi ? vmax[i] : vi;
            vmax[i] = vm;
            vv = vm;
        }
        FG_T denom = FG_SQRT(vv) / bc2_sqrt + eps;
        const FG_T pn = pi + (neg_ss * mi) / denom;
        p[i] = pn;
        if (out_of_place) {
            const FG_T d = pn - pn;
            FG_UINT bits;
            memcpy(&bits, &d, sizeof bits);
            bad |= bits;
        }
    }
    return bad;
}

/* The option patterns of adam_body, one loop each (see the top of file);
 * src == NULL: in place. */
FG_VECTOR_CLONES
static FG_UINT FG_NAME(adam_loop)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                   const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT m,
                                   FG_T *FG_RESTRICT v, FG_T *FG_RESTRICT vmax, size_t n,
                                   const fg_adam_coeffs *c)
{
    const double w = c->lerp_weight;
    const int small_w = (w < 0 ? -w : w) < 0.5;
    const int wd_mode = c->weight_decay == 0.0 ? 0 : (c->decoupled ? 2 : 1);
    const int oop = src != NULL;
#define FG_ADAM(a, b, s, o) return FG_NAME(adam_body)(src, p, g, m, v, vmax, n, c, a, b, s, o)
    switch (oop * 12 + wd_mode * 4 + (c->amsgrad != 0) * 2 + small_w) {
    case 0: FG_ADAM(0, 0, 0, 0);
    case 1: FG_ADAM(0, 0, 1, 0);
    case 2: FG_ADAM(0, 1, 0, 0);
    case 3: FG_ADAM(0, 1, 1, 0);
    case 4: FG_ADAM(1, 0, 0, 0);
    case 5: FG_ADAM(1, 0, 1, 0);
    case 6: FG_ADAM(1, 1, 0, 0);
    case 7: FG_ADAM(1, 1, 1, 0);
    case 8: FG_ADAM(2, 0, 0, 0);
    case 9: FG_ADAM(2, 0, 1, 0);
    case 10: FG_ADAM(2, 1, 0, 0);
    case 11: FG_ADAM(2, 1, 1, 0);
    case 12: FG_ADAM(0, 0, 0, 1);
    case 13: FG_ADAM(0, 0, 1, 1);
    case 14: FG_ADAM(0, 1, 0, 1);
    case 15: FG_ADAM(0, 1, 1, 1);
    case 16: FG_ADAM(1, 0, 0, 1);
    case 17: FG_ADAM(1, 0, 1, 1);
    case 18: FG_ADAM(1, 1, 0, 1);
    case 19: FG_ADAM(1, 1, 1, 1);
    case 20: FG_ADAM(2, 0, 0, 1);
    case 21: FG_ADAM(2, 0, 1, 1);
    case 22: FG_ADAM(2, 1, 0, 1);
    default: FG_ADAM(2, 1, 1, 1);
    }
#undef FG_ADAM
}

fg_status FG_NAME(fg_adam_step)(FG_T *param, const FG_T *grad, FG_T *exp_avg,
                                FG_T *exp_avg_sq, FG_T *max_exp_avg_sq, size_t n,
                                const fg_adam_coeffs *c)
{
    if (!c || (n && (!param || !grad || !exp_avg || !exp_avg_sq))) return FG_ERR_ARG;
    if (n && c->amsgrad && !max_exp_avg_sq) return FG_ERR_ARG;
    FG_NAME(adam_loop)(NULL, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, c);
    return FG_OK;
}

fg_status FG_NAME(fg_adam_step_out)(const FG_T *param, FG_T *param_out, const FG_T *grad,
                                    FG_T *exp_avg, FG_T *exp_avg_sq, FG_T *max_exp_avg_sq,
                                    size_t n, const fg_adam_coeffs *c)
{
    if (!c || (n && (!param || !param_out || !grad || !exp_avg || !exp_avg_sq))) return FG_ERR_ARG;
    if (n && c->amsgrad && !max_exp_avg_sq) return FG_ERR_ARG;
    const FG_UINT bad = FG_NAME(adam_loop)(param, param_out, grad, exp_avg, exp_avg_sq,
                                            max_exp_avg_sq, n, c);
    return bad ? FG_ERR_NONFINITE : FG_OK;
}

FG_INLINE void FG_NAME(rmsprop_body)(FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g,
                                     FG_T *FG_RESTRICT s, FG_T *FG_RESTRICT buf,
                                     FG_T *FG_RESTRICT gbar, size_t n,
                                     const fg_rmsprop_coeffs *c, const int use_wd,
                                     const int centered, const int use_mom, const int small_w)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, alpha = (FG_T)c->alpha;
    const FG_T oma = (FG_T)c->one_minus_alpha;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const FG_T eps = (FG_T)c->eps, mom = (FG_T)c->momentum, neg_lr = (FG_T)(-c->lr);
    for (size_t i = 0; i < n; i++) {
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(p[i], wd, gi);
        FG_T si = FG_FMA(gi, gi * oma, s[i] * alpha);
        s[i] = si;
        FG_T avg;
        if (centered) {
            FG_T gb = FG_LERP(gbar[i], gi, w, omw, small_w);
            gbar[i] = gb;
            avg = FG_SQRT(FG_FMA(-gb, gb, si)) + eps;
        } else {
            avg = FG_SQRT(si) + eps;
        }
        if (use_mom) {
            FG_T b = buf[i] * mom + gi / avg;
            buf[i] = b;
            p[i] = FG_FMA(b, neg_lr, p[i]);
        } else {
            p[i] = p[i] + (neg_lr * gi) / avg;
        }
    }
}

FG_VECTOR_CLONES
static void FG_NAME(rmsprop_loop)(FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g,
                                  FG_T *FG_RESTRICT s, FG_T *FG_RESTRICT buf,
                                  FG_T *FG_RESTRICT gbar, size_t n, const fg_rmsprop_coeffs *c)
{
    const double w = c->lerp_weight;
    const int small_w = (w < 0 ? -w : w) < 0.5;
    const int key = (c->weight_decay != 0.0) * 8 + (c->centered != 0) * 4
                    + (c->momentum > 0.0) * 2 + small_w;
#define FG_RMS(a, b, d, e) FG_NAME(rmsprop_body)(p, g, s, buf, gbar, n, c, a, b, d, e)
    switch (key) {
    case 0: FG_RMS(0, 0, 0, 0); break;
    case 1: FG_RMS(0, 0, 0, 1); break;
    case 2: FG_RMS(0, 0, 1, 0); break;
    case 3: FG_RMS(0, 0, 1, 1); break;
    case 4: FG_RMS(0, 1, 0, 0); break;
    case 5: FG_RMS(0, 1, 0, 1); break;
    case 6: FG_RMS(0, 1, 1, 0); break;
    case 7: FG_RMS(0, 1, 1, 1); break;
    case 8: FG_RMS(1, 0, 0, 0); break;
    case 9: FG_RMS(1, 0, 0, 1); break;
    case 10: FG_RMS(1, 0, 1, 0); break;
    case 11: FG_RMS(1, 0, 1, 1); break;
    case 12: FG_RMS(1, 1, 0, 0); break;
    case 13: FG_RMS(1, 1, 0, 1); break;
    case 14: FG_RMS(1, 1, 1, 0); break;
    default: FG_RMS(1, 1, 1, 1); break;
    }
#undef FG_RMS
}

fg_status FG_NAME(fg_rmsprop_step)(FG_T *param, const FG_T *grad, FG_T *square_avg,
                                   FG_T *momentum_buffer, FG_T *grad_avg, size_t n,
                                   const fg_rmsprop_coeffs *c)
{
    if (!c || (n && (!param || !grad || !square_avg))) return FG_ERR_ARG;
    if (n && c->momentum > 0.0 && !momentum_buffer) return FG_ERR_ARG;
    if (n && c->centered && !grad_avg) return FG_ERR_ARG;
    FG_NAME(rmsprop_loop)(param, grad, square_avg, momentum_buffer, grad_avg, n, c);
    return FG_OK;
}

FG_INLINE void FG_NAME(adagrad_body)(FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g,
                                     FG_T *FG_RESTRICT sum, size_t n,
                                     const fg_adagrad_coeffs *c, const int use_wd)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, eps = (FG_T)c->eps;
    const FG_T neg_clr = (FG_T)c->neg_clr;
    for (size_t i = 0; i < n; i++) {
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(p[i], wd, gi);
        FG_T si = FG_FMA(gi, gi, sum[i]);
        sum[i] = si;
        p[i] = p[i] + (neg_clr * gi) / (FG_SQRT(si) + eps);
    }
}

FG_VECTOR_CLONES
static void FG_NAME(adagrad_loop)(FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g,
                                  FG_T *FG_RESTRICT sum, size_t n, const fg_adagrad_coeffs *c)
{
    if (c->weight_decay != 0.0)
        FG_NAME(adagrad_body)(p, g, sum, n, c, 1);
    else
        FG_NAME(adagrad_body)(p, g, sum, n, c, 0);
}

fg_status FG_NAME(fg_adagrad_step)(FG_T *param, const FG_T *grad, FG_T *state_sum,
                                   size_t n, const fg_adagrad_coeffs *c)
{
    if (!c || (n && (!param || !grad || !state_sum))) return FG_ERR_ARG;
    FG_NAME(adagrad_loop)(param, grad, state_sum, n, c);
    return FG_OK;
}

FG_VECTOR_CLONES
static int FG_NAME(finite_loop)(const FG_T *FG_RESTRICT x, size_t n)
{
    /* x - x is 0 for finite x and NaN for inf/NaN; an integer OR of the
     * comparisons is a reduction gcc vectorizes (a float sum would be a
     * serial chain without -fassociative-math). */
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= (x[i] - x[i]) != 0;
    return !bad;
}

int FG_NAME(fg_all_finite)(const FG_T *x, size_t n)
{
    if (n && !x) return 0;
    return FG_NAME(finite_loop)(x, n);
}

#undef FG_LERP
#undef FG_NAME
#undef FG_CAT
#undef FG_CAT2
