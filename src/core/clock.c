#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/err.h"

uint64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct clock_cpu clock_cpu_now(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return (struct clock_cpu){0, 0};
    return (struct clock_cpu){.user_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000u +
                                         (uint64_t)ru.ru_utime.tv_usec * 1000u,
                              .sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000u +
                                        (uint64_t)ru.ru_stime.tv_usec * 1000u};
}

uint64_t clock_mono_ms(void)
{
    return clock_mono_ns() / 1000000u;
}

char *clock_format_utc(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03u", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
    return buf;
}

int clock_parse_utc(const char *s, uint64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    char sep;
    size_t len = strlen(s);
    if (len && strspn(s, "0123456789") == len && len > 8) {
        *ms = strtoull(s, NULL, 10);
        return 0;
    }
    if (sscanf(s, "%4d%c%2d%*c%2d%n", &y, &sep, &mo, &d, &n) < 4 || (sep != '-' && sep != '/'))
        return BS_EPARSE;
    const char *rest = s + n;
    if (*rest) {
        int m = 0;
        if (sscanf(rest, "%*1[ .T]%2d:%2d%n", &h, &mi, &m) < 2)
            return BS_EPARSE;
        rest += m;
        if (*rest) {
            if (sscanf(rest, ":%2d%n", &sec, &m) < 1)
                return BS_EPARSE;
            rest += m;
        }
        if (*rest)
            return BS_EPARSE;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return BS_EPARSE;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    /* timegm normalises: 2026-02-30 would become March 2nd. A date it had to move is not a
     * date. A leap second (:60) is checked as :59 and counted one second later. */
    if (sec == 60)
        tm.tm_sec = 59;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1 || tm.tm_year != y - 1900)
        return BS_EPARSE;
    t += sec == 60;
    *ms = (uint64_t)t * 1000u;
    return 0;
}

/* Dates contain '-', so every '-' is tried as the split point. */
int clock_parse_window(const char *s, uint64_t *lo, uint64_t *hi)
{
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return BS_EPARSE;
    if (!clock_parse_utc(s, lo)) {
        *hi = UINT64_MAX;
        return 0;
    }
    for (const char *d = strchr(s, '-'); d; d = strchr(d + 1, '-')) {
        size_t l = (size_t)(d - s);
        memcpy(buf, s, l);
        buf[l] = '\0';
        if (clock_parse_utc(buf, lo))
            continue;
        if (!d[1]) {
            *hi = UINT64_MAX;
            return 0;
        }
        if (!clock_parse_utc(d + 1, hi)) {
            /* An END given to the second covers that whole second. */
            if (*hi % 1000 == 0)
                *hi += 999;
            return *hi >= *lo ? 0 : BS_EPARSE;
        }
    }
    return BS_EPARSE;
}
