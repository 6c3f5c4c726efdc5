/* store_ch_http.c - the ClickHouse HTTP interface over libcurl (see store_ch.h).
 *
 * Every request is a POST to http://HOST:PORT/ with the user and password as HTTP basic
 * authentication (never in the URL, so they do not reach the server's query log or a proxy's
 * access log); statements name their tables with the database (db.table), so no session
 * state is involved. ClickHouse answers errors with
 * a non-2xx status and a text body "Code: N, e.displayText() = ..."; its first line is kept
 * in c->err. Transport failures (refused, reset, timed out) are told apart from refusals by
 * the server, because only the former are worth retrying.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "store/store_ch.h"

int ch_url_parse(const char *url, struct ch_target *t, char errbuf[256])
{
    memset(t, 0, sizeof *t);
    if (strncmp(url, "clickhouse://", 13)) {
        snprintf(errbuf, 256, "%s: not a clickhouse:// URL", url);
        return BS_EUSAGE;
    }
    const char *p = url + 13, *hend, *port;
    if (*p == '[') {
        hend = strchr(p, ']');
        if (!hend || hend[1] != ':')
            goto bad;
        p++;
        port = hend + 2;
    } else {
        hend = strchr(p, ':');
        if (!hend)
            goto bad;
        port = hend + 1;
    }
    size_t hl = (size_t)(hend - p);
    if (hl == 0 || hl >= sizeof t->host || memchr(p, '@', hl) || memchr(p, '/', hl))
        goto bad;
    memcpy(t->host, p, hl);
    char *end;
    unsigned long pn = strtoul(port, &end, 10);
    if (end == port || pn == 0 || pn > 65535 || *end != '/')
        goto bad;
    t->port = (unsigned)pn;
    const char *db = end + 1;
    size_t dl = strlen(db);
    if (dl == 0 || dl > CH_DB_MAX)
        goto bad;
    for (size_t i = 0; i < dl; i++)
        if (!(db[i] == '_' || (db[i] >= '0' && db[i] <= '9') || (db[i] >= 'a' && db[i] <= 'z') ||
              (db[i] >= 'A' && db[i] <= 'Z')))
            goto bad;
    if (db[0] >= '0' && db[0] <= '9')
        goto bad;
    memcpy(t->db, db, dl + 1);
    return 0;
bad:
    snprintf(errbuf, 256,
             "%s: expected clickhouse://HOST:PORT/DATABASE (database: letters, digits, _; user "
             "and password go in the [clickhouse] configuration section)",
             url);
    return BS_EUSAGE;
}

int ch_conn_init(struct ch_conn *c, const struct ch_target *t, const struct config *cfg)
{
    memset(c, 0, sizeof *c);
    bool v6 = strchr(t->host, ':') != NULL;
    snprintf(c->base, sizeof c->base, "http://%s%s%s:%u/", v6 ? "[" : "", t->host, v6 ? "]" : "",
             t->port);
    const char *u = cfg ? config_str(cfg, "clickhouse", "user") : "default";
    const char *pw = cfg ? config_str(cfg, "clickhouse", "password") : "";
    snprintf(c->user, sizeof c->user, "%s", u ? u : "default");
    snprintf(c->password, sizeof c->password, "%s", pw ? pw : "");
    c->timeout_ms = cfg ? (long)config_duration_ms(cfg, "clickhouse", "timeout") : 60000;
    c->connect_timeout_ms = 2000;
    c->curl = curl_easy_init();
    return c->curl ? 0 : BS_ENOMEM;
}

void ch_conn_release(struct ch_conn *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    c->curl = NULL;
    /* The password does not outlive the connection in memory we own. */
    memset(c->password, 0, sizeof c->password);
}

struct sink {
    struct buf *resp;   /* collected answer (may be NULL) */
    struct buf errtext; /* answer of a failed request */
    int (*cb)(void *, const uint8_t *, size_t);
    void *ctx;
    int cb_rc;
    long status;
    CURL *curl;
};

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
    struct sink *s = ud;
    size_t n = sz * nm;
    if (!s->status)
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200) {
        buf_append(&s->errtext, p, n); /* capped; the rest is dropped */
        return n;
    }
    if (s->cb) {
        s->cb_rc = s->cb(s->ctx, (const uint8_t *)p, n);
        return s->cb_rc ? 0 : n;
    }
    if (s->resp && buf_append(s->resp, p, n))
        return 0;
    return n;
}

