/* vuln.c - loading the KEV catalogue, NVD CVE JSON 2.0 records and the curated high-risk list
 * into a vuln_db (matching is in vuln_match.c). */
#include "survey/vuln.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/hash.h"
#include "survey/vuln_int.h"

#define VULN_DIR_DEPTH 4 /* NVD mirrors nest records as CVE-YYYY/CVE-YYYY-NNxx/ */

static char *vuln_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- index ----------------------------------------------------------------------------- */

static const char *vuln_name_at(const void *base, size_t stride, size_t pos)
{
    return *(char *const *)((const char *)base + pos * stride);
}

static uint64_t vuln_hash_id(const char *id)
{
    return hash_bytes(id, strlen(id), 0x5eed);
}

size_t vuln_index_find(const struct vuln_index *ix, const void *base, size_t stride, const char *id)
{
    if (!ix->cap)
        return (size_t)-1;
    size_t mask = ix->cap - 1;
    for (size_t i = vuln_hash_id(id) & mask;; i = (i + 1) & mask) {
        size_t s = ix->slot[i];
        if (!s)
            return (size_t)-1;
        if (strcmp(vuln_name_at(base, stride, s - 1), id) == 0)
            return s - 1;
    }
}

static void vuln_index_place(struct vuln_index *ix, const void *base, size_t stride, size_t pos)
{
    size_t mask = ix->cap - 1;
    const char *id = vuln_name_at(base, stride, pos);
    for (size_t i = vuln_hash_id(id) & mask;; i = (i + 1) & mask) {
        size_t s = ix->slot[i];
        if (!s) {
            ix->slot[i] = pos + 1;
            ix->n++;
            return;
        }
        if (strcmp(vuln_name_at(base, stride, s - 1), id) == 0) {
            ix->slot[i] = pos + 1;
            return;
        }
    }
}

int vuln_index_put(struct vuln_index *ix, const void *base, size_t stride, size_t pos)
{
    if ((ix->n + 1) * 2 > ix->cap) {
        size_t ncap = ix->cap ? ix->cap * 2 : 64;
        size_t *ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return BS_ENOMEM;
        struct vuln_index old = *ix;
        ix->slot = ns;
        ix->cap = ncap;
        ix->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slot[i])
                vuln_index_place(ix, base, stride, old.slot[i] - 1);
        free(old.slot);
    }
    vuln_index_place(ix, base, stride, pos);
    return 0;
}

void vuln_index_release(struct vuln_index *ix)
{
    free(ix->slot);
    memset(ix, 0, sizeof(*ix));
}

/* ---- db lifetime ---------------------------------------------------------------------- */

int vuln_db_new(struct vuln_db **out)
{
    struct vuln_db *db = calloc(1, sizeof(*db));
    if (!db)
        return BS_ENOMEM;
    vec_init(&db->cves, sizeof(struct vuln_cve *), 64, VULN_DB_MAX_CVE);
    vec_init(&db->cve_ids, sizeof(const char *), 64, VULN_DB_MAX_CVE);
    vec_init(&db->kev, sizeof(struct vuln_kev), 64, VULN_DB_MAX_CVE);
    vec_init(&db->curated, sizeof(char *), 64, VULN_DB_MAX_CVE);
    *out = db;
    return 0;
}

static void vuln_cve_free(struct vuln_cve *c)
{
    if (!c)
        return;
    free(c->id);
    free(c->vector);
    for (size_t i = 0; i < c->ncms; i++) {
        free(c->cms[i].criteria);
        for (int b = 0; b < VULN_NB; b++)
            free(c->cms[i].bound[b]);
    }
    free(c->cms);
    free(c->nodes);
    free(c->confs);
    free(c);
}

/* The KEV view hands out const strings; the db owns and frees them. */
static void vuln_free_const(const char *p)
{
    free((void *)(uintptr_t)p);
}

static void vuln_kev_release(struct vuln_kev *k)
{
    vuln_free_const(k->cve);
    vuln_free_const(k->vendor);
    vuln_free_const(k->product);
    vuln_free_const(k->name);
    vuln_free_const(k->date_added);
}

