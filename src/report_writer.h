/* SPDX-License-Identifier: MIT */
/*
 * A report folder being written, case by case, as the Autobahn testsuite
 * writes its own: each case's object (report_autobahn's) as
 * AGENT_case_ID.json with its page AGENT_case_ID.html (report_html's)
 * beside it, and the index as it grows, written last as index.json and
 * index.html. It owns the index and the page buffer; the names and the
 * writing of each file are report_folder's. `wsd report` and wsc's
 * --record write their folders through it.
 */
#ifndef WSD_REPORT_WRITER_H
#define WSD_REPORT_WRITER_H

#include <stdint.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "report_folder.h"

struct report_writer {
    const char *dir;
    json_t *index; /* agent -> case id -> summary */
    json_t *used;  /* file stems taken */
    struct evbuffer *page;
    unsigned written; /* cases written */
    char err[REPORT_FOLDER_ERROR_MAX];
};

/* Makes dir (it may exist) and starts an empty index. Returns 0, or -1
 * with w->err naming the problem. */
int report_writer_open(struct report_writer *w, const char *dir);

/*
 * Writes the case object c (its "agent" and "id" name it, a case id
 * the agent has already getting "ID#2"...) and its page, and adds its
 * summary to the index; with record_key, the summary also says
 * record_key: record (where the case came from, e.g. "wsdCase": its id
 * in wsd's ring). Returns 0, or -1 with w->err naming the problem.
 */
int report_writer_case(struct report_writer *w, const json_t *c,
                       const char *record_key, uint64_t record);

/* Writes index.json and index.html. Returns 0, or -1 with w->err. */
int report_writer_finish(struct report_writer *w);

void report_writer_free(struct report_writer *w);

#endif
