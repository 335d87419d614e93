/* fg_optim_body.h: the optimizer step kernels, written once and included
 * twice by fg_optim.c, with FG_T = double / float, FG_SUFFIX = f64 / f32,
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

FG_VECTOR_CLONES
static void FG_NAME(sgd_loop)(FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g,
                              FG_T *FG_RESTRICT buf, size_t n, FG_T sign, FG_T wd,
                              FG_T mom, FG_T omd, FG_T neg_lr, int use_wd, int use_mom,
                              int first, int nesterov)
{
    /* One loop per option pattern would be faster to compile-read but the
     * flags are loop-invariant; gcc unswitches them at -O3. */
    for (size_t i = 0; i < n; i++) {
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(p[i], wd, gi);
        FG_T d = gi;
        if (use_mom) {
            FG_T b = first ? gi : FG_FMA(gi, omd, buf[i] * mom);
            buf[i] = b;
            d = nesterov ? FG_FMA(b, mom, gi) : b;
        }
        p[i] = FG_FMA(d, neg_lr, p[i]);
    }
}

fg_status FG_NAME(fg_sgd_step)(FG_T *param, const FG_T *grad, FG_T *momentum_buffer,
                               size_t n, const fg_sgd_coeffs *c)
{
    if (!c || (n && (!param || !grad))) return FG_ERR_ARG;
    int use_mom = c->momentum != 0.0;
    if (n && use_mom && !momentum_buffer) return FG_ERR_ARG;
    FG_NAME(sgd_loop)(param, grad, momentum_buffer, n, c->maximize ? (FG_T)-1 : (FG_T)1,
                      (FG_T)c->weight_decay, (FG_T)c->momentum, (FG_T)c->one_minus_dampening,
                      (FG_T)(-c->lr), c->weight_decay != 0.0, use_mom, c->first_step,
                      c->nesterov);
    return FG_OK;
}

FG_VECTOR_CLONES
static void FG_NAME(adam_loop)(FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g,
                               FG_T *FG_RESTRICT m, FG_T *FG_RESTRICT v,
                               FG_T *FG_RESTRICT vmax, size_t n, const fg_adam_coeffs *c)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, decay = (FG_T)c->decay_factor;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const int small_w = (w < 0 ? -w : w) < (FG_T)0.5;
    const FG_T beta2 = (FG_T)c->beta2, omb2 = (FG_T)c->one_minus_beta2;
    const FG_T bc2_sqrt = (FG_T)c->bc2_sqrt, eps = (FG_T)c->eps;
    const FG_T neg_ss = (FG_T)c->neg_step_size;
    const int coupled = c->weight_decay != 0.0 && !c->decoupled;
    const int decoupled = c->weight_decay != 0.0 && c->decoupled;
    const int amsgrad = c->amsgrad;
    for (size_t i = 0; i < n; i++) {
        FG_T gi = sign * g[i];
        FG_T pi = p[i];
        if (decoupled) pi = pi * decay;
        if (coupled) gi = FG_FMA(pi, wd, gi);
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
        p[i] = pi + (neg_ss * mi) / denom;
    }
}

fg_status FG_NAME(fg_adam_step)(FG_T *param, const FG_T *grad, FG_T *exp_avg,
                                FG_T *exp_avg_sq, FG_T *max_exp_avg_sq, size_t n,
                                const fg_adam_coeffs *c)
{
    if (!c || (n && (!param || !grad || !exp_avg || !exp_avg_sq))) return FG_ERR_ARG;
    if (n && c->amsgrad && !max_exp_avg_sq) return FG_ERR_ARG;
    FG_NAME(adam_loop)(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, c);
    return FG_OK;
}

FG_VECTOR_CLONES
static void FG_NAME(rmsprop_loop)(FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g,
                                  FG_T *FG_RESTRICT s, FG_T *FG_RESTRICT buf,
                                  FG_T *FG_RESTRICT gbar, size_t n, const fg_rmsprop_coeffs *c)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, alpha = (FG_T)c->alpha;
    const FG_T oma = (FG_T)c->one_minus_alpha;
    const FG_T w = (FG_T)c->lerp_weight, omw = (FG_T)1 - w;
    const int small_w = (w < 0 ? -w : w) < (FG_T)0.5;
    const FG_T eps = (FG_T)c->eps, mom = (FG_T)c->momentum, neg_lr = (FG_T)(-c->lr);
    const int use_wd = c->weight_decay != 0.0, centered = c->centered;
    const int use_mom = c->momentum > 0.0;
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

FG_VECTOR_CLONES
static void FG_NAME(adagrad_loop)(FG_T *FG_RESTRICT p, const FG_T *FG_RESTRICT g,
                                  FG_T *FG_RESTRICT sum, size_t n, const fg_adagrad_coeffs *c)
{
    const FG_T sign = c->maximize ? (FG_T)-1 : (FG_T)1;
    const FG_T wd = (FG_T)c->weight_decay, eps = (FG_T)c->eps;
    const FG_T neg_clr = (FG_T)c->neg_clr;
    const int use_wd = c->weight_decay != 0.0;
    for (size_t i = 0; i < n; i++) {
        FG_T gi = sign * g[i];
        if (use_wd) gi = FG_FMA(p[i], wd, gi);
        FG_T si = FG_FMA(gi, gi, sum[i]);
        sum[i] = si;
        p[i] = p[i] + (neg_clr * gi) / (FG_SQRT(si) + eps);
    }
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
    /* x*0 is 0 for finite x and NaN for inf/NaN; summing keeps the loop
     * branch-free and vectorizable. */
    FG_T acc = 0;
    for (size_t i = 0; i < n; i++) acc += x[i] * (FG_T)0;
    return acc == acc;
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
