/* out.c - NDJSON and CSV lines for findings (out.h). */
#include "survey/out.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/jw.h"

int sv_out_ndjson(struct buf *b, const struct sv_finding *f)
{
    struct jw w;
    jw_open(&w, b);
    jw_ip(&w, "addr", &f->addr);
    jw_u64(&w, "port", f->port);
    jw_str(&w, "service", f->service);
    jw_str(&w, "finding", sv_finding_name(f->kind));
    const struct sv_ident *id = f->id;
    jw_str(&w, "vendor", id ? id->vendor : "");
    jw_str(&w, "product", id ? id->product : "");
    jw_str(&w, "version", id ? id->version : "");
    jw_str(&w, "cpe", id ? id->cpe : "");
    jw_raw(&w, "cves", id && id->cves[0] ? id->cves : "[]");
    jw_raw(&w, "evidence", f->evidence[0] ? f->evidence : "{}");
    jw_u64(&w, "time_ms", f->time_ms);
    return jw_close(&w);
}

int sv_out_csv_header(struct buf *b)
{
    return buf_puts(b, "addr,port,service,finding,vendor,product,version,cves,evidence\n");
}

/* One CSV field, quoted when it holds a comma, quote or line break. */
static void field(struct buf *b, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        buf_putc(b, '"');
        for (; *s; s++) {
            if (*s == '"')
                buf_putc(b, '"');
            buf_putc(b, *s);
        }
        buf_putc(b, '"');
    } else {
        buf_puts(b, s);
    }
    buf_putc(b, last ? '\n' : ',');
}

int sv_out_csv(struct buf *b, const struct sv_finding *f)
{
    size_t before = b->len;
    char addr[IPADDR_STRLEN], port[8], cves[512] = "";
    ipaddr_format(&f->addr, addr, sizeof addr);
    int n = snprintf(port, sizeof port, "%u", f->port);
    (void)n;
    const struct sv_ident *id = f->id;
    /* cves: the JSON array ["CVE-1","CVE-2"] becomes CVE-1;CVE-2. */
    if (id) {
        size_t o = 0;
        for (const char *s = id->cves; *s && o + 1 < sizeof cves; s++) {
            if (*s == '[' || *s == ']' || *s == '"' || *s == ' ')
                continue;
            cves[o++] = *s == ',' ? ';' : *s;
        }
        cves[o] = '\0';
    }
    field(b, addr, false);
    field(b, port, false);
    field(b, f->service, false);
    field(b, sv_finding_name(f->kind), false);
    field(b, id ? id->vendor : "", false);
    field(b, id ? id->product : "", false);
    field(b, id ? id->version : "", false);
    field(b, cves, false);
    field(b, f->evidence[0] ? f->evidence : "{}", true);
    if (b->len == before)
        return BS_ELIMIT;
    return 0;
}
