/* SPDX-License-Identifier: MIT */
/*
 * The case report page: heading, opening handshake, closing behaviour and
 * wire statistics (the wire log is report_html_wirelog.c's). A case is read
 * key by key, each value's type checked where it is shown, so that no
 * input can make it fail.
 */
#include "autoconf.h"

#include "report_html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_html_int.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* true or false; null as "none"; anything else as absent. */
static void
put_bool(struct report_page *pg, const json_t *v)
{
    if (json_is_boolean(v)) {
        report_page_put(pg, json_is_true(v) ? "true" : "false");
    } else {
        report_page_integer(pg, json_is_null(v) ? v : NULL);
    }
}

/* A string, an integer, a boolean or null, whichever v is. */
static void
put_scalar(struct report_page *pg, const json_t *v)
{
    if (json_is_string(v) || json_is_null(v)) {
        report_page_string(pg, v);
    } else if (json_is_boolean(v)) {
        put_bool(pg, v);
    } else {
        report_page_integer(pg, v);
    }
}

enum value_kind {
    V_STRING, /* a string, or null */
    V_BOOL,
    V_CODE,   /* a close code, or null */
    V_MS,     /* a duration in milliseconds */
    V_SCALAR, /* whatever it is */
};

static void
put_value(struct report_page *pg, const json_t *v, enum value_kind kind)
{
    switch (kind) {
    case V_STRING:
        report_page_string(pg, v);
        break;
    case V_BOOL:
        put_bool(pg, v);
        break;
    case V_CODE:
        report_page_close_code(pg, v);
        break;
    case V_MS:
        report_page_integer(pg, v);
        if (json_is_integer(v)) {
            report_page_put(pg, " ms");
        }
        break;
    case V_SCALAR:
        put_scalar(pg, v);
        break;
    }
}

/* One row of a table of facts: a label of ours and c[key]. */
static void
fact_row(struct report_page *pg, const char *label, const json_t *c,
         const char *key, enum value_kind kind)
{
    report_page_putf(pg, "<tr><th>%s</th><td>", label);
    put_value(pg, json_object_get(c, key), kind);
    report_page_put(pg, "</td></tr>\n");
}

static void
case_heading(struct report_page *pg, const json_t *c)
{
    const json_t *is_server = json_object_get(c, "isServer");

    report_page_put(pg, "<header>\n<h1>Case ");
    put_scalar(pg, json_object_get(c, "id"));
    report_page_put(pg, "</h1>\n<table>\n<tbody>\n");
    fact_row(pg, "Agent", c, "agent", V_STRING);
    fact_row(pg, "Case id", c, "id", V_SCALAR);
    fact_row(pg, "Case number", c, "case", V_SCALAR);
    fact_row(pg, "Started", c, "started", V_STRING);
    fact_row(pg, "Duration", c, "duration", V_MS);
    report_page_put(pg, "<tr><th>Written from</th><td>");
    if (json_is_boolean(is_server)) {
        report_page_put(pg, json_is_true(is_server)
                                ? "the server's side: this end "
                                  "accepted the connection"
                                : "the client's side: this end "
                                  "opened the connection");
    } else {
        report_page_put(pg, REPORT_HTML_ABSENT);
    }
    report_page_put(pg, "</td></tr>\n</tbody>\n</table>\n</header>\n");
}

/* The report's words on the test case, those that it has: a testsuite's
 * verdicts, or what wsd puts in their place. */
static void
case_notes(struct report_page *pg, const json_t *c)
{
    static const char *const keys[] = {"description", "expectation",
                                       "behavior",    "behaviorClose",
                                       "result",      "resultClose"};
    bool any = false;

    for (size_t i = 0; i < NELEM(keys); i++) {
        const json_t *v = json_object_get(c, keys[i]);
        if (v == NULL) {
            continue;
        }
        if (!any) {
            report_page_put(pg, "<h2>The case as the report states it</h2>\n"
                                "<table>\n<tbody>\n");
            any = true;
        }
        report_page_putf(pg, "<tr><th>%s</th><td>", keys[i]);
        put_scalar(pg, v);
        report_page_put(pg, "</td></tr>\n");
    }
    if (any) {
        report_page_put(pg, "</tbody>\n</table>\n");
    }
}

