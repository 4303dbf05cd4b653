/* SPDX-License-Identifier: MIT */
/*
 * The Autobahn per-case report object of a case record. The key set is
 * the testsuite's (fuzzing.py's caseResult), in its order; the values are
 * what wsd saw as the server, or wsc as the client. Keys that carry the
 * testsuite's judgement of a case keep their JSON type and say that no
 * judgement was made: a reader of Autobahn's reports reads them, and none
 * looks like a verdict.
 */
#include "autoconf.h"

#include "report_autobahn.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "stats_json.h"

/* Autobahn's behaviour for a case it reports without grading it. */
#define NOT_GRADED "INFORMATIONAL"

/* wsd's own words for the keys that describe and judge a case, and
 * wsc's for a client's record. */
#define DESCRIPTION                                                            \
    "A connection to wsd, as wsd recorded it: the server's side of the wire."
#define EXPECTATION "None: wsd echoes what arrives and grades no case."
#define RESULT      "Not graded: wsd records the wire and judges nothing."
#define RESULT_CLOSE                                                           \
    "Not graded: wsd judges no close; its closing behaviour is in this "       \
    "report."
#define CLIENT_DESCRIPTION                                                     \
    "A connection of wsc, as wsc recorded it: the client's side of the wire."
#define CLIENT_EXPECTATION "None: wsc grades no case."
#define CLIENT_RESULT      "Not graded: wsc records the wire and judges nothing."
#define CLIENT_RESULT_CLOSE                                                    \
    "Not graded: wsc judges no close; its closing behaviour is in this "       \
    "report."

/* A head as Autobahn writes it: the text, or "?" when there is none. */
static json_t *
head(const char *p, size_t len)
{
    return len == 0 ? json_string("?") : stats_json_string(p, len);
}

/* A query value of the case's URL, or NULL when it had none. */
static json_t *
query_value(const char *s, size_t cap)
{
    size_t len = strnlen(s, cap);
    return len == 0 ? NULL : stats_json_string(s, len);
}

/* "id": the query's case, else the record's id in decimal. */
static json_t *
case_id(const struct stats_case *c)
{
    char buf[24];
    json_t *j = query_value(c->query_case, sizeof(c->query_case));

    if (j != NULL) {
        return j;
    }
    snprintf(buf, sizeof(buf), "%" PRIu64, c->id);
    return json_string(buf);
}

/* "agent": the query's agent, else the User-Agent, else "unknown". */
static json_t *
agent(const struct stats_case *c)
{
    json_t *j = query_value(c->query_agent, sizeof(c->query_agent));

    if (j == NULL) {
        j = query_value(c->user_agent, sizeof(c->user_agent));
    }
    return j != NULL ? j : json_string("unknown");
}

json_t *
report_autobahn_case(const struct stats_case *c, uint64_t now_ms)
{
    uint64_t end = c->ended_ms != 0 ? c->ended_ms : now_ms;
    uint64_t duration = end > c->started_ms ? end - c->started_ms : 0;
    const char *request = (const char *)(const void *)(c + 1);
    bool client = (c->client_flags & STATS_CASE_CLIENT) != 0;
    json_t *j = json_object();

    if (j == NULL) {
        return NULL;
    }
    json_object_set_new(j, "case", json_integer((json_int_t)c->id));
    json_object_set_new(j, "id", case_id(c));
    json_object_set_new(j, "description",
                        json_string(client ? CLIENT_DESCRIPTION : DESCRIPTION));
    json_object_set_new(j, "expectation",
                        json_string(client ? CLIENT_EXPECTATION : EXPECTATION));
    json_object_set_new(j, "agent", agent(c));
    json_object_set_new(j, "started", stats_json_time(c->started_ms));
    json_object_set_new(j, "duration", json_integer((json_int_t)duration));
    json_object_set_new(j, "reportTime", json_false());
    json_object_set_new(j, "reportCompressionRatio", json_false());
    json_object_set_new(j, "behavior", json_string(NOT_GRADED));
    json_object_set_new(j, "behaviorClose", json_string(NOT_GRADED));
    json_object_set_new(j, "expected", json_object());
    json_object_set_new(j, "expectedClose", json_object());
    json_object_set_new(j, "received", json_array());
    json_object_set_new(j, "result",
                        json_string(client ? CLIENT_RESULT : RESULT));
    json_object_set_new(
        j, "resultClose",
        json_string(client ? CLIENT_RESULT_CLOSE : RESULT_CLOSE));
    json_object_set_new(j, "wirelog", stats_json_wirelog_autobahn(c));
    json_object_set_new(j, "createWirelog", json_boolean(c->wire_cap > 0));
    stats_json_set_closing(j, c);
    /* A client's timeout: the server it waited for kept TCP open. */
    json_object_set_new(
        j, "wasServerConnectionDropTimeout",
        json_boolean((c->client_flags & STATS_CASE_SERVER_DROP_TIMEOUT) != 0));
    json_object_set_new(j, "isServer", json_boolean(!client));
    json_object_set_new(j, "createStats", json_true());
    json_object_set_new(j, "rxOctetStats", stats_json_octets(&c->rx_octets));
    json_object_set_new(j, "rxFrameStats", stats_json_frames(c->rx_frames));
    json_object_set_new(j, "txOctetStats", stats_json_octets(&c->tx_octets));
    json_object_set_new(j, "txFrameStats", stats_json_frames(c->tx_frames));
    json_object_set_new(j, "httpRequest", head(request, c->request_len));
    json_object_set_new(j, "httpResponse", head(c->response, c->response_len));
    json_object_set_new(j, "trafficStats", json_null());
    return j;
}
