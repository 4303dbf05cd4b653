/* SPDX-License-Identifier: MIT */
/*
 * The wire log of a case report: a table of one row per row of the log, each
 * kind (the testsuite's RO, TO, RF, TF, CT, CTE, KL, TI, WLM; wsd's TMO, SHUT,
 * DROP, GAP) with its own details, any other kind as its raw JSON, and the
 * heads of bytes in hex shown as a dump with their ASCII beside.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report_html_int.h"
#include "stats_json.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A number of seconds (integer or real), as Autobahn's timers have them. */
static void
put_seconds(struct report_page *pg, const json_t *v)
{
    if (json_is_real(v)) {
        report_page_putf(pg, "%g s", json_real_value(v));
    } else if (json_is_integer(v)) {
        report_page_putf(pg, "%" JSON_INTEGER_FORMAT " s",
                         json_integer_value(v));
    } else {
        report_page_put(pg, REPORT_HTML_ABSENT);
    }
}

/* Whether s[0..len) is bytes in hex, as Autobahn writes the head of what
 * crossed the wire, with " ..." after when it kept only the first: their
 * number in *n, and whether there were more in *more. */
static bool
is_hex_head(const char *s, size_t len, size_t *n, bool *more)
{
    ssize_t k = stats_json_hex_read(s, len, NULL, 0, more);

    *n = k > 0 ? (size_t)k : 0;
    return k >= 0;
}

/* n bytes in hex (is_hex_head's) as lines of 16, each with its printable
 * ASCII beside it. */
static void
put_hex_dump(struct report_page *pg, const char *s, size_t n, bool more)
{
    static const char digits[] = "0123456789abcdef";

    report_page_put(pg, "<pre class=\"hex\">\n");
    for (size_t line = 0; line < n; line += 16) {
        char hex[16 * 3 + 1];
        char text[16];
        size_t k = n - line;

        if (k > 16) {
            k = 16;
        }
        uint8_t bytes[16];
        bool cut;

        stats_json_hex_read(s + 2 * line, 2 * k, bytes, k, &cut);
        memset(hex, ' ', sizeof(hex));
        for (size_t i = 0; i < k; i++) {
            uint8_t b = bytes[i];
            hex[3 * i] = digits[b >> 4];
            hex[3 * i + 1] = digits[b & 0xf];
            text[i] = (char)(b >= 0x20 && b < 0x7f ? b : '.');
        }
        report_page_raw(pg, hex, sizeof(hex));
        report_page_text(pg, text, k);
        report_page_put(pg, "\n");
    }
    if (more) {
        report_page_put(pg, "\xe2\x80\xa6 the rest was not kept\n");
    }
    report_page_put(pg, "</pre>");
}

/* The head of a read or a write: bytes in hex, else the string itself. */
static void
put_bytes(struct report_page *pg, const json_t *v)
{
    size_t n;
    bool more;

    if (json_is_string(v) &&
        is_hex_head(json_string_value(v), json_string_length(v), &n, &more)) {
        put_hex_dump(pg, json_string_value(v), n, more);
    } else if (json_is_string(v)) {
        report_page_put(pg, "<pre>\n");
        report_page_string(pg, v);
        report_page_put(pg, "</pre>");
    } else {
        report_page_string(pg, v);
    }
}

/* The head of a frame's payload: its text when it was UTF-8, else "0x"
 * and hex, which a close frame begins with its code (RFC 6455 §5.5.1). */
static void
put_payload(struct report_page *pg, const json_t *v, const json_t *opcode)
{
    const char *s = json_string_value(v);
    size_t n;
    bool more;

    if (s == NULL || json_string_length(v) == 0) {
        report_page_string(pg, json_is_string(v) ? NULL : v);
        return;
    }
    if (json_string_length(v) >= 2 && memcmp(s, "0x", 2) == 0 &&
        is_hex_head(s + 2, json_string_length(v) - 2, &n, &more)) {
        uint8_t two[2];
        bool cut;
        if (json_integer_value(opcode) == 8 && n >= 2 &&
            stats_json_hex_read(s + 2, 4, two, 2, &cut) == 2) {
            json_t *code = json_integer(two[0] * 256 + two[1]);
            report_page_put(pg, "code ");
            report_page_close_code(pg, code);
            json_decref(code);
        }
        put_hex_dump(pg, s + 2, n, more);
        return;
    }
    report_page_put(pg, "<pre>\n");
    report_page_string(pg, v);
    report_page_put(pg, "</pre>");
}

static const json_t *
at(const json_t *row, size_t i)
{
    return json_array_get(row, i);
}

