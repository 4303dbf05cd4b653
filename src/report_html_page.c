/* SPDX-License-Identifier: MIT */
/*
 * The page writer of the case reports (report_html_int.h): markup of ours,
 * text from the JSON escaped and made valid UTF-8, the values the pages
 * show, and the pages' frame and styles.
 */
#include "autoconf.h"

#include "report_html.h"
#include "report_html_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"
#include "ws_utf8.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* U+FFFD, for a byte that is not valid UTF-8 or a code point HTML refuses. */
#define REPLACEMENT "\xef\xbf\xbd"

/* The pages' look: ours, inline, so that a page is one file. The whole
 * text of the <style> element, its first newline included: a page shown
 * where a policy lets in only a style of a known hash needs it exact
 * (report_html_style). */
static const char page_style[] =
    "\nbody{font:15px/1.45 system-ui,sans-serif;color:#1f2933;"
    "background:#fcfcfb;max-width:72em;margin:1.5em auto;padding:0 1em}\n"
    "h1{font-size:1.55em;margin:.2em 0 .4em}\n"
    "h2{font-size:1.2em;margin:1.8em 0 .5em;padding-bottom:.15em;"
    "border-bottom:2px solid #cfd6e0}\n"
    "h3{font-size:1em;margin:1em 0 .3em}\n"
    "table{border-collapse:collapse;margin:.4em 0}\n"
    "th,td{border:1px solid #d5dbe3;padding:.2em .55em;text-align:left;"
    "vertical-align:top}\n"
    "thead th{background:#e9edf3}\n"
    "tfoot th,tfoot td{background:#f2f4f7;font-weight:600}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "caption{text-align:left;font-weight:600;padding:.2em 0}\n"
    "pre{margin:0;font:13px/1.35 ui-monospace,monospace;"
    "white-space:pre-wrap;overflow-wrap:anywhere}\n"
    "pre.head{background:#f0f2f5;border-left:4px solid #8195b5;"
    "padding:.5em .8em}\n"
    "code{font:13px ui-monospace,monospace}\n"
    ".stats{display:flex;flex-wrap:wrap;gap:0 2em;align-items:flex-start}\n"
    ".absent,.none,.note{color:#7b8494}\n"
    "tr.w-in td{background:#f1f8f1}\n"
    "tr.w-out td{background:#f1f4fb}\n"
    "tr.w-event td{background:#fcf6e6}\n"
    "td.b-ok{background:#dff2dc}td.b-ns{background:#fbf0c4}\n"
    "td.b-info{background:#e3eaf8}td.b-fail{background:#f8dcd9}\n"
    "small{color:#5c6573}\nsmall.meta{display:block}\n"
    "a{color:#1d4f91}\n";

/* The page writer -------------------------------------------------------- */

void
report_page_raw(struct report_page *pg, const void *p, size_t len)
{
    if (len > 0 && evbuffer_add(pg->out, p, len) == -1) {
        pg->failed = true;
    }
}

void
report_page_put(struct report_page *pg, const char *markup)
{
    report_page_raw(pg, markup, strlen(markup));
}

void
report_page_putf(struct report_page *pg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (evbuffer_add_vprintf(pg->out, fmt, ap) == -1) {
        pg->failed = true;
    }
    va_end(ap);
}

/* The length (2 to 4) of the valid UTF-8 sequence at p, its code point in
 * *cp; or 0 when the bytes at p are not one. */
static size_t
utf8_sequence(const uint8_t *p, size_t left, uint32_t *cp)
{
    size_t k = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;

    if (k > left || !ws_utf8_is_valid(p, k)) {
        return 0;
    }
    /* The lead byte keeps 7 - k bits of the code point; each
     * continuation byte 6. */
    *cp = p[0] & (0x7fu >> k);
    for (size_t i = 1; i < k; i++) {
        *cp = (*cp << 6) | (p[i] & 0x3fu);
    }
    return k;
}

/* HTML §13.2.3.5: C1 controls and noncharacters in the input stream are
 * parse errors (the C0 ones are handled byte by byte). */
static bool
is_html_char(uint32_t cp)
{
    if (cp >= 0x80 && cp <= 0x9f) {
        return false;
    }
    if (cp >= 0xfdd0 && cp <= 0xfdef) {
        return false;
    }
    return (cp & 0xfffe) != 0xfffe;
}

void
report_page_text(struct report_page *pg, const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t from = 0; /* start of the bytes still to copy as they are */

    for (size_t i = 0; i < len;) {
        const char *rep = NULL;
        char picture[4];
        size_t k = 1;
        uint32_t cp;

        switch (p[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        case '\t':
        case '\n':
            break;
        default:
            if (p[i] < 0x20 || p[i] == 0x7f) {
                if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
                    break;
                }
                /* U+2400 + byte: the Control Pictures (U+2421 for DEL). */
                picture[0] = '\xe2';
                picture[1] = '\x90';
                picture[2] = (char)(p[i] == 0x7f ? 0xa1 : 0x80 + p[i]);
                picture[3] = '\0';
                rep = picture;
            } else if (p[i] >= 0x80) {
                k = utf8_sequence(p + i, len - i, &cp);
                if (k == 0) {
                    k = 1;
                    rep = REPLACEMENT;
                } else if (!is_html_char(cp)) {
                    rep = REPLACEMENT;
                }
            }
            break;
        }
        if (rep != NULL) {
            report_page_raw(pg, s + from, i - from);
            report_page_put(pg, rep);
            from = i + k;
        }
        i += k;
    }
    report_page_raw(pg, s + from, len - from);
}

