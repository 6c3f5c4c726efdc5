#include "core/err.h"

#include <string.h>

const char *bs_strerror(int err)
{
    switch (err) {
    case BS_OK:
        return "success";
    case BS_ETRUNC:
        return "truncated input";
    case BS_EMALFORMED:
        return "malformed input";
    case BS_EVERSION:
        return "unsupported version";
    case BS_ENOTEMPLATE:
        return "no template for data set";
    case BS_ELIMIT:
        return "limit reached";
    case BS_ENOMEM:
        return "out of memory";
    case BS_EPARSE:
        return "parse error";
    case BS_ENOTFOUND:
        return "not found";
    case BS_EEXIST:
        return "already exists";
    case BS_EIO:
        return "I/O error";
    case BS_ECORRUPT:
        return "corrupt data";
    case BS_EUSAGE:
        return "usage error";
    case BS_EUNSUPPORTED:
        return "unsupported";
    case BS_ESTOP:
        return "stopped";
    default:
        break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err); /* strerror is fine: called from the CLI thread only */
    return "unknown error";
}
