/* recog.c - Recog XML fingerprints compiled with PCRE2; matching and the example check.
 *
 * Loading keeps only what matching needs: per fingerprint its compiled pattern, params,
 * certainty, description and examples (for ident_db_check_examples). Strings are owned by
 * the db and freed with it.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "survey/recog.h"

#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "core/vec.h"
#include "survey/recog_int.h"

/* Backtracking cap per match: Recog patterns are simple; a pattern that needs more than
 * this on hostile input is stopped (BS_EIO) rather than left to burn the engine's time. */
#define RECOG_MATCH_LIMIT 1000000u

/* Caps on what one fingerprint may carry (Recog's own files have a few of each): examples,
 * and asserted params per example. A file is refused past them. */
#define RECOG_MAX_EXAMPLES 1024u
#define RECOG_MAX_ASSERTS  256u

struct recog_nv {
    char *name;
    char *value;
};

struct recog_fparam {
    int pos; /* 0: value is fixed text; N: capture group N */
    char *name;
    char *value; /* fixed text (pos 0), may hold {name} placeholders; NULL otherwise */
};

struct recog_example {
    char *text;
    size_t len;
    int line;
    struct vec asserts; /* struct recog_nv, at most RECOG_MAX_ASSERTS */
};

struct recog_fp {
    pcre2_code *re;     /* byte mode */
    pcre2_code *re_utf; /* UTF-8 mode, NULL if the pattern has none */
    int certainty;
    int line;
    size_t file; /* index in db->files */
    char *description;
    struct vec params;   /* struct recog_fparam, at most RECOG_MAX_PARAMS */
    struct vec examples; /* struct recog_example, at most RECOG_MAX_EXAMPLES */
};

struct recog_file {
    char *name; /* base name, e.g. "http_servers.xml" */
    char *key;  /* what recog_match() is asked for */
    size_t first, count;
};

struct ident_db {
    struct vec files; /* struct recog_file, at most RECOG_DB_MAX_FP */
    struct vec fps;   /* struct recog_fp, at most RECOG_DB_MAX_FP */
    pcre2_match_context *mctx;
    uint32_t max_pairs; /* capture groups + 1 of the largest pattern: one match block fits all */
};

#define DB_FP(db, i)      VEC_AT(&(db)->fps, struct recog_fp, i)
#define DB_FILE(db, i)    VEC_AT(&(db)->files, struct recog_file, i)
#define FP_PARAM(fp, i)   VEC_AT(&(fp)->params, struct recog_fparam, i)
#define FP_EXAMPLE(fp, i) VEC_AT(&(fp)->examples, struct recog_example, i)
#define EX_ASSERT(ex, i)  VEC_AT(&(ex)->asserts, struct recog_nv, i)

/* Files without a `matches` attribute are keyed by base name; these get a protocol-style
 * key instead so a caller uses one name per protocol. */
static const struct {
    const char *base, *key;
} recog_alias[] = {
    {"telnet_banners", "telnet.banner"},
};

static char *recog_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int ident_db_new(struct ident_db **out)
{
    struct ident_db *db = calloc(1, sizeof(*db));
    if (!db)
        return BS_ENOMEM;
    db->mctx = pcre2_match_context_create(NULL);
    if (!db->mctx) {
        free(db);
        return BS_ENOMEM;
    }
    pcre2_set_match_limit(db->mctx, RECOG_MATCH_LIMIT);
    /* Files: as many as fingerprints at most (Recog ships a few dozen). */
    vec_init(&db->files, sizeof(struct recog_file), 16, RECOG_DB_MAX_FP);
    vec_init(&db->fps, sizeof(struct recog_fp), 256, RECOG_DB_MAX_FP);
    *out = db;
    return 0;
}

static void recog_fp_release(struct recog_fp *fp)
{
    pcre2_code_free(fp->re);
    pcre2_code_free(fp->re_utf);
    free(fp->description);
    for (size_t i = 0; i < fp->params.n; i++) {
        free(FP_PARAM(fp, i)->name);
        free(FP_PARAM(fp, i)->value);
    }
    vec_release(&fp->params);
    for (size_t i = 0; i < fp->examples.n; i++) {
        struct recog_example *ex = FP_EXAMPLE(fp, i);
        free(ex->text);
        for (size_t j = 0; j < ex->asserts.n; j++) {
            free(EX_ASSERT(ex, j)->name);
            free(EX_ASSERT(ex, j)->value);
        }
        vec_release(&ex->asserts);
    }
    vec_release(&fp->examples);
    memset(fp, 0, sizeof(*fp));
}