static void
handshake_head(struct report_page *pg, const json_t *c, const char *label,
               const char *key, const char *cut_key)
{
    const json_t *v = json_object_get(c, key);

    report_page_putf(pg, "<h3>%s</h3>\n", label);
    if (json_is_string(v)) {
        /* The newline after <pre> is dropped by the parser, so that a
         * head that begins with one keeps it. */
        report_page_put(pg, "<pre class=\"head\">\n");
        report_page_string(pg, v);
        report_page_put(pg, "</pre>\n");
    } else {
        report_page_put(pg, "<p>");
        report_page_string(pg, v);
        report_page_put(pg, "</p>\n");
    }
    if (json_is_true(json_object_get(c, cut_key))) {
        report_page_put(pg, "<p class=\"note\">Cut where the record's "
                            "room ended: there was more.</p>\n");
    }
}

static void
case_handshake(struct report_page *pg, const json_t *c)
{
    const json_t *is_server = json_object_get(c, "isServer");
    bool server = json_is_true(is_server);
    bool known = json_is_boolean(is_server);

    report_page_put(pg, "<h2>Opening handshake</h2>\n");
    handshake_head(pg, c,
                   !known   ? "Request"
                   : server ? "Request, as this end received it"
                            : "Request, as this end sent it",
                   "httpRequest", "httpRequestTruncated");
    handshake_head(pg, c,
                   !known   ? "Response"
                   : server ? "Response, as this end sent it"
                            : "Response, as this end received it",
                   "httpResponse", "httpResponseTruncated");
}

static const struct {
    const char *key;
    enum value_kind kind;
    const char *question; /* what the value answers, in our words */
} close_fields[] = {
    {"closedByMe", V_BOOL, "Did this end send the first close frame?"},
    {"failedByMe", V_BOOL,
     "Did this end fail the connection, the peer having broken the "
     "protocol?"},
    {"droppedByMe", V_BOOL, "Did this end close the TCP connection first?"},
    {"wasClean", V_BOOL,
     "Did close frames go both ways, and did the server then close TCP "
     "first, as is its duty?"},
    {"wasNotCleanReason", V_STRING, "When the close was not clean: why."},
    {"wasServerConnectionDropTimeout", V_BOOL,
     "Did a client wait in vain for the server to close TCP?"},
    {"wasOpenHandshakeTimeout", V_BOOL,
     "Did the opening handshake run out of time?"},
    {"wasCloseHandshakeTimeout", V_BOOL,
     "Did this end's close frame go unanswered for too long?"},
    {"localCloseCode", V_CODE, "The code of the close frame this end sent."},
    {"localCloseReason", V_STRING,
     "The reason in the close frame this end sent."},
    {"remoteCloseCode", V_CODE, "The code of the close frame the peer sent."},
    {"remoteCloseReason", V_STRING,
     "The reason in the close frame the peer sent."},
};

static void
case_closing(struct report_page *pg, const json_t *c)
{
    report_page_put(pg, "<h2>Closing behaviour</h2>\n<table>\n<thead>\n"
                        "<tr><th>Field</th><th>Value</th>"
                        "<th>What it answers</th></tr>\n</thead>\n<tbody>\n");
    for (size_t i = 0; i < NELEM(close_fields); i++) {
        report_page_putf(pg, "<tr><th><code>%s</code></th><td>",
                         close_fields[i].key);
        put_value(pg, json_object_get(c, close_fields[i].key),
                  close_fields[i].kind);
        report_page_putf(pg, "</td><td>%s</td></tr>\n",
                         close_fields[i].question);
    }
    report_page_put(pg, "</tbody>\n</table>\n");
}

/* One entry of a statistics object: a size or an opcode, and its count. */
struct stat_entry {
    const char *key;     /* borrowed from the JSON */
    uint64_t number;     /* the key's value, when is_number */
    bool is_number;      /* the key is decimal digits, at most 19 */
    const json_t *count; /* borrowed; may be of any type */
};

