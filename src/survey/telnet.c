/* telnet.c - incremental Telnet reader and device prompt classifier (telnet.h). */
#include "survey/telnet.h"

#include <strings.h>
#include <string.h>

enum { IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240 };
enum { OPT_ECHO = 1, OPT_SGA = 3 };

enum tn_state {
    TN_DATA = 0,
    TN_IAC,    /* after IAC */
    TN_OPT,    /* after IAC WILL/WONT/DO/DONT: the option byte */
    TN_SB,     /* inside a subnegotiation */
    TN_SB_IAC, /* IAC inside a subnegotiation (IAC SE ends it, IAC IAC is data) */
};

void sv_telnet_init(struct sv_telnet *t)
{
    memset(t, 0, sizeof *t);
}

static void reply3(struct sv_telnet *t, uint8_t verb, uint8_t opt)
{
    if (t->reply_len + 3 > SV_TELNET_REPLY) {
        t->anomalies++;
        return;
    }
    t->reply[t->reply_len++] = IAC;
    t->reply[t->reply_len++] = verb;
    t->reply[t->reply_len++] = opt;
}

static void negotiate(struct sv_telnet *t, uint8_t verb, uint8_t opt)
{
    t->negotiations++;
    if (verb == WILL)
        reply3(t, (opt == OPT_ECHO || opt == OPT_SGA) ? DO : DONT, opt);
    else if (verb == DO)
        reply3(t, WONT, opt);
}

/* One byte of text: ANSI escapes skipped, CR and NUL dropped, LF ends the line. */
static void text_byte(struct sv_telnet *t, uint8_t c)
{
    if (t->esc == 1) { /* after ESC */
        t->esc = c == '[' ? 2 : 0;
        return;
    }
    if (t->esc == 2) { /* CSI: parameters until a final byte 0x40..0x7e */
        if (c >= 0x40 && c <= 0x7e)
            t->esc = 0;
        return;
    }
    if (c == 0x1b) {
        t->esc = 1;
        return;
    }
    if (c == '\0' || c == '\r')
        return;
    if (t->banner_len < SV_TELNET_BANNER) {
        t->banner[t->banner_len++] = (char)c;
        t->banner[t->banner_len] = '\0';
    }
    if (c == '\n') {
        /* Before forgetting a finished line, remember whether it said the login failed. */
        if (sv_telnet_prompt(t) == SV_PROMPT_FAILED)
            t->failure_seen = true;
        t->line_len = 0;
        t->line[0] = '\0';
        return;
    }
    if (t->line_len < SV_TELNET_LINE) {
        t->line[t->line_len++] = (char)c;
        t->line[t->line_len] = '\0';
    } else {
        /* Keep the end of an over-long line, where a prompt would be. */
        memmove(t->line, t->line + 1, SV_TELNET_LINE - 1);
        t->line[SV_TELNET_LINE - 1] = (char)c;
    }
}

void sv_telnet_feed(struct sv_telnet *t, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        switch ((enum tn_state)t->state) {
        case TN_DATA:
            if (c == IAC)
                t->state = TN_IAC;
            else
                text_byte(t, c);
            break;
        case TN_IAC:
            if (c == IAC) { /* escaped 255 is data */
                text_byte(t, c);
                t->state = TN_DATA;
            } else if (c >= WILL) {
                t->cmd = c;
                t->state = TN_OPT;
            } else if (c == SB) {
                t->state = TN_SB;
            } else { /* NOP, GA, AYT...: two-byte commands without meaning here */
                t->state = TN_DATA;
            }
            break;
        case TN_OPT:
            negotiate(t, t->cmd, c);
            t->state = TN_DATA;
            break;
        case TN_SB:
            if (c == IAC)
                t->state = TN_SB_IAC;
            break;
        case TN_SB_IAC:
            t->state = c == SE ? TN_DATA : TN_SB;
            break;
        }
    }
}

void sv_telnet_clear_line(struct sv_telnet *t)
{
    t->line_len = 0;
    t->line[0] = '\0';
    t->failure_seen = false;
}

/* Case-insensitive search of needle in hay. */
static bool has(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return false;
}

/* True when s (trimmed of trailing blanks) ends with suffix, case-insensitively. */
static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && !strncasecmp(s + len - n, suffix, n);
}

enum sv_prompt sv_telnet_prompt(const struct sv_telnet *t)
{
    const char *s = t->line;
    size_t len = t->line_len;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    /* Failure messages first: "Login incorrect", "Login failed", "Access denied",
     * "Authentication failed", "Password is wrong", "Bad password", "Invalid". */
    static const char *const failures[] = {
        "incorrect",     "login failed",  "access denied",         "authentication failed",
        "is wrong",      "bad password",  "invalid user",          "invalid password",
        "invalid login", "login invalid", "user or password error"};
    for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++)
        if (has(s, failures[i]))
            return SV_PROMPT_FAILED;
    if (len == 0)
        return t->failure_seen ? SV_PROMPT_FAILED : SV_PROMPT_NONE;
    /* Password before login: "Login Password:" asks for a password. */
    static const char *const pw[] = {"password:", "passwd:", "pass:", "password :", "password>"};
    for (size_t i = 0; i < sizeof pw / sizeof pw[0]; i++)
        if (ends_with(s, len, pw[i]))
            return SV_PROMPT_PASSWORD;
    static const char *const login[] = {"login:",    "username:",  "user name:", "user:",
                                        "login :",   "username :", "account:",   "login>",
                                        "username>", "user name :"};
    for (size_t i = 0; i < sizeof login / sizeof login[0]; i++)
        if (ends_with(s, len, login[i]))
            return t->failure_seen ? SV_PROMPT_FAILED : SV_PROMPT_LOGIN;
    if (t->failure_seen)
        return SV_PROMPT_FAILED;
    /* A shell: the line ends in one of the usual prompt characters, and the prompt is short
     * (a sentence ending in '>' or '#' is rarely under 64 bytes and never a prompt after
     * a login). */
    char last = s[len - 1];
    if ((last == '#' || last == '$' || last == '>' || last == '%') && len <= 64)
        return SV_PROMPT_SHELL;
    return SV_PROMPT_NONE;
}

const char *sv_prompt_name(enum sv_prompt p)
{
    switch (p) {
    case SV_PROMPT_NONE:
        return "none";
    case SV_PROMPT_LOGIN:
        return "login";
    case SV_PROMPT_PASSWORD:
        return "password";
    case SV_PROMPT_SHELL:
        return "shell";
    case SV_PROMPT_FAILED:
        return "failed";
    }
    return "?";
}
