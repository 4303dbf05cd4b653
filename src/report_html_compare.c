/* SPDX-License-Identifier: MIT */
/*
 * The pages of `wsd compare --html`: the index of a comparison (a row per
 * case of the client's report, its verdict, a link to its page; wsd's
 * records that paired with none) and a case's page (what differs and what
 * is noted each way, the octets, the frames by opcode, the closing), from
 * the document `wsd compare --json` writes.
 */
#include "autoconf.h"

#include "report_html.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_html_int.h"

/* A list of strings, or "None." */
static void
text_list(struct report_page *pg, const json_t *list)
{
    size_t i;
    const json_t *v;

    if (json_array_size(list) == 0) {
        report_page_put(pg, "<p class=\"none\">None.</p>\n");
        return;
    }
    report_page_put(pg, "<ul>\n");
    json_array_foreach(list, i, v)
    {
        report_page_put(pg, "<li>");
        if (json_is_object(v)) {
            report_page_put(pg, "<code>");
            report_page_string(pg, json_object_get(v, "kind"));
            report_page_put(pg, "</code> ");
            report_page_string(pg, json_object_get(v, "text"));
        } else {
            report_page_string(pg, v);
        }
        report_page_put(pg, "</li>\n");
    }
    report_page_put(pg, "</ul>\n");
}

static void
findings(struct report_page *pg, const json_t *o)
{
    report_page_put(pg, "<h3>Differences</h3>\n");
    text_list(pg, json_object_get(o, "differences"));
    if (json_array_size(json_object_get(o, "notes")) > 0) {
        report_page_put(pg, "<h3>Notes</h3>\n");
        text_list(pg, json_object_get(o, "notes"));
    }
}

static void
octets(struct report_page *pg, const json_t *o)
{
    const json_t *same = json_object_get(o, "sameSegmentation");

    report_page_put(pg, "<table>\n<caption>Octets</caption>\n<thead>\n"
                        "<tr><th></th><th>Octets</th><th>Calls</th></tr>\n"
                        "</thead>\n<tbody>\n<tr><th>Sent</th><td class=\"n\">");
    report_page_integer(pg, json_object_get(o, "sent"));
    report_page_put(pg, "</td><td class=\"n\">");
    report_page_integer(pg, json_object_get(o, "writes"));
    report_page_put(pg, " writes</td></tr>\n<tr><th>Received</th>"
                        "<td class=\"n\">");
    report_page_integer(pg, json_object_get(o, "received"));
    report_page_put(pg, "</td><td class=\"n\">");
    report_page_integer(pg, json_object_get(o, "reads"));
    report_page_put(pg, " reads</td></tr>\n</tbody>\n</table>\n<p>");
    if (json_is_boolean(same)) {
        report_page_put(pg, json_is_true(same)
                                ? "Read in the sizes they were written in."
                                : "Read in other sizes than they were "
                                  "written in: TCP's doing, not a "
                                  "difference.");
    }
    report_page_put(pg, "</p>\n");
}

/* Frames by opcode, both ends' counts side by side. */
static void
frames_by_opcode(struct report_page *pg, const json_t *o)
{
    const json_t *sent = json_object_get(o, "sent");
    const json_t *got = json_object_get(o, "received");
    char key[4];

    report_page_put(pg, "<table>\n<caption>Frames by opcode</caption>\n"
                        "<thead>\n<tr><th>Opcode</th><th>Name</th>"
                        "<th>Sent</th><th>Received</th></tr>\n</thead>\n"
                        "<tbody>\n");
    for (int op = 0; op < 16; op++) {
        snprintf(key, sizeof(key), "%d", op);
        const json_t *a = json_object_get(sent, key);
        const json_t *b = json_object_get(got, key);
        if (a == NULL && b == NULL) {
            continue;
        }
        report_page_putf(pg,
                         "<tr><td class=\"n\">%d</td><td>%s</td>"
                         "<td class=\"n\">",
                         op, report_page_opcode_name(op));
        if (a != NULL) {
            report_page_integer(pg, a);
        } else {
            report_page_put(pg, "0");
        }
        report_page_put(pg, "</td><td class=\"n\">");
        if (b != NULL) {
            report_page_integer(pg, b);
        } else {
            report_page_put(pg, "0");
        }
        report_page_put(pg, "</td></tr>\n");
    }
    report_page_put(pg, "</tbody>\n</table>\n");
}

