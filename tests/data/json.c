/*
 * The JSON reader of json.h: a recursive-descent parser over a mutable
 * buffer. Recursion depth follows the document's nesting, which is small
 * in the data files (and limited to JSON_MAX_DEPTH).
 */
#include "json.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define JSON_MAX_DEPTH 64

struct parser {
    struct json_doc *doc;
    char *start, *p, *end;
    int depth;
};

static int fail(struct parser *ps, const char *msg, const char *at)
{
    ps->doc->err = msg;
    ps->doc->err_pos = (size_t)(at - ps->start);
    return -1;
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static int new_node(struct parser *ps, uint32_t *idx)
{
    struct json_doc *d = ps->doc;
    if (d->n == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 1024;
        struct json_node *nn = realloc(d->node, (size_t)cap * sizeof(*nn));
        if (!nn)
            return fail(ps, "out of memory", ps->p);
        d->node = nn;
        d->cap = cap;
    }
    *idx = d->n++;
    memset(&d->node[*idx], 0, sizeof(d->node[*idx]));
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Parse a string at ps->p (on the opening quote); unescape in place. */
static int parse_string(struct parser *ps, const char **out)
{
    char *start = ++ps->p, *w = start;
    while (ps->p < ps->end && *ps->p != '"') {
        char ch = *ps->p++;
        if (ch != '\\') {
            *w++ = ch;
            continue;
        }
        if (ps->p >= ps->end)
            return fail(ps, "bad escape", ps->p);
        ch = *ps->p++;
        switch (ch) {
        case 'n': *w++ = '\n'; break;
        case 't': *w++ = '\t'; break;
        case 'r': *w++ = '\r'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'u': {
            int v = 0;
            for (int k = 0; k < 4; k++) {
                int h = ps->p < ps->end ? hexval(*ps->p++) : -1;
                if (h < 0)
                    return fail(ps, "bad \\u escape", ps->p);
                v = v * 16 + h;
            }
            *w++ = v < 0x80 ? (char)v : '?';
            break;
        }
        default: *w++ = ch; break; /* \" \\ \/ */
        }
    }
    if (ps->p >= ps->end)
        return fail(ps, "unterminated string", start);
    ps->p++; /* closing quote; w <= its position, so the NUL fits */
    *w = '\0';
    *out = start;
    return 0;
}

static int parse_value(struct parser *ps, uint32_t idx);

static int parse_container(struct parser *ps, uint32_t idx, bool obj)
{
    char close = obj ? '}' : ']';
    uint32_t last = 0;
    ps->p++;
    if (++ps->depth > JSON_MAX_DEPTH)
        return fail(ps, "nesting too deep", ps->p);
    ps->doc->node[idx].type = obj ? JSON_OBJ : JSON_ARR;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        skip_ws(ps);
        if (obj) {
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "expected member name", ps->p);
            if (parse_string(ps, &key))
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps, "expected ':'", ps->p);
            ps->p++;
        }
        uint32_t kid;
        if (new_node(ps, &kid))
            return -1;
        ps->doc->node[kid].key = key;
        if (parse_value(ps, kid))
            return -1;
        /* ps->doc->node may have moved: index, do not hold pointers. */
        if (last)
            ps->doc->node[last].next = kid;
        else
            ps->doc->node[idx].kid = kid;
        last = kid;
        ps->doc->node[idx].count++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            ps->depth--;
            return 0;
        }
        return fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'", ps->p);
    }
}

static int parse_number(struct parser *ps, uint32_t idx)
{
    char *s = ps->p;
    bool neg = false, frac = false;
    int64_t iv = 0;
    if (*ps->p == '-') {
        neg = true;
        ps->p++;
    }
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return fail(ps, "bad number", s);
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        iv = iv * 10 + (*ps->p++ - '0');
    while (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E' || *ps->p == '+' || *ps->p == '-' ||
                               (*ps->p >= '0' && *ps->p <= '9'))) {
        frac = true;
        ps->p++;
    }
    struct json_node *n = &ps->doc->node[idx];
    n->type = JSON_NUM;
    n->i = neg ? -iv : iv;
    if (frac) {
        char tmp[64];
        size_t l = (size_t)(ps->p - s);
        if (l >= sizeof(tmp))
            return fail(ps, "number too long", s);
        memcpy(tmp, s, l);
        tmp[l] = '\0';
        n->d = strtod(tmp, NULL);
        n->i = (int64_t)n->d;
    } else {
        n->d = (double)n->i;
    }
    return 0;
}

static int parse_literal(struct parser *ps, uint32_t idx, const char *word, enum json_type t)
{
    size_t l = strlen(word);
    if ((size_t)(ps->end - ps->p) < l || memcmp(ps->p, word, l) != 0)
        return fail(ps, "bad literal", ps->p);
    ps->p += l;
    ps->doc->node[idx].type = (uint8_t)t;
    return 0;
}

static int parse_value(struct parser *ps, uint32_t idx)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end", ps->p);
    switch (*ps->p) {
    case '{': return parse_container(ps, idx, true);
    case '[': return parse_container(ps, idx, false);
    case '"': {
        const char *s;
        if (parse_string(ps, &s))
            return -1;
        ps->doc->node[idx].type = JSON_STR;
        ps->doc->node[idx].str = s;
        return 0;
    }
    case 't': return parse_literal(ps, idx, "true", JSON_TRUE);
    case 'f': return parse_literal(ps, idx, "false", JSON_FALSE);
    case 'n': return parse_literal(ps, idx, "null", JSON_NULL);
    default: return parse_number(ps, idx);
    }
}

int json_parse(struct json_doc *doc, char *text, size_t len)
{
    struct parser ps = { .doc = doc, .start = text, .p = text, .end = text + len };
    uint32_t root;
    doc->n = 0;
    doc->err = NULL;
    if (new_node(&ps, &root) || parse_value(&ps, root))
        return -1;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        fail(&ps, "trailing data", ps.p);
        return -1;
    }
    return 0;
}

void json_free(struct json_doc *doc)
{
    free(doc->node);
    memset(doc, 0, sizeof(*doc));
}

const struct json_node *json_get(const struct json_doc *doc, const struct json_node *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJ)
        return NULL;
    for (const struct json_node *n = json_first(doc, obj); n; n = json_next(doc, n))
        if (n->key && strcmp(n->key, key) == 0)
            return n;
    return NULL;
}

char *json_read_gz(const char *path, size_t *len)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        int r = gzread(f, buf + n, (unsigned)(cap - n));
        if (r < 0) {
            free(buf);
            buf = NULL;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    gzclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}
