/* fg_status.h: the one status code every fastgrad C function returns.
 *
 * Naming rule for the whole C API: fg_<family>_<verb>_<dtype>, with the dtype
 * suffix spelled out as f64 (double) or f32 (float), e.g. fg_adam_step_f64.
 */
#ifndef FASTGRAD_STATUS_H
#define FASTGRAD_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Codes are explicit and never reused, so embedders may store them. */
typedef enum fg_status {
    FG_OK = 0,              /* success */
    FG_ERR_ARG = 1,         /* an argument is invalid (NULL pointer, bad hyperparameter) */
    FG_ERR_NOMEM = 2,       /* an allocation failed */
    FG_ERR_NONFINITE = 3,   /* a NaN or infinity was found where it is not allowed */
    FG_ERR_SHAPE = 4,       /* sizes or shapes do not agree */
    FG_ERR_UNSUPPORTED = 5, /* the operation or option is not supported */
    FG_ERR_THREAD = 6,      /* a worker thread could not be started */
    FG_ERR_CALLBACK = 8,    /* a user callback asked to stop or failed */
    FG_STATUS_COUNT
} fg_status;

/* A static, human-readable message for a status code (never NULL). */
const char *fg_status_message(fg_status status);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_STATUS_H */
