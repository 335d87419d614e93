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
 * Adam ran at 8 ns/element instead of 1.)
 *
 * Every kernel also runs out of place (the *_step_out functions): the body
 * reads the parameters from src and writes p, and ORs the bits of p - p
 * into its return value (+0, all bits zero, exactly when p is finite;
 * integer work in lanes as wide as FG_T, so it vectorizes without repacking
 * lanes: an int OR of comparisons measured 30% slower). In place, src is
 * unused and the body returns 0. The loops' switches are written once and
 * expanded for both (FG_BOTH_WAYS). */
#define FG_PARAM_IN(i) (oop ? src[i] : p[i])
#define FG_PARAM_OUT(i, value)                                                 \
    do {                                                                       \
        const FG_T pn_ = (value);                                              \
        p[i] = pn_;                                                            \
        if (oop) {                                                             \
            const FG_T d_ = pn_ - pn_;                                         \
            FG_UINT bits_;                                                     \
            memcpy(&bits_, &d_, sizeof bits_);                                 \
            bad |= bits_;                                                      \
        }                                                                      \
    } while (0)
#define FG_BOTH_WAYS(CASES)                                                    \
    if (src) { CASES(1) } else { CASES(0) }

FG_INLINE FG_UINT FG_NAME(sgd_body)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                    const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT buf,
                                    size_t n, FG_T sign, FG_T wd, FG_T mom, FG_T omd,
                                    FG_T neg_lr, const int use_wd, const int mom_mode,
                                    const int oop)
{
    /* mom_mode: 0 none, 1 first step, 2 first step Nesterov, 3 later, 4 later Nesterov */
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(pi, wd, gi);
        FG_T d = gi;
        if (mom_mode) {
            FG_T b = (mom_mode <= 2) ? gi : FG_FMA(gi, omd, buf[i] * mom);
            buf[i] = b;
            d = (mom_mode == 2 || mom_mode == 4) ? FG_FMA(b, mom, gi) : b;
        }
        FG_PARAM_OUT(i, FG_FMA(d, neg_lr, pi));
    }
    return bad;
}

FG_VECTOR_CLONES
static FG_UINT FG_NAME(sgd_loop)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                 const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT buf, size_t n,
                                 const fg_sgd_coeffs *c)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, mom = (FG_T)c->momentum;
    const FG_T omd = (FG_T)c->one_minus_dampening, neg_lr = (FG_T)(-c->lr);
    const int use_wd = c->weight_decay != 0.0;
    const int mom_mode = c->momentum == 0.0 ? 0 : (c->first_step ? 1 : 3) + (c->nesterov != 0);
#define FG_SGD(w, m, o) \
    return FG_NAME(sgd_body)(src, p, g, buf, n, sign, wd, mom, omd, neg_lr, w, m, o)
#define FG_SGD_CASES(o)                                                        \
    switch (use_wd * 8 + mom_mode) {                                           \
    case 0: FG_SGD(0, 0, o);                                                   \
    case 1: FG_SGD(0, 1, o);                                                   \
    case 2: FG_SGD(0, 2, o);                                                   \
    case 3: FG_SGD(0, 3, o);                                                   \
    case 4: FG_SGD(0, 4, o);                                                   \
    case 8: FG_SGD(1, 0, o);                                                   \
    case 9: FG_SGD(1, 1, o);                                                   \
    case 10: FG_SGD(1, 2, o);                                                  \
    case 11: FG_SGD(1, 3, o);                                                  \
    default: FG_SGD(1, 4, o);                                                  \
    }
    FG_BOTH_WAYS(FG_SGD_CASES)
#undef FG_SGD_CASES
#undef FG_SGD
}

fg_status FG_NAME(fg_sgd_step)(FG_T *param, const FG_T *grad, FG_T *momentum_buffer,
                               size_t n, const fg_sgd_coeffs *c)
{
    if (!c || (n && (!param || !grad))) return FG_ERR_ARG;
    if (n && c->momentum != 0.0 && !momentum_buffer) return FG_ERR_ARG;
    FG_NAME(sgd_loop)(NULL, param, grad, momentum_buffer, n, c);
    return FG_OK;
}

fg_status FG_NAME(fg_sgd_step_out)(const FG_T *param, FG_T *param_out, const FG_T *grad,
                                   FG_T *momentum_buffer, size_t n, const fg_sgd_coeffs *c)
{
    if (!c || (n && (!param || !param_out || !grad))) return FG_ERR_ARG;
    if (n && c->momentum != 0.0 && !momentum_buffer) return FG_ERR_ARG;
    return FG_NAME(sgd_loop)(param, param_out, grad, momentum_buffer, n, c) ? FG_ERR_NONFINITE
                                                                           : FG_OK;
}

