/* sim_json.c - streaming nested JSON writer. */
#include "sim/sim_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "core/jw.h"

void sim_json_init(struct sim_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    buf_init(&j->b, 4 * SIM_JSON_CHUNK);
    j->first[0] = true;
}

static void drain(struct sim_json *j, bool all)
{
    if (j->err || (!all && j->b.len < SIM_JSON_CHUNK))
        return;
    if (j->b.len && fwrite(j->b.data, 1, j->b.len, j->f) != j->b.len)
        j->err = errno ? -errno : BS_EIO;
    buf_reset(&j->b);
}

static void pre(struct sim_json *j, const char *key)
{
    if (j->err)
        return;
    if (!j->first[j->depth])
        j->err = buf_putc(&j->b, ',');
    j->first[j->depth] = false;
    if (!j->err && j->depth >= 1 && j->depth <= 2)
        j->err = buf_printf(&j->b, "\n%*s", j->depth * 2, "");
    if (!j->err && key)
        j->err = buf_printf(&j->b, "\"%s\":", key);
}

static void open_(struct sim_json *j, const char *key, char c)
{
    pre(j, key);
    if (j->err)
        return;
    if (j->depth + 1 >= SIM_JSON_MAX_DEPTH) {
        j->err = BS_ELIMIT;
        return;
    }
    j->err = buf_putc(&j->b, c);
    j->depth++;
    j->first[j->depth] = true;
    j->closer[j->depth] = c == '{' ? '}' : ']';
}

void sim_json_obj(struct sim_json *j, const char *key)
{
    open_(j, key, '{');
}

void sim_json_arr(struct sim_json *j, const char *key)
{
    open_(j, key, '[');
}

void sim_json_end(struct sim_json *j)
{
    if (j->err || j->depth == 0)
        return;
    int d = j->depth;
    bool empty = j->first[d];
    j->depth--;
    if (!empty && d <= 2)
        j->err = buf_printf(&j->b, "\n%*s", (d - 1) * 2, "");
    if (j->err)
        return;
    char closer = j->closer[d];
    j->err = buf_putc(&j->b, closer);
    /* an element of a top-level member (one infection, one device) ends here: the buffer
     * holds at most one such element past SIM_JSON_CHUNK */
    if (!j->err && j->depth <= 2)
        drain(j, false);
}

void sim_json_str(struct sim_json *j, const char *key, const char *val)
{
    pre(j, key);
    if (!j->err)
        j->err = jw_escape(&j->b, val, strlen(val));
}

void sim_json_u64(struct sim_json *j, const char *key, uint64_t val)
{
    pre(j, key);
    if (!j->err)
        j->err = buf_printf(&j->b, "%" PRIu64, val);
}

void sim_json_dbl(struct sim_json *j, const char *key, double val)
{
    pre(j, key);
    if (!j->err)
        j->err = isfinite(val) ? buf_printf(&j->b, "%.6g", val) : buf_puts(&j->b, "null");
}

void sim_json_bool(struct sim_json *j, const char *key, bool val)
{
    pre(j, key);
    if (!j->err)
        j->err = buf_puts(&j->b, val ? "true" : "false");
}

void sim_json_ip(struct sim_json *j, const char *key, const struct ipaddr *a)
{
    char s[IPADDR_STRLEN];
    ipaddr_format(a, s, sizeof s);
    sim_json_str(j, key, s);
}

int sim_json_finish(struct sim_json *j)
{
    if (!j->err)
        j->err = buf_putc(&j->b, '\n');
    drain(j, true);
    buf_release(&j->b);
    return j->err;
}
