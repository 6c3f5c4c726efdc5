/* dtext.h - small text helpers shared by the truth and intel readers: a line cursor over a
 * buffer or a stream, a CSV/TSV field splitter, times and "addr:port" indicators.
 *
 * Ownership: a struct dtext_lines borrows its buffer or stream; the line it hands out lives in
 * its own growable buffer (capped at max_line) until the next call or dtext_lines_release.
 * The splitter modifies the line in place and points the fields into it.
 */
#ifndef BS_DETECT_DTEXT_H
#define BS_DETECT_DTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/ipaddr.h"

struct dtext_lines {
    const char *p, *end; /* read first: a buffer (the whole input, or a stream's head) */
    FILE *f;             /* then this stream, when not NULL */
    char *line;          /* current line, NUL-terminated, without its newline (and \r) */
    size_t len, cap, max_line;
    unsigned long lineno; /* 1-based number of the current line */
};

void dtext_lines_init_mem(struct dtext_lines *l, const char *data, size_t len, size_t max_line);
/* Reads head[0..len) (bytes already taken from f) and then f. */
void dtext_lines_init_file(struct dtext_lines *l, const char *head, size_t len, FILE *f,
                           size_t max_line);
/* Advances to the next line. Returns 1 with l->line set, 0 at the end, BS_ELIMIT for a line
 * longer than max_line, BS_ENOMEM, or -errno for a read error. */
int dtext_lines_next(struct dtext_lines *l);
void dtext_lines_release(struct dtext_lines *l);

/* Splits line at sep into at most max fields (quoted "..." fields with "" escapes when quotes
 * is non-zero; spaces around a quoted field are dropped, as ThreatFox writes ", "). Returns the
 * number of fields, or BS_EPARSE for an unterminated quote, BS_ELIMIT past max. */
int dtext_split(char *line, char sep, int quotes, char **f, int max);

/* Parses seconds since the epoch with an optional fraction ("1545404132.353979") into whole
 * milliseconds (the fraction truncated). Returns 0 or BS_EPARSE. */
int dtext_secs_ms(const char *s, uint64_t *ms);
/* Parses a UTC date-time "YYYY-MM-DD[ HH:MM[:SS[.frac]]]" (also '/' and 'T' separators, a
 * trailing "Z" or " UTC") into ms. Returns 0 or BS_EPARSE. */
int dtext_utc_ms(const char *s, uint64_t *ms);
/* Parses an unsigned decimal (or 0x hex when hex is non-zero) no larger than max. */
int dtext_u64(const char *s, uint64_t max, int hex, uint64_t *v);
/* Parses "addr", "a.b.c.d:port", "[v6]:port" or a bare IPv6 address. *port is 0 without one.
 * Returns 0 or BS_EPARSE. */
int dtext_addr_port(const char *s, struct ipaddr *addr, uint16_t *port);
/* "tcp" -> 6, "udp" -> 17, "icmp" -> 1, "ipv6-icmp"/"icmp6" -> 58, or a number 0..255. */
int dtext_proto(const char *s, uint8_t *proto);
/* Case-insensitive prefix test. */
int dtext_starts_with(const char *s, const char *prefix);

#endif