FG_INLINE FG_UINT FG_NAME(adam_body)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                      const FG_T *FG_RESTRICT g,
                                      FG_T *FG_RESTRICT m, FG_T *FG_RESTRICT v,
                                      FG_T *FG_RESTRICT vmax, size_t n, const fg_adam_coeffs *c,
                                      const int wd_mode, const int amsgrad, const int small_w,
                                      const int oop)
{
    /* wd_mode: 0 none, 1 coupled (Adam), 2 decoupled (AdamW) */
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, decay = (FG_T)c->decay_factor;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const FG_T beta2 = (FG_T)c->beta2, omb2 = (FG_T)c->one_minus_beta2;
    const FG_T bc2_sqrt = (FG_T)c->bc2_sqrt, eps = (FG_T)c->eps;
    const FG_T neg_ss = (FG_T)c->neg_step_size;
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        FG_T gi = sign * g[i];
        FG_T pi = FG_PARAM_IN(i);
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
        FG_PARAM_OUT(i, pi + (neg_ss * mi) / denom);
    }
    return bad;
}

FG_VECTOR_CLONES
static FG_UINT FG_NAME(adam_loop)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                  const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT m,
                                  FG_T *FG_RESTRICT v, FG_T *FG_RESTRICT vmax, size_t n,
                                  const fg_adam_coeffs *c)
{
    const double w = c->lerp_weight;
    const int small_w = (w < 0 ? -w : w) < 0.5;
    const int wd_mode = c->weight_decay == 0.0 ? 0 : (c->decoupled ? 2 : 1);
#define FG_ADAM(a, b, s, o) return FG_NAME(adam_body)(src, p, g, m, v, vmax, n, c, a, b, s, o)
#define FG_ADAM_CASES(o)                                                       \
    switch (wd_mode * 4 + (c->amsgrad != 0) * 2 + small_w) {                   \
    case 0: FG_ADAM(0, 0, 0, o);                                               \
    case 1: FG_ADAM(0, 0, 1, o);                                               \
    case 2: FG_ADAM(0, 1, 0, o);                                               \
    case 3: FG_ADAM(0, 1, 1, o);                                               \
    case 4: FG_ADAM(1, 0, 0, o);                                               \
    case 5: FG_ADAM(1, 0, 1, o);                                               \
    case 6: FG_ADAM(1, 1, 0, o);                                               \
    case 7: FG_ADAM(1, 1, 1, o);                                               \
    case 8: FG_ADAM(2, 0, 0, o);                                               \
    case 9: FG_ADAM(2, 0, 1, o);                                               \
    case 10: FG_ADAM(2, 1, 0, o);                                              \
    default: FG_ADAM(2, 1, 1, o);                                              \
    }
    FG_BOTH_WAYS(FG_ADAM_CASES)
#undef FG_ADAM_CASES
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

FG_INLINE FG_UINT FG_NAME(rmsprop_body)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                        const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT s,
                                        FG_T *FG_RESTRICT buf, FG_T *FG_RESTRICT gbar,
                                        size_t n, const fg_rmsprop_coeffs *c,
                                        const int use_wd, const int centered,
                                        const int use_mom, const int small_w, const int oop)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, alpha = (FG_T)c->alpha;
    const FG_T oma = (FG_T)c->one_minus_alpha;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const FG_T eps = (FG_T)c->eps, mom = (FG_T)c->momentum, neg_lr = (FG_T)(-c->lr);
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(pi, wd, gi);
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
            FG_PARAM_OUT(i, FG_FMA(b, neg_lr, pi));
        } else {
            FG_PARAM_OUT(i, pi + (neg_lr * gi) / avg);
        }
    }
    return bad;
}

FG_VECTOR_CLONES
static FG_UINT FG_NAME(rmsprop_loop)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                     const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT s,
                                     FG_T *FG_RESTRICT buf, FG_T *FG_RESTRICT gbar, size_t n,
                                     const fg_rmsprop_coeffs *c)
{
    const double w = c->lerp_weight;
    const int small_w = (w < 0 ? -w : w) < 0.5;
    const int key = (c->weight_decay != 0.0) * 8 + (c->centered != 0) * 4
                    + (c->momentum > 0.0) * 2 + small_w;
#define FG_RMS(a, b, d, e, o) \
    return FG_NAME(rmsprop_body)(src, p, g, s, buf, gbar, n, c, a, b, d, e, o)
#define FG_RMS_CASES(o)                                                        \
    switch (key) {                                                             \
    case 0: FG_RMS(0, 0, 0, 0, o);                                             \
    case 1: FG_RMS(0, 0, 0, 1, o);                                             \
    case 2: FG_RMS(0, 0, 1, 0, o);                                             \
    case 3: FG_RMS(0, 0, 1, 1, o);                                             \
    case 4: FG_RMS(0, 1, 0, 0, o);                                             \
    case 5: FG_RMS(0, 1, 0, 1, o);                                             \
    case 6: FG_RMS(0, 1, 1, 0, o);                                             \
    case 7: FG_RMS(0, 1, 1, 1, o);                                             \
    case 8: FG_RMS(1, 0, 0, 0, o);                                             \
    case 9: FG_RMS(1, 0, 0, 1, o);                                             \
    case 10: FG_RMS(1, 0, 1, 0, o);                                            \
    case 11: FG_RMS(1, 0, 1, 1, o);                                            \
    case 12: FG_RMS(1, 1, 0, 0, o);                                            \
    case 13: FG_RMS(1, 1, 0, 1, o);                                            \
    case 14: FG_RMS(1, 1, 1, 0, o);                                            \
    default: FG_RMS(1, 1, 1, 1, o);                                            \
    }
    FG_BOTH_WAYS(FG_RMS_CASES)
#undef FG_RMS_CASES
#undef FG_RMS
}