static bool
parse_decimal(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    uint64_t v = 0;

    /* 19 digits cannot overflow 64 bits. */
    if (n == 0 || n > 19) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Numbers first, by value, then any other key by its bytes. */
static int
stat_entry_cmp(const void *x, const void *y)
{
    const struct stat_entry *a = x;
    const struct stat_entry *b = y;

    if (a->is_number != b->is_number) {
        return a->is_number ? -1 : 1;
    }
    if (a->is_number && a->number != b->number) {
        return a->number < b->number ? -1 : 1;
    }
    return strcmp(a->key, b->key);
}

/* The entries of the object o, sorted; the caller frees them. NULL with
 * *n 0 when there are none (or no memory: pg->failed). */
static struct stat_entry *
stat_entries(struct report_page *pg, const json_t *o, size_t *n)
{
    const char **keys = report_page_keys(pg, o, NULL, n);
    struct stat_entry *e = NULL;

    if (keys == NULL) {
        return NULL;
    }
    e = calloc(*n, sizeof(*e));
    if (e == NULL) {
        pg->failed = true;
        *n = 0;
        free(keys);
        return NULL;
    }
    for (size_t i = 0; i < *n; i++) {
        e[i].key = keys[i];
        e[i].is_number = parse_decimal(keys[i], &e[i].number);
        e[i].count = json_object_get(o, keys[i]);
    }
    free(keys);
    qsort(e, *n, sizeof(*e), stat_entry_cmp);
    return e;
}

/* A sum that shows as absent once any of its terms was unknown or it
 * overflowed. */
struct sum {
    uint64_t value;
    bool known;
};

static void
sum_add(struct sum *s, bool known, uint64_t v)
{
    s->known =
        s->known && known && !__builtin_add_overflow(s->value, v, &s->value);
}

static void
put_sum_cell(struct report_page *pg, const struct sum *s)
{
    if (s->known) {
        report_page_putf(pg, "<td class=\"n\">%" PRIu64 "</td>", s->value);
    } else {
        report_page_put(pg, "<td class=\"n\">" REPORT_HTML_ABSENT "</td>");
    }
}

/* A count from the JSON: a non-negative integer, else unknown. */
static bool
count_value(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* A table of octets by the size of the read or write that moved them:
 * c[key] is {"size": count}; c[overflow_key], where wsd kept what went
 * beyond its exact sizes, is {"count", "octets"}. */
static void
octet_table(struct report_page *pg, const json_t *c, const char *key,
            const char *overflow_key, const char *caption, const char *per)
{
    const json_t *stats = json_object_get(c, key);
    const json_t *overflow = json_object_get(c, overflow_key);
    size_t n;
    struct stat_entry *e = stat_entries(pg, stats, &n);
    struct sum count = {0, json_is_object(stats)};
    struct sum octets = count;

    report_page_putf(pg,
                     "<table>\n<caption>%s <code>%s</code></caption>\n"
                     "<thead>\n<tr><th>Size</th><th>%s</th><th>Octets</th>"
                     "</tr>\n</thead>\n<tbody>\n",
                     caption, key, per);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = 0;
        uint64_t product = 0;
        bool known = count_value(e[i].count, &k);
        bool sized = known && e[i].is_number &&
                     !__builtin_mul_overflow(e[i].number, k, &product);

        report_page_put(pg, "<tr><td class=\"n\">");
        report_page_text(pg, e[i].key, strlen(e[i].key));
        report_page_put(pg, "</td><td class=\"n\">");
        report_page_integer(pg, known ? e[i].count : NULL);
        report_page_put(pg, "</td>");
        put_sum_cell(pg, &(struct sum){product, sized});
        report_page_put(pg, "</tr>\n");
        sum_add(&count, known, k);
        sum_add(&octets, sized, product);
    }
    if (json_is_object(overflow)) {
        uint64_t k = 0;
        uint64_t o = 0;
        bool known = count_value(json_object_get(overflow, "count"), &k);
        bool sized = count_value(json_object_get(overflow, "octets"), &o);

        report_page_put(pg, "<tr><td>other sizes</td>");
        put_sum_cell(pg, &(struct sum){k, known});
        put_sum_cell(pg, &(struct sum){o, sized});
        report_page_put(pg, "</tr>\n");
        sum_add(&count, known, k);
        sum_add(&octets, sized, o);
    }
    if (!json_is_object(stats)) {
        report_page_put(pg, "<tr><td colspan=\"3\">" REPORT_HTML_ABSENT
                            "</td></tr>\n");
    }
    report_page_put(pg, "</tbody>\n<tfoot>\n<tr><th>Total</th>");
    put_sum_cell(pg, &count);
    put_sum_cell(pg, &octets);
    report_page_put(pg, "</tr>\n</tfoot>\n</table>\n");
    free(e);
}

/* A table of frames by opcode: c[key] is {"opcode": count}. */
static void
frame_table(struct report_page *pg, const json_t *c, const char *key,
            const char *caption)
{
    const json_t *stats = json_object_get(c, key);
    size_t n;
    struct stat_entry *e = stat_entries(pg, stats, &n);
    struct sum count = {0, json_is_object(stats)};

    report_page_putf(pg,
                     "<table>\n<caption>%s <code>%s</code></caption>\n"
                     "<thead>\n<tr><th>Opcode</th><th>Name</th>"
                     "<th>Frames</th></tr>\n</thead>\n<tbody>\n",
                     caption, key);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = 0;
        bool known = count_value(e[i].count, &k);
        const char *name =
            e[i].is_number && e[i].number < 16
                ? report_page_opcode_name((json_int_t)e[i].number)
                : NULL;

        report_page_put(pg, "<tr><td class=\"n\">");
        report_page_text(pg, e[i].key, strlen(e[i].key));
        report_page_putf(pg, "</td><td>%s</td><td class=\"n\">",
                         name != NULL ? name : "");
        report_page_integer(pg, known ? e[i].count : NULL);
        report_page_put(pg, "</td></tr>\n");
        sum_add(&count, known, k);
    }
    if (!json_is_object(stats)) {
        report_page_put(pg, "<tr><td colspan=\"3\">" REPORT_HTML_ABSENT
                            "</td></tr>\n");
    }
    report_page_put(pg, "</tbody>\n<tfoot>\n<tr><th colspan=\"2\">Total</th>");
    put_sum_cell(pg, &count);
    report_page_put(pg, "</tr>\n</tfoot>\n</table>\n");
    free(e);
}

