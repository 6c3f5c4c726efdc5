#include "core/flow.h"

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/flow_field.h"

const char *flow_version_name(unsigned version)
{
    switch (version) {
    case FLOW_V5:
        return "5";
    case FLOW_V9:
        return "9";
    case FLOW_IPFIX:
        return "10";
    case FLOW_SFLOW5:
        return "sflow5";
    default:
        return "unknown";
    }
}

int flow_to_ndjson(const struct flow_rec *r, struct buf *b)
{
    int rc = buf_putc(b, '{');
    bool first = true;
    for (size_t i = 0; i < FLOW_F_COUNT && !rc; i++) {
        const struct flow_field *f = &flow_fields[i];
        if (!flow_field_present(f, r))
            continue;
        rc = buf_printf(b, first ? "\"%s\":" : ",\"%s\":", f->name);
        if (!rc)
            rc = flow_field_put_json(f, r, b);
        first = false;
    }
    return rc ? rc : buf_puts(b, "}\n");
}