fg_status FG_NAME(fg_rmsprop_step)(FG_T *param, const FG_T *grad, FG_T *square_avg,
                                   FG_T *momentum_buffer, FG_T *grad_avg, size_t n,
                                   const fg_rmsprop_coeffs *c)
{
    if (!c || (n && (!param || !grad || !square_avg))) return FG_ERR_ARG;
    if (n && c->momentum > 0.0 && !momentum_buffer) return FG_ERR_ARG;
    if (n && c->centered && !grad_avg) return FG_ERR_ARG;
    FG_NAME(rmsprop_loop)(NULL, param, grad, square_avg, momentum_buffer, grad_avg, n, c);
    return FG_OK;
}

fg_status FG_NAME(fg_rmsprop_step_out)(const FG_T *param, FG_T *param_out, const FG_T *grad,
                                       FG_T *square_avg, FG_T *momentum_buffer,
                                       FG_T *grad_avg, size_t n, const fg_rmsprop_coeffs *c)
{
    if (!c || (n && (!param || !param_out || !grad || !square_avg))) return FG_ERR_ARG;
    if (n && c->momentum > 0.0 && !momentum_buffer) return FG_ERR_ARG;
    if (n && c->centered && !grad_avg) return FG_ERR_ARG;
    return FG_NAME(rmsprop_loop)(param, param_out, grad, square_avg, momentum_buffer, grad_avg,
                                 n, c) ? FG_ERR_NONFINITE : FG_OK;
}

FG_INLINE FG_UINT FG_NAME(adagrad_body)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                        const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT sum,
                                        size_t n, const fg_adagrad_coeffs *c, const int use_wd,
                                        const int oop)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, eps = (FG_T)c->eps;
    const FG_T neg_clr = (FG_T)c->neg_clr;
    FG_UINT bad = 0;
    for (size_t i = 0; i < n; i++) {
        const FG_T pi = FG_PARAM_IN(i);
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(pi, wd, gi);
        FG_T si = FG_FMA(gi, gi, sum[i]);
        sum[i] = si;
        FG_PARAM_OUT(i, pi + (neg_clr * gi) / (FG_SQRT(si) + eps));
    }
    return bad;
}

FG_VECTOR_CLONES
static FG_UINT FG_NAME(adagrad_loop)(const FG_T *FG_RESTRICT src, FG_T *FG_RESTRICT p,
                                     const FG_T *FG_RESTRICT g, FG_T *FG_RESTRICT sum,
                                     size_t n, const fg_adagrad_coeffs *c)
{
#define FG_ADAGRAD_CASES(o)                                                    \
    if (c->weight_decay != 0.0) return FG_NAME(adagrad_body)(src, p, g, sum, n, c, 1, o); \
    return FG_NAME(adagrad_body)(src, p, g, sum, n, c, 0, o);
    FG_BOTH_WAYS(FG_ADAGRAD_CASES)
#undef FG_ADAGRAD_CASES
}

fg_status FG_NAME(fg_adagrad_step)(FG_T *param, const FG_T *grad, FG_T *state_sum,
                                   size_t n, const fg_adagrad_coeffs *c)
{
    if (!c || (n && (!param || !grad || !state_sum))) return FG_ERR_ARG;
    FG_NAME(adagrad_loop)(NULL, param, grad, state_sum, n, c);
    return FG_OK;
}

fg_status FG_NAME(fg_adagrad_step_out)(const FG_T *param, FG_T *param_out, const FG_T *grad,
                                       FG_T *state_sum, size_t n, const fg_adagrad_coeffs *c)
{
    if (!c || (n && (!param || !param_out || !grad || !state_sum))) return FG_ERR_ARG;
    return FG_NAME(adagrad_loop)(param, param_out, grad, state_sum, n, c) ? FG_ERR_NONFINITE
                                                                          : FG_OK;
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
#undef FG_PARAM_IN
#undef FG_PARAM_OUT
#undef FG_BOTH_WAYS
#undef FG_NAME
#undef FG_CAT
#undef FG_CAT2
