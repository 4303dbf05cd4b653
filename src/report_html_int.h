/* SPDX-License-Identifier: MIT */
/*
 * What the files of the report_html module share: the page writer
 * (report_html_page.c), a page being written into an evbuffer and the ways
 * a value from the JSON gets into it, and the wire log's table
 * (report_html_wirelog.c) for the case page (report_html.c). Not an
 * interface of its own: only the module's files include it.
 */
#ifndef WSD_REPORT_HTML_INT_H
#define WSD_REPORT_HTML_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <jansson.h>

/* What a missing or ill-typed value shows as: an em dash. */
#define REPORT_HTML_ABSENT "<span class=\"absent\">\xe2\x80\x94</span>"

/* A page being appended to out. */
struct report_page {
    struct evbuffer *out;
    bool failed; /* an append failed: out holds part of a page */
};

/* Markup of ours, as it is: never text from the JSON. */
void report_page_put(struct report_page *pg, const char *markup);
void report_page_raw(struct report_page *pg, const void *p, size_t len);
void report_page_putf(struct report_page *pg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Text from the JSON, escaped for element content and attribute values
 * alike (& < > " '), with bytes that are not valid UTF-8 shown as U+FFFD,
 * and C0 controls (but tab, LF and the CR of CR LF), DEL, C1 controls and
 * noncharacters, which HTML's input stream refuses, shown visibly.
 */
void report_page_text(struct report_page *pg, const char *s, size_t len);

/* A JSON string as text; null as "none"; anything else as absent. */
void report_page_string(struct report_page *pg, const json_t *v);

/* A JSON integer as a number; null as "none"; anything else as absent. */
void report_page_integer(struct report_page *pg, const json_t *v);

/* A close code as a number, with its name (RFC 6455 §7.4.1) when it has
 * one; null as "none"; anything else as absent. */
void report_page_close_code(struct report_page *pg, const json_t *v);

/* An opcode's name (RFC 6455 §5.2), "reserved", or NULL beyond 0..15. */
const char *report_page_opcode_name(json_int_t opcode);

/* The wire log of the case c, as a section of its page. */
void report_page_wirelog(struct report_page *pg, const json_t *c);

/*
 * report_html_keys of o, but NULL with *n 0 when o is not an object or has
 * no key, and NULL with pg->failed set when out of memory.
 */
const char **report_page_keys(struct report_page *pg, const json_t *o,
                              int (*cmp)(const void *, const void *),
                              size_t *n);

/*
 * The length of the name v without its ending ext (".json"), when v is a
 * plain file name (letters, digits, '.', '_' and '-', not beginning with
 * '.') that ends so, so that a link made of it can only lead to a file
 * beside the page; else 0.
 */
size_t report_page_link_stem(const json_t *v, const char *ext);

/*
 * The page's frame: report_page_begin writes the doctype and the head up
 * to the title's text, which the caller writes; report_page_body closes the
 * title, adds the styles and opens the body; report_page_end closes it.
 */
void report_page_begin(struct report_page *pg);
void report_page_body(struct report_page *pg);
void report_page_end(struct report_page *pg);

/* Returns 0, or -1 with errno ENOMEM when an append failed. */
int report_page_result(const struct report_page *pg);

#endif