void vuln_db_free(struct vuln_db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->cves.n; i++)
        vuln_cve_free(VDB_CVES(db)[i]);
    vec_release(&db->cves);
    vec_release(&db->cve_ids);
    for (size_t i = 0; i < db->kev.n; i++)
        vuln_kev_release(&VDB_KEV(db)[i]);
    vec_release(&db->kev);
    for (size_t i = 0; i < db->curated.n; i++)
        free(VDB_CURATED(db)[i]);
    vec_release(&db->curated);
    vuln_index_release(&db->cve_ix);
    vuln_index_release(&db->kev_ix);
    vuln_index_release(&db->cur_ix);
    free(db);
}

size_t vuln_db_count_nvd(const struct vuln_db *db)
{
    return db->cves.n;
}

size_t vuln_db_count_kev(const struct vuln_db *db)
{
    return db->kev.n;
}

size_t vuln_db_count_curated(const struct vuln_db *db)
{
    return db->curated.n;
}

const struct vuln_kev *vuln_db_kev(const struct vuln_db *db, const char *cve)
{
    size_t i = vuln_index_find(&db->kev_ix, VDB_KEV(db), sizeof(struct vuln_kev), cve);
    return i == (size_t)-1 ? NULL : &VDB_KEV(db)[i];
}

/* A CVE id as botscope accepts it: "CVE-" four digits "-" at least four digits. */
static bool vuln_id_valid(const char *s)
{
    if (strncmp(s, "CVE-", 4) != 0)
        return false;
    s += 4;
    for (int i = 0; i < 4; i++, s++)
        if (*s < '0' || *s > '9')
            return false;
    if (*s++ != '-')
        return false;
    size_t n = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        n++;
    return n >= 4 && n <= 10 && *s == '\0';
}

/* ---- JSON files ------------------------------------------------------------------------ */

static int vuln_parse_json(const char *path, const char *data, size_t len, json_t **out,
                           struct ident_diag *diag)
{
    if (len > VULN_FILE_MAX) {
        ident_diag_set(diag, path, 0, 0, "file larger than the vulnerability file cap");
        return BS_ELIMIT;
    }
    json_error_t err;
    /* Duplicate keys are refused: a record that says two things is not one to trust. */
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        ident_diag_set(diag, path, err.line, err.column, "JSON: %s", err.text);
        return BS_EPARSE;
    }
    *out = j;
    return 0;
}

/* Reads a gzip file (NVD ships its feeds as .json.gz) into a new buffer, at most max bytes
 * once decompressed (zlib reads a file that is not gzipped as it is). Returns 0, -errno,
 * BS_ELIMIT, BS_EPARSE (corrupt compressed data), BS_ENOMEM. */
static int vuln_read_gz(const char *path, size_t max, char **out, size_t *len)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return errno ? -errno : BS_ENOMEM;
    struct buf b = BUF_INIT(max); /* its cap refuses what passes max */
    int rc = buf_reserve(&b, 1 << 16);
    char chunk[16384];
    while (rc == 0) {
        int got = gzread(gz, chunk, sizeof chunk);
        if (got < 0) {
            rc = BS_EPARSE;
        } else if (got == 0) {
            int zerr = 0;
            gzerror(gz, &zerr);
            if (zerr != Z_OK) /* Z_BUF_ERROR: the file ends inside the stream */
                rc = BS_EPARSE;
            break;
        } else {
            rc = buf_append(&b, chunk, (size_t)got);
        }
    }
    gzclose(gz);
    if (rc) {
        buf_release(&b);
        return rc;
    }
    *out = b.data; /* handed over: malloc'd and NUL-terminated */
    *len = b.len;
    return 0;
}

static bool vuln_has_suffix(const char *s, const char *suf)
{
    size_t l = strlen(s), k = strlen(suf);
    return l > k && strcmp(s + l - k, suf) == 0;
}

