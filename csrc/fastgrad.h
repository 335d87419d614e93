/* fastgrad.h: the one header embedders include. fastgrad.get_include()
 * returns the folder holding it. It only includes the per-concern headers;
 * each of them documents its functions (formula, preconditions, status). */
#ifndef FASTGRAD_H
#define FASTGRAD_H

#define FASTGRAD_VERSION_MAJOR 0
#define FASTGRAD_VERSION_MINOR 1
#define FASTGRAD_VERSION_PATCH 0
#define FASTGRAD_VERSION "0.1.0"

/* The binary interface: incremented whenever a public struct's layout, a
 * function's signature or an op code (fg_ops.def) changes, so that an
 * embedder can refuse a core it was not built against:
 *     #if FASTGRAD_ABI_VERSION != 2
 *     #error "built against another fastgrad ABI"
 *     #endif
 * Python reads it as fastgrad._ops.ABI_VERSION. */
#define FASTGRAD_ABI_VERSION 2

#include "fg_status.h"
#include "fg_blas.h"
#include "fg_optimizer.h"
#include "fg_optim.h"
#include "fg_optim_many.h"
#include "fg_ops.h"
#include "fg_dual.h"
#include "fg_dual_grad.h"
#include "fg_objective.h"
#include "fg_fd.h"
#include "fg_minimize.h"
#include "fg_min_stochastic.h"
#include "fg_minimize_many.h"
#include "fg_tape.h"

#endif /* FASTGRAD_H */