void ident_db_free(struct ident_db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->fps.n; i++)
        recog_fp_release(DB_FP(db, i));
    vec_release(&db->fps);
    for (size_t i = 0; i < db->files.n; i++) {
        free(DB_FILE(db, i)->name);
        free(DB_FILE(db, i)->key);
    }
    vec_release(&db->files);
    pcre2_match_context_free(db->mctx);
    free(db);
}

size_t ident_db_count(const struct ident_db *db)
{
    return db->fps.n;
}

/* Certainty from a "0.0".."1.0" attribute; -1 when absent or unreadable. */
static int recog_certainty(xmlNode *n)
{
    xmlChar *a = xmlGetProp(n, (const xmlChar *)"certainty");
    if (!a)
        return -1;
    char *end;
    double v = strtod((const char *)a, &end);
    int c = -1;
    if (end != (char *)a && v >= 0.0 && v <= 1.0)
        c = (int)(v * 100.0 + 0.5);
    xmlFree(a);
    return c;
}

static bool recog_flag(const char *flags, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = flags; (p = strstr(p, name)) != NULL; p += n) {
        bool start = p == flags || p[-1] == ',' || p[-1] == '|' || p[-1] == ' ';
        bool end = p[n] == '\0' || p[n] == ',' || p[n] == '|' || p[n] == ' ';
        if (start && end)
            return true;
    }
    return false;
}

static int recog_add_nv(struct vec *v, const char *name, const char *value)
{
    int rc;
    struct recog_nv *a = VEC_PUSH(v, struct recog_nv, &rc);
    if (!a)
        return rc;
    a->name = recog_strdup(name);
    a->value = recog_strdup(value);
    if (!a->name || !a->value) {
        free(a->name);
        free(a->value);
        v->n--;
        return BS_ENOMEM;
    }
    return 0;
}

/* One <example>: its text (base64-decoded when asked) and the params it asserts. */
static int recog_load_example(struct recog_fp *fp, xmlNode *n, const char *file,
                              struct ident_diag *diag)
{
    int rc = 0;
    struct recog_example *ex = VEC_PUSH(&fp->examples, struct recog_example, &rc);
    if (!ex) {
        if (rc == BS_ELIMIT)
            ident_diag_set(diag, file, (int)xmlGetLineNo(n), 0, "more than %u examples",
                           RECOG_MAX_EXAMPLES);
        return rc;
    }
    memset(ex, 0, sizeof(*ex));
    vec_init(&ex->asserts, sizeof(struct recog_nv), 4, RECOG_MAX_ASSERTS);
    ex->line = (int)xmlGetLineNo(n);
    xmlChar *content = xmlNodeGetContent(n);
    const char *txt = content ? (const char *)content : "";
    bool b64 = false;
    for (xmlAttr *a = n->properties; a; a = a->next) {
        xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
        const char *name = (const char *)a->name;
        const char *val = v ? (const char *)v : "";
        if (strcmp(name, "_encoding") == 0) {
            if (strcmp(val, "base64") != 0) {
                ident_diag_set(diag, file, ex->line, 0, "example encoding \"%s\" is not base64",
                               val);
                rc = BS_EPARSE;
            }
            b64 = true;
        } else if (name[0] != '_') {
            rc = recog_add_nv(&ex->asserts, name, val);
            if (rc == BS_ELIMIT)
                ident_diag_set(diag, file, ex->line, 0, "more than %u asserted params",
                               RECOG_MAX_ASSERTS);
        }
        xmlFree(v);
        if (rc)
            goto out;
    }
    if (b64) {
        rc = recog_base64(txt, &ex->text, &ex->len);
        if (rc == BS_EPARSE)
            ident_diag_set(diag, file, ex->line, 0, "example is not valid base64");
    } else {
        ex->len = strlen(txt);
        ex->text = malloc(ex->len + 1);
        if (ex->text)
            memcpy(ex->text, txt, ex->len + 1);
        else
            rc = BS_ENOMEM;
    }
out:
    xmlFree(content);
    return rc;
}