static int vuln_load_json(const char *path, json_t **out, struct ident_diag *diag)
{
    char *data = NULL;
    size_t len = 0;
    int rc = vuln_has_suffix(path, ".gz") ? vuln_read_gz(path, VULN_FILE_MAX, &data, &len)
                                          : ident_read_file(path, VULN_FILE_MAX, &data, &len);
    if (rc == BS_EPARSE) {
        ident_diag_set(diag, path, 0, 0, "not a readable gzip file");
        return rc;
    }
    if (rc) {
        ident_diag_set(diag, path, 0, 0, "%s",
                       rc == BS_ELIMIT ? "file larger than the vulnerability file cap"
                                       : bs_strerror(rc));
        return rc;
    }
    rc = vuln_parse_json(path, data, len, out, diag);
    free(data);
    return rc;
}

static const char *vuln_jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- KEV ------------------------------------------------------------------------------- */

static char *vuln_dup_trim(const char *s)
{
    if (!s)
        s = "";
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
        n--;
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int vuln_kev_from_json(struct vuln_db *db, const char *path, json_t *root,
                              struct ident_diag *diag);

int vuln_db_load_kev(struct vuln_db *db, const char *path, struct ident_diag *diag)
{
    ident_diag_clear(diag);
    json_t *root = NULL;
    int rc = vuln_load_json(path, &root, diag);
    return rc ? rc : vuln_kev_from_json(db, path, root, diag);
}

int vuln_db_load_kev_buffer(struct vuln_db *db, const char *path, const char *data, size_t len,
                            struct ident_diag *diag)
{
    ident_diag_clear(diag);
    json_t *root = NULL;
    int rc = vuln_parse_json(path, data, len, &root, diag);
    return rc ? rc : vuln_kev_from_json(db, path, root, diag);
}

/* Takes the reference to root. */
static int vuln_kev_from_json(struct vuln_db *db, const char *path, json_t *root,
                              struct ident_diag *diag)
{
    int rc = 0;
    const json_t *arr = json_object_get(root, "vulnerabilities");
    if (!json_is_array(arr)) {
        ident_diag_set(diag, path, 0, 0, "not a KEV catalogue: no \"vulnerabilities\" array");
        rc = BS_EPARSE;
        goto out;
    }
    size_t n = json_array_size(arr);
    /* Check every entry before adding any, so a bad catalogue leaves the db as it was. */
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        const char *id = json_is_object(e) ? vuln_jstr(e, "cveID") : NULL;
        if (!id || !vuln_id_valid(id)) {
            ident_diag_set(diag, path, 0, 0, "KEV entry %zu has no valid \"cveID\"", i);
            rc = BS_EPARSE;
            goto out;
        }
    }
    if (db->kev.n + n > VULN_DB_MAX_CVE) {
        ident_diag_set(diag, path, 0, 0, "more than %u KEV entries", VULN_DB_MAX_CVE);
        rc = BS_ELIMIT;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        const char *id = vuln_jstr(e, "cveID");
        const char *rw = vuln_jstr(e, "knownRansomwareCampaignUse");
        struct vuln_kev k = {
            .cve = vuln_strdup(id),
            .vendor = vuln_dup_trim(vuln_jstr(e, "vendorProject")),
            .product = vuln_dup_trim(vuln_jstr(e, "product")),
            .name = vuln_dup_trim(vuln_jstr(e, "vulnerabilityName")),
            .date_added = vuln_dup_trim(vuln_jstr(e, "dateAdded")),
            .ransomware = rw && strcmp(rw, "Known") == 0,
        };
        if (!k.cve || !k.vendor || !k.product || !k.name || !k.date_added) {
            vuln_kev_release(&k);
            rc = BS_ENOMEM;
            goto out;
        }
        size_t at = vuln_index_find(&db->kev_ix, VDB_KEV(db), sizeof(struct vuln_kev), id);
        if (at != (size_t)-1) {
            vuln_kev_release(&VDB_KEV(db)[at]); /* a later entry for the same CVE wins */
            VDB_KEV(db)[at] = k;
            continue;
        }
        struct vuln_kev *slot = VEC_PUSH(&db->kev, struct vuln_kev, &rc);
        if (!slot) {
            vuln_kev_release(&k);
            goto out;
        }
        *slot = k;
        if ((rc = vuln_index_put(&db->kev_ix, VDB_KEV(db), sizeof(struct vuln_kev),
                                 db->kev.n - 1)) != 0)
            goto out;
    }
out:
    json_decref(root);
    return rc;
}

