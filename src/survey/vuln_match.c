/* vuln_match.c - which loaded CVEs apply to a device (the rules are in vuln.h). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "survey/vercmp.h"
#include "survey/vuln.h"
#include "survey/vuln_int.h"

uint64_t vuln_cpe_key(const struct cpe *c)
{
    if (c->kind[CPE_VENDOR] != CPE_VALUE || c->kind[CPE_PRODUCT] != CPE_VALUE)
        return 0;
    const char *v = c->val[CPE_VENDOR], *p = c->val[CPE_PRODUCT];
    if (strpbrk(v, "*?") || strpbrk(p, "*?"))
        return 0;
    uint64_t h = hash_bytes(v, strlen(v), 0x76656e);
    h = hash_bytes(p, strlen(p), h);
    return h ? h : 1;
}

/* One target CPE, parsed once per vuln_match() call. */
struct vm_target {
    struct cpe c;
    char version[CPE_VALUE_MAX]; /* unquoted; "" when ANY or NA */
    uint64_t key;
};

struct vm_ctx {
    const struct vm_target *t;
    size_t nt;
    bool has_part[3]; /* a, o, h */
};

static int vm_part_index(const struct cpe *c)
{
    if (c->kind[CPE_PART] != CPE_VALUE)
        return -1;
    switch (c->val[CPE_PART][0]) {
    case 'a':
        return 0;
    case 'o':
        return 1;
    case 'h':
        return 2;
    default:
        return -1;
    }
}

/* Is the target's version inside the entry's bounds, or equal to its single version? */
static bool vm_version_ok(const struct vuln_cm *cm, const struct cpe *pc, const struct vm_target *t)
{
    bool bounded = false;
    for (int b = 0; b < VULN_NB; b++)
        bounded |= cm->bound[b] != NULL;
    if (bounded) {
        if (!t->version[0])
            return false; /* an unknown version is never inside a range */
        const char *v = t->version;
        if (cm->bound[VULN_B_SI] && vercmp(v, cm->bound[VULN_B_SI]) < 0)
            return false;
        if (cm->bound[VULN_B_SE] && vercmp(v, cm->bound[VULN_B_SE]) <= 0)
            return false;
        if (cm->bound[VULN_B_EI] && vercmp(v, cm->bound[VULN_B_EI]) > 0)
            return false;
        if (cm->bound[VULN_B_EE] && vercmp(v, cm->bound[VULN_B_EE]) >= 0)
            return false;
        /* Bounds normally come with version ANY; a fixed version as well must also hold. */
        if (pc->kind[CPE_VERSION] != CPE_VALUE)
            return true;
    }
    /* ANY and NA ("-": no version distinction) cover every version, even an unknown one. */
    if (pc->kind[CPE_VERSION] != CPE_VALUE)
        return true;
    if (!t->version[0])
        return false;
    if (strpbrk(pc->val[CPE_VERSION], "*?")) {
        enum cpe_rel r = cpe_compare_attr(pc, &t->c, CPE_VERSION);
        return r == CPE_EQUAL || r == CPE_SUPERSET;
    }
    char pv[CPE_VALUE_MAX];
    if (cpe_get(pc, CPE_VERSION, pv, sizeof(pv)) < 0)
        return false;
    return vercmp(t->version, pv) == 0;
}

/* Does the entry hold for the device? assume_unknown: a platform the device says nothing
 * about counts as present (not in negated nodes, where it would turn into "absent"). */
static bool vm_cm_holds(const struct vm_ctx *x, const struct vuln_cm *cm, bool assume_unknown)
{
    struct cpe pc;
    if (cpe_parse(&pc, cm->criteria, strlen(cm->criteria)) != 0)
        return false; /* checked at load; cannot happen */
    for (size_t i = 0; i < x->nt; i++) {
        const struct vm_target *t = &x->t[i];
        if (cm->key && t->key && cm->key != t->key)
            continue;
        bool ok = true;
        for (int a = 0; a < CPE_NATTR && ok; a++) {
            if (a == CPE_VERSION)
                continue;
            enum cpe_rel r = cpe_compare_attr(&pc, &t->c, (enum cpe_attr)a);
            ok = r == CPE_EQUAL || r == CPE_SUPERSET;
        }
        if (ok && vm_version_ok(cm, &pc, t))
            return true;
    }
    /* A platform entry (not vulnerable) the device says nothing about: if the device names no
     * CPE of that part (typically no hardware CPE), it is not held against the match. */
    if (!cm->vulnerable && assume_unknown) {
        int pi = vm_part_index(&pc);
        if (pi >= 0 && !x->has_part[pi])
            return true;
    }
    return false;
}

