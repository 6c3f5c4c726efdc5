/* cli_json.c - stored JSON documents (read with jansson) written back through core/jw. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/jw.h"

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object's members, in stored order or sorted by key (strcmp, as JSON_SORT_KEYS). */
static void copy_object(struct jw *w, json_t *o, bool sorted)
{
    size_t n = json_object_size(o), i = 0;
    const char **keys = sorted && n > 1 ? malloc(n * sizeof *keys) : NULL;
    if (!keys) {
        /* Stored order (or no room to sort: still every member, in a valid document). */
        for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
            cli_json_copy(w, json_object_iter_key(it), json_object_iter_value(it), sorted);
        return;
    }
    for (void *it = json_object_iter(o); it && i < n; it = json_object_iter_next(o, it))
        keys[i++] = json_object_iter_key(it);
    qsort(keys, i, sizeof *keys, key_cmp);
    n = i;
    for (i = 0; i < n; i++)
        cli_json_copy(w, keys[i], json_object_get(o, keys[i]), sorted);
    free(keys);
}

void cli_json_copy(struct jw *w, const char *key, json_t *v, bool sorted)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        jw_obj(w, key);
        copy_object(w, v, sorted);
        jw_end(w);
        break;
    case JSON_ARRAY:
        jw_arr(w, key);
        for (size_t i = 0; i < json_array_size(v); i++)
            cli_json_copy(w, NULL, json_array_get(v, i), sorted);
        jw_end(w);
        break;
    case JSON_STRING:
        jw_strn(w, key, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        jw_i64(w, key, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        jw_dbl(w, key, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        jw_bool(w, key, json_is_true(v));
        break;
    case JSON_NULL:
        jw_null(w, key);
        break;
    }
}

void cli_json_members(struct jw *w, json_t *o, bool sorted)
{
    copy_object(w, o, sorted);
}
