/* SPDX-License-Identifier: MIT */
/*
 * A report folder written case by case: the index's entries as the
 * testsuite writes them (behavior, behaviorClose, duration,
 * remoteCloseCode, reportfile), the files through report_folder, the
 * pages through report_html.
 */
#include "autoconf.h"

#include "report_writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "report_html.h"

#define NAME_MAX_BYTES 160 /* a report file's name */

int
report_writer_open(struct report_writer *w, const char *dir)
{
    memset(w, 0, sizeof(*w));
    w->dir = dir;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(w->err, sizeof(w->err), "%s: %s", dir, strerror(errno));
        return -1;
    }
    w->index = json_object();
    w->used = json_object();
    w->page = evbuffer_new();
    if (w->index == NULL || w->used == NULL || w->page == NULL) {
        snprintf(w->err, sizeof(w->err), "out of memory");
        return -1;
    }
    return 0;
}

/* The summary index.json keeps of a case, as the testsuite's does. */
static json_t *
index_entry(const json_t *c, const char *file, const char *record_key,
            uint64_t record)
{
    json_t *e = json_object();
    static const char *const keys[] = {"behavior", "behaviorClose", "duration",
                                       "remoteCloseCode"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(c, keys[i]);
        json_object_set(e, keys[i], v != NULL ? v : json_null());
    }
    json_object_set_new(e, "reportfile", json_string(file));
    if (record_key != NULL) {
        json_object_set_new(e, record_key, json_integer((json_int_t)record));
    }
    return e;
}

int
report_writer_case(struct report_writer *w, const json_t *c,
                   const char *record_key, uint64_t record)
{
    char key[256];
    char stem[NAME_MAX_BYTES];
    char file[NAME_MAX_BYTES + 8];
    const char *agent = json_string_value(json_object_get(c, "agent"));
    const char *case_id = json_string_value(json_object_get(c, "id"));

    if (agent == NULL || case_id == NULL) {
        snprintf(w->err, sizeof(w->err), "a case without an agent or an id");
        return -1;
    }
    json_t *cases = json_object_get(w->index, agent);
    if (cases == NULL) {
        cases = json_object();
        json_object_set_new(w->index, agent, cases);
    }
    report_folder_index_key(cases, case_id, key, sizeof(key));
    report_folder_file_stem(w->used, agent, key, stem, sizeof(stem));
    snprintf(file, sizeof(file), "%s.json", stem);
    if (report_folder_write_json(w->dir, file, c, w->err) != 0) {
        return -1;
    }
    json_object_set_new(cases, key, index_entry(c, file, record_key, record));
    snprintf(file, sizeof(file), "%s.html", stem);
    if (report_html_case(c, w->page) != 0) {
        snprintf(w->err, sizeof(w->err), "%s/%s: out of memory", w->dir, file);
        return -1;
    }
    if (report_folder_write_buffer(w->dir, file, w->page, w->err) != 0) {
        return -1;
    }
    w->written++;
    return 0;
}

int
report_writer_finish(struct report_writer *w)
{
    if (report_folder_write_json(w->dir, "index.json", w->index, w->err) != 0) {
        return -1;
    }
    if (report_html_index(w->index, w->page) != 0) {
        snprintf(w->err, sizeof(w->err), "%s/index.html: out of memory",
                 w->dir);
        return -1;
    }
    return report_folder_write_buffer(w->dir, "index.html", w->page, w->err);
}

void
report_writer_free(struct report_writer *w)
{
    json_decref(w->index);
    json_decref(w->used);
    if (w->page != NULL) {
        evbuffer_free(w->page);
    }
    memset(w, 0, sizeof(*w));
}
