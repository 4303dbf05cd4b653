/* SPDX-License-Identifier: MIT */
/*
 * The comparison of a connection's two reports (compare.h): their shape,
 * the key that pairs them, the opening handshake each way (headers added,
 * removed or changed, the extension offer and its grant), the close frames
 * each way, how the connection ended, the octets each way, and the
 * verdict. The frames are compare_frames.c's.
 */
#include "autoconf.h"

#include "compare.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare_int.h"
#include "stats_shm.h"
#include "ws_handshake.h"

#define NELEM(a)  (sizeof(a) / sizeof((a)[0]))
#define QUOTE_MAX 100 /* bytes of a report's string a sentence shows */

/* Sentences ---------------------------------------------------------------- */

/* Drops the end of t that a cut left in the middle of a character. */
static void
text_clip(struct compare_text *t)
{
    size_t i = t->n;

    while (i > 0 && ((unsigned char)t->b[i - 1] & 0xc0) == 0x80) {
        i--;
    }
    if (i > 0) {
        unsigned char lead = (unsigned char)t->b[i - 1];
        size_t need = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        if (t->n - (i - 1) < need) {
            t->n = i - 1;
        }
    }
    t->b[t->n] = '\0';
}

static void
text_put(struct compare_text *t, const char *p, size_t n)
{
    size_t room = sizeof(t->b) - 1 - t->n;

    if (n > room) {
        n = room;
    }
    memcpy(t->b + t->n, p, n);
    t->n += n;
    text_clip(t);
}

void
compare_text_putf(struct compare_text *t, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof(t->b) - t->n;

    if (room <= 1) {
        return;
    }
    va_start(ap, fmt);
    int w = vsnprintf(t->b + t->n, room, fmt, ap);
    va_end(ap);
    if (w < 0) {
        t->b[t->n] = '\0';
        return;
    }
    t->n += (size_t)w < room ? (size_t)w : room - 1;
    text_clip(t);
}

void
compare_text_quote(struct compare_text *t, const char *s, size_t len)
{
    size_t k = len < QUOTE_MAX ? len : QUOTE_MAX;
    char esc[8];

    /* Cut between characters, never inside one. */
    while (k < len && k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80) {
        k--;
    }
    text_put(t, "\"", 1);
    size_t from = 0; /* the bytes to copy as they are: whole characters */
    for (size_t i = 0; i < k; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", ch);
        } else if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            esc[2] = '\0';
        } else {
            continue;
        }
        text_put(t, s + from, i - from);
        text_put(t, esc, strlen(esc));
        from = i + 1;
    }
    text_put(t, s + from, k - from);
    text_put(t, k < len ? "\"..." : "\"", k < len ? 4 : 1);
}