/* Evaluates a node; *vuln_hit receives the first vulnerable entry that held. */
static bool vm_node_holds(const struct vm_ctx *x, const struct vuln_cve *c,
                          const struct vuln_node *n, const struct vuln_cm **vuln_hit)
{
    bool acc = n->op_and;
    const struct vuln_cm *hit = NULL;
    for (size_t i = n->first; i < n->first + n->n; i++) {
        const struct vuln_cm *cm = &c->cms[i];
        bool h = vm_cm_holds(x, cm, !n->negate);
        if (h && cm->vulnerable && !hit)
            hit = cm;
        if (n->op_and && !h) {
            acc = false;
            break;
        }
        if (!n->op_and && h)
            acc = true;
    }
    if (n->n == 0)
        acc = false;
    if (n->negate) {
        *vuln_hit = NULL; /* a negated node says what must be absent, never what is vulnerable */
        return !acc;
    }
    *vuln_hit = acc ? hit : NULL;
    return acc;
}

/* Evaluates the CVE; returns the vulnerable entry behind the match or NULL. */
static const struct vuln_cm *vm_cve_holds(const struct vm_ctx *x, const struct vuln_cve *c)
{
    for (size_t k = 0; k < c->nconfs; k++) {
        const struct vuln_conf *cf = &c->confs[k];
        bool acc = cf->op_and && cf->n > 0;
        const struct vuln_cm *hit = NULL;
        for (size_t j = cf->first; j < cf->first + cf->n; j++) {
            const struct vuln_cm *h = NULL;
            bool r = vm_node_holds(x, c, &c->nodes[j], &h);
            if (r && h && !hit)
                hit = h;
            if (cf->op_and && !r) {
                acc = false;
                break;
            }
            if (!cf->op_and && r)
                acc = true;
        }
        if (acc && hit)
            return hit;
    }
    return NULL;
}

/* Cheap test before the full evaluation: does any vulnerable entry name a target product? */
static bool vm_candidate(const struct vm_ctx *x, const struct vuln_cve *c)
{
    for (size_t i = 0; i < c->ncms; i++) {
        if (!c->cms[i].vulnerable)
            continue;
        if (!c->cms[i].key)
            return true;
        for (size_t t = 0; t < x->nt; t++)
            if (!x->t[t].key || x->t[t].key == c->cms[i].key)
                return true;
    }
    return false;
}

static int vm_cmp_finding(const void *pa, const void *pb)
{
    const struct vuln_finding *a = pa, *b = pb;
    if (a->high_risk != b->high_risk)
        return a->high_risk ? -1 : 1;
    return vercmp(a->cve, b->cve);
}

void vuln_target_from_recog(struct vuln_target *t, const struct recog_result *res)
{
    static const char *const names[] = {"os.cpe23", "hw.cpe23", "service.cpe23"};
    t->ncpe = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = recog_result_get(res, names[i]);
        if (v && *v && t->ncpe < VULN_TARGET_MAX)
            t->cpe[t->ncpe++] = v;
    }
}

int vuln_match(const struct vuln_db *db, const struct vuln_target *t, struct vuln_finding *out,
               size_t max, size_t *n)
{
    *n = 0;
    size_t nt = t->ncpe < VULN_TARGET_MAX ? t->ncpe : VULN_TARGET_MAX;
    struct vm_target *tg = calloc(nt ? nt : 1, sizeof(*tg));
    if (!tg)
        return BS_ENOMEM;
    struct vm_ctx x = {.t = tg, .nt = nt};
    int rc = 0;
    for (size_t i = 0; i < nt; i++) {
        if ((rc = cpe_parse(&tg[i].c, t->cpe[i], strlen(t->cpe[i]))) != 0) {
            rc = BS_EPARSE;
            goto out;
        }
        if (tg[i].c.kind[CPE_VERSION] == CPE_VALUE)
            cpe_get(&tg[i].c, CPE_VERSION, tg[i].version, sizeof(tg[i].version));
        tg[i].key = vuln_cpe_key(&tg[i].c);
        int pi = vm_part_index(&tg[i].c);
        if (pi >= 0)
            x.has_part[pi] = true;
    }
    size_t found = 0;
    for (size_t i = 0; i < db->cves.n && nt > 0; i++) {
        const struct vuln_cve *c = VDB_CVES(db)[i];
        if (!vm_candidate(&x, c))
            continue;
        const struct vuln_cm *hit = vm_cve_holds(&x, c);
        if (!hit)
            continue;
        if (found < max) {
            struct vuln_finding *f = &out[found];
            f->cve = c->id;
            f->criteria = hit->criteria;
            f->cvss = c->cvss;
            f->cvss_vector = c->vector;
            f->why = 0;
            if (vuln_db_kev(db, c->id))
                f->why |= VULN_WHY_KEV;
            if (c->cvss >= 9.0 && c->av_network && c->no_privileges)
                f->why |= VULN_WHY_CVSS;
            if (vuln_index_find(&db->cur_ix, VDB_CURATED(db), sizeof(char *), c->id) != (size_t)-1)
                f->why |= VULN_WHY_CURATED;
            f->high_risk = f->why != 0;
        }
        found++;
    }
    if (out && found)
        qsort(out, found < max ? found : max, sizeof(*out), vm_cmp_finding);
    *n = found;
out:
    free(tg);
    return rc;
}