static int recog_load_param(struct recog_fp *fp, xmlNode *n, const char *file,
                            struct ident_diag *diag)
{
    int line = (int)xmlGetLineNo(n);
    if (fp->params.n >= RECOG_MAX_PARAMS) {
        ident_diag_set(diag, file, line, 0, "more than %u params in one fingerprint",
                       RECOG_MAX_PARAMS);
        return BS_ELIMIT;
    }
    xmlChar *pos = xmlGetProp(n, (const xmlChar *)"pos");
    xmlChar *name = xmlGetProp(n, (const xmlChar *)"name");
    xmlChar *value = xmlGetProp(n, (const xmlChar *)"value");
    int rc = 0;
    char *end = NULL;
    long p = pos ? strtol((const char *)pos, &end, 10) : -1;
    if (!pos || !name || !*name || *end || p < 0 || p > 99) {
        ident_diag_set(diag, file, line, 0, "param needs a name and a pos from 0 to 99");
        rc = BS_EPARSE;
        goto out;
    }
    if (strlen((const char *)name) >= RECOG_NAME_MAX) {
        ident_diag_set(diag, file, line, 0, "param name longer than %u bytes", RECOG_NAME_MAX - 1);
        rc = BS_ELIMIT;
        goto out;
    }
    if (p == 0 && !value) {
        ident_diag_set(diag, file, line, 0, "param %s at pos 0 has no value", (const char *)name);
        rc = BS_EPARSE;
        goto out;
    }
    struct recog_fparam *np = VEC_PUSH(&fp->params, struct recog_fparam, &rc);
    if (!np)
        goto out;
    np->pos = (int)p;
    np->name = recog_strdup((const char *)name);
    np->value = p == 0 ? recog_strdup((const char *)value) : NULL;
    if (!np->name || (p == 0 && !np->value)) {
        free(np->name);
        free(np->value);
        fp->params.n--;
        rc = BS_ENOMEM;
        goto out;
    }
out:
    xmlFree(pos);
    xmlFree(name);
    xmlFree(value);
    return rc;
}

static int recog_load_fp(struct ident_db *db, xmlNode *n, size_t file_idx, int file_cert,
                         const char *file, struct ident_diag *diag)
{
    if (db->fps.n >= RECOG_DB_MAX_FP) {
        ident_diag_set(diag, file, (int)xmlGetLineNo(n), 0, "more than %u fingerprints",
                       RECOG_DB_MAX_FP);
        return BS_ELIMIT;
    }
    /* Counted once it is complete: a failure below releases it and leaves n as it was. */
    int rc = vec_reserve(&db->fps, db->fps.n + 1);
    if (rc)
        return rc;
    struct recog_fp *fp = DB_FP(db, db->fps.n);
    memset(fp, 0, sizeof(*fp));
    vec_init(&fp->params, sizeof(struct recog_fparam), 4, RECOG_MAX_PARAMS);
    vec_init(&fp->examples, sizeof(struct recog_example), 2, RECOG_MAX_EXAMPLES);
    fp->line = (int)xmlGetLineNo(n);
    fp->file = file_idx;
    int c = recog_certainty(n);
    fp->certainty = c >= 0 ? c : file_cert >= 0 ? file_cert : 100;
    xmlChar *pattern = xmlGetProp(n, (const xmlChar *)"pattern");
    xmlChar *flags = xmlGetProp(n, (const xmlChar *)"flags");
    if (!pattern) {
        ident_diag_set(diag, file, fp->line, 0, "fingerprint without a pattern");
        rc = BS_EPARSE;
        goto fail;
    }
    uint32_t opts = 0;
    if (flags) {
        const char *f = (const char *)flags;
        if (recog_flag(f, "REG_ICASE"))
            opts |= PCRE2_CASELESS;
        if (recog_flag(f, "REG_MULTILINE") || recog_flag(f, "REG_DOT_NEWLINE"))
            opts |= PCRE2_DOTALL;
    }
    int col = 0;
    char msg[128];
    rc = recog_compile((const char *)pattern, opts, &fp->re, &fp->re_utf, &col, msg, sizeof(msg));
    if (rc == BS_EPARSE)
        ident_diag_set(diag, file, fp->line, col, "pattern does not compile: %s", msg);
    if (rc)
        goto fail;
    for (xmlNode *ch = n->children; ch; ch = ch->next) {
        if (ch->type != XML_ELEMENT_NODE)
            continue;
        const char *tag = (const char *)ch->name;
        if (strcmp(tag, "description") == 0 && !fp->description) {
            xmlChar *d = xmlNodeGetContent(ch);
            char *t = recog_strdup(d ? (const char *)d : "");
            xmlFree(d);
            if (!t) {
                rc = BS_ENOMEM;
                goto fail;
            }
            recog_trim(t);
            fp->description = t;
        } else if (strcmp(tag, "example") == 0) {
            rc = recog_load_example(fp, ch, file, diag);
        } else if (strcmp(tag, "param") == 0) {
            rc = recog_load_param(fp, ch, file, diag);
        }
        if (rc)
            goto fail;
    }
    /* A capture param must name a group the pattern has. */
    uint32_t groups = 0;
    pcre2_pattern_info(fp->re, PCRE2_INFO_CAPTURECOUNT, &groups);
    if (groups + 1 > db->max_pairs)
        db->max_pairs = groups + 1;
    for (size_t i = 0; i < fp->params.n; i++) {
        const struct recog_fparam *pa = FP_PARAM(fp, i);
        if ((uint32_t)pa->pos > groups) {
            ident_diag_set(diag, file, fp->line, 0,
                           "param %s takes group %d but the pattern has %u", pa->name, pa->pos,
                           groups);
            rc = BS_EPARSE;
            goto fail;
        }
    }
    if (!fp->description && !(fp->description = recog_strdup(""))) {
        rc = BS_ENOMEM;
        goto fail;
    }
    xmlFree(pattern);
    xmlFree(flags);
    db->fps.n++;
    return 0;
fail:
    xmlFree(pattern);
    xmlFree(flags);
    recog_fp_release(fp);
    return rc;
}

