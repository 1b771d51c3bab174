/*
 * A small JSON reader for the test-vector files in ../shared/data.
 *
 * It parses a whole document into an array of nodes linked by index
 * (first child, next sibling), so the array can grow while parsing and
 * lookups afterwards are plain pointer walks. Strings are unescaped in
 * place in the caller's buffer and NUL-terminated there, so the buffer
 * must stay alive (and writable) as long as the document is used.
 *
 * Enough for data files, not a validator: \u escapes outside ASCII become
 * '?', numbers are kept as double and as int64 (exact for integers).
 */
#ifndef KESTREL_TESTS_JSON_H
#define KESTREL_TESTS_JSON_H

#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json_node {
    uint8_t type;     /* enum json_type */
    uint32_t count;   /* children of an array/object */
    uint32_t kid;     /* index of the first child, 0 if none */
    uint32_t next;    /* index of the next sibling, 0 if none */
    const char *key;  /* member name inside an object, else NULL */
    const char *str;  /* JSON_STR: the unescaped string */
    int64_t i;        /* JSON_NUM: integer value (truncated) */
    double d;         /* JSON_NUM: value */
};

struct json_doc {
    struct json_node *node; /* node[0] is the root */
    uint32_t n, cap;
    const char *err;        /* error message after a failed parse */
    size_t err_pos;         /* and where */
};

/* Parse text[0..len) (modified in place). Returns 0, or -1 with doc->err set. */
int json_parse(struct json_doc *doc, char *text, size_t len);
void json_free(struct json_doc *doc);

static inline const struct json_node *json_root(const struct json_doc *doc) { return &doc->node[0]; }
static inline const struct json_node *json_first(const struct json_doc *doc, const struct json_node *n)
{
    return n->kid ? &doc->node[n->kid] : NULL;
}
static inline const struct json_node *json_next(const struct json_doc *doc, const struct json_node *n)
{
    return n->next ? &doc->node[n->next] : NULL;
}
/* Member `key` of an object, or NULL. */
const struct json_node *json_get(const struct json_doc *doc, const struct json_node *obj, const char *key);

/* Read a whole gzip (or plain) file into a NUL-terminated malloc'd buffer. */
char *json_read_gz(const char *path, size_t *len);

#endif
