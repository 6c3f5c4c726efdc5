/* import_tcp.c - TCP flag unions from Zeek and Argus connection states (tables in
 * import_tcp.h). */
#include "store/import_tcp.h"

#include <ctype.h>
#include <string.h>

#include "core/err.h"

enum { T_FIN = 0x01, T_SYN = 0x02, T_RST = 0x04, T_PSH = 0x08, T_ACK = 0x10 };

/* The flags of one Zeek history letter (case folded); 0 for letters that say nothing. */
static uint8_t zeek_letter(int ch)
{
    switch (ch) {
    case 's':
        return T_SYN;
    case 'h':
        return T_SYN | T_ACK;
    case 'a':
        return T_ACK;
    case 'd':
        return T_ACK | T_PSH;
    case 't':
        return T_ACK | T_PSH;
    case 'f':
        return T_FIN;
    case 'r':
        return T_RST;
    case 'w':
        return T_ACK;
    case 'g':
        return T_ACK;
    case 'i':
        return T_FIN | T_RST;
    case 'q':
        return T_SYN;
    default:
        return 0; /* c (bad checksum) and letters newer than this table */
    }
}

static const struct {
    const char *name;
    uint8_t orig, resp;
} zeek_states[] = {
    {"S0", T_SYN, 0},
    {"REJ", T_SYN, T_RST | T_ACK},
    {"S1", T_SYN | T_ACK, T_SYN | T_ACK},
    {"SF", T_SYN | T_ACK | T_FIN, T_SYN | T_ACK | T_FIN},
    {"S2", T_SYN | T_ACK | T_FIN, T_SYN | T_ACK},
    {"S3", T_SYN | T_ACK, T_SYN | T_ACK | T_FIN},
    {"RSTO", T_SYN | T_ACK | T_RST, T_SYN | T_ACK},
    {"RSTR", T_SYN | T_ACK, T_SYN | T_ACK | T_RST},
    {"RSTOS0", T_SYN | T_RST, 0},
    {"RSTRH", 0, T_SYN | T_ACK | T_RST},
    {"SH", T_SYN | T_FIN, 0},
    {"SHR", 0, T_SYN | T_ACK | T_FIN},
    {"OTH", T_ACK, T_ACK},
};

static int zeek_history(const char *h, uint8_t *orig, uint8_t *resp)
{
    uint8_t o = 0, r = 0;
    /* Whether each side sent anything but RSTs (and bad-checksum packets). */
    int o_other = 0, r_other = 0;
    for (const char *p = h; *p; p++) {
        int ch = (unsigned char)*p;
        if (ch == '^')
            continue;
        if (!isalpha(ch))
            return BS_EPARSE;
        int lower = tolower(ch);
        uint8_t f = zeek_letter(lower);
        int other = lower != 'r' && lower != 'c';
        if (isupper(ch)) {
            o |= f;
            o_other |= other;
        } else {
            r |= f;
            r_other |= other;
        }
    }
    /* RFC 9293 3.10.7.1: a RST answering a segment without ACK (a SYN) carries ACK. */
    if ((r & T_RST) && !r_other && (o & T_SYN) && !(o & T_ACK))
        r |= T_ACK;
    if ((o & T_RST) && !o_other && (r & T_SYN) && !(r & T_ACK))
        o |= T_ACK;
    *orig = o;
    *resp = r;
    return 0;
}

int import_zeek_flags(const char *conn_state, const char *history, uint64_t orig_payload,
                      uint64_t resp_payload, uint8_t *orig, uint8_t *resp)
{
    *orig = *resp = 0;
    if (history && *history && strcmp(history, "-") && strcmp(history, "(empty)"))
        return zeek_history(history, orig, resp);
    if (!conn_state)
        return 0;
    for (size_t i = 0; i < sizeof zeek_states / sizeof zeek_states[0]; i++) {
        if (strcmp(conn_state, zeek_states[i].name))
            continue;
        *orig = zeek_states[i].orig;
        *resp = zeek_states[i].resp;
        /* Payload travels in segments with ACK; PSH marks the end of a sender's write. */
        if (orig_payload && *orig)
            *orig |= T_PSH | T_ACK;
        if (resp_payload && *resp)
            *resp |= T_PSH | T_ACK;
        break;
    }
    return 0;
}

/* One half of an Argus "X_Y" state: flag letters in any order. */
static int argus_half(const char *s, size_t n, uint8_t *out)
{
    static const char letters[] = "FSRPAUEC";
    uint8_t f = 0;
    for (size_t i = 0; i < n; i++) {
        const char *l = memchr(letters, s[i], sizeof letters - 1);
        if (!l)
            return BS_EPARSE;
        f |= (uint8_t)(1u << (l - letters));
    }
    *out = f;
    return 0;
}

static const struct {
    const char *name;
    uint8_t src, dst;
} argus_states[] = {
    {"REQ", T_SYN, 0},         {"ACC", T_SYN, T_SYN | T_ACK},
    {"CON", T_ACK, T_ACK},     {"CLO", T_FIN | T_ACK, T_FIN | T_ACK},
    {"FIN", T_FIN | T_ACK, 0}, {"RST", T_RST, 0},
};

int import_argus_flags(const char *state, uint8_t *src, uint8_t *dst)
{
    *src = *dst = 0;
    if (!state)
        return 0;
    const char *us = strchr(state, '_');
    if (us) {
        uint8_t s = 0, d = 0;
        if (strchr(us + 1, '_') || argus_half(state, (size_t)(us - state), &s) ||
            argus_half(us + 1, strlen(us + 1), &d))
            return BS_EPARSE;
        *src = s;
        *dst = d;
        return 0;
    }
    for (size_t i = 0; i < sizeof argus_states / sizeof argus_states[0]; i++)
        if (!strcmp(state, argus_states[i].name)) {
            *src = argus_states[i].src;
            *dst = argus_states[i].dst;
            break;
        }
    return 0;
}