static void
case_statistics(struct report_page *pg, const json_t *c)
{
    report_page_put(pg, "<h2>Wire statistics</h2>\n<div class=\"stats\">\n");
    octet_table(pg, c, "rxOctetStats", "rxOctetOverflow",
                "Octets received, by the size of each read", "Reads");
    octet_table(pg, c, "txOctetStats", "txOctetOverflow",
                "Octets sent, by the size of each write", "Writes");
    report_page_put(pg, "</div>\n<div class=\"stats\">\n");
    frame_table(pg, c, "rxFrameStats", "Frames received, by opcode");
    frame_table(pg, c, "txFrameStats", "Frames sent, by opcode");
    report_page_put(pg, "</div>\n");
}

/* A string or a number as plain text, for the title. */
static void
put_title_value(struct report_page *pg, const json_t *v)
{
    if (json_is_string(v)) {
        report_page_text(pg, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        report_page_putf(pg, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else {
        report_page_put(pg, "\xe2\x80\x94");
    }
}

int
report_html_case(const json_t *c, struct evbuffer *out)
{
    struct report_page pg = {out, false};

    if (!json_is_object(c)) {
        errno = EINVAL;
        return -1;
    }
    report_page_begin(&pg);
    report_page_put(&pg, "Case ");
    put_title_value(&pg, json_object_get(c, "id"));
    report_page_put(&pg, " of ");
    put_title_value(&pg, json_object_get(c, "agent"));
    report_page_put(&pg, ": wsd case report");
    report_page_body(&pg);
    case_heading(&pg, c);
    case_notes(&pg, c);
    case_handshake(&pg, c);
    case_closing(&pg, c);
    case_statistics(&pg, c);
    report_page_wirelog(&pg, c);
    report_page_end(&pg);
    return report_page_result(&pg);
}