/* ---- curated list ---------------------------------------------------------------------- */

int vuln_db_load_curated(struct vuln_db *db, const char *path, struct ident_diag *diag)
{
    ident_diag_clear(diag);
    char *data = NULL;
    size_t len = 0;
    int rc = ident_read_file(path, VULN_FILE_MAX, &data, &len);
    if (rc) {
        ident_diag_set(diag, path, 0, 0, "%s", bs_strerror(rc));
        return rc;
    }
    int line = 0;
    char *save = NULL;
    for (char *p = data; p && *p; p = save) {
        char *nl = strchr(p, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        line++;
        char *hash = strchr(p, '#');
        if (hash)
            *hash = '\0';
        char *id = p;
        while (*id == ' ' || *id == '\t')
            id++;
        size_t n = strlen(id);
        while (n && (id[n - 1] == ' ' || id[n - 1] == '\t' || id[n - 1] == '\r'))
            id[--n] = '\0';
        if (!n)
            continue;
        if (!vuln_id_valid(id)) {
            ident_diag_set(diag, path, line, 1, "\"%.60s\" is not a CVE id (CVE-YYYY-NNNN)", id);
            rc = BS_EPARSE;
            break;
        }
        if (vuln_index_find(&db->cur_ix, VDB_CURATED(db), sizeof(char *), id) != (size_t)-1)
            continue;
        if (db->curated.n >= VULN_DB_MAX_CVE) {
            ident_diag_set(diag, path, line, 1, "more than %u curated ids", VULN_DB_MAX_CVE);
            rc = BS_ELIMIT;
            break;
        }
        char *dup = vuln_strdup(id);
        char **slot = dup ? VEC_PUSH(&db->curated, char *, &rc) : NULL;
        if (!slot) {
            free(dup);
            rc = dup ? rc : BS_ENOMEM;
            break;
        }
        *slot = dup;
        if ((rc = vuln_index_put(&db->cur_ix, VDB_CURATED(db), sizeof(char *),
                                 db->curated.n - 1)) != 0)
            break;
    }
    free(data);
    return rc;
}

/* ---- NVD records ----------------------------------------------------------------------- */

/* Picks the score of the first metric family present (v3.1, v3.0, v4.0, v2), the NVD
 * ("Primary") entry when there is one. */
static int vuln_parse_metrics(struct vuln_cve *c, const json_t *metrics)
{
    static const char *const fam[] = {"cvssMetricV31", "cvssMetricV30", "cvssMetricV40",
                                      "cvssMetricV2"};
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        const json_t *arr = json_object_get(metrics, fam[f]);
        if (!json_is_array(arr) || json_array_size(arr) == 0)
            continue;
        const json_t *pick = NULL;
        for (size_t i = 0; i < json_array_size(arr) && !pick; i++) {
            const char *type = vuln_jstr(json_array_get(arr, i), "type");
            if (type && strcmp(type, "Primary") == 0)
                pick = json_array_get(arr, i);
        }
        if (!pick)
            pick = json_array_get(arr, 0);
        const json_t *d = json_object_get(pick, "cvssData");
        if (!json_is_object(d))
            continue;
        const json_t *score = json_object_get(d, "baseScore");
        c->cvss = json_is_number(score) ? json_number_value(score) : 0.0;
        const char *vec = vuln_jstr(d, "vectorString");
        c->vector = vuln_strdup(vec ? vec : "");
        if (!c->vector)
            return BS_ENOMEM;
        const char *av = vuln_jstr(d, "attackVector");
        if (!av)
            av = vuln_jstr(d, "accessVector");
        const char *pr = vuln_jstr(d, "privilegesRequired");
        if (!pr)
            pr = vuln_jstr(d, "authentication"); /* v2: Au:N is the nearest to PR:N */
        c->av_network = av && strcmp(av, "NETWORK") == 0;
        c->no_privileges = pr && strcmp(pr, "NONE") == 0;
        return 0;
    }
    c->vector = vuln_strdup("");
    return c->vector ? 0 : BS_ENOMEM;
}

