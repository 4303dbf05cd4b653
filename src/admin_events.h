/* SPDX-License-Identifier: MIT */
/*
 * The subscribers of GET /v1/events, the admin endpoint's push channel:
 * server-sent events (text/event-stream), each an event computed once a
 * tick by the endpoint and written to every subscriber. It owns the
 * subscriptions (their requests, until the client goes away or the
 * endpoint ends them) and bounds what a subscriber costs the master: at
 * most ADMIN_EVENTS_MAX subscribers, each with a small kernel send
 * buffer, events skipped for one that has ADMIN_EVENTS_BACKLOG bytes
 * queued beyond it, and one that takes nothing for ADMIN_EVENTS_STALL_S
 * seconds dropped.
 */
#ifndef WSD_ADMIN_EVENTS_H
#define WSD_ADMIN_EVENTS_H

#include <stdbool.h>

#include <event2/http.h>
#include <jansson.h>

#define ADMIN_EVENTS_MAX     16         /* subscribers at once */
#define ADMIN_EVENTS_BACKLOG (64 << 10) /* bytes queued for one, at most */
#define ADMIN_EVENTS_STALL_S 10         /* nothing taken this long: dropped */

struct admin_events;

struct admin_events *admin_events_new(void);

/* Ends every subscription (the clients see their stream end), frees e
 * (may be NULL). */
void admin_events_free(struct admin_events *e);

/* How many subscribe now. */
unsigned admin_events_count(const struct admin_events *e);

/*
 * Answers req with the start of an event stream and first (consumed; may
 * be NULL) as its first event, named name, and keeps it for the events
 * to come. Returns false, req untouched and first freed, when
 * ADMIN_EVENTS_MAX already subscribe or memory is short: the caller
 * answers.
 */
bool admin_events_subscribe(struct admin_events *e, struct evhttp_request *req,
                            const char *name, json_t *first);

/* Sends j (consumed) as an event named name to every subscriber. */
void admin_events_send(struct admin_events *e, const char *name, json_t *j);

/* Ends every subscription, as on a change of the token that let them in. */
void admin_events_end_all(struct admin_events *e);

#endif