/* The opcode, FIN, RSV and payload length of an RF or TF row. */
static void
put_frame_header(struct report_page *pg, const json_t *row)
{
    const json_t *opcode = at(row, 2);
    const json_t *fin = at(row, 3);
    json_int_t op = json_integer_value(opcode);

    report_page_put(pg, "opcode ");
    report_page_integer(pg, opcode);
    if (json_is_integer(opcode) && report_page_opcode_name(op) != NULL) {
        report_page_putf(pg, " <small>%s</small>", report_page_opcode_name(op));
    }
    report_page_put(pg, " &middot; FIN ");
    if (json_is_boolean(fin)) {
        report_page_put(pg, json_is_true(fin) ? "1" : "0");
    } else {
        report_page_put(pg, REPORT_HTML_ABSENT);
    }
    report_page_put(pg, " &middot; RSV ");
    report_page_integer(pg, at(row, 4));
    report_page_put(pg, "<br>payload ");
    report_page_integer(pg, at(at(row, 1), 0));
    report_page_put(pg, " octets");
}

/* Each of these writes a wire log row's two last cells: its details, and
 * the bytes it carried. */
typedef void wire_cells_fn(struct report_page *pg, const json_t *row);

static void
cells_octets(struct report_page *pg, const json_t *row)
{
    report_page_put(pg, "<td>");
    report_page_integer(pg, at(at(row, 1), 0));
    report_page_put(pg, " octets");
    if (json_is_true(at(row, 2))) {
        report_page_put(pg, ", sync");
    }
    report_page_put(pg, "</td><td>");
    put_bytes(pg, at(at(row, 1), 1));
    report_page_put(pg, "</td>");
}

static void
cells_frame_received(struct report_page *pg, const json_t *row)
{
    const json_t *masked = at(row, 5);
    const json_t *marks = at(row, 7); /* wsd's: "discarded", "incomplete" */

    report_page_put(pg, "<td>");
    put_frame_header(pg, row);
    report_page_put(pg, "<br>");
    if (json_is_true(masked)) {
        report_page_put(pg, "masked, key ");
        report_page_string(pg, at(row, 6));
    } else if (json_is_false(masked)) {
        report_page_put(pg, "not masked");
    } else {
        report_page_put(pg, "masked: " REPORT_HTML_ABSENT);
    }
    for (size_t k = 0; k < json_array_size(marks); k++) {
        report_page_put(pg, "<br><strong>");
        report_page_string(pg, json_array_get(marks, k));
        report_page_put(pg, "</strong>");
    }
    report_page_put(pg, "</td><td>");
    put_payload(pg, at(at(row, 1), 1), at(row, 2));
    report_page_put(pg, "</td>");
}

static void
cells_frame_sent(struct report_page *pg, const json_t *row)
{
    const json_t *mask = at(row, 5);

    report_page_put(pg, "<td>");
    put_frame_header(pg, row);
    report_page_put(pg, "<br>");
    if (json_is_null(mask)) {
        report_page_put(pg, "not masked");
    } else {
        report_page_put(pg, "masked, key ");
        report_page_string(pg, mask);
    }
    if (json_is_integer(at(row, 6))) {
        report_page_put(pg, "<br>payload repeated to ");
        report_page_integer(pg, at(row, 6));
        report_page_put(pg, " octets");
    }
    if (json_is_integer(at(row, 7))) {
        report_page_put(pg, "<br>sent in chops of ");
        report_page_integer(pg, at(row, 7));
        report_page_put(pg, " octets");
    }
    if (json_is_true(at(row, 8))) {
        report_page_put(pg, "<br>sync");
    }
    report_page_put(pg, "</td><td>");
    put_payload(pg, at(at(row, 1), 1), at(row, 2));
    report_page_put(pg, "</td>");
}

static void
cells_timer(struct report_page *pg, const json_t *row)
{
    report_page_put(pg, "<td>in ");
    put_seconds(pg, at(row, 1));
    report_page_put(pg, ", step ");
    report_page_string(pg, at(row, 2));
    report_page_put(pg, "</td><td></td>");
}

static void
cells_timer_due(struct report_page *pg, const json_t *row)
{
    report_page_put(pg, "<td>step ");
    report_page_string(pg, at(row, 1));
    report_page_put(pg, " is due</td><td></td>");
}

static void
cells_fail_after(struct report_page *pg, const json_t *row)
{
    report_page_put(pg, "<td>this end fails the connection after ");
    put_seconds(pg, at(row, 1));
    report_page_put(pg, " if it is still open</td><td></td>");
}

static void
cells_close_after(struct report_page *pg, const json_t *row)
{
    report_page_put(pg, "<td>this end closes the connection after ");
    put_seconds(pg, at(row, 1));
    report_page_put(pg, "</td><td></td>");
}

static void
cells_logging(struct report_page *pg, const json_t *row)
{
    const json_t *on = at(row, 1);

    report_page_put(pg, "<td>");
    if (json_is_boolean(on)) {
        report_page_put(pg, json_is_true(on)
                                ? "logging resumes"
                                : "logging pauses: what crosses the wire "
                                  "until it resumes is counted, not logged");
    } else {
        report_page_put(pg, REPORT_HTML_ABSENT);
    }
    report_page_put(pg, "</td><td></td>");
}

static void
cells_timeout(struct report_page *pg, const json_t *row)
{
    report_page_put(pg, "<td>the ");
    report_page_string(pg, at(row, 1));
    report_page_put(pg, " timeout ran out</td><td></td>");
}