/* One request: url_query is appended to the base URL (already escaped), body posted. */
static int request(struct ch_conn *c, const char *url_query, const void *body, size_t len,
                   bool gzip, struct sink *s)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    char url[8192];
    int ul = snprintf(url, sizeof url, "%s?%s", c->base, url_query);
    if (ul < 0 || (size_t)ul >= sizeof url) {
        snprintf(c->err, sizeof c->err, "request URL too long");
        return BS_ELIMIT;
    }
    struct curl_slist *hdr = NULL;
    if (gzip)
        hdr = curl_slist_append(hdr, "Content-Encoding: gzip");
    /* No "Expect: 100-continue" round trip on large bodies. */
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    s->curl = h;
    buf_init(&s->errtext, 4096);
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(hdr);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    int rc = 0;
    if (s->cb_rc) {
        rc = s->cb_rc;
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(c->err, sizeof c->err, "%s: timed out", c->base);
        rc = -ETIMEDOUT;
    } else if (cc == CURLE_WRITE_ERROR && status == 200) {
        snprintf(c->err, sizeof c->err, "answer larger than %u bytes", CH_RESP_MAX);
        rc = BS_ELIMIT;
    } else if (cc != CURLE_OK && status == 0) {
        snprintf(c->err, sizeof c->err, "%s: %s", c->base, curl_easy_strerror(cc));
        rc = -ECONNREFUSED;
    } else if (cc != CURLE_OK && status == 200) {
        /* The server died while answering: the answer is incomplete. */
        snprintf(c->err, sizeof c->err, "%s: %s", c->base, curl_easy_strerror(cc));
        rc = -ECONNRESET;
    } else if (status != 200) {
        const char *t = s->errtext.data ? s->errtext.data : "";
        size_t l = strcspn(t, "\n");
        snprintf(c->err, sizeof c->err, "HTTP %ld: %.*s", status, (int)l, t);
        rc = status >= 500 && strstr(t, "Code: 210") ? -ECONNRESET : BS_EIO;
    }
    buf_release(&s->errtext);
    return rc;
}

static int escape_param(struct ch_conn *c, const char *name, const char *v, char *out, size_t cap)
{
    char *e = curl_easy_escape(c->curl, v, 0);
    if (!e)
        return BS_ENOMEM;
    int n = snprintf(out, cap, "%s=%s", name, e);
    curl_free(e);
    return n < 0 || (size_t)n >= cap ? BS_ELIMIT : 0;
}

int ch_exec(struct ch_conn *c, const char *sql, struct buf *resp)
{
    struct sink s = {.resp = resp};
    return request(c, "", sql, strlen(sql), false, &s);
}

int ch_exec_u64(struct ch_conn *c, const char *sql, uint64_t *out)
{
    struct buf b = BUF_INIT(4096);
    int rc = ch_exec(c, sql, &b);
    if (!rc) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(b.data ? b.data : "", &end, 10);
        if (errno || !b.data || end == b.data || (*end && *end != '\n')) {
            snprintf(c->err, sizeof c->err, "expected a number, got '%.40s'", b.data ? b.data : "");
            rc = BS_EIO;
        } else {
            *out = v;
        }
    }
    buf_release(&b);
    return rc;
}

int ch_insert(struct ch_conn *c, const char *sql, const char *query_id, const void *body,
              size_t len)
{
    char q[2048], id[256], url[2400];
    int rc;
    if ((rc = escape_param(c, "query", sql, q, sizeof q)) ||
        (rc = escape_param(c, "query_id", query_id, id, sizeof id)))
        return rc;
    /* One insert unit is one block of one partition, so it lands as one part or not at all
     * (store_ch_write.c relies on this): the block cap is raised above the unit size. */
    snprintf(url, sizeof url, "%s&%s&max_insert_block_size=2000000", q, id);
    struct sink s = {0};
    return request(c, url, body, len, true, &s);
}

int ch_stream(struct ch_conn *c, const char *sql, int (*cb)(void *ctx, const uint8_t *p, size_t n),
              void *ctx)
{
    struct sink s = {.cb = cb, .ctx = ctx};
    return request(c, "", sql, strlen(sql), false, &s);
}

int ch_stream_big(struct ch_conn *c, const char *sql, const char *query_id,
                  int (*cb)(void *ctx, const uint8_t *p, size_t n), void *ctx)
{
    char q[400], id[300];
    size_t l = strlen(sql);
    int n = snprintf(q, sizeof q, "max_query_size=%zu", l + 1024);
    if (query_id) {
        int rc = escape_param(c, "query_id", query_id, id, sizeof id);
        if (rc)
            return rc;
        n = snprintf(q + n, sizeof q - (size_t)n, "&log_queries=1&%s", id);
        if (n < 0)
            return BS_ELIMIT;
    }
    struct sink s = {.cb = cb, .ctx = ctx};
    return request(c, q, sql, l, false, &s);
}

bool ch_ping(struct ch_conn *c)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    char url[320];
    snprintf(url, sizeof url, "%sping", c->base);
    struct buf b = BUF_INIT(64);
    struct sink s = {.resp = &b, .curl = h};
    buf_init(&s.errtext, 64);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->connect_timeout_ms);
    CURLcode cc = curl_easy_perform(h);
    bool ok = cc == CURLE_OK && s.status == 200 && b.data && !strncmp(b.data, "Ok.", 3);
    buf_release(&b);
    buf_release(&s.errtext);
    return ok;
}
