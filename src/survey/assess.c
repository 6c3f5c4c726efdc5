/* assess.c - identification and vulnerability assessment of survey observations (assess.h). */
#include "survey/assess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/jw.h"
#include "survey/ident_device.h"
#include "survey/recog.h"
#include "survey/vuln.h"

#define MAX_CVES 64

struct sv_assess {
    struct ident_db *ids;
    struct vuln_db *vulns;
};

int sv_assess_new(struct sv_assess **out)
{
    struct sv_assess *a = calloc(1, sizeof *a);
    if (!a)
        return BS_ENOMEM;
    if (ident_db_new(&a->ids) || vuln_db_new(&a->vulns)) {
        sv_assess_free(a);
        return BS_ENOMEM;
    }
    *out = a;
    return 0;
}

void sv_assess_free(struct sv_assess *a)
{
    if (!a)
        return;
    ident_db_free(a->ids);
    vuln_db_free(a->vulns);
    free(a);
}

int sv_assess_load_fingerprints(struct sv_assess *a, const char *dir, struct ident_diag *diag)
{
    return ident_db_load_dir(a->ids, dir, diag);
}

int sv_assess_load_kev(struct sv_assess *a, const char *path, struct ident_diag *diag)
{
    return vuln_db_load_kev(a->vulns, path, diag);
}

int sv_assess_load_nvd(struct sv_assess *a, const char *path, struct ident_diag *diag)
{
    return vuln_db_load_nvd(a->vulns, path, diag);
}

int sv_assess_load_curated(struct sv_assess *a, const char *path, struct ident_diag *diag)
{
    return vuln_db_load_curated(a->vulns, path, diag);
}

/* What a match says, for choosing among several: a CPE carrying a version beats a version,
 * which beats a vendor. */
static int informative(const struct recog_result *r)
{
    int s = 0;
    if (r->cpe[0]) {
        s += 4;
        /* "cpe:2.3:o:v:p:VERSION" or "cpe:/o:v:p:VERSION": a fifth field that is a value. */
        const char *p = r->cpe;
        int colons = 0;
        for (; *p && colons < (strncmp(r->cpe, "cpe:2.3:", 8) ? 4 : 5); p++)
            colons += *p == ':';
        if (*p && *p != '*' && *p != '-' && *p != ':')
            s += 8;
    }
    if (r->version[0])
        s += 2;
    if (r->vendor[0])
        s += 1;
    return s;
}

/* Skips "SSH-2.0-" or an FTP reply code: Recog matches the text after them. */
static const char *after_prefix(const char *s, const char *service)
{
    if (!strcmp(service, "ssh") && !strncmp(s, "SSH-", 4)) {
        const char *d = strchr(s + 4, '-');
        return d ? d + 1 : s;
    }
    if (!strcmp(service, "ftp") && strlen(s) > 4 && (s[3] == ' ' || s[3] == '-'))
        return s + 4;
    return s;
}

static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* One text to match under one Recog key. */
struct keyed {
    const char *key;
    const char *text;
};