static int vuln_parse_cm(struct vuln_cve *c, const json_t *m, const char *file,
                         struct ident_diag *diag)
{
    static const char *const bkeys[VULN_NB] = {"versionStartIncluding", "versionStartExcluding",
                                               "versionEndIncluding", "versionEndExcluding"};
    const char *crit = vuln_jstr(m, "criteria");
    const json_t *vul = json_object_get(m, "vulnerable");
    if (!crit || !json_is_boolean(vul)) {
        ident_diag_set(diag, file, 0, 0, "%s: a cpeMatch lacks \"criteria\" or \"vulnerable\"",
                       c->id);
        return BS_EPARSE;
    }
    struct cpe pc;
    int rc = cpe_parse(&pc, crit, strlen(crit));
    if (rc) {
        ident_diag_set(diag, file, 0, 0, "%s: criteria \"%.120s\" is not a CPE 2.3 name", c->id,
                       crit);
        return rc == BS_ELIMIT ? BS_ELIMIT : BS_EPARSE;
    }
    struct vuln_cm *cm = &c->cms[c->ncms];
    memset(cm, 0, sizeof(*cm));
    cm->vulnerable = json_is_true(vul);
    cm->key = vuln_cpe_key(&pc);
    cm->criteria = vuln_strdup(crit);
    if (!cm->criteria)
        return BS_ENOMEM;
    c->ncms++; /* counted now so its strings are freed on a later error */
    for (int b = 0; b < VULN_NB; b++) {
        const char *v = vuln_jstr(m, bkeys[b]);
        if (v && !(cm->bound[b] = vuln_strdup(v)))
            return BS_ENOMEM;
    }
    return 0;
}

static bool vuln_op_and(const json_t *o)
{
    const char *op = vuln_jstr(o, "operator");
    return op && strcmp(op, "AND") == 0;
}

/* Parses one CVE record object into a new vuln_cve (*out, caller frees with vuln_cve_free). */
static int vuln_parse_record(const json_t *rec, const char *file, struct ident_diag *diag,
                             struct vuln_cve **out)
{
    const char *id = json_is_object(rec) ? vuln_jstr(rec, "id") : NULL;
    if (!id || !vuln_id_valid(id)) {
        ident_diag_set(diag, file, 0, 0, "a record has no valid \"id\" (CVE-YYYY-NNNN)");
        return BS_EPARSE;
    }
    struct vuln_cve *c = calloc(1, sizeof(*c));
    if (!c)
        return BS_ENOMEM;
    int rc = 0;
    if (!(c->id = vuln_strdup(id))) {
        rc = BS_ENOMEM;
        goto fail;
    }
    if ((rc = vuln_parse_metrics(c, json_object_get(rec, "metrics"))) != 0)
        goto fail;
    const json_t *confs = json_object_get(rec, "configurations");
    if (confs && !json_is_array(confs)) {
        ident_diag_set(diag, file, 0, 0, "%s: \"configurations\" is not an array", id);
        rc = BS_EPARSE;
        goto fail;
    }
    /* Count first so each array is allocated once and the caps are checked up front. */
    size_t nconf = json_array_size(confs), nnode = 0, ncm = 0;
    for (size_t i = 0; i < nconf; i++) {
        const json_t *nodes = json_object_get(json_array_get(confs, i), "nodes");
        nnode += json_array_size(nodes);
        for (size_t j = 0; j < json_array_size(nodes); j++)
            ncm += json_array_size(json_object_get(json_array_get(nodes, j), "cpeMatch"));
    }
    if (ncm > VULN_MAX_MATCH) {
        ident_diag_set(diag, file, 0, 0, "%s: more than %u cpeMatch entries", id, VULN_MAX_MATCH);
        rc = BS_ELIMIT;
        goto fail;
    }
    c->confs = calloc(nconf ? nconf : 1, sizeof(*c->confs));
    c->nodes = calloc(nnode ? nnode : 1, sizeof(*c->nodes));
    c->cms = calloc(ncm ? ncm : 1, sizeof(*c->cms));
    if (!c->confs || !c->nodes || !c->cms) {
        rc = BS_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < nconf; i++) {
        const json_t *conf = json_array_get(confs, i);
        const json_t *nodes = json_object_get(conf, "nodes");
        if (!json_is_object(conf) || !json_is_array(nodes)) {
            ident_diag_set(diag, file, 0, 0, "%s: configuration %zu has no \"nodes\" array", id, i);
            rc = BS_EPARSE;
            goto fail;
        }
        struct vuln_conf *vc = &c->confs[c->nconfs++];
        vc->op_and = vuln_op_and(conf);
        vc->first = c->nnodes;
        for (size_t j = 0; j < json_array_size(nodes); j++) {
            const json_t *node = json_array_get(nodes, j);
            const json_t *cms = json_object_get(node, "cpeMatch");
            if (!json_is_object(node) || !json_is_array(cms)) {
                ident_diag_set(diag, file, 0, 0, "%s: a node has no \"cpeMatch\" array", id);
                rc = BS_EPARSE;
                goto fail;
            }
            struct vuln_node *vn = &c->nodes[c->nnodes++];
            vn->op_and = vuln_op_and(node);
            vn->negate = json_is_true(json_object_get(node, "negate"));
            vn->first = c->ncms;
            for (size_t k = 0; k < json_array_size(cms); k++)
                if ((rc = vuln_parse_cm(c, json_array_get(cms, k), file, diag)) != 0)
                    goto fail;
            vn->n = c->ncms - vn->first;
        }
        vc->n = c->nnodes - vc->first;
    }
    *out = c;
    return 0;
fail:
    vuln_cve_free(c);
    return rc;
}