static const char *recog_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int ident_db_load_file(struct ident_db *db, const char *path, struct ident_diag *diag)
{
    char *data = NULL;
    size_t len = 0;
    ident_diag_clear(diag);
    int rc = ident_read_file(path, RECOG_FILE_MAX, &data, &len);
    if (rc) {
        ident_diag_set(diag, path, 0, 0, "%s",
                       rc == BS_ELIMIT ? "file larger than the fingerprint file cap"
                                       : bs_strerror(rc));
        return rc;
    }
    rc = ident_db_load_buffer(db, path, data, len, diag);
    free(data);
    return rc;
}

int ident_db_load_buffer(struct ident_db *db, const char *path, const char *data, size_t len,
                         struct ident_diag *diag)
{
    size_t old_nfps = db->fps.n, old_nfiles = db->files.n;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    int rc = 0;
    ident_diag_clear(diag);
    if (len > RECOG_FILE_MAX) {
        ident_diag_set(diag, path, 0, 0, "file larger than the fingerprint file cap");
        return BS_ELIMIT;
    }
    ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        rc = BS_ENOMEM;
        goto out;
    }
    /* No network, no entity expansion, no DTD loading: the file is data, not a document
     * with external parts. */
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, path, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    if (!doc) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        ident_diag_set(diag, path, e ? e->line : 0, e ? e->int2 : 0, "XML: %s",
                       e && e->message ? e->message : "does not parse");
        if (diag)
            recog_trim(diag->msg);
        rc = BS_EPARSE;
        goto out;
    }
    /* A DTD could declare entities whose expansion grows exponentially (the "billion laughs");
     * fingerprint files have no use for one. */
    if (doc->intSubset || doc->extSubset) {
        long dl = doc->intSubset ? xmlGetLineNo((xmlNode *)doc->intSubset) : 0;
        ident_diag_set(diag, path, dl > 0 ? (int)dl : 1, 0,
                       "a DOCTYPE is not allowed in a fingerprint file");
        rc = BS_EPARSE;
        goto out;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || strcmp((const char *)root->name, "fingerprints") != 0) {
        ident_diag_set(diag, path, root ? (int)xmlGetLineNo(root) : 1, 0,
                       "the root element is not <fingerprints>");
        rc = BS_EPARSE;
        goto out;
    }
    if ((rc = vec_reserve(&db->files, db->files.n + 1)) != 0)
        goto out;
    struct recog_file *rf = DB_FILE(db, db->files.n);
    memset(rf, 0, sizeof(*rf));
    rf->name = recog_strdup(recog_base(path));
    xmlChar *matches = xmlGetProp(root, (const xmlChar *)"matches");
    if (matches && *matches) {
        rf->key = recog_strdup((const char *)matches);
    } else if (rf->name) {
        char *k = recog_strdup(rf->name);
        if (k) {
            char *dot = strrchr(k, '.');
            if (dot && strcmp(dot, ".xml") == 0)
                *dot = '\0';
            for (size_t i = 0; i < sizeof(recog_alias) / sizeof(recog_alias[0]); i++) {
                if (strcmp(k, recog_alias[i].base) == 0) {
                    free(k);
                    k = recog_strdup(recog_alias[i].key);
                    break;
                }
            }
        }
        rf->key = k;
    }
    xmlFree(matches);
    db->files.n++; /* counted now so a failure below frees its strings */
    if (!rf->name || !rf->key) {
        rc = BS_ENOMEM;
        goto out;
    }
    rf->first = db->fps.n;
    int file_cert = recog_certainty(root);
    for (xmlNode *n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "fingerprint") != 0)
            continue;
        if ((rc = recog_load_fp(db, n, db->files.n - 1, file_cert, path, diag)) != 0)
            goto out;
    }
    rf->count = db->fps.n - rf->first;