int sv_assess_identify(void *ctx, const struct sv_obs *o, struct sv_ident *id)
{
    struct sv_assess *a = ctx;
    struct keyed in[10];
    size_t n = 0;
    const char *svc = o->service ? o->service : "";
    if (!strcmp(svc, "telnet") && o->banner[0])
        in[n++] = (struct keyed){"telnet.banner", o->banner};
    /* SSH and FTP: Recog's files match the text after "SSH-2.0-" or the reply code, some
     * curated ones the whole line: both are tried. */
    /* The SSH pre-login banner names the device (botscope's key, data/fingerprints); it goes
     * before the identification string, which names only the SSH server. */
    if (!strcmp(svc, "ssh") && o->ssh_banner[0])
        in[n++] = (struct keyed){"ssh.prelogin", o->ssh_banner};
    if (!strcmp(svc, "ssh") && o->banner[0]) {
        in[n++] = (struct keyed){"ssh.banner", o->banner};
        in[n++] = (struct keyed){"ssh.banner", after_prefix(o->banner, svc)};
    }
    if (!strcmp(svc, "ftp") && o->banner[0]) {
        in[n++] = (struct keyed){"ftp.banner", o->banner};
        in[n++] = (struct keyed){"ftp.banner", after_prefix(o->banner, svc)};
    }
    bool rtsp = !strcmp(svc, "rtsp");
    if (o->http_server[0])
        in[n++] =
            (struct keyed){rtsp ? "rtsp_header.server" : "http_header.server", o->http_server};
    if (o->http_title[0])
        in[n++] = (struct keyed){"html_title", o->http_title};
    if (o->http_wwwauth[0])
        in[n++] = (struct keyed){"http_header.wwwauth", o->http_wwwauth};
    if (o->tls_subject[0])
        in[n++] = (struct keyed){"x509.subject", o->tls_subject};
    if (o->has_favicon)
        in[n++] = (struct keyed){"favicon.md5", o->favicon_md5};
    /* Large (params and summaries): kept off the stack. The engine is single-threaded. */
    static _Thread_local struct recog_result cur;
    static _Thread_local struct ident_device dev;
    ident_device_init(&dev);
    int best_score = -1;
    for (size_t i = 0; i < n; i++) {
        if (recog_match(a->ids, in[i].key, in[i].text, strlen(in[i].text), &cur) != 1)
            continue;
        /* Every answer adds to the device's identity (the most certain value of each field,
         * every distinct CPE); the most informative one names the CPE reported. */
        ident_device_add(&dev, &cur);
        int sc = informative(&cur);
        if (sc > best_score) {
            best_score = sc;
            copy(id->cpe, sizeof id->cpe, cur.cpe);
        }
    }
    if (best_score < 0)
        return BS_ENOTFOUND;
    copy(id->vendor, sizeof id->vendor, dev.vendor);
    copy(id->product, sizeof id->product, dev.product);
    copy(id->version, sizeof id->version, dev.version);
    copy(id->device_type, sizeof id->device_type, dev.device);
    if (dev.ncpe)
        copy(id->cpe, sizeof id->cpe, dev.cpe[0]);
    snprintf(id->cves, sizeof id->cves, "[]");
    struct vuln_target t;
    ident_device_target(&dev, &t);
    struct vuln_finding f[MAX_CVES];
    size_t nf = 0;
    if (!t.ncpe || vuln_match(a->vulns, &t, f, MAX_CVES, &nf))
        return 0;
    if (nf > MAX_CVES)
        nf = MAX_CVES;
    /* The high-risk ids as a JSON array, as many as fit the field whole (ids are checked
     * CVE-YYYY-NNNN text when the databases load: no escapes, so the room is exact). */
    struct buf b = BUF_INIT(sizeof id->cves - 1);
    struct jw w;
    jw_init(&w, &b);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < nf; i++) {
        if (!f[i].high_risk)
            continue;
        if (b.len + strlen(f[i].cve) + 4 > sizeof id->cves - 1) /* ,"id" and the ] */
            break;
        jw_str(&w, NULL, f[i].cve);
        id->vulnerable = true;
    }
    int rc = jw_finish(&w);
    snprintf(id->cves, sizeof id->cves, "%s", rc ? "[]" : b.data);
    id->vulnerable &= !rc;
    buf_release(&b);
    return 0;
}

/* Factory credentials that vendors document in their manuals (and botnets try first). */
static const struct {
    const char *vendor;
    const char *user, *pass;
} vendor_defaults[] = {
    {"hikvision", "admin", "12345"},  {"dahua", "admin", "admin"},
    {"dahua", "888888", "888888"},    {"xiongmai", "root", "xc3511"},
    {"zte", "root", "Zte521"},        {"zte", "admin", "admin"},
    {"huawei", "root", "admin"},      {"huawei", "telecomadmin", "admintelecom"},
    {"tp-link", "admin", "admin"},    {"d-link", "admin", ""},
    {"ubiquiti", "ubnt", "ubnt"},     {"mikrotik", "admin", ""},
    {"netgear", "admin", "password"}, {"tenda", "admin", "admin"},
};

size_t sv_assess_default_creds(void *ctx, const struct sv_ident *id, struct sv_cred *out,
                               size_t max)
{
    (void)ctx;
    size_t n = 0;
    if (!id->vendor[0])
        return 0;
    for (size_t i = 0; i < sizeof vendor_defaults / sizeof vendor_defaults[0] && n < max; i++)
        if (strcasestr(id->vendor, vendor_defaults[i].vendor)) {
            snprintf(out[n].user, sizeof out[n].user, "%s", vendor_defaults[i].user);
            snprintf(out[n].pass, sizeof out[n].pass, "%s", vendor_defaults[i].pass);
            out[n].index = 0;
            n++;
        }
    return n;
}