void
report_page_string(struct report_page *pg, const json_t *v)
{
    if (json_is_string(v)) {
        report_page_text(pg, json_string_value(v), json_string_length(v));
    } else if (json_is_null(v)) {
        report_page_put(pg, "<span class=\"none\">none</span>");
    } else {
        report_page_put(pg, REPORT_HTML_ABSENT);
    }
}

void
report_page_integer(struct report_page *pg, const json_t *v)
{
    if (json_is_integer(v)) {
        report_page_putf(pg, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_null(v)) {
        report_page_put(pg, "<span class=\"none\">none</span>");
    } else {
        report_page_put(pg, REPORT_HTML_ABSENT);
    }
}

const char **
report_html_keys(const json_t *o, int (*cmp)(const void *, const void *),
                 size_t *n)
{
    /* jansson's iterators take a json_t * although they only read it. */
    json_t *obj = (json_t *)(uintptr_t)o;
    size_t size = json_object_size(o); /* 0 for anything but an object */
    const char **keys = calloc(size + 1, sizeof(*keys));
    size_t k = 0;

    *n = 0;
    if (keys == NULL) {
        return NULL;
    }
    for (void *it = json_object_iter(obj); it != NULL && k < size;
         it = json_object_iter_next(obj, it)) {
        keys[k++] = json_object_iter_key(it);
    }
    if (cmp != NULL) {
        qsort(keys, k, sizeof(*keys), cmp);
    }
    *n = k;
    return keys;
}

int
report_html_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **
report_page_keys(struct report_page *pg, const json_t *o,
                 int (*cmp)(const void *, const void *), size_t *n)
{
    const char **keys;

    *n = 0;
    if (json_object_size(o) == 0) {
        return NULL;
    }
    keys = report_html_keys(o, cmp, n);
    if (keys == NULL) {
        pg->failed = true;
    }
    return keys;
}

size_t
report_page_link_stem(const json_t *name, const char *ext)
{
    const char *s = json_string_value(name);
    size_t n = json_string_length(name);
    size_t e = strlen(ext);

    if (s == NULL || n <= e || s[0] == '.' || strcmp(s + n - e, ext) != 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-')) {
            return 0;
        }
    }
    return n - e;
}

void
report_page_begin(struct report_page *pg)
{
    report_page_put(pg, "<!DOCTYPE html>\n"
                        "<html lang=\"en\">\n"
                        "<head>\n"
                        "<meta charset=\"utf-8\">\n"
                        "<meta name=\"viewport\" "
                        "content=\"width=device-width, initial-scale=1\">\n"
                        "<title>");
}

const char *
report_html_style(void)
{
    return page_style;
}

void
report_page_body(struct report_page *pg)
{
    report_page_put(pg, "</title>\n<style>");
    report_page_put(pg, page_style);
    report_page_put(pg, "</style>\n</head>\n<body>\n");
}

void
report_page_end(struct report_page *pg)
{
    report_page_put(pg, "<footer><p class=\"note\">Written by wsd from a "
                        "report in the Autobahn testsuite's JSON format."
                        "</p></footer>\n</body>\n</html>\n");
}

int
report_page_result(const struct report_page *pg)
{
    if (pg->failed) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* RFC 6455 §7.4.1 and IANA's registry: the close codes with a name. */
static const struct {
    json_int_t code;
    const char *name;
} close_names[] = {
    {1000, "normal closure"},
    {1001, "going away"},
    {1002, "protocol error"},
    {1003, "unacceptable data"},
    {1005, "no code in the close frame"},
    {1006, "closed without a close frame"},
    {1007, "invalid payload data"},
    {1008, "policy violation"},
    {1009, "message too big"},
    {1010, "extension required"},
    {1011, "internal error"},
    {1012, "service restart"},
    {1013, "try again later"},
    {1014, "bad gateway"},
    {1015, "TLS handshake failed"},
};

void
report_page_close_code(struct report_page *pg, const json_t *v)
{
    report_page_integer(pg, v);
    for (size_t i = 0; json_is_integer(v) && i < NELEM(close_names); i++) {
        if (close_names[i].code == json_integer_value(v)) {
            report_page_putf(pg, " <small>%s</small>", close_names[i].name);
        }
    }
}

const char *
report_page_opcode_name(json_int_t opcode)
{
    if (opcode < 0 || opcode > 15) {
        return NULL;
    }
    return ws_frame_opcode_name((uint8_t)opcode);
}
