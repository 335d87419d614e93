#include "fg_status.h"

const char *fg_status_message(fg_status status)
{
    switch (status) {
    case FG_OK: return "success";
    case FG_ERR_ARG: return "invalid argument";
    case FG_ERR_NOMEM: return "out of memory";
    case FG_ERR_NONFINITE: return "non-finite value (NaN or infinity)";
    case FG_ERR_SHAPE: return "sizes or shapes do not agree";
    case FG_ERR_UNSUPPORTED: return "operation not supported";
    case FG_ERR_THREAD: return "could not start a worker thread";
    case FG_ERR_CALLBACK: return "stopped by a callback";
    default: return "unknown fastgrad status";
    }
}