static void
way_section(struct report_page *pg, const json_t *w, const char *title)
{
    const char *mode = json_string_value(json_object_get(w, "frames"));
    const json_t *payload = json_object_get(w, "messagePayloadOctets");

    report_page_putf(pg, "<h2>%s</h2>\n", title);
    findings(pg, w);
    report_page_put(pg, "<div class=\"stats\">\n");
    octets(pg, json_object_get(w, "octets"));
    frames_by_opcode(pg, json_object_get(w, "framesByOpcode"));
    report_page_put(pg, "</div>\n<p>");
    report_page_put(pg, mode == NULL ? "Frames compared: " REPORT_HTML_ABSENT
                        : strcmp(mode, "sequence") == 0
                            ? "Frames compared frame by frame"
                        : strcmp(mode, "counts") == 0
                            ? "Frames compared by their counts per opcode only"
                            : "Frames not compared (see the notes)");
    if (json_is_object(payload)) {
        report_page_put(pg, "; message payload octets sent ");
        report_page_integer(pg, json_object_get(payload, "sent"));
        report_page_put(pg, ", received ");
        report_page_integer(pg, json_object_get(payload, "received"));
    }
    report_page_put(pg, ".</p>\n");
}

/* A verdict, coloured as the report index colours behaviours. */
static void
verdict_cell(struct report_page *pg, const json_t *c, bool link)
{
    const json_t *cmp = json_object_get(c, "comparison");
    const json_t *page = json_object_get(c, "page");
    size_t stem = link ? report_page_link_stem(page, ".html") : 0;

    if (!json_is_true(json_object_get(c, "paired"))) {
        const json_t *why = json_object_get(c, "unpairedBecause");
        report_page_put(pg, "<td class=\"b-ns\">unpaired: ");
        if (json_is_string(why)) {
            report_page_string(pg, why);
        } else if (!json_is_string(json_object_get(c, "key"))) {
            report_page_put(pg, "its request has no Sec-WebSocket-Key");
        } else {
            report_page_put(pg, "no record of wsd has its Sec-WebSocket-Key");
        }
        report_page_put(pg, "</td>");
        return;
    }
    report_page_put(pg, json_is_true(json_object_get(cmp, "identical"))
                            ? "<td class=\"b-ok\">"
                            : "<td class=\"b-fail\">");
    if (stem > 0) {
        report_page_put(pg, "<a href=\"");
        report_page_text(pg, json_string_value(page), stem);
        report_page_put(pg, ".html\">");
    }
    report_page_string(pg, json_object_get(cmp, "verdict"));
    if (stem > 0) {
        report_page_put(pg, "</a>");
    }
    report_page_put(pg, "</td>");
}

/*
 * An href wsd compare made (compare_cmd.c: a path relative to the page,
 * percent-encoded, or an endpoint's http:// URL): only such characters,
 * so that no scheme a report chose, nor markup, becomes a link.
 */