static void
quote_json(struct compare_text *t, const json_t *v)
{
    if (json_is_string(v)) {
        compare_text_quote(t, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        compare_text_putf(t, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else {
        compare_text_putf(t, "none");
    }
}

/* Findings ----------------------------------------------------------------- */

void
compare_differ(struct compare_way *w, const char *kind,
               const struct compare_text *t)
{
    json_t *d = json_pack("{s:s, s:s%}", "kind", kind, "text", t->b, t->n);

    if (d == NULL || json_array_append_new(w->differences, d) != 0) {
        w->failed = true;
    }
}

void
compare_note(struct compare_way *w, const struct compare_text *t)
{
    if (json_array_append_new(w->notes, json_stringn(t->b, t->n)) != 0) {
        w->failed = true;
    }
}

uint64_t
compare_stat(const json_t *stats, const char *key)
{
    const json_t *v = json_object_get(stats, key);

    return json_is_integer(v) && json_integer_value(v) > 0
               ? (uint64_t)json_integer_value(v)
               : 0;
}

static bool
way_init(struct compare_way *w, json_t *result, const char *key,
         const char *name, const char *sender, const char *receiver)
{
    w->name = name;
    w->sender = sender;
    w->receiver = receiver;
    w->obj = json_object();
    w->differences = json_array();
    w->notes = json_array();
    json_object_set_new(w->obj, "differences", w->differences);
    json_object_set_new(w->obj, "notes", w->notes);
    return w->obj != NULL && w->differences != NULL && w->notes != NULL &&
           json_object_set_new(result, key, w->obj) == 0;
}

/* The shape of a report ---------------------------------------------------- */

static bool shape_fail(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool
shape_fail(char *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, COMPARE_ERROR_MAX, fmt, ap);
    va_end(ap);
    return false;
}

static bool
is_decimal(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && n <= 19 && s[n] == '\0';
}

static bool
stats_shape(const json_t *c, const char *key, bool opcodes, char *err)
{
    const json_t *stats = json_object_get(c, key);
    const char *k;
    const json_t *v;

    if (!json_is_object(stats)) {
        return shape_fail(err, "\"%s\" missing, or not an object", key);
    }
    json_object_foreach((json_t *)(uintptr_t)stats, k, v)
    {
        if (!is_decimal(k) || (opcodes && strtoull(k, NULL, 10) > 15)) {
            return shape_fail(err, "\"%s\" has a key that is not %s", key,
                              opcodes ? "an opcode" : "a size");
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            return shape_fail(err, "\"%s\" has a count that is not a number",
                              key);
        }
    }
    return true;
}

/* An integer of [lo, hi], or, when nullable, null. */
static bool
is_int_in(const json_t *v, json_int_t lo, json_int_t hi, bool nullable)
{
    if (nullable && json_is_null(v)) {
        return true;
    }
    return json_is_integer(v) && json_integer_value(v) >= lo &&
           json_integer_value(v) <= hi;
}

/* What an element of a wire log row may be. */
enum elem {
    E_OCTETS,      /* [length, "octets"]: a count and a string (or null) */
    E_BOOL,        /* true or false */
    E_OPCODE,      /* 0 to 15 */
    E_RSV,         /* 0 to 7 */
    E_STRING_NULL, /* a string or null */
    E_COUNT_NULL,  /* an integer of 0 or more, or null */
    E_NUMBER,      /* a number: a delay in seconds */
};

static const char *const elem_wants[] = {
    [E_OCTETS] = "[length, octets]",
    [E_BOOL] = "true or false",
    [E_OPCODE] = "0 to 15",
    [E_RSV] = "0 to 7",
    [E_STRING_NULL] = "a string or null",
    [E_COUNT_NULL] = "a count or null",
    [E_NUMBER] = "a number",
};

/*
 * The rows the testsuite writes into a wire log (fuzzing.py: the log*
 * functions, enableWirelog, continueLater, killAfter, closeAfter and the
 * functions they defer to), each with its elements after the kind. A row
 * may have more (wsd's RF rows carry their marks); they are not read.
 */
static const struct {
    const char *kind;
    bool frame;    /* a frame row: its problems say "is not a frame" */
    size_t n_elem; /* elements after the kind */
    struct {
        enum elem type;
        const char *name;
    } elem[8];
} row_kinds[] = {
    {"RO", false, 1, {{E_OCTETS, "[length, octets]"}}},
    {"TO", false, 2, {{E_OCTETS, "[length, octets]"}, {E_BOOL, "sync"}}},
    {"RF",
     true,
     6,
     {{E_OCTETS, "[length, octets]"},
      {E_OPCODE, "opcode"},
      {E_BOOL, "FIN"},
      {E_RSV, "RSV"},
      {E_BOOL, "masked"},
      {E_STRING_NULL, "mask"}}},
    {"TF",
     true,
     8,
     {{E_OCTETS, "[length, octets]"},
      {E_OPCODE, "opcode"},
      {E_BOOL, "FIN"},
      {E_RSV, "RSV"},
      {E_STRING_NULL, "mask"},
      {E_COUNT_NULL, "repeat length"},
      {E_COUNT_NULL, "chop size"},
      {E_BOOL, "sync"}}},
    {"WLM", false, 1, {{E_BOOL, "on"}}},
    {"CT", false, 2, {{E_NUMBER, "delay"}, {E_STRING_NULL, "tag"}}},
    {"CTE", false, 1, {{E_STRING_NULL, "tag"}}},
    {"KL", false, 1, {{E_NUMBER, "delay"}}},
    {"KLE", false, 0, {{0}}},
    {"TI", false, 1, {{E_NUMBER, "delay"}}},
    {"TIE", false, 0, {{0}}},
};

static bool
elem_is(const json_t *v, enum elem type)
{
    switch (type) {
    case E_OCTETS:
        return json_is_array(v) &&
               is_int_in(json_array_get(v, 0), 0, INT64_MAX, false) &&
               (json_is_string(json_array_get(v, 1)) ||
                json_is_null(json_array_get(v, 1)));
    case E_BOOL:
        return json_is_boolean(v);
    case E_OPCODE:
        return is_int_in(v, 0, 15, false);
    case E_RSV:
        return is_int_in(v, 0, 7, false);
    case E_STRING_NULL:
        return json_is_string(v) || json_is_null(v);
    case E_COUNT_NULL:
        return is_int_in(v, 0, INT64_MAX, true);
    case E_NUMBER:
        return json_is_number(v);
    }
    return false;
}

/* Row i of a wire log: one of the testsuite's kinds, of its shape. */
static bool
row_shape(const json_t *row, size_t i, char *err)
{
    const char *kind = json_string_value(json_array_get(row, 0));
    size_t k = 0;

    if (!json_is_array(row) || kind == NULL) {
        return shape_fail(err, "\"wirelog\" row %zu is not [kind, ...]", i + 1);
    }
    while (k < NELEM(row_kinds) && strcmp(row_kinds[k].kind, kind) != 0) {
        k++;
    }
    if (k == NELEM(row_kinds)) {
        return shape_fail(err,
                          "\"wirelog\" row %zu is of kind \"%.16s\", which "
                          "the testsuite never writes",
                          i + 1, kind);
    }
    size_t want = row_kinds[k].n_elem + 1;
    if (json_array_size(row) < want) {
        return shape_fail(err,
                          "\"wirelog\" row %zu (%s) has %zu element%s, "
                          "not %zu",
                          i + 1, kind, json_array_size(row),
                          json_array_size(row) == 1 ? "" : "s", want);
    }
    for (size_t e = 0; e < row_kinds[k].n_elem; e++) {
        enum elem type = row_kinds[k].elem[e].type;
        if (elem_is(json_array_get(row, e + 1), type)) {
            continue;
        }
        if (type == E_OCTETS) {
            return shape_fail(err,
                              "\"wirelog\" row %zu (%s) has no [length, "
                              "octets]",
                              i + 1, kind);
        }
        return shape_fail(err, "\"wirelog\" row %zu (%s)%s %s is not %s", i + 1,
                          kind, row_kinds[k].frame ? " is not a frame:" : ":",
                          row_kinds[k].elem[e].name, elem_wants[type]);
    }
    return true;
}

/* What a key of a case file may be. */
enum key_type {
    K_STRING,
    K_STRING_NULL,
    K_BOOL,
    K_COUNT,
    K_CODE,
    K_OBJECT,
    K_OBJECT_NULL,
    K_ARRAY,
};

static const char *const key_wants[] = {
    [K_STRING] = "a string",
    [K_STRING_NULL] = "a string or null",
    [K_BOOL] = "true or false",
    [K_COUNT] = "an integer of 0 or more",
    [K_CODE] = "a close code or null",
    [K_OBJECT] = "an object",
    [K_OBJECT_NULL] = "an object or null",
    [K_ARRAY] = "an array",
};

/* Every key of the testsuite's case file (fuzzing.py, caseResult in
 * connectionLost), with the type it writes; the statistics objects are
 * checked on their own. */
static const struct {
    const char *key;
    enum key_type type;
} case_keys[] = {
    {"case", K_COUNT},
    {"id", K_STRING},
    {"description", K_STRING},
    {"expectation", K_STRING},
    {"agent", K_STRING},
    {"started", K_STRING},
    {"duration", K_COUNT},
    {"reportTime", K_BOOL},
    {"reportCompressionRatio", K_BOOL},
    {"behavior", K_STRING},
    {"behaviorClose", K_STRING},
    {"expected", K_OBJECT},
    {"expectedClose", K_OBJECT},
    {"received", K_ARRAY},
    {"result", K_STRING},
    {"resultClose", K_STRING},
    {"wirelog", K_ARRAY},
    {"createWirelog", K_BOOL},
    {"closedByMe", K_BOOL},
    {"failedByMe", K_BOOL},
    {"droppedByMe", K_BOOL},
    {"wasClean", K_BOOL},
    {"wasNotCleanReason", K_STRING_NULL},
    {"wasServerConnectionDropTimeout", K_BOOL},
    {"wasOpenHandshakeTimeout", K_BOOL},
    {"wasCloseHandshakeTimeout", K_BOOL},
    {"localCloseCode", K_CODE},
    {"localCloseReason", K_STRING_NULL},
    {"remoteCloseCode", K_CODE},
    {"remoteCloseReason", K_STRING_NULL},
    {"isServer", K_BOOL},
    {"createStats", K_BOOL},
    {"httpRequest", K_STRING},
    {"httpResponse", K_STRING},
    {"trafficStats", K_OBJECT_NULL},
};

static bool
key_is(const json_t *v, enum key_type type)
{
    switch (type) {
    case K_STRING:
        return json_is_string(v);
    case K_STRING_NULL:
        return json_is_string(v) || json_is_null(v);
    case K_BOOL:
        return json_is_boolean(v);
    case K_COUNT:
        return is_int_in(v, 0, INT64_MAX, false);
    case K_CODE:
        return is_int_in(v, 0, 65535, true);
    case K_OBJECT:
        return json_is_object(v);
    case K_OBJECT_NULL:
        return json_is_object(v) || json_is_null(v);
    case K_ARRAY:
        return json_is_array(v);
    }
    return false;
}

bool
compare_is_autobahn_case(const json_t *c, char *err)
{
    const json_t *row;
    size_t i;

    if (!json_is_object(c)) {
        return shape_fail(err, "not a JSON object");
    }
    for (i = 0; i < NELEM(case_keys); i++) {
        const json_t *v = json_object_get(c, case_keys[i].key);
        if (v == NULL) {
            return shape_fail(err, "\"%s\" missing", case_keys[i].key);
        }
        if (!key_is(v, case_keys[i].type)) {
            return shape_fail(err, "\"%s\" is not %s", case_keys[i].key,
                              key_wants[case_keys[i].type]);
        }
    }
    if (!stats_shape(c, "rxOctetStats", false, err) ||
        !stats_shape(c, "txOctetStats", false, err) ||
        !stats_shape(c, "rxFrameStats", true, err) ||
        !stats_shape(c, "txFrameStats", true, err)) {
        return false;
    }
    json_array_foreach(json_object_get(c, "wirelog"), i, row)
    {
        if (!row_shape(row, i, err)) {
            return false;
        }
    }
    return true;
}

/* Heads -------------------------------------------------------------------- */

struct field {
    const char *name;
    size_t name_len;
    const char *value; /* without the white space around it */
    size_t value_len;
};

struct head {
    const char *start; /* the request or status line */
    size_t start_len;
    struct field *f;
    size_t n;
    bool known;    /* a head, not "?" */
    bool complete; /* it ends with its empty line */
};

static bool
is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Parses the head v into h; false when out of memory. */
static bool
head_parse(const json_t *v, struct head *h)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    const char *end = s + len;
    size_t lines = 1;

    memset(h, 0, sizeof(*h));
    if (s == NULL || len == 0 || (len == 1 && s[0] == '?')) {
        return true;
    }
    h->known = true;
    for (size_t i = 0; i < len; i++) {
        lines += s[i] == '\n';
    }
    h->f = calloc(lines, sizeof(*h->f));
    if (h->f == NULL) {
        return false;
    }
    bool first = true;
    for (const char *p = s; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            break; /* a line cut short: not compared */
        }
        const char *e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
        size_t n = (size_t)(e - p);
        if (first) {
            h->start = p;
            h->start_len = n;
            first = false;
        } else if (n == 0) {
            h->complete = true;
            break;
        } else {
            const char *colon = memchr(p, ':', n);
            struct field *f = &h->f[h->n++];
            const char *v0 = colon != NULL ? colon + 1 : e;
            const char *v1 = e;
            while (v0 < v1 && is_ows(*v0)) {
                v0++;
            }
            while (v1 > v0 && is_ows(v1[-1])) {
                v1--;
            }
            f->name = p;
            f->name_len = colon != NULL ? (size_t)(colon - p) : n;
            f->value = v0;
            f->value_len = (size_t)(v1 - v0);
        }
        p = nl + 1;
    }
    return true;
}

static bool
name_is(const struct field *f, const char *name, size_t len)
{
    if (f->name_len != len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char a = f->name[i];
        char b = name[i];
        a = a >= 'A' && a <= 'Z' ? (char)(a - 'A' + 'a') : a;
        b = b >= 'A' && b <= 'Z' ? (char)(b - 'A' + 'a') : b;
        if (a != b) {
            return false;
        }
    }
    return true;
}

static const char ext_name[] = "sec-websocket-extensions";

static bool
is_ext(const struct field *f)
{
    return name_is(f, ext_name, sizeof(ext_name) - 1);
}

/* The first field of h named like f, before index before (SIZE_MAX: any). */
static const struct field *
first_named(const struct head *h, const struct field *f, size_t before)
{
    for (size_t i = 0; i < h->n && i < before; i++) {
        if (name_is(&h->f[i], f->name, f->name_len)) {
            return &h->f[i];
        }
    }
    return NULL;
}

/* The first field of h named name, or NULL. */
static const struct field *
field_named(const struct head *h, const char *name)
{
    struct field probe = {name, strlen(name), NULL, 0};
    return first_named(h, &probe, SIZE_MAX);
}

/* The values of the fields of h named like f, quoted, into t. */
static void
values_text(struct compare_text *t, const struct head *h, const struct field *f)
{
    bool any = false;

    for (size_t i = 0; i < h->n; i++) {
        if (name_is(&h->f[i], f->name, f->name_len)) {
            compare_text_putf(t, "%s", any ? ", " : "");
            compare_text_quote(t, h->f[i].value, h->f[i].value_len);
            any = true;
        }
    }
}

/* Whether the fields named like f have the same values, in the same order,
 * in a and b; *spelled is set when a name is spelled otherwise. */
static bool
same_values(const struct head *a, const struct head *b, const struct field *f,
            bool *spelled)
{
    size_t j = 0;

    for (size_t i = 0; i < a->n; i++) {
        if (!name_is(&a->f[i], f->name, f->name_len)) {
            continue;
        }
        while (j < b->n && !name_is(&b->f[j], f->name, f->name_len)) {
            j++;
        }
        if (j == b->n || a->f[i].value_len != b->f[j].value_len ||
            memcmp(a->f[i].value, b->f[j].value, a->f[i].value_len) != 0) {
            return false;
        }
        if (memcmp(a->f[i].name, b->f[j].name, a->f[i].name_len) != 0) {
            *spelled = true;
        }
        j++;
    }
    while (j < b->n && !name_is(&b->f[j], f->name, f->name_len)) {
        j++;
    }
    return j == b->n;
}

/* Compares the header named like f in sent and got; true when it differs
 * (said). */
static bool
header_compare(struct compare_way *w, const char *what, const struct head *hs,
               const struct head *hg, const struct field *f)
{
    struct compare_text t = {.n = 0};
    const struct field *in_got = first_named(hg, f, SIZE_MAX);
    bool spelled = false;

    if (in_got == NULL) {
        if (!hg->complete) {
            return false;
        }
        compare_text_putf(&t, "%s header removed on the way: %.*s: ", what,
                          (int)f->name_len, f->name);
        values_text(&t, hs, f);
        compare_differ(w, "header removed", &t);
        return true;
    }
    if (same_values(hs, hg, f, &spelled) && !spelled) {
        return false;
    }
    compare_text_putf(&t, "%s header changed on the way: ", what);
    if (same_values(hs, hg, f, &spelled)) {
        compare_text_quote(&t, f->name, f->name_len);
        compare_text_putf(&t, " spelled ");
        compare_text_quote(&t, in_got->name, in_got->name_len);
    } else {
        compare_text_putf(&t, "%.*s: ", (int)f->name_len, f->name);
        values_text(&t, hs, f);
        compare_text_putf(&t, " -> ");
        values_text(&t, hg, f);
    }
    compare_differ(w, "header changed", &t);
    return true;
}

/* The extension offers (or grants) of h, joined, white space dropped. */
static size_t
ext_joined(const struct head *h, char *buf, size_t cap, bool *any)
{
    size_t n = 0;

    *any = false;
    for (size_t i = 0; i < h->n; i++) {
        if (!is_ext(&h->f[i])) {
            continue;
        }
        if (*any && n < cap) {
            buf[n++] = ',';
        }
        *any = true;
        for (size_t k = 0; k < h->f[i].value_len && n < cap; k++) {
            if (!is_ows(h->f[i].value[k])) {
                buf[n++] = h->f[i].value[k];
            }
        }
    }
    return n;
}

/* The Sec-WebSocket-Extensions of the two heads: the offer (a request)
 * or the grant (a response) stripped, added or changed. True when it
 * differs (said). */
static bool
ext_compare(struct compare_way *w, const char *what, const struct head *hs,
            const struct head *hg)
{
    char a[1024];
    char b[1024];
    bool in_sent;
    bool in_got;
    size_t na = ext_joined(hs, a, sizeof(a), &in_sent);
    size_t nb = ext_joined(hg, b, sizeof(b), &in_got);
    const char *kind =
        strcmp(what, "request") == 0 ? "extension offer" : "extension grant";
    struct compare_text t = {.n = 0};
    struct field probe = {ext_name, sizeof(ext_name) - 1, NULL, 0};

    if ((in_sent == in_got && na == nb && memcmp(a, b, na) == 0) ||
        (in_sent && !in_got && !hg->complete) ||
        (!in_sent && in_got && !hs->complete)) {
        return false;
    }
    compare_text_putf(&t, "%s %s on the way: ", kind,
                      !in_got    ? "stripped"
                      : !in_sent ? "added"
                                 : "changed");
    values_text(&t, in_sent ? hs : hg, &probe);
    if (in_sent && in_got) {
        compare_text_putf(&t, " -> ");
        values_text(&t, hg, &probe);
    }
    compare_differ(w, kind, &t);
    return true;
}

/* The name of the Sec-WebSocket-Extensions header spelled otherwise on
 * the way (HAProxy writes every name in lower case), when its values are
 * the same, which ext_compare leaves to this. True when said. */
static bool
ext_spelling(struct compare_way *w, const char *what, const struct head *hs,
             const struct head *hg)
{
    const struct field *a = field_named(hs, ext_name);
    const struct field *b = field_named(hg, ext_name);
    struct compare_text t = {.n = 0};

    if (a == NULL || b == NULL || memcmp(a->name, b->name, a->name_len) == 0) {
        return false;
    }
    compare_text_putf(&t, "%s header changed on the way: ", what);
    compare_text_quote(&t, a->name, a->name_len);
    compare_text_putf(&t, " spelled ");
    compare_text_quote(&t, b->name, b->name_len);
    compare_differ(w, "header changed", &t);
    return true;
}

static void
head_compare(struct compare_way *w, const char *what, const char *line,
             const json_t *sent, const json_t *got)
{
    struct head hs;
    struct head hg;
    struct compare_text t = {.n = 0};
    bool named = false;

    if (json_equal(sent, got)) {
        return;
    }
    if (!head_parse(sent, &hs) || !head_parse(got, &hg)) {
        w->failed = true;
        goto out;
    }
    if (!hs.known || !hg.known) {
        compare_text_putf(&t, "the %s head is not in %s's report", what,
                          hs.known ? w->receiver : w->sender);
        compare_note(w, &t);
        goto out;
    }
    if (hs.start_len != hg.start_len ||
        memcmp(hs.start, hg.start, hs.start_len) != 0) {
        compare_text_putf(&t, "%s changed on the way: ", line);
        compare_text_quote(&t, hs.start, hs.start_len);
        compare_text_putf(&t, " -> ");
        compare_text_quote(&t, hg.start, hg.start_len);
        compare_differ(w, line, &t);
        named = true;
    }
    for (size_t i = 0; i < hs.n; i++) {
        if (!is_ext(&hs.f[i]) && first_named(&hs, &hs.f[i], i) == NULL) {
            named = header_compare(w, what, &hs, &hg, &hs.f[i]) || named;
        }
    }
    for (size_t i = 0; i < hg.n && hs.complete; i++) {
        if (is_ext(&hg.f[i]) || first_named(&hg, &hg.f[i], i) != NULL ||
            first_named(&hs, &hg.f[i], SIZE_MAX) != NULL) {
            continue;
        }
        t.n = 0;
        compare_text_putf(&t, "%s header added on the way: %.*s: ", what,
                          (int)hg.f[i].name_len, hg.f[i].name);
        values_text(&t, &hg, &hg.f[i]);
        compare_differ(w, "header added", &t);
        named = true;
    }
    if (ext_compare(w, what, &hs, &hg) || ext_spelling(w, what, &hs, &hg)) {
        named = true;
    }
    if (!named && hs.complete && hg.complete) {
        t.n = 0;
        compare_text_putf(&t,
                          "%s head changed on the way, in its spacing or "
                          "the order of its headers",
                          what);
        compare_differ(w, "head", &t);
    }
    for (int k = 0; k < 2; k++) {
        const struct head *h = k == 0 ? &hs : &hg;
        if (!h->complete) {
            t.n = 0;
            compare_text_putf(&t,
                              "%s's %s head is cut short (no empty line "
                              "ends it): headers only one end has past its "
                              "cut are not compared",
                              k == 0 ? w->sender : w->receiver, what);
            compare_note(w, &t);
        }
    }
out:
    free(hs.f);
    free(hg.f);
}

bool
compare_request_key(const json_t *c, char *key, size_t cap)
{
    struct head h;
    static const char name[] = "sec-websocket-key";
    bool found = false;

    if (!head_parse(json_object_get(c, "httpRequest"), &h)) {
        return false;
    }
    for (size_t i = 0; i < h.n && !found; i++) {
        if (name_is(&h.f[i], name, sizeof(name) - 1) && h.f[i].value_len > 0 &&
            h.f[i].value_len < cap &&
            memchr(h.f[i].value, '\0', h.f[i].value_len) == NULL) {
            memcpy(key, h.f[i].value, h.f[i].value_len);
            key[h.f[i].value_len] = '\0';
            found = true;
        }
    }
    free(h.f);
    return found;
}

bool
compare_answer(const json_t *c, const char *key, char *out, size_t cap)
{
    struct head h;
    struct compare_text t = {.n = 0};

    if (cap == 0 || !head_parse(json_object_get(c, "httpResponse"), &h)) {
        return false;
    }
    if (h.start != NULL && h.start_len > 0) {
        const struct field *server = field_named(&h, "server");
        const struct field *accept = field_named(&h, "sec-websocket-accept");
        char want[WS_HANDSHAKE_ACCEPT_LEN + 1];
        bool upgraded =
            h.start_len >= 12 && memcmp(h.start + 8, " 101", 4) == 0;

        ws_handshake_accept_key(key, strlen(key), want);
        compare_text_putf(&t, "its handshake was answered ");
        compare_text_quote(&t, h.start, h.start_len);
        if (server != NULL) {
            compare_text_putf(&t, " (Server: ");
            compare_text_quote(&t, server->value, server->value_len);
            compare_text_putf(&t, ")");
        }
        if (upgraded && want[0] != '\0' &&
            (accept == NULL || accept->value_len != strlen(want) ||
             memcmp(accept->value, want, accept->value_len) != 0)) {
            compare_text_putf(&t, " with a Sec-WebSocket-Accept that is not "
                                  "its key's: the key was changed on the "
                                  "way");
        }
    }
    free(h.f);
    if (t.n == 0) {
        return false;
    }
    size_t n = t.n < cap - 1 ? t.n : cap - 1;
    memcpy(out, t.b, n);
    out[n] = '\0';
    return true;
}

/* Closing ------------------------------------------------------------------ */

/*
 * The close frame one way: dropped or inserted (by the frame counts,
 * which every report has whole). Its code and reason are compared on the
 * wire where the frames were (compare_frames.c); elsewhere by what each
 * end read, unless the receiver failed the connection, a close frame it
 * refused leaving its reading empty.
 */
static void
close_way(struct compare_way *w, const json_t *sender, const json_t *receiver)
{
    bool sent = compare_stat(json_object_get(sender, "txFrameStats"), "8") > 0;
    bool got = compare_stat(json_object_get(receiver, "rxFrameStats"), "8") > 0;
    const json_t *code = json_object_get(sender, "localCloseCode");
    const json_t *reason = json_object_get(sender, "localCloseReason");
    const json_t *got_code = json_object_get(receiver, "remoteCloseCode");
    const json_t *got_reason = json_object_get(receiver, "remoteCloseReason");
    struct compare_text t = {.n = 0};

    if (w->frames_unknown || w->receiver_stopped) {
        return;
    }
    if (sent && !got) {
        compare_text_putf(&t, "close frame dropped on the way: %s sent close ",
                          w->sender);
        quote_json(&t, code);
        compare_text_putf(&t, ", %s got none", w->receiver);
        compare_differ(w, "close frame dropped", &t);
    } else if (!sent && got) {
        compare_text_putf(&t, "close frame inserted on the way: %s got close ",
                          w->receiver);
        quote_json(&t, got_code);
        compare_text_putf(&t, ", which %s never sent", w->sender);
        compare_differ(w, "close frame inserted", &t);
    } else if (sent && !w->by_sequence &&
               !json_is_true(json_object_get(receiver, "failedByMe"))) {
        if (!json_equal(code, got_code)) {
            compare_text_putf(&t, "close code rewritten on the way: ");
            quote_json(&t, code);
            compare_text_putf(&t, " sent, ");
            quote_json(&t, got_code);
            compare_text_putf(&t, " arrived");
            compare_differ(w, "close code", &t);
        }
        if (!json_equal(reason, got_reason)) {
            t.n = 0;
            compare_text_putf(&t, "close reason changed on the way: ");
            quote_json(&t, reason);
            compare_text_putf(&t, " sent, ");
            quote_json(&t, got_reason);
            compare_text_putf(&t, " arrived");
            compare_differ(w, "close reason", &t);
        }
    }
}

enum closer { CLOSER_NONE, CLOSER_CLIENT, CLOSER_SERVER };

static const char *const closer_names[] = {"nobody", "the client", "wsd"};

/* Who sent the first close frame, as the report r says. */
static enum closer
first_closer(const json_t *r, bool server)
{
    bool mine = json_is_true(json_object_get(r, "closedByMe"));
    bool got = compare_stat(json_object_get(r, "rxFrameStats"), "8") > 0;
    enum closer me = server ? CLOSER_SERVER : CLOSER_CLIENT;
    enum closer peer = server ? CLOSER_CLIENT : CLOSER_SERVER;

    return mine ? me : got ? peer : CLOSER_NONE;
}

/* How the connection ended, as each end saw it; frames_partial when a
 * way's frames were not all compared (written outside the log, or never
 * parsed), which leaves the ends' accounts of the closing apart too. */
static void
closing(struct compare_way *w, const json_t *client, const json_t *server,
        bool frames_partial)
{
    enum closer by_client = first_closer(client, false);
    enum closer by_server = first_closer(server, true);
    bool client_dropped = json_is_true(json_object_get(client, "droppedByMe"));
    bool server_dropped = json_is_true(json_object_get(server, "droppedByMe"));
    const json_t *client_clean = json_object_get(client, "wasClean");
    const json_t *server_clean = json_object_get(server, "wasClean");
    struct compare_text t = {.n = 0};

    if (by_client == CLOSER_CLIENT && by_server == CLOSER_SERVER) {
        compare_text_putf(&t, "close frames crossed: each end sent its own "
                              "before the other's arrived");
        compare_note(w, &t);
    } else if (by_client != by_server) {
        compare_text_putf(&t,
                          "who closed: the client says %s sent the first "
                          "close frame, wsd says %s",
                          closer_names[by_client], closer_names[by_server]);
        if (frames_partial) {
            compare_note(w, &t);
        } else {
            compare_differ(w, "who closed", &t);
        }
    }
    t.n = 0;
    if (!client_dropped && !server_dropped) {
        compare_text_putf(&t,
                          "who closed TCP: each end says the other closed "
                          "the TCP connection first; something between them "
                          "closed it");
        compare_differ(w, "who closed TCP", &t);
    } else if (client_dropped && server_dropped) {
        compare_text_putf(&t, "both ends say they closed the TCP connection "
                              "first: their closes crossed");
        compare_note(w, &t);
    }
    if (!json_equal(client_clean, server_clean)) {
        t.n = 0;
        bool by_wsd = json_is_true(client_clean);
        const json_t *why =
            json_object_get(by_wsd ? server : client, "wasNotCleanReason");
        compare_text_putf(&t, "clean close: the client says %s, wsd says %s",
                          by_wsd ? "clean" : "not clean",
                          by_wsd ? "not clean" : "clean");
        if (json_is_string(why)) {
            compare_text_putf(&t, " (%s: ", by_wsd ? "wsd" : "the client");
            quote_json(&t, why);
            compare_text_putf(&t, ")");
        }
        if (frames_partial) {
            compare_note(w, &t);
        } else {
            compare_differ(w, "clean close", &t);
        }
    }
}

/* Octets ------------------------------------------------------------------- */

/*
 * The octets of c[key] ({"size": count}) and the reads or writes; false
 * when the report is wsd's and kept as many sizes as it keeps at most, so
 * that the rest are not in it, unless it also holds what went beyond
 * them (c[overflow], {"count", "octets"} or null, as /v1/cases/ID has it).
 */
static bool
octet_total(const json_t *c, const char *key, const char *overflow,
            uint64_t *octets, uint64_t *calls)
{
    const json_t *stats = json_object_get(c, key);
    const json_t *more = json_object_get(c, overflow);
    const char *k;
    const json_t *v;

    *octets = 0;
    *calls = 0;
    json_object_foreach((json_t *)(uintptr_t)stats, k, v)
    {
        uint64_t n = (uint64_t)json_integer_value(v);
        *octets += strtoull(k, NULL, 10) * n;
        *calls += n;
    }
    if (json_is_object(more)) {
        *octets += compare_stat(more, "octets");
        *calls += compare_stat(more, "count");
    }
    return more != NULL || !json_is_true(json_object_get(c, "isServer")) ||
           json_object_size(stats) < STATS_OCTET_SIZES;
}

static void
octets_way(struct compare_way *w, const json_t *sender, const json_t *receiver)
{
    uint64_t sent;
    uint64_t writes;
    uint64_t got;
    uint64_t reads;
    bool whole =
        octet_total(sender, "txOctetStats", "txOctetOverflow", &sent, &writes);
    whole = octet_total(receiver, "rxOctetStats", "rxOctetOverflow", &got,
                        &reads) &&
            whole;
    bool same = json_equal(json_object_get(sender, "txOctetStats"),
                           json_object_get(receiver, "rxOctetStats"));
    struct compare_text t = {.n = 0};

    json_object_set_new(
        w->obj, "octets",
        json_pack("{s:o, s:I, s:o, s:I, s:b}", "sent",
                  whole ? json_integer((json_int_t)sent) : json_null(),
                  "writes", (json_int_t)writes, "received",
                  whole ? json_integer((json_int_t)got) : json_null(), "reads",
                  (json_int_t)reads, "sameSegmentation", same));
    if (!whole) {
        compare_text_putf(&t,
                          "wsd kept %d sizes of its reads or writes and "
                          "no more, so the octet totals are not compared",
                          STATS_OCTET_SIZES);
        compare_note(w, &t);
        return;
    }
    /* Other sizes of reads than of writes are TCP's doing, never a
     * difference; other totals are one when nothing else explains them. */
    if (sent == got || w->frames_unknown ||
        (w->receiver_stopped && got < sent) ||
        json_array_size(w->differences) > 0) {
        return;
    }
    compare_text_putf(&t, "octets: %" PRIu64 " sent, %" PRIu64 " arrived", sent,
                      got);
    compare_differ(w, "octets", &t);
}

/* The verdict -------------------------------------------------------------- */

/* Appends what differs on w to the verdict *buf (of *len bytes, grown
 * as needed); false when out of memory. */
static bool
verdict_part(char **buf, size_t *len, const struct compare_way *w)
{
    size_t i;
    const json_t *d;
    size_t need = *len + strlen(w->name) + 8;

    if (json_array_size(w->differences) == 0) {
        return true;
    }
    json_array_foreach(w->differences, i, d)
    {
        need += json_string_length(json_object_get(d, "text")) + 2;
    }
    char *p = realloc(*buf, need);
    if (p == NULL) {
        return false;
    }
    *buf = p;
    *len += (size_t)snprintf(p + *len, need - *len,
                             "%s%s: ", *len > 0 ? " | " : "", w->name);
    json_array_foreach(w->differences, i, d)
    {
        *len +=
            (size_t)snprintf(p + *len, need - *len, "%s%s", i > 0 ? "; " : "",
                             json_string_value(json_object_get(d, "text")));
    }
    return true;
}

static void
notes_of(json_t *all, const struct compare_way *w)
{
    size_t i;
    const json_t *n;

    json_array_foreach(w->notes, i, n)
    {
        struct compare_text t = {.n = 0};
        compare_text_putf(&t, "%s: %s", w->name, json_string_value(n));
        json_array_append_new(all, json_stringn(t.b, t.n));
    }
}

json_t *
compare_cases(const json_t *client, const json_t *server)
{
    json_t *result = json_object();
    json_t *notes = json_array();
    struct compare_way up = {.name = NULL};
    struct compare_way down = {.name = NULL};
    struct compare_way end = {.name = NULL};
    char *verdict = NULL;
    size_t len = 0;

    if (result == NULL || notes == NULL ||
        !way_init(&up, result, "clientToServer", "client->server", "the client",
                  "wsd") ||
        !way_init(&down, result, "serverToClient", "server->client", "wsd",
                  "the client") ||
        !way_init(&end, result, "closing", "closing", "the client", "wsd")) {
        goto fail;
    }
    head_compare(&up, "request", "request line",
                 json_object_get(client, "httpRequest"),
                 json_object_get(server, "httpRequest"));
    head_compare(&down, "response", "status line",
                 json_object_get(server, "httpResponse"),
                 json_object_get(client, "httpResponse"));
    compare_frames(&up, client, server);
    compare_frames(&down, server, client);
    close_way(&up, client, server);
    close_way(&down, server, client);
    closing(&end, client, server,
            up.frames_unknown || down.frames_unknown || up.receiver_stopped ||
                down.receiver_stopped);
    octets_way(&up, client, server);
    octets_way(&down, server, client);
    if (up.failed || down.failed || end.failed) {
        goto fail;
    }
    if (!verdict_part(&verdict, &len, &up) ||
        !verdict_part(&verdict, &len, &down) ||
        !verdict_part(&verdict, &len, &end)) {
        goto fail;
    }
    notes_of(notes, &up);
    notes_of(notes, &down);
    notes_of(notes, &end);
    json_object_set_new(result, "identical", json_boolean(len == 0));
    size_t shown = up.payload_shown;
    if (shown == 0 || (down.payload_shown > 0 && down.payload_shown < shown)) {
        shown = down.payload_shown;
    }
    if (len > 0) {
        json_object_set_new(result, "verdict", json_stringn(verdict, len));
    } else if (shown > 0) {
        /* The logs show a payload's first octets only: say so, lest
         * "identical" be read as every octet. */
        json_object_set_new(result, "verdict",
                            json_sprintf("identical (payloads compared in "
                                         "their first %zu octets only)",
                                         shown));
    } else {
        json_object_set_new(result, "verdict", json_string("identical"));
    }
    json_object_set_new(result, "notes", notes);
    free(verdict);
    return result;
fail:
    free(verdict);
    json_decref(notes);
    json_decref(result);
    return NULL;
}
