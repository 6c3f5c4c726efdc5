/* http.c - incremental HTTP/RTSP response reader and authentication helpers (http.h). */
#include "survey/http.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "core/err.h"

enum http_state {
    ST_STATUS = 0,
    ST_HEADER,
    ST_BODY_LEN, /* Content-Length bytes */
    ST_BODY_EOF, /* until the peer closes */
    ST_CHUNK_SIZE,
    ST_CHUNK_DATA,
    ST_CHUNK_CRLF,
    ST_TRAILER,
    ST_END,
};

void sv_http_init(struct sv_http *h, bool head_only)
{
    /* The body array is large: clear only what the parser reads before writing. */
    h->state = ST_STATUS;
    h->line_len = 0;
    h->line[0] = '\0';
    h->remaining = 0;
    h->chunked = h->has_length = false;
    h->head_only = head_only;
    h->n_headers = h->anomalies = 0;
    h->status = SV_HTTP_MORE;
    h->proto[0] = '\0';
    h->code = 0;
    h->server[0] = h->auth_basic[0] = h->auth_digest[0] = '\0';
    h->content_type[0] = h->location[0] = '\0';
    h->body_len = 0;
    h->body_truncated = false;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static void body_append(struct sv_http *h, const uint8_t *p, size_t n)
{
    size_t room = SV_HTTP_BODY - h->body_len;
    if (n > room) {
        h->body_truncated = true;
        n = room;
    }
    memcpy(h->body + h->body_len, p, n);
    h->body_len += n;
}

static void status_line(struct sv_http *h)
{
    const char *s = h->line;
    if (strncmp(s, "HTTP/", 5) && strncmp(s, "RTSP/", 5)) {
        h->status = SV_HTTP_MALFORMED;
        return;
    }
    const char *sp = strchr(s, ' ');
    if (!sp || sp - s >= (long)sizeof h->proto || !isdigit((unsigned char)sp[1]) ||
        !isdigit((unsigned char)sp[2]) || !isdigit((unsigned char)sp[3]) ||
        (sp[4] != ' ' && sp[4] != '\0')) {
        h->status = SV_HTTP_MALFORMED;
        return;
    }
    memcpy(h->proto, s, (size_t)(sp - s));
    h->proto[sp - s] = '\0';
    h->code = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
    h->state = ST_HEADER;
}

static void header_line(struct sv_http *h)
{
    if (h->line_len == 0) { /* end of headers */
        bool rtsp = !strncmp(h->proto, "RTSP/", 5);
        if (h->code >= 100 && h->code < 200 && !rtsp) { /* interim: the real one follows */
            h->state = ST_STATUS;
            return;
        }
        if (h->head_only || h->code == 204 || h->code == 304 || (rtsp && !h->has_length)) {
            h->state = ST_END;
        } else if (h->chunked) {
            h->state = ST_CHUNK_SIZE;
        } else if (h->has_length) {
            h->state = h->remaining ? ST_BODY_LEN : ST_END;
        } else {
            h->state = ST_BODY_EOF;
        }
        return;
    }
    if (++h->n_headers > SV_HTTP_HEADERS) {
        h->status = SV_HTTP_MALFORMED;
        return;
    }
    char *colon = strchr(h->line, ':');
    if (!colon) {
        h->anomalies++;
        return;
    }
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vl = strlen(v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        v[--vl] = '\0';
    const char *k = h->line;
    if (!strcasecmp(k, "server")) {
        copy_field(h->server, sizeof h->server, v);
    } else if (!strcasecmp(k, "www-authenticate")) {
        if (!strncasecmp(v, "basic", 5) && (v[5] == ' ' || v[5] == '\0') && !h->auth_basic[0])
            copy_field(h->auth_basic, sizeof h->auth_basic, v[5] ? v + 6 : "realm=\"\"");
        else if (!strncasecmp(v, "digest ", 7) && !h->auth_digest[0])
            copy_field(h->auth_digest, sizeof h->auth_digest, v + 7);
    } else if (!strcasecmp(k, "content-type")) {
        copy_field(h->content_type, sizeof h->content_type, v);
    } else if (!strcasecmp(k, "location")) {
        copy_field(h->location, sizeof h->location, v);
    } else if (!strcasecmp(k, "transfer-encoding")) {
        if (strcasestr(v, "chunked"))
            h->chunked = true;
    } else if (!strcasecmp(k, "content-length")) {
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        if (end == v || *end != '\0') {
            h->status = SV_HTTP_MALFORMED;
            return;
        }
        h->has_length = true;
        h->remaining = n;
    }
}

static void chunk_size_line(struct sv_http *h)
{
    char *end;
    unsigned long long n = strtoull(h->line, &end, 16);
    if (end == h->line || (*end != '\0' && *end != ';' && *end != ' ')) {
        h->status = SV_HTTP_MALFORMED;
        return;
    }
    h->remaining = n;
    h->state = n ? ST_CHUNK_DATA : ST_TRAILER;
}

/* A complete line is in h->line: act on it in the current state. */
static void on_line(struct sv_http *h)
{
    switch ((enum http_state)h->state) {
    case ST_STATUS:
        status_line(h);
        break;
    case ST_HEADER:
        header_line(h);
        break;
    case ST_CHUNK_SIZE:
        chunk_size_line(h);
        break;
    case ST_CHUNK_CRLF:
        if (h->line_len)
            h->anomalies++;
        h->state = ST_CHUNK_SIZE;
        break;
    case ST_TRAILER:
        if (!h->line_len)
            h->state = ST_END;
        break;
    default:
        break;
    }
}

static bool line_state(uint8_t st)
{
    return st == ST_STATUS || st == ST_HEADER || st == ST_CHUNK_SIZE || st == ST_CHUNK_CRLF ||
           st == ST_TRAILER;
}

enum sv_http_status sv_http_feed(struct sv_http *h, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && h->status == SV_HTTP_MORE) {
        if (h->state == ST_END) {
            h->status = SV_HTTP_DONE;
            break;
        }
        if (line_state(h->state)) {
            uint8_t c = p[i++];
            if (c == '\n') {
                if (h->line_len && h->line[h->line_len - 1] == '\r')
                    h->line[--h->line_len] = '\0';
                on_line(h);
                h->line_len = 0;
                h->line[0] = '\0';
            } else if (h->line_len < SV_HTTP_LINE) {
                h->line[h->line_len++] = (char)c;
                h->line[h->line_len] = '\0';
                /* Reject non-HTTP early (a telnet or SSH banner on an HTTP port). */
                if (h->state == ST_STATUS && h->line_len == 5 && strncmp(h->line, "HTTP/", 5) &&
                    strncmp(h->line, "RTSP/", 5))
                    h->status = SV_HTTP_MALFORMED;
            } else if (h->line_len == SV_HTTP_LINE) {
                h->anomalies++;
                h->line_len++; /* count once; the stored text stays at the cap */
                h->line[SV_HTTP_LINE] = '\0';
            }
            continue;
        }
        size_t take = n - i;
        if (h->state == ST_BODY_LEN || h->state == ST_CHUNK_DATA) {
            if (take > h->remaining)
                take = (size_t)h->remaining;
            h->remaining -= take;
        }
        body_append(h, p + i, take);
        i += take;
        if (h->state == ST_BODY_LEN && !h->remaining)
            h->state = ST_END;
        else if (h->state == ST_CHUNK_DATA && !h->remaining)
            h->state = ST_CHUNK_CRLF;
    }
    if (h->status == SV_HTTP_MORE && h->state == ST_END)
        h->status = SV_HTTP_DONE;
    return h->status;
}

enum sv_http_status sv_http_eof(struct sv_http *h)
{
    if (h->status == SV_HTTP_MORE) {
        if (h->state == ST_BODY_EOF || h->state == ST_END)
            h->status = SV_HTTP_DONE;
        else
            h->status = SV_HTTP_MALFORMED; /* cut short */
    }
    return h->status;
}

void sv_http_title(const struct sv_http *h, char *out, size_t outlen)
{
    out[0] = '\0';
    const char *b = (const char *)h->body;
    size_t n = h->body_len, start = 0, o = 0;
    bool found = false;
    for (size_t i = 0; i + 6 < n; i++)
        if (!strncasecmp(b + i, "<title", 6) && (b[i + 6] == '>' || b[i + 6] == ' ')) {
            const char *gt = memchr(b + i, '>', n - i);
            if (!gt)
                return;
            start = (size_t)(gt - b) + 1;
            found = true;
            break;
        }
    if (!found)
        return;
    bool space = false;
    for (size_t i = start; i < n && o + 1 < outlen; i++) {
        if (b[i] == '<')
            break;
        if (isspace((unsigned char)b[i])) {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < outlen)
            out[o++] = ' ';
        space = false;
        out[o++] = b[i];
    }
    out[o] = '\0';
}

bool sv_http_auth_param(const char *params, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *s = params;
    while (*s) {
        while (*s == ' ' || *s == ',' || *s == '\t')
            s++;
        const char *k = s;
        while (*s && *s != '=' && *s != ',' && *s != ' ')
            s++;
        size_t kl = (size_t)(s - k);
        if (*s != '=') {
            while (*s && *s != ',')
                s++;
            continue;
        }
        s++;
        char val[SV_HTTP_FIELD];
        size_t vl = 0;
        if (*s == '"') {
            s++;
            while (*s && *s != '"') {
                if (*s == '\\' && s[1])
                    s++;
                if (vl + 1 < sizeof val)
                    val[vl++] = *s;
                s++;
            }
            if (*s == '"')
                s++;
        } else {
            while (*s && *s != ',' && *s != ' ')
                if (vl + 1 < sizeof val)
                    val[vl++] = *s++;
                else
                    s++;
        }
        val[vl] = '\0';
        if (kl == nl && !strncasecmp(k, name, nl)) {
            snprintf(out, outlen, "%s", val);
            return true;
        }
    }
    return false;
}

size_t sv_base64(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (n + 2) / 3 * 4;
    if (need + 1 > outlen)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

int sv_http_basic_header(const char *user, const char *pass, char *out, size_t outlen)
{
    char pair[512], b64[700];
    int n = snprintf(pair, sizeof pair, "%s:%s", user, pass);
    if (n < 0 || (size_t)n >= sizeof pair ||
        !sv_base64((const uint8_t *)pair, (size_t)n, b64, sizeof b64))
        return BS_ELIMIT;
    n = snprintf(out, outlen, "Authorization: Basic %s\r\n", b64);
    return n < 0 || (size_t)n >= outlen ? BS_ELIMIT : 0;
}

int sv_md5_hex(const void *p, size_t n, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (!EVP_Digest(p, n, d, &dl, EVP_md5(), NULL) || dl != 16)
        return BS_EIO;
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return 0;
}

/* Lower-case hex MD5 of the string s. */
static int md5_hex(const char *s, char out[33])
{
    return sv_md5_hex(s, strlen(s), out);
}

int sv_http_digest_header(const char *params, const char *method, const char *uri, const char *user,
                          const char *pass, const char *cnonce, char *out, size_t outlen)
{
    char realm[SV_HTTP_FIELD], nonce[SV_HTTP_FIELD], qop[64] = "", opaque[SV_HTTP_FIELD] = "",
                                                     alg[32] = "MD5";
    if (!sv_http_auth_param(params, "realm", realm, sizeof realm) ||
        !sv_http_auth_param(params, "nonce", nonce, sizeof nonce))
        return BS_EPARSE;
    sv_http_auth_param(params, "qop", qop, sizeof qop);
    sv_http_auth_param(params, "opaque", opaque, sizeof opaque);
    sv_http_auth_param(params, "algorithm", alg, sizeof alg);
    if (strcasecmp(alg, "MD5"))
        return BS_EUNSUPPORTED;
    bool use_qop = qop[0] != '\0';
    if (use_qop && !strcasestr(qop, "auth"))
        return BS_EUNSUPPORTED;
    char buf[2048], ha1[33], ha2[33], resp[33];
    snprintf(buf, sizeof buf, "%s:%s:%s", user, realm, pass);
    if (md5_hex(buf, ha1))
        return BS_EIO;
    snprintf(buf, sizeof buf, "%s:%s", method, uri);
    if (md5_hex(buf, ha2))
        return BS_EIO;
    if (use_qop)
        snprintf(buf, sizeof buf, "%s:%s:00000001:%s:auth:%s", ha1, nonce, cnonce, ha2);
    else
        snprintf(buf, sizeof buf, "%s:%s:%s", ha1, nonce, ha2);
    if (md5_hex(buf, resp))
        return BS_EIO;
    int n;
    if (use_qop)
        n = snprintf(out, outlen,
                     "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
                     "uri=\"%s\", algorithm=MD5, response=\"%s\", qop=auth, nc=00000001, "
                     "cnonce=\"%s\"%s%s%s\r\n",
                     user, realm, nonce, uri, resp, cnonce, opaque[0] ? ", opaque=\"" : "", opaque,
                     opaque[0] ? "\"" : "");
    else
        n = snprintf(out, outlen,
                     "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
                     "uri=\"%s\", response=\"%s\"%s%s%s\r\n",
                     user, realm, nonce, uri, resp, opaque[0] ? ", opaque=\"" : "", opaque,
                     opaque[0] ? "\"" : "");
    return n < 0 || (size_t)n >= outlen ? BS_ELIMIT : 0;
}

static uint32_t rotl32(uint32_t x, int r)
{
    return x << r | x >> (32 - r);
}

uint32_t sv_mmh3_32(const void *data, size_t n, uint32_t seed)
{
    const uint8_t *p = data;
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed;
    size_t blocks = n / 4;
    for (size_t i = 0; i < blocks; i++) {
        uint32_t k = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                     (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    const uint8_t *tail = p + blocks * 4;
    uint32_t k = 0;
    switch (n & 3) {
    case 3:
        k ^= (uint32_t)tail[2] << 16;
        __attribute__((fallthrough));
    case 2:
        k ^= (uint32_t)tail[1] << 8;
        __attribute__((fallthrough));
    case 1:
        k ^= tail[0];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
    }
    h ^= (uint32_t)n;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

int32_t sv_favicon_hash(const uint8_t *p, size_t n)
{
    /* Capped input (SV_HTTP_BODY): base64 with newlines fits in a fixed buffer. */
    static const size_t maxin = SV_HTTP_BODY;
    if (n > maxin)
        n = maxin;
    char b64[(SV_HTTP_BODY + 2) / 3 * 4 + 1];
    char text[sizeof b64 + sizeof b64 / 76 + 2];
    size_t bl = sv_base64(p, n, b64, sizeof b64), o = 0;
    for (size_t i = 0; i < bl; i += 76) {
        size_t chunk = bl - i < 76 ? bl - i : 76;
        memcpy(text + o, b64 + i, chunk);
        o += chunk;
        text[o++] = '\n';
    }
    return (int32_t)sv_mmh3_32(text, o, 0);
}