static bool
href_is_safe(const char *s)
{
    static const char path[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                               "tuvwxyz0123456789-._~/%";
    static const char host[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                               "tuvwxyz0123456789-._~/%:[]";

    if (s == NULL || *s == '\0') {
        return false;
    }
    if (strncmp(s, "http://", 7) == 0) {
        return strspn(s + 7, host) == strlen(s + 7);
    }
    return strspn(s, path) == strlen(s);
}

/* <a href="HREF">words</a>, when links[key] is a safe href: after " (" for
 * the first of a list (*first), ", " for the others. */
static void
link_to(struct report_page *pg, const json_t *links, const char *key,
        const char *words, bool *first)
{
    const char *href = json_string_value(json_object_get(links, key));

    if (!href_is_safe(href)) {
        return;
    }
    report_page_put(pg, *first ? " (" : ", ");
    report_page_put(pg, "<a href=\"");
    report_page_text(pg, href, strlen(href));
    report_page_putf(pg, "\">%s</a>", words);
    *first = false;
}

/* A case's files, linked: " (<a>JSON</a>, <a>page</a>)", or nothing. */
static void
file_links(struct report_page *pg, const json_t *links, const char *json_key,
           const char *page_key)
{
    bool first = true;

    link_to(pg, links, json_key, "JSON", &first);
    link_to(pg, links, page_key, "page", &first);
    if (!first) {
        report_page_put(pg, ")");
    }
}

/* Text, linked to href when that is a safe one. */
static void
linked_string(struct report_page *pg, const json_t *v, const char *href)
{
    bool link = href_is_safe(href);

    if (link) {
        report_page_put(pg, "<a href=\"");
        report_page_text(pg, href, strlen(href));
        report_page_put(pg, "\">");
    }
    report_page_string(pg, v);
    if (link) {
        report_page_put(pg, "</a>");
    }
}

/* wsd's record: its case and source, and links to its files (links
 * may be NULL). */
static void
wsd_cell(struct report_page *pg, const json_t *wsd, const json_t *links)
{
    const json_t *id = json_object_get(wsd, "case");

    report_page_put(pg, "<td>");
    if (json_is_object(wsd)) {
        report_page_put(pg, "case ");
        if (json_is_integer(id)) {
            report_page_integer(pg, id);
        } else {
            report_page_string(pg, json_object_get(wsd, "id"));
        }
        report_page_put(pg, "<small class=\"meta\">");
        report_page_string(pg, json_object_get(wsd, "source"));
        report_page_put(pg, "</small>");
        file_links(pg, links, "wsdJson", "wsdPage");
    } else {
        report_page_put(pg, REPORT_HTML_ABSENT);
    }
    report_page_put(pg, "</td>");
}

int
report_html_compare_case(const json_t *c, struct evbuffer *out)
{
    struct report_page pg = {out, false};
    const json_t *cmp = json_object_get(c, "comparison");
    const json_t *links = json_object_get(c, "links");
    const char *index = json_string_value(json_object_get(links, "index"));

    if (!json_is_object(c)) {
        errno = EINVAL;
        return -1;
    }
    report_page_begin(&pg);
    report_page_put(&pg, "Case ");
    report_page_string(&pg, json_object_get(c, "id"));
    report_page_put(&pg, " of ");
    report_page_string(&pg, json_object_get(c, "agent"));
    report_page_put(&pg, ": both ends compared");
    report_page_body(&pg);
    report_page_put(&pg, "<header>\n");
    if (href_is_safe(index)) {
        report_page_put(&pg, "<nav><a href=\"");
        report_page_text(&pg, index, strlen(index));
        report_page_put(&pg, "\">All cases compared</a></nav>\n");
    }
    report_page_put(&pg, "<h1>Case ");
    report_page_string(&pg, json_object_get(c, "id"));
    report_page_put(&pg, ": both ends compared</h1>\n<table>\n<tbody>\n"
                         "<tr><th>Agent</th><td>");
    report_page_string(&pg, json_object_get(c, "agent"));
    report_page_put(&pg, "</td></tr>\n<tr><th>Sec-WebSocket-Key</th><td>");
    report_page_string(&pg, json_object_get(c, "key"));
    report_page_put(&pg, "</td></tr>\n<tr><th>The client's report</th><td>");
    report_page_string(&pg, json_object_get(c, "reportfile"));
    file_links(&pg, links, "clientJson", "clientPage");
    report_page_put(&pg, "</td></tr>\n<tr><th>wsd's record</th>");
    wsd_cell(&pg, json_object_get(c, "wsd"), links);
    report_page_put(&pg, "</tr>\n<tr><th>Verdict</th>");
    verdict_cell(&pg, c, false);
    report_page_put(&pg, "</tr>\n</tbody>\n</table>\n</header>\n");
    if (json_is_object(cmp)) {
        way_section(&pg, json_object_get(cmp, "clientToServer"),
                    "Client to server: the request as the client sent it and "
                    "wsd read it, the client's frames");
        way_section(&pg, json_object_get(cmp, "serverToClient"),
                    "Server to client: the response as wsd sent it and the "
                    "client read it, wsd's frames");
        report_page_put(&pg, "<h2>Closing: who closed, and how cleanly</h2>\n");
        findings(&pg, json_object_get(cmp, "closing"));
    }
    report_page_end(&pg);
    return report_page_result(&pg);
}

static void
summary(struct report_page *pg, const json_t *s)
{
    static const struct {
        const char *key;
        const char *words;
    } parts[] = {
        {"cases", " cases: "},
        {"identical", " identical, "},
        {"differ", " differ, "},
        {"unpaired", " unpaired; wsd's records unpaired: "},
        {"wsdUnpaired", "; compared by frame counts, a log being incomplete: "},
        {"comparedByCounts", "; with notes: "},
        {"withNotes", "; read in other sizes than written (TCP's doing, no "
                      "difference): "},
        {"segmentedOtherwise", "."},
    };

    report_page_put(pg, "<p>");
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        report_page_integer(pg, json_object_get(s, parts[i].key));
        report_page_put(pg, parts[i].words);
    }
    report_page_put(pg, "</p>\n");
}

/* wsd's records that paired with no case: source, case, key. */
static void
wsd_records(struct report_page *pg, const json_t *list, const char *title)
{
    size_t i;
    const json_t *r;

    report_page_putf(pg, "<h2>%s</h2>\n", title);
    if (json_array_size(list) == 0) {
        report_page_put(pg, "<p class=\"none\">None.</p>\n");
        return;
    }
    report_page_put(pg, "<table>\n<thead>\n<tr><th>wsd's record</th>"
                        "<th>Sec-WebSocket-Key</th></tr>\n</thead>\n"
                        "<tbody>\n");
    json_array_foreach(list, i, r)
    {
        report_page_put(pg, "<tr>");
        wsd_cell(pg, r, NULL);
        report_page_put(pg, "<td>");
        report_page_string(pg, json_object_get(r, "key"));
        report_page_put(pg, "</td></tr>\n");
    }
    report_page_put(pg, "</tbody>\n</table>\n");
}

int
report_html_compare(const json_t *doc, struct evbuffer *out)
{
    struct report_page pg = {out, false};
    size_t i;
    const json_t *c;
    const json_t *v;
    const json_t *links = json_object_get(doc, "links");

    if (!json_is_object(doc)) {
        errno = EINVAL;
        return -1;
    }
    report_page_begin(&pg);
    report_page_put(&pg, "Both ends compared: wsd");
    report_page_body(&pg);
    report_page_put(&pg, "<header>\n<h1>Both ends compared</h1>\n<p>The "
                         "client's report ");
    linked_string(&pg, json_object_get(doc, "report"),
                  json_string_value(json_object_get(links, "report")));
    report_page_put(&pg, " against wsd's records from ");
    json_array_foreach(json_object_get(doc, "sources"), i, v)
    {
        report_page_put(&pg, i > 0 ? ", " : "");
        linked_string(&pg, v,
                      json_string_value(json_array_get(
                          json_object_get(links, "sources"), i)));
    }
    report_page_put(&pg, ", paired by the Sec-WebSocket-Key of each "
                         "opening handshake.</p>\n");
    summary(&pg, json_object_get(doc, "summary"));
    report_page_put(&pg, "</header>\n<table>\n<thead>\n<tr><th>Case</th>"
                         "<th>Agent</th><th>wsd's record</th>"
                         "<th>Verdict</th><th>Notes</th></tr>\n</thead>\n"
                         "<tbody>\n");
    json_array_foreach(json_object_get(doc, "cases"), i, c)
    {
        report_page_put(&pg, "<tr><th>");
        report_page_string(&pg, json_object_get(c, "id"));
        report_page_put(&pg, "</th><td>");
        report_page_string(&pg, json_object_get(c, "agent"));
        report_page_put(&pg, "</td>");
        wsd_cell(&pg, json_object_get(c, "wsd"), NULL);
        verdict_cell(&pg, c, true);
        report_page_put(&pg, "<td>");
        text_list(&pg,
                  json_object_get(json_object_get(c, "comparison"), "notes"));
        report_page_put(&pg, "</td></tr>\n");
    }
    report_page_put(&pg, "</tbody>\n</table>\n");
    wsd_records(&pg, json_object_get(doc, "wsdUnpaired"),
                "wsd's records that no case pairs with");
    wsd_records(&pg, json_object_get(doc, "wsdWithoutKey"),
                "wsd's records without a Sec-WebSocket-Key (not WebSocket "
                "handshakes)");
    report_page_end(&pg);
    return report_page_result(&pg);
}
