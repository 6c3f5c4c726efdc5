/* http.h - incremental HTTP/1.x (and RTSP/1.0) response reader, and the helpers a device
 * survey needs around it: the <title>, WWW-Authenticate challenges, Basic and Digest
 * credentials, and the favicon hash.
 *
 * sv_http_feed() takes the response in any split and fills struct sv_http: status code,
 * Server, WWW-Authenticate (the first Basic and the first Digest challenge), Content-Type,
 * Location, and the body up to SV_HTTP_BODY bytes (Content-Length, chunked, or until close:
 * sv_http_eof()). Lines longer than SV_HTTP_LINE are truncated and counted as anomalies;
 * more than SV_HTTP_HEADERS header lines end the parse as malformed. The reader allocates
 * nothing (fixed arrays) and never logs; split anywhere, it gives the same result.
 */
#ifndef BS_SURVEY_HTTP_H
#define BS_SURVEY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SV_HTTP_LINE    2048
#define SV_HTTP_HEADERS 128
#define SV_HTTP_BODY    65536
#define SV_HTTP_FIELD   512

enum sv_http_status {
    SV_HTTP_MORE = 0,      /* needs more input */
    SV_HTTP_DONE = 1,      /* a complete response */
    SV_HTTP_MALFORMED = 2, /* not HTTP, or broken framing; what was read is kept */
};

struct sv_http {
    /* parser position (http.c) */
    uint8_t state;
    char line[SV_HTTP_LINE + 1];
    size_t line_len;
    uint64_t remaining; /* body or chunk bytes still to read */
    bool chunked, has_length, head_only;
    uint32_t n_headers, anomalies;
    enum sv_http_status status;
    /* results */
    char proto[16]; /* "HTTP/1.1", "RTSP/1.0" */
    int code;       /* status code, 0 until read */
    char server[SV_HTTP_FIELD];
    char auth_basic[SV_HTTP_FIELD];  /* the Basic challenge's parameters, "" if none */
    char auth_digest[SV_HTTP_FIELD]; /* the Digest challenge's parameters */
    char content_type[128];
    char location[SV_HTTP_FIELD];
    uint8_t body[SV_HTTP_BODY];
    size_t body_len;
    bool body_truncated;
};

/* head_only: the request was HEAD (no body follows whatever the headers say). */
void sv_http_init(struct sv_http *h, bool head_only);
/* Feeds bytes; returns the status (DONE and MALFORMED are sticky: later bytes are ignored). */
enum sv_http_status sv_http_feed(struct sv_http *h, const uint8_t *p, size_t n);
/* The peer closed: a body delimited by the close is complete. Returns the final status. */
enum sv_http_status sv_http_eof(struct sv_http *h);

/* Copies the text of the body's <title> (entities not decoded, white space collapsed) into out;
 * "" when there is none. */
void sv_http_title(const struct sv_http *h, char *out, size_t outlen);

/* Finds parameter name in a challenge's parameter list (key=value or key="quoted", comma
 * separated) and copies its value. Returns true when found. */
bool sv_http_auth_param(const char *params, const char *name, char *out, size_t outlen);

/* Base64 (RFC 4648) of p into out (NUL-terminated). Returns the length, or 0 when out is too
 * small. */
size_t sv_base64(const uint8_t *p, size_t n, char *out, size_t outlen);

/* "Authorization: Basic ...\r\n" for user:pass into out. Returns 0 or BS_ELIMIT. */
int sv_http_basic_header(const char *user, const char *pass, char *out, size_t outlen);

/* "Authorization: Digest ...\r\n" answering the challenge params (RFC 7616 with MD5, qop auth
 * or none) for method and uri; cnonce is the client nonce to use. Returns 0, BS_EPARSE when
 * the challenge lacks realm or nonce, BS_EUNSUPPORTED for another algorithm, or BS_ELIMIT. */
int sv_http_digest_header(const char *params, const char *method, const char *uri, const char *user,
                          const char *pass, const char *cnonce, char *out, size_t outlen);

/* Shodan's favicon hash: MurmurHash3 (x86, 32-bit, seed 0) of the base64 text of the file
 * with a newline after every 76 characters and at the end (Python's base64.encodebytes), as a
 * signed 32-bit number. */
int32_t sv_favicon_hash(const uint8_t *p, size_t n);
/* Lower-case hex MD5 of p into out (33 bytes). Returns 0 or BS_EIO. */
int sv_md5_hex(const void *p, size_t n, char out[33]);
/* MurmurHash3 x86 32-bit. */
uint32_t sv_mmh3_32(const void *p, size_t n, uint32_t seed);

#endif