static void
cells_shut(struct report_page *pg, const json_t *row)
{
    (void)row;
    report_page_put(pg, "<td>this end shut down its sending side of TCP"
                        "</td><td></td>");
}

static void
cells_drop(struct report_page *pg, const json_t *row)
{
    const char *who = json_string_value(at(row, 1));

    report_page_put(pg, "<td>");
    if (who != NULL && strcmp(who, "me") == 0) {
        report_page_put(pg, "this end closed the TCP connection");
    } else if (who != NULL && strcmp(who, "peer") == 0) {
        report_page_put(pg, "the peer closed the TCP connection");
    } else {
        report_page_put(pg, "closed by ");
        report_page_string(pg, at(row, 1));
    }
    report_page_put(pg, "</td><td></td>");
}

static void
cells_gap(struct report_page *pg, const json_t *row)
{
    report_page_put(pg, "<td>");
    report_page_integer(pg, at(row, 1));
    report_page_put(pg, " rows not kept: the log ran over its bound"
                        "</td><td></td>");
}

/* Any JSON, compact, as text. */
static void
put_json(struct report_page *pg, const json_t *v)
{
    char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

    if (dump != NULL) {
        report_page_put(pg, "<code>");
        report_page_text(pg, dump, strlen(dump));
        report_page_put(pg, "</code>");
        free(dump);
    } else {
        report_page_put(pg, REPORT_HTML_ABSENT);
    }
}

/* A row of a kind unknown here: its values as they are. */
static void
cells_other(struct report_page *pg, const json_t *row)
{
    report_page_put(pg, "<td>");
    if (json_is_array(row)) {
        for (size_t i = 1; i < json_array_size(row); i++) {
            report_page_put(pg, i > 1 ? ", " : "");
            put_json(pg, at(row, i));
        }
    } else {
        put_json(pg, row);
    }
    report_page_put(pg, "</td><td></td>");
}

static const struct {
    const char *kind;
    const char *label;
    const char *class; /* the row's: which way, or an event */
    wire_cells_fn *cells;
} wire_kinds[] = {
    /* The testsuite's kinds. */
    {"RO", "read", "w w-in", cells_octets},
    {"TO", "write", "w w-out", cells_octets},
    {"RF", "frame received", "w w-in", cells_frame_received},
    {"TF", "frame sent", "w w-out", cells_frame_sent},
    {"CT", "timer set", "w w-event", cells_timer},
    {"CTE", "timer due", "w w-event", cells_timer_due},
    {"KL", "deadline", "w w-event", cells_fail_after},
    {"TI", "closing later", "w w-event", cells_close_after},
    {"WLM", "logging", "w w-event", cells_logging},
    /* wsd's own. */
    {"TMO", "timeout", "w w-event", cells_timeout},
    {"SHUT", "FIN sent", "w w-event", cells_shut},
    {"DROP", "TCP closed", "w w-event", cells_drop},
    {"GAP", "gap", "w w-event", cells_gap},
};

static void
wire_row(struct report_page *pg, size_t i, const json_t *row)
{
    const json_t *kind = at(row, 0);
    size_t k = 0;

    while (json_is_string(kind) && k < NELEM(wire_kinds) &&
           !(json_string_length(kind) == strlen(wire_kinds[k].kind) &&
             strcmp(json_string_value(kind), wire_kinds[k].kind) == 0)) {
        k++;
    }
    if (json_is_string(kind) && k < NELEM(wire_kinds)) {
        report_page_putf(pg,
                         "<tr class=\"%s\"><td class=\"n\">%zu</td>"
                         "<td><code>%s</code> %s</td>",
                         wire_kinds[k].class, i, wire_kinds[k].kind,
                         wire_kinds[k].label);
        wire_kinds[k].cells(pg, row);
    } else {
        report_page_putf(pg,
                         "<tr class=\"w w-other\"><td class=\"n\">%zu</td>"
                         "<td><code>",
                         i);
        report_page_string(pg, json_is_string(kind) ? kind : NULL);
        report_page_put(pg, "</code></td>");
        cells_other(pg, row);
    }
    report_page_put(pg, "</tr>\n");
}

void
report_page_wirelog(struct report_page *pg, const json_t *c)
{
    const json_t *log = json_object_get(c, "wirelog");

    report_page_put(pg, "<h2>Wire log</h2>\n");
    if (!json_is_array(log)) {
        report_page_put(pg, "<p>" REPORT_HTML_ABSENT "</p>\n");
        return;
    }
    if (json_array_size(log) == 0) {
        report_page_put(pg, "<p>No entries.</p>\n");
        return;
    }
    report_page_put(pg, "<table>\n<thead>\n<tr><th>#</th><th>Entry</th>"
                        "<th>Details</th><th>Bytes</th></tr>\n</thead>\n"
                        "<tbody>\n");
    for (size_t i = 0; i < json_array_size(log); i++) {
        wire_row(pg, i, at(log, i));
    }
    report_page_put(pg, "</tbody>\n</table>\n");
}
