/* SPDX-License-Identifier: MIT */
/*
 * The index page of a report folder: one row per case id, in the
 * testsuite's numeric order, one column per agent, each cell linking to
 * the case's page beside the index, from an object shaped as the
 * testsuite's index.json (agent → case id → summary).
 */
#include "autoconf.h"

#include "report_html.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report_html_int.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool
is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return n > 0;
}

/* One dot-separated part of a case id: digits compare as numbers, of any
 * length, and come before any other part, which compares by its bytes. */
static int
part_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    bool da = is_digits(a, na);
    bool db = is_digits(b, nb);
    int r;

    if (da != db) {
        return da ? -1 : 1;
    }
    if (da) {
        while (na > 1 && *a == '0') {
            a++;
            na--;
        }
        while (nb > 1 && *b == '0') {
            b++;
            nb--;
        }
        if (na != nb) {
            return na < nb ? -1 : 1;
        }
        return memcmp(a, b, na);
    }
    r = memcmp(a, b, na < nb ? na : nb);
    if (r != 0 || na == nb) {
        return r;
    }
    return na < nb ? -1 : 1;
}

int
report_html_case_id_cmp(const void *x, const void *y)
{
    const char *a = *(const char *const *)x;
    const char *b = *(const char *const *)y;
    const char *pa = a;
    const char *pb = b;

    for (;;) {
        size_t na = strcspn(pa, ".");
        size_t nb = strcspn(pb, ".");
        int r = part_cmp(pa, na, pb, nb);

        if (r != 0) {
            return r;
        }
        pa += na;
        pb += nb;
        if (*pa == '\0' || *pb == '\0') {
            break;
        }
        pa++;
        pb++;
    }
    if (*pa != *pb) {
        return *pa == '\0' ? -1 : 1;
    }
    return strcmp(a, b);
}

/* The testsuite's closing behaviours, coloured; any other is not. */
static const struct {
    const char *behavior;
    const char *class;
} behavior_classes[] = {
    {"OK", "b-ok"},
    {"NON-STRICT", "b-ns"},
    {"INFORMATIONAL", "b-info"},
    {"UNIMPLEMENTED", "b-info"},
    {"FAILED", "b-fail"},
    {"WRONG CODE", "b-fail"},
    {"UNCLEAN", "b-fail"},
};

static void
index_cell(struct report_page *pg, const json_t *summary)
{
    const json_t *behavior = json_object_get(summary, "behaviorClose");
    const json_t *reportfile = json_object_get(summary, "reportfile");
    const char *b = json_string_value(behavior);
    size_t stem = report_page_link_stem(reportfile, ".json");
    const char *class = NULL;

    if (!json_is_object(summary)) {
        report_page_put(pg, "<td>" REPORT_HTML_ABSENT "</td>");
        return;
    }
    for (size_t i = 0; b != NULL && i < NELEM(behavior_classes); i++) {
        if (strcmp(b, behavior_classes[i].behavior) == 0) {
            class = behavior_classes[i].class;
        }
    }
    if (class != NULL) {
        report_page_putf(pg, "<td class=\"%s\">", class);
    } else {
        report_page_put(pg, "<td>");
    }
    if (stem > 0) {
        report_page_put(pg, "<a href=\"");
        report_page_text(pg, json_string_value(reportfile), stem);
        report_page_put(pg, ".html\">");
    }
    report_page_string(pg, behavior);
    if (stem > 0) {
        report_page_put(pg, "</a>");
    }
    report_page_put(pg, "<small class=\"meta\">close code ");
    report_page_integer(pg, json_object_get(summary, "remoteCloseCode"));
    report_page_put(pg, " &middot; ");
    report_page_integer(pg, json_object_get(summary, "duration"));
    report_page_put(pg, " ms</small></td>");
}

/* Every case id of every agent, sorted, each once; the caller frees the
 * array. NULL with *n 0 when there are none (or no memory: pg->failed). */
static const char **
case_ids(struct report_page *pg, const json_t *index, const char **agents,
         size_t n_agents, size_t *n)
{
    size_t cap = 0;
    const char **ids;
    size_t k = 0;

    *n = 0;
    for (size_t a = 0; a < n_agents; a++) {
        cap += json_object_size(json_object_get(index, agents[a]));
    }
    if (cap == 0) {
        return NULL;
    }
    ids = calloc(cap, sizeof(*ids));
    if (ids == NULL) {
        pg->failed = true;
        return NULL;
    }
    for (size_t a = 0; a < n_agents; a++) {
        size_t m;
        const char **keys =
            report_page_keys(pg, json_object_get(index, agents[a]), NULL, &m);
        for (size_t i = 0; i < m && k < cap; i++) {
            ids[k++] = keys[i];
        }
        free(keys);
    }
    qsort(ids, k, sizeof(*ids), report_html_case_id_cmp);
    for (size_t i = 0; i < k; i++) {
        if (*n == 0 || strcmp(ids[*n - 1], ids[i]) != 0) {
            ids[(*n)++] = ids[i];
        }
    }
    return ids;
}

int
report_html_index(const json_t *index, struct evbuffer *out)
{
    struct report_page pg = {out, false};
    const char **agents;
    const char **ids;
    size_t n_agents;
    size_t n_ids;

    if (!json_is_object(index)) {
        errno = EINVAL;
        return -1;
    }
    agents = report_page_keys(&pg, index, report_html_name_cmp, &n_agents);
    ids = NULL;
    n_ids = 0;
    if (agents != NULL) {
        ids = case_ids(&pg, index, agents, n_agents, &n_ids);
    }

    report_page_begin(&pg);
    report_page_put(&pg, "Case reports: wsd");
    report_page_body(&pg);
    report_page_putf(&pg,
                     "<header>\n<h1>Case reports</h1>\n<p>%zu case%s, "
                     "%zu agent%s. Each cell shows the closing behaviour, "
                     "the close code the peer sent and how long the case "
                     "took, and leads to the case's own page.</p>\n"
                     "</header>\n",
                     n_ids, n_ids == 1 ? "" : "s", n_agents,
                     n_agents == 1 ? "" : "s");
    if (n_ids == 0) {
        report_page_put(&pg, "<p>No cases.</p>\n");
    } else {
        report_page_put(&pg, "<table>\n<thead>\n<tr><th>Case</th>");
        for (size_t a = 0; a < n_agents; a++) {
            report_page_put(&pg, "<th>");
            report_page_text(&pg, agents[a], strlen(agents[a]));
            report_page_put(&pg, "</th>");
        }
        report_page_put(&pg, "</tr>\n</thead>\n<tbody>\n");
        for (size_t i = 0; i < n_ids; i++) {
            report_page_put(&pg, "<tr><th>");
            report_page_text(&pg, ids[i], strlen(ids[i]));
            report_page_put(&pg, "</th>");
            for (size_t a = 0; a < n_agents; a++) {
                index_cell(&pg, json_object_get(
                                    json_object_get(index, agents[a]), ids[i]));
            }
            report_page_put(&pg, "</tr>\n");
        }
        report_page_put(&pg, "</tbody>\n</table>\n");
    }
    report_page_end(&pg);
    free(ids);
    free(agents);
    return report_page_result(&pg);
}