/* Adds parsed records to the db; a CVE already there is replaced. */
static int vuln_commit(struct vuln_db *db, struct vuln_cve **recs, size_t n, const char *file,
                       struct ident_diag *diag)
{
    if (db->cves.n + n > VULN_DB_MAX_CVE) {
        ident_diag_set(diag, file, 0, 0, "more than %u CVE records", VULN_DB_MAX_CVE);
        return BS_ELIMIT;
    }
    for (size_t i = 0; i < n; i++) {
        size_t at = vuln_index_find(&db->cve_ix, VDB_IDS(db), sizeof(const char *), recs[i]->id);
        if (at != (size_t)-1) {
            vuln_cve_free(VDB_CVES(db)[at]);
            VDB_CVES(db)[at] = recs[i];
            VDB_IDS(db)[at] = recs[i]->id;
            recs[i] = NULL;
            continue;
        }
        /* Room in both parallel arrays first, so the pushes cannot leave them uneven. */
        int rc = vec_reserve(&db->cves, db->cves.n + 1);
        if (rc == 0)
            rc = vec_reserve(&db->cve_ids, db->cve_ids.n + 1);
        if (rc)
            return rc;
        *VEC_PUSH(&db->cves, struct vuln_cve *, &rc) = recs[i];
        *VEC_PUSH(&db->cve_ids, const char *, &rc) = recs[i]->id;
        recs[i] = NULL;
        if ((rc = vuln_index_put(&db->cve_ix, VDB_IDS(db), sizeof(const char *), db->cves.n - 1)) !=
            0)
            return rc;
    }
    return 0;
}

static int vuln_nvd_from_json(struct vuln_db *db, const char *path, json_t *root,
                              struct ident_diag *diag);

static int vuln_load_nvd_file(struct vuln_db *db, const char *path, struct ident_diag *diag)
{
    json_t *root = NULL;
    int rc = vuln_load_json(path, &root, diag);
    return rc ? rc : vuln_nvd_from_json(db, path, root, diag);
}

int vuln_db_load_nvd_buffer(struct vuln_db *db, const char *path, const char *data, size_t len,
                            struct ident_diag *diag)
{
    ident_diag_clear(diag);
    json_t *root = NULL;
    int rc = vuln_parse_json(path, data, len, &root, diag);
    return rc ? rc : vuln_nvd_from_json(db, path, root, diag);
}

