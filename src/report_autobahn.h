/* SPDX-License-Identifier: MIT */
/*
 * A case record as the Autobahn testsuite's per-case report object (the
 * JSON its fuzzing.py writes for each case), from the side that recorded
 * it (wsd's, the server's; wsc's, the client's): the testsuite's keys
 * exactly, our values. Pure: it turns a copy of a
 * record into a new document and owns nothing else; the wire log, the
 * statistics and the closing behaviour are stats_json's renderings.
 */
#ifndef WSD_REPORT_AUTOBAHN_H
#define WSD_REPORT_AUTOBAHN_H

#include <stdint.h>

#include <jansson.h>

#include "stats_shm.h"

/*
 * The report object of c (followed by its request head and wire log, as
 * stats_case_read copies it), now_ms giving the duration of a case still
 * open. "id" and "agent" are the case's query's case and agent when it
 * had them, else the record's id in decimal and the User-Agent (or
 * "unknown"); "case" is the record's id. Keys that judge an outcome
 * (behavior, expected, result...) say that none was judged (README);
 * isServer and wasServerConnectionDropTimeout tell a client's record.
 * Returns a new reference, or NULL when out of memory.
 */
json_t *report_autobahn_case(const struct stats_case *c, uint64_t now_ms);

#endif