out:
    if (rc) {
        /* Leave the db as it was before this file. */
        for (size_t i = old_nfps; i < db->fps.n; i++)
            recog_fp_release(DB_FP(db, i));
        db->fps.n = old_nfps;
        for (size_t i = old_nfiles; i < db->files.n; i++) {
            free(DB_FILE(db, i)->name);
            free(DB_FILE(db, i)->key);
        }
        db->files.n = old_nfiles;
    }
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

int ident_db_load_dir(struct ident_db *db, const char *dir, struct ident_diag *diag)
{
    ident_diag_clear(diag);
    char **names;
    size_t n;
    int rc = fsutil_list_dir(dir, ".xml", &names, &n);
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
        rc = ident_db_load_file(db, path, diag);
    }
    fsutil_names_free(names, n);
    return rc;
}

/* Fills res from fingerprint fp and the match ovector. */
static void recog_fill(const struct ident_db *db, const struct recog_fp *fp, const char *text,
                       const PCRE2_SIZE *ov, uint32_t npairs, struct recog_result *res)
{
    struct recog_param raw[RECOG_MAX_PARAMS];
    size_t nraw = 0;
    for (size_t i = 0; i < fp->params.n && nraw < RECOG_MAX_PARAMS; i++) {
        const struct recog_fparam *p = FP_PARAM(fp, i);
        struct recog_param *o = &raw[nraw];
        snprintf(o->name, sizeof(o->name), "%s", p->name);
        if (p->pos == 0) {
            snprintf(o->value, sizeof(o->value), "%s", p->value);
        } else {
            uint32_t g = (uint32_t)p->pos;
            if (g >= npairs || ov[2 * g] == PCRE2_UNSET)
                continue;
            size_t l = ov[2 * g + 1] - ov[2 * g];
            if (l >= sizeof(o->value))
                l = sizeof(o->value) - 1;
            memcpy(o->value, text + ov[2 * g], l);
            o->value[l] = '\0';
        }
        nraw++;
    }
    res->nparams = 0;
    for (size_t i = 0; i < nraw; i++) {
        struct recog_param *o = &res->params[res->nparams++];
        memcpy(o->name, raw[i].name, sizeof(o->name));
        recog_interpolate(raw[i].value, raw, nraw, o->value, sizeof(o->value));
    }
    recog_summarise(res);
    res->certainty = fp->certainty;
    res->description = fp->description;
    res->source = DB_FILE(db, fp->file)->name;
    res->key = DB_FILE(db, fp->file)->key;
}

/* Runs fp on text (utf: text is valid UTF-8) with match block md (at least db->max_pairs
 * pairs); 1 match, 0 none, <0 error. */