/* Takes the reference to root. */
static int vuln_nvd_from_json(struct vuln_db *db, const char *path, json_t *root,
                              struct ident_diag *diag)
{
    struct vuln_cve **recs = NULL;
    size_t n = 0;
    int rc = 0;
    if (!json_is_object(root)) {
        ident_diag_set(diag, path, 1, 1, "neither an NVD CVE record nor a feed (not an object)");
        rc = BS_EPARSE;
        goto out;
    }
    if (json_object_get(root, "CVE_Items")) {
        ident_diag_set(diag, path, 0, 0,
                       "an NVD 1.1 feed (CVE_Items); botscope reads CVE JSON 2.0 only");
        rc = BS_EUNSUPPORTED;
        goto out;
    }
    const json_t *arr = json_object_get(root, "vulnerabilities");
    size_t total = json_is_array(arr) ? json_array_size(arr) : 1;
    if (!json_is_array(arr) && !json_object_get(root, "id")) {
        ident_diag_set(diag, path, 0, 0,
                       "neither an NVD CVE record (\"id\") nor a feed (\"vulnerabilities\")");
        rc = BS_EPARSE;
        goto out;
    }
    if (total > VULN_DB_MAX_CVE) {
        ident_diag_set(diag, path, 0, 0, "more than %u CVE records", VULN_DB_MAX_CVE);
        rc = BS_ELIMIT;
        goto out;
    }
    recs = calloc(total ? total : 1, sizeof(*recs));
    if (!recs) {
        rc = BS_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < total; i++) {
        const json_t *rec = root;
        if (json_is_array(arr)) {
            const json_t *item = json_array_get(arr, i);
            rec = json_object_get(item, "cve");
            if (!rec)
                rec = item; /* a bare record inside the array */
        }
        if ((rc = vuln_parse_record(rec, path, diag, &recs[n])) != 0) {
            if (json_is_array(arr) && diag && diag->msg[0]) {
                char m[sizeof(diag->msg)];
                snprintf(m, sizeof(m), "vulnerabilities[%zu]: %.200s", i, diag->msg);
                memcpy(diag->msg, m, sizeof(m));
            }
            goto out;
        }
        n++;
    }
    rc = vuln_commit(db, recs, n, path, diag);
out:
    if (recs)
        for (size_t i = 0; i < n; i++)
            vuln_cve_free(recs[i]);
    free(recs);
    json_decref(root);
    return rc;
}

static int vuln_load_nvd_dir(struct vuln_db *db, const char *dir, int depth,
                             struct ident_diag *diag)
{
    char **names;
    size_t n;
    int rc = fsutil_list_dir(dir, NULL, &names, &n);
    if (rc) {
        ident_diag_set(diag, dir, 0, 0, "%s", bs_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path)) {
            ident_diag_set(diag, dir, 0, 0, "path too long");
            rc = BS_ELIMIT;
            break;
        }
        struct stat st;
        if (stat(path, &st) != 0)
            continue; /* vanished or a dangling link */
        size_t l = strlen(names[i]);
        if (S_ISDIR(st.st_mode)) {
            if (depth < VULN_DIR_DEPTH)
                rc = vuln_load_nvd_dir(db, path, depth + 1, diag);
        } else if ((l > 5 && strcmp(names[i] + l - 5, ".json") == 0) ||
                   vuln_has_suffix(names[i], ".json.gz")) {
            rc = vuln_load_nvd_file(db, path, diag);
        }
    }
    fsutil_names_free(names, n);
    return rc;
}

int vuln_db_load_nvd(struct vuln_db *db, const char *path, struct ident_diag *diag)
{
    ident_diag_clear(diag);
    struct stat st;
    if (stat(path, &st) != 0) {
        int rc = -errno;
        ident_diag_set(diag, path, 0, 0, "%s", bs_strerror(rc));
        return rc;
    }
    if (S_ISDIR(st.st_mode))
        return vuln_load_nvd_dir(db, path, 0, diag);
    return vuln_load_nvd_file(db, path, diag);
}
