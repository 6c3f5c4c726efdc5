/* banner.h - incremental reader of line-oriented greetings: the FTP reply (RFC 959, with
 * "220-" continuation lines), the SSH identification string (RFC 4253 4.2: "SSH-2.0-..."
 * possibly after other lines), and plain one-line banners.
 *
 * sv_banner_feed() accepts any split; CR and NUL are dropped, lines are capped at
 * SV_BANNER_LINE (the rest of an over-long line is ignored and counted) and the text kept at
 * SV_BANNER_TEXT. Once complete, `ident` holds the line that identifies the server (the SSH
 * identification string, the FTP reply's last line, the first line otherwise). Pure; no
 * allocation.
 */
#ifndef BS_SURVEY_BANNER_H
#define BS_SURVEY_BANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SV_BANNER_TEXT      1024
#define SV_BANNER_LINE      256
#define SV_BANNER_MAX_LINES 32 /* an SSH server may send at most this many lines first */

enum sv_banner_kind { SV_BANNER_LINE1, SV_BANNER_FTP, SV_BANNER_SSH };

struct sv_banner {
    enum sv_banner_kind kind;
    char text[SV_BANNER_TEXT + 1];
    size_t text_len;
    char line[SV_BANNER_LINE + 1];
    size_t line_len;
    uint32_t lines, anomalies;
    bool complete, malformed;
    char ident[SV_BANNER_LINE + 1];
    int code; /* FTP reply code */
};

void sv_banner_init(struct sv_banner *b, enum sv_banner_kind kind);
/* Returns true once the banner is complete (or malformed: then `malformed` is set). */
bool sv_banner_feed(struct sv_banner *b, const uint8_t *p, size_t n);

#endif
