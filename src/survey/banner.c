/* banner.c - line-oriented greeting reader (banner.h). */
#include "survey/banner.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void sv_banner_init(struct sv_banner *b, enum sv_banner_kind kind)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
}

static void end_line(struct sv_banner *b)
{
    const char *s = b->line;
    b->lines++;
    switch (b->kind) {
    case SV_BANNER_LINE1:
        snprintf(b->ident, sizeof b->ident, "%s", s);
        b->complete = true;
        break;
    case SV_BANNER_SSH:
        if (!strncmp(s, "SSH-", 4)) {
            snprintf(b->ident, sizeof b->ident, "%s", s);
            b->complete = true;
        } else if (b->lines >= SV_BANNER_MAX_LINES) {
            b->malformed = b->complete = true;
        }
        break;
    case SV_BANNER_FTP:
        if (b->line_len < 3 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
            !isdigit((unsigned char)s[2])) {
            /* Continuation text of a multi-line reply; a first line must have a code. */
            if (b->lines == 1)
                b->malformed = b->complete = true;
            break;
        }
        if (s[3] == ' ' || s[3] == '\0') { /* the last line of the reply */
            b->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
            snprintf(b->ident, sizeof b->ident, "%s", s);
            b->complete = true;
        } else if (s[3] != '-' && b->lines == 1) {
            b->malformed = b->complete = true;
        }
        if (!b->complete && b->lines >= SV_BANNER_MAX_LINES)
            b->malformed = b->complete = true;
        break;
    }
    b->line_len = 0;
    b->line[0] = '\0';
}

bool sv_banner_feed(struct sv_banner *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && !b->complete; i++) {
        uint8_t c = p[i];
        if (c == '\r' || c == '\0')
            continue;
        if (b->text_len < SV_BANNER_TEXT) {
            b->text[b->text_len++] = (char)c;
            b->text[b->text_len] = '\0';
        }
        if (c == '\n') {
            end_line(b);
            continue;
        }
        if (b->line_len < SV_BANNER_LINE) {
            b->line[b->line_len++] = (char)c;
            b->line[b->line_len] = '\0';
        } else if (b->line_len == SV_BANNER_LINE) {
            b->anomalies++;
            b->line_len++; /* the stored text stays at the cap */
            b->line[SV_BANNER_LINE] = '\0';
        }
    }
    return b->complete;
}