static int recog_run(const struct ident_db *db, const struct recog_fp *fp, const char *text,
                     size_t len, bool utf, pcre2_match_data *md, struct recog_result *res)
{
    const pcre2_code *re = fp->re;
    uint32_t mopt = 0;
    if (fp->re_utf && utf) {
        re = fp->re_utf;
        mopt = PCRE2_NO_UTF_CHECK; /* the caller checked */
    }
    int r = pcre2_match(re, (PCRE2_SPTR)text, len, 0, mopt, md, db->mctx);
    if (r == PCRE2_ERROR_JIT_STACKLIMIT)
        r = pcre2_match(re, (PCRE2_SPTR)text, len, 0, mopt | PCRE2_NO_JIT, md, db->mctx);
    if (r >= 0) {
        recog_fill(db, fp, text, pcre2_get_ovector_pointer(md), pcre2_get_ovector_count(md), res);
        return 1;
    }
    return r == PCRE2_ERROR_NOMATCH ? 0 : BS_EIO;
}

static void recog_result_clear(struct recog_result *res)
{
    res->nparams = 0;
    res->vendor[0] = res->product[0] = res->device[0] = res->version[0] = res->cpe[0] = '\0';
    res->certainty = 0;
    res->description = res->source = res->key = "";
}

int recog_match(const struct ident_db *db, const char *key, const char *text, size_t len,
                struct recog_result *res)
{
    recog_result_clear(res);
    if (len > RECOG_TEXT_MAX)
        len = RECOG_TEXT_MAX;
    /* One match block and one UTF-8 check for all the fingerprints tried. */
    pcre2_match_data *md = NULL;
    bool utf = recog_utf8_valid(text, len);
    int rc = 0, failed = 0;
    for (size_t f = 0; f < db->files.n && rc != 1; f++) {
        const struct recog_file *rf = DB_FILE(db, f);
        if (strcmp(rf->key, key) != 0)
            continue;
        if (!md && !(md = pcre2_match_data_create(db->max_pairs, NULL)))
            return BS_ENOMEM;
        for (size_t i = rf->first; i < rf->first + rf->count && rc != 1; i++) {
            /* A pattern stopped by the match limit counts as not matching, so one slow
             * pattern cannot hide the fingerprints after it; the error is kept for the end. */
            rc = recog_run(db, DB_FP(db, i), text, len, utf, md, res);
            if (rc < 0) {
                failed = rc;
                recog_result_clear(res);
            }
        }
    }
    pcre2_match_data_free(md);
    return rc == 1 ? 1 : failed;
}

const char *recog_result_get(const struct recog_result *res, const char *name)
{
    for (size_t i = 0; i < res->nparams; i++)
        if (strcmp(res->params[i].name, name) == 0)
            return res->params[i].value;
    return NULL;
}

int ident_db_check_examples(const struct ident_db *db, const char *source, size_t *npass,
                            size_t *nfail, recog_fail_fn fail, void *arg)
{
    *npass = *nfail = 0;
    struct recog_result *res = malloc(sizeof(*res));
    pcre2_match_data *md = pcre2_match_data_create(db->max_pairs ? db->max_pairs : 1, NULL);
    if (!res || !md) {
        free(res);
        pcre2_match_data_free(md);
        return BS_ENOMEM;
    }
    for (size_t i = 0; i < db->fps.n; i++) {
        const struct recog_fp *fp = DB_FP(db, i);
        const char *src = DB_FILE(db, fp->file)->name;
        if (source && strcmp(source, src) != 0)
            continue;
        for (size_t e = 0; e < fp->examples.n; e++) {
            const struct recog_example *ex = FP_EXAMPLE(fp, e);
            char why[512];
            why[0] = '\0';
            recog_result_clear(res);
            int rc =
                recog_run(db, fp, ex->text, ex->len, recog_utf8_valid(ex->text, ex->len), md, res);
            if (rc == 0) {
                snprintf(why, sizeof(why), "the example does not match its pattern");
            } else if (rc < 0) {
                snprintf(why, sizeof(why), "PCRE2 failed on the example");
            } else {
                for (size_t a = 0; a < ex->asserts.n && !why[0]; a++) {
                    const struct recog_nv *as = EX_ASSERT(ex, a);
                    const char *got = recog_result_get(res, as->name);
                    if (!got || strcmp(got, as->value) != 0)
                        snprintf(why, sizeof(why), "%s is \"%.200s\", expected \"%.200s\"",
                                 as->name, got ? got : "(absent)", as->value);
                }
            }
            if (why[0]) {
                (*nfail)++;
                if (fail)
                    fail(arg, src, fp->description, ex->line, why);
            } else {
                (*npass)++;
            }
        }
    }
    free(res);
    pcre2_match_data_free(md);
    return 0;
}
