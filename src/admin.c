/* SPDX-License-Identifier: MIT */
/*
 * The admin endpoint: routing, authentication, limits and status codes.
 * It reads the shared segment only through stats_shm's reader functions,
 * which never trust what a worker wrote there for an index or a size.
 */
#include "autoconf.h"

#include "admin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "accept_backoff.h"
#include "admin_events.h"
#include "admin_request.h"
#include "clock.h"
#include "console.h"
#include "log.h"
#include "procfs.h"
#include "report_autobahn.h"
#include "report_html.h"
#include "stats_json.h"
#include "stats_live.h"

#define ADMIN_MAX_HEADERS_BYTES 8192
#define ADMIN_MAX_BODY_BYTES    1024
#define ADMIN_TIMEOUT_S         10
/* The kernel's send buffer of an admin connection. Linux grows it to
 * megabytes (tcp_wmem) for a client that does not read, each held in
 * kernel memory, past what admin_output_bytes bounds; this is room
 * enough for a client that reads. */
#define ADMIN_SNDBUF            (128 << 10)

/*
 * An answer on its way to a client: its bytes count in its endpoint's
 * output_held from the moment it is handed to libevent until libevent
 * has written it all (the request's on_complete) or the connection ends
 * first (its closecb), whichever comes first; the other is then
 * unhooked. libevent answers a connection's requests one at a time, so a
 * connection has at most one.
 */
struct admin_flight {
    struct admin *a;
    struct evhttp_connection *evcon;
    size_t bytes;
    struct admin_flight *prev, *next; /* in its endpoint's flights */
};

struct admin {
    struct evhttp *http;
    struct evconnlistener *listener; /* evhttp's, on the admin socket */
    struct event *ev_resume;         /* accepting again after a pause */
    struct event *ev_tick;           /* one snapshot a tick for /v1/events */
    struct stats_live *live;         /* what the ticks remember */
    struct admin_events *events;     /* the subscribers of /v1/events */
    struct accept_backoff backoff;
    const struct stats_shm *shm;
    const struct admin_census *census;
    bool has_token;
    unsigned char token_digest[32]; /* SHA-256 of the token */
    char console_policy[CONSOLE_POLICY_MAX];
    /* Bytes of answers not yet written to their clients, and the
     * answers (admin_output_bytes bounds the first). */
    uint64_t output_held;
    struct admin_flight *flights;
    struct admin *next; /* in admins */
};

/* The live endpoints (two while a reload swaps them): a listener's error
 * callback gets evhttp's argument, not ours, and finds its admin here. */
static struct admin *admins;

/*
 * Allocations jansson could not have, counted: its setters drop a member
 * whose value could not be allocated (json_object_set_new with NULL) and
 * say so only in a return value nobody checks, so a document built while
 * this count grew may lack members, and is not sent (reply_json). The
 * master is one thread; json_alloc_failures_at is the count when the
 * request being answered came in.
 */
static unsigned long json_alloc_failures;
static unsigned long json_alloc_failures_at;

static void *
json_alloc(size_t n)
{
    void *p = malloc(n);

    if (p == NULL) {
        json_alloc_failures++;
    }
    return p;
}

/* j, or NULL (j freed, said) when jansson lost an allocation since the
 * count was before: j may then lack members. */
static json_t *
json_whole(json_t *j, unsigned long before, const char *what)
{
    if (json_alloc_failures == before) {
        return j;
    }
    log_msg(LOG_LEVEL_ERROR, "admin: out of memory for %s: not sent", what);
    json_decref(j);
    return NULL;
}

static bool
sha256(const void *p, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    return EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

/* The console's policy, which lets in the case report's style by its
 * hash (console.h). */
static bool
console_policy_init(struct admin *a)
{
    const char *style = report_html_style();
    unsigned char digest[32];
    unsigned char b64[4 * ((sizeof(digest) + 2) / 3) + 1];

    if (!sha256(style, strlen(style), digest) ||
        EVP_EncodeBlock(b64, digest, (int)sizeof(digest)) <= 0) {
        return false;
    }
    console_policy(a->console_policy, (const char *)b64);
    return true;
}

static void
flight_end(struct admin_flight *f)
{
    f->a->output_held -= f->bytes;
    if (f->prev != NULL) {
        f->prev->next = f->next;
    } else {
        f->a->flights = f->next;
    }
    if (f->next != NULL) {
        f->next->prev = f->prev;
    }
    free(f);
}

static void
flight_written(struct evhttp_request *req, void *arg)
{
    struct admin_flight *f = arg;

    (void)req;
    evhttp_connection_set_closecb(f->evcon, NULL, NULL);
    flight_end(f);
}

static void
flight_lost(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    flight_end(arg);
}

/* The endpoint serving req (found, as the listener's error callback
 * finds it, among the live ones). */
static struct admin *
admin_of(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct evhttp *http =
        evcon != NULL ? evhttp_connection_get_server(evcon) : NULL;

    for (struct admin *a = admins; a != NULL; a = a->next) {
        if (a->http == http) {
            return a;
        }
    }
    return NULL;
}

/* Counts an answer of `bytes` to req as held until it is written. Out
 * of memory, it goes uncounted: the answer is not held back for it. */
static void
flight_start(struct evhttp_request *req, size_t bytes)
{
    struct admin *a = admin_of(req);
    struct admin_flight *f = a != NULL ? malloc(sizeof(*f)) : NULL;

    if (f == NULL) {
        return;
    }
    f->a = a;
    f->evcon = evhttp_request_get_connection(req);
    /* Set before each answer (a setsockopt): the first is written
     * after it, and its connection is otherwise out of reach. */
    int sndbuf = ADMIN_SNDBUF;
    (void)setsockopt(
        bufferevent_getfd(evhttp_connection_get_bufferevent(f->evcon)),
        SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    f->bytes = bytes;
    f->prev = NULL;
    f->next = a->flights;
    if (a->flights != NULL) {
        a->flights->prev = f;
    }
    a->flights = f;
    a->output_held += bytes;
    evhttp_request_set_on_complete_cb(req, flight_written, f);
    evhttp_connection_set_closecb(f->evcon, flight_lost, f);
}

/*
 * Every answer with a body goes out here: a HEAD request gets the
 * headers GET would, its Content-Length included, and no body
 * (RFC 9110 §9.3.2), where libevent would leave out the length and
 * send the body all the same, out of step with the next response on
 * the connection. body stays the caller's.
 */
static void
send_reply(struct evhttp_request *req, int status, const char *reason,
           struct evbuffer *body)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
        flight_start(req, evbuffer_get_length(body));
        evhttp_send_reply(req, status, reason, body);
        return;
    }
    char len[24];
    snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length",
                      len);
    evhttp_send_reply(req, status, reason, NULL);
}

/* Sends j (consumed) with status; JSON errors go the same way. */
static void
reply_json(struct evhttp_request *req, int status, const char *reason,
           json_t *j)
{
    struct evbuffer *body = evbuffer_new();
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    json_decref(j);
    if (body == NULL || text == NULL ||
        json_alloc_failures != json_alloc_failures_at) {
        log_msg(LOG_LEVEL_ERROR, "admin: out of memory for a JSON answer");
        free(text);
        if (body != NULL) {
            evbuffer_free(body);
        }
        json_alloc_failures_at = json_alloc_failures;
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add(body, text, strlen(text));
    evbuffer_add(body, "\n", 1);
    free(text);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    send_reply(req, status, reason, body);
    evbuffer_free(body);
}

static void
reply_error(struct evhttp_request *req, int status, const char *reason,
            const char *message)
{
    reply_json(req, status, reason,
               json_pack("{s:s, s:i}", "error", message, "status", status));
}

/* Constant time: both sides are hashed, so neither length leaks. */
static bool
authorized(const struct admin *a, struct evhttp_request *req)
{
    unsigned char got[32];

    if (!a->has_token) {
        return true;
    }
    size_t len;
    const char *v =
        admin_bearer(evhttp_find_header(evhttp_request_get_input_headers(req),
                                        "Authorization"),
                     &len);
    if (v == NULL) {
        return false;
    }
    return sha256(v, len, got) &&
           CRYPTO_memcmp(got, a->token_digest, sizeof(got)) == 0;
}

/* One consistent read of every slot's counters, with what the master
 * itself knows of the workers and reloads. */
static struct stats_json_worker *
read_workers(const struct admin *a, struct stats_json_snapshot *s)
{
    const struct stats_shm *shm = a->shm;
    struct stats_json_worker *w = calloc(shm->n_slots, sizeof(*w));
    if (w == NULL) {
        return NULL;
    }
    unsigned n = 0;
    for (unsigned i = 0; i < shm->n_slots; i++) {
        const struct stats_shm_slot *slot = &shm->slots[i];
        uint32_t generation =
            atomic_load_explicit(&slot->generation, memory_order_relaxed);
        /* Half the slots wait for the next reload's workers: a slot is
         * listed once a worker has run in it. */
        if (generation == 0) {
            continue;
        }
        w[n].slot = i;
        w[n].pid = atomic_load_explicit(&slot->pid, memory_order_relaxed);
        w[n].generation = generation;
        w[n].heartbeat_ms =
            atomic_load_explicit(&slot->heartbeat_ms, memory_order_relaxed);
        stats_counters_read(&slot->c, &w[n].t);
        if (i < a->census->n_slots) {
            const uint64_t *exits = a->census->workers[i].exits;
            w[n].crashed = exits[ADMIN_EXIT_CRASHED];
            w[n].fatal = exits[ADMIN_EXIT_FATAL];
            w[n].retired = exits[ADMIN_EXIT_RETIRED];
        }
        n++;
    }
    memset(s, 0, sizeof(*s));
    s->version = VERSION;
    s->layout_major = STATS_SHM_VERSION_MAJOR;
    s->layout_minor = STATS_SHM_VERSION_MINOR;
    s->started_ms = shm->hdr->started_ms;
    s->now_ms = clock_wall_ms();
    s->last_case_id =
        atomic_load_explicit(&shm->hdr->last_case_id, memory_order_relaxed);
    s->peak_active =
        atomic_load_explicit(&shm->hdr->peak_active, memory_order_relaxed);
    s->n_cases = shm->n_cases / shm->banks; /* one generation's */
    s->n_workers = n;
    s->workers = w;
    s->reloads = a->census->reloads;
    s->reloads_refused = a->census->reloads_refused;
    return w;
}

static void
get_stats(struct admin *a, struct evhttp_request *req)
{
    struct stats_json_snapshot s;
    struct stats_json_worker *w = read_workers(a, &s);
    if (w == NULL) {
        reply_error(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    reply_json(req, 200, "OK", stats_json_stats(&s));
    free(w);
}

/*
 * /proc of the master and of every worker the census names, into p
 * (room for 1 + census->n_slots); returns how many were read. A process
 * that cannot be read (a worker that just died) is left out. full: the
 * descriptors and their limit too (procfs_sample), else CPU and memory
 * alone (procfs_usage), which costs the same at any number of
 * connections.
 */
static unsigned
read_processes(const struct admin_census *census, struct stats_json_process *p,
               bool full)
{
    int (*sample)(pid_t, const struct procfs_system *, struct procfs_sample *) =
        full ? procfs_sample : procfs_usage;
    struct procfs_system sys;
    unsigned n = 0;

    if (procfs_system_read(&sys) != 0) {
        return 0;
    }
    p[n].worker = -1;
    n += sample(census->master_pid, &sys, &p[n].s) == 0;
    for (unsigned i = 0; i < census->n_slots; i++) {
        pid_t pid = census->workers[i].pid;
        if (pid > 0) {
            p[n].worker = (int)i;
            n += sample(pid, &sys, &p[n].s) == 0;
        }
    }
    return n;
}

static void
get_metrics(struct admin *a, struct evhttp_request *req)
{
    struct stats_json_snapshot s;
    struct stats_json_worker *w = read_workers(a, &s);
    struct stats_json_process *p =
        calloc(1 + (size_t)a->census->n_slots, sizeof(*p));
    struct evbuffer *body = evbuffer_new();

    if (w != NULL && p != NULL) {
        s.max_connections = a->census->max_connections;
        s.n_processes = read_processes(a->census, p, true);
        s.processes = p;
    }
    if (w == NULL || p == NULL || body == NULL ||
        stats_json_prometheus(&s, body) != 0) {
        free(w);
        free(p);
        if (body != NULL) {
            evbuffer_free(body);
        }
        reply_error(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    send_reply(req, 200, "OK", body);
    evbuffer_free(body);
    free(w);
    free(p);
}

struct found {
    uint64_t id;
    unsigned index;
};

static int
by_id(const void *x, const void *y)
{
    const struct found *a = x;
    const struct found *b = y;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* A copy's room: a record and what follows it. */
static struct stats_case *
case_copy_new(const struct stats_shm *shm)
{
    return malloc(shm->case_bytes);
}

/*
 * A record kept changing all the while stats_case_read waits for it (its
 * worker stopped inside a change, or died there and is not reaped yet):
 * the answer is not known now, which neither a 404 nor a page without
 * the record would say.
 */
static void
reply_busy(struct evhttp_request *req)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                      "1");
    reply_error(req, 503, "Service Unavailable",
                "a case record kept changing while it was read (its worker "
                "stopped in the middle of a change?): try again");
}

static void
get_cases(struct admin *a, struct evhttp_request *req,
          const struct admin_request *r)
{
    const struct stats_shm *shm = a->shm;
    struct stats_case *copy = NULL;
    struct found *found = NULL;
    unsigned n = 0;
    uint64_t now = clock_wall_ms();
    char key[STATS_KEY_MAX];

    copy = case_copy_new(shm);
    /* At least one entry: with stats_cases 0 there is no record, and
     * calloc(0) may return NULL. */
    found = calloc(shm->n_cases > 0 ? shm->n_cases : 1, sizeof(*found));
    if (copy == NULL || found == NULL) {
        goto fail_oom;
    }
    for (unsigned i = 0; i < shm->n_cases; i++) {
        uint64_t id;
        enum stats_peek seen = stats_case_peek(shm, i, &id, key);
        if (seen == STATS_PEEK_BUSY) {
            goto busy;
        }
        if (seen == STATS_PEEK_SEEN && id > r->after &&
            (r->before == 0 || id < r->before) &&
            (r->key[0] == '\0' || strcmp(key, r->key) == 0)) {
            found[n].id = id;
            found[n].index = i;
            n++;
        }
    }
    qsort(found, n, sizeof(*found), by_id);
    /* With before, the newest limit of them (paging back from the end);
     * else the oldest. Either way listed oldest first. */
    unsigned first =
        r->before != 0 && n > r->limit ? n - (unsigned)r->limit : 0;
    json_t *list = json_array();
    for (unsigned k = first; k < n && json_array_size(list) < r->limit; k++) {
        /* Read again: a record may have been reused since. Seen, it is
         * never free again: unread, it stayed busy. */
        if (!stats_case_read(shm, found[k].index, copy)) {
            json_decref(list);
            goto busy;
        }
        if (copy->id == found[k].id) {
            json_array_append_new(list, stats_json_case(copy, now));
        }
    }
    bool more = n > r->limit;
    reply_json(req, 200, "OK",
               json_pack("{s:o, s:b}", "cases", list, "more", more));
    free(found);
    free(copy);
    return;
busy:
    free(found);
    free(copy);
    reply_busy(req);
    return;
fail_oom:
    free(found);
    free(copy);
    reply_error(req, 500, "Internal Server Error", "out of memory");
}

/* A case as one of its documents: wsd's own, or Autobahn's report. */
typedef json_t *case_document(const struct stats_case *c, uint64_t now_ms);

/*
 * An HTML page. Its policy lets nothing but its own inline styles run or
 * load, so that even a page that failed to escape a peer's string could
 * not run a script or fetch a thing.
 */
static void
reply_html(struct evhttp_request *req, json_t *doc)
{
    struct evbuffer *body = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (body == NULL || doc == NULL || report_html_case(doc, body) != 0) {
        json_decref(doc);
        if (body != NULL) {
            evbuffer_free(body);
        }
        reply_error(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    json_decref(doc);
    evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'none'; style-src 'unsafe-inline'; "
                      "base-uri 'none'; form-action 'none'; "
                      "frame-ancestors 'self'");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Cache-Control", "no-store");
    send_reply(req, 200, "OK", body);
    evbuffer_free(body);
}

static void
get_case(struct admin *a, struct evhttp_request *req, uint64_t id,
         case_document *document, bool html)
{
    struct stats_case *copy = case_copy_new(a->shm);
    char key[STATS_KEY_MAX];

    if (copy == NULL) {
        reply_error(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    bool busy = false;
    for (unsigned i = 0; i < a->shm->n_cases; i++) {
        uint64_t seen;
        enum stats_peek peek = stats_case_peek(a->shm, i, &seen, key);
        if (peek == STATS_PEEK_BUSY) {
            busy = true; /* it may be this case's */
            continue;
        }
        if (peek != STATS_PEEK_SEEN || seen != id) {
            continue;
        }
        if (!stats_case_read(a->shm, i, copy)) {
            busy = true; /* seen, it is never free again */
            continue;
        }
        if (copy->id == id) { /* else reused since */
            json_t *doc = document(copy, clock_wall_ms());
            if (html) {
                reply_html(req, doc);
            } else {
                reply_json(req, 200, "OK", doc);
            }
            free(copy);
            return;
        }
    }
    free(copy);
    if (busy) {
        reply_busy(req);
        return;
    }
    reply_error(req, 404, "Not Found",
                "no such case (never seen, or its record was reused)");
}

/*
 * A file of the console. It holds no data (every figure comes through
 * the resources above, with the token), so it is served without the
 * token: the page must load to ask for it.
 */
static void
get_console(struct admin *a, struct evhttp_request *req, const char *name)
{
    const struct console_file *f = console_find(name);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *body;

    if (f == NULL) {
        reply_error(req, 404, "Not Found",
                    "no such file of the console: it has /, "
                    "/console/console.js, /console/console.css, "
                    "/console/icon.svg and /console/chart.js");
        return;
    }
    body = evbuffer_new();
    if (body == NULL ||
        evbuffer_add_reference(body, f->data, f->len, NULL, NULL) != 0) {
        if (body != NULL) {
            evbuffer_free(body);
        }
        reply_error(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    evhttp_add_header(h, "Content-Type", f->type);
    evhttp_add_header(h, "Content-Security-Policy", a->console_policy);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    send_reply(req, 200, "OK", body);
    evbuffer_free(body);
}

/*
 * One snapshot a tick, whether or not anyone subscribes, so that a
 * console opened now shows the last 15 minutes: the workers' counters
 * and the processes' CPU time and memory, taken into the history; the
 * event is made only when someone subscribes, once for all of them.
 */
static void
admin_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct admin *a = arg;
    struct stats_json_snapshot s;
    struct stats_json_worker *w = read_workers(a, &s);
    struct stats_json_process *p =
        calloc(1 + (size_t)a->census->n_slots, sizeof(*p));

    (void)fd;
    (void)what;
    if (w != NULL && p != NULL) {
        s.max_connections = a->census->max_connections;
        s.n_processes = read_processes(a->census, p, false);
        s.processes = p;
        stats_live_add(a->live, &s);
        if (admin_events_count(a->events) > 0) {
            unsigned long before = json_alloc_failures;
            json_t *j = stats_live_event(a->live, &s);
            admin_events_send(a->events, "snapshot",
                              json_whole(j, before, "an event"));
        }
    }
    free(w);
    free(p);
}

/* A subscriber of /v1/events: the history first, then every tick's. */
static void
get_events(struct admin *a, struct evhttp_request *req)
{
    if (admin_events_count(a->events) >= ADMIN_EVENTS_MAX) {
        char why[96];
        snprintf(why, sizeof(why),
                 "too many subscribers of /v1/events (at most %d at once)",
                 ADMIN_EVENTS_MAX);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                          "10");
        reply_error(req, 503, "Service Unavailable", why);
    } else {
        unsigned long before = json_alloc_failures;
        json_t *history = json_whole(stats_live_history(a->live), before,
                                     "the events' history");
        if (history == NULL ||
            !admin_events_subscribe(a->events, req, "history", history)) {
            reply_error(req, 500, "Internal Server Error", "out of memory");
        }
    }
}

/*
 * A request for cases, whose answer grows with the records (up to a few
 * MB for a page of them), waits while the answers already held for
 * clients that do not read them reach admin_output_bytes: it gets 503
 * and Retry-After, so that such clients cost the master a bounded
 * memory. The counters, the metrics, the console's files and the event
 * stream, small or bounded by their own limits, are always served.
 */
static bool
output_full(struct admin *a, struct evhttp_request *req, enum admin_route route)
{
    uint64_t max = a->census->admin_output_bytes;

    if ((route != ADMIN_ROUTE_CASES && route != ADMIN_ROUTE_CASE &&
         route != ADMIN_ROUTE_CASE_AUTOBAHN &&
         route != ADMIN_ROUTE_CASE_REPORT) ||
        a->output_held < max) {
        return false;
    }
    char why[160];
    snprintf(why, sizeof(why),
             "%" PRIu64 " bytes of answers wait for clients that have not "
             "read them (admin_output_bytes %" PRIu64 "): try again later",
             a->output_held, max);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                      "1");
    reply_error(req, 503, "Service Unavailable", why);
    return true;
}

static void
admin_handle(struct evhttp_request *req, void *arg)
{
    struct admin *a = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);

    json_alloc_failures_at = json_alloc_failures;
    struct admin_request r;
    const char *problem;
    int status = admin_request_parse(path, query, &r, &problem);
    /* Without a token (so on loopback): only requests for a loopback
     * name. A request without Host (HTTP/1.0) comes from no browser. */
    const char *host =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    if (!a->has_token && host != NULL && !admin_host_is_loopback(host)) {
        reply_error(req, 403, "Forbidden",
                    "the Host header names no loopback address: without "
                    "admin_token the endpoint answers only requests for "
                    "127.0.0.1, [::1] or localhost (against DNS "
                    "rebinding); set admin_token to reach it by another "
                    "name");
        return;
    }
    /* The console's files alone are public (get_console). */
    if ((status != 0 || r.route != ADMIN_ROUTE_CONSOLE) &&
        !authorized(a, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "WWW-Authenticate", "Bearer");
        reply_error(req, 401, "Unauthorized",
                    "this endpoint needs Authorization: Bearer <admin_token>");
        return;
    }
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          "GET, HEAD");
        reply_error(req, 405, "Method Not Allowed",
                    "the admin endpoint is read-only: use GET");
        return;
    }
    if (status != 0) {
        reply_error(req, status, status == 404 ? "Not Found" : "Bad Request",
                    problem);
        return;
    }
    if (output_full(a, req, r.route)) {
        return;
    }
    switch (r.route) {
    case ADMIN_ROUTE_STATS:
        get_stats(a, req);
        return;
    case ADMIN_ROUTE_CASES:
        get_cases(a, req, &r);
        return;
    case ADMIN_ROUTE_CASE:
        get_case(a, req, r.id, stats_json_case, false);
        return;
    case ADMIN_ROUTE_CASE_AUTOBAHN:
        get_case(a, req, r.id, report_autobahn_case, false);
        return;
    case ADMIN_ROUTE_CASE_REPORT:
        get_case(a, req, r.id, report_autobahn_case, true);
        return;
    case ADMIN_ROUTE_METRICS:
        get_metrics(a, req);
        return;
    case ADMIN_ROUTE_EVENTS:
        get_events(a, req);
        return;
    case ADMIN_ROUTE_CONSOLE:
        get_console(a, req, r.asset);
        return;
    }
}
static void
admin_on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct admin *a = arg;
    (void)fd;
    (void)what;
    evconnlistener_enable(a->listener);
}

/*
 * accept() failed for a reason other than a retry (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM above all): the socket stays readable, and libevent
 * would call accept() again at once, forever. The listener rests instead
 * (accept_backoff.h), whatever the error.
 */
static void
admin_on_accept_error(struct evconnlistener *listener, void *arg)
{
    struct admin *a = admins;
    int e = EVUTIL_SOCKET_ERROR();
    struct timeval tv = {0, ACCEPT_BACKOFF_PAUSE_MS * 1000};

    (void)arg; /* evhttp's */
    while (a != NULL && a->listener != listener) {
        a = a->next;
    }
    if (a == NULL) {
        return;
    }
    evconnlistener_disable(listener);
    evtimer_add(a->ev_resume, &tv);
    accept_backoff_note(&a->backoff, "admin: accept", e);
}

struct admin *
admin_new(struct event_base *base, int fd, const struct stats_shm *shm,
          const struct admin_census *census, const char *token, char *err,
          size_t errlen)
{
    struct admin *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->shm = shm;
    a->census = census;
    a->has_token = token[0] != '\0';
    if (a->has_token && !sha256(token, strlen(token), a->token_digest)) {
        snprintf(err, errlen, "SHA-256 unavailable for the admin token");
        goto fail;
    }
    if (!console_policy_init(a)) {
        snprintf(err, errlen, "SHA-256 unavailable for the console's policy");
        goto fail;
    }
    a->http = evhttp_new(base);
    if (a->http == NULL) {
        snprintf(err, errlen, "evhttp_new failed");
        goto fail;
    }
    evhttp_set_max_headers_size(a->http, ADMIN_MAX_HEADERS_BYTES);
    evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY_BYTES);
    evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
    /* Every method reaches admin_handle, which answers 405 itself, in
     * JSON, after authentication. */
    evhttp_set_allowed_methods(
        a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                     EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(a->http, admin_handle, a);
    json_set_alloc_funcs(json_alloc, free);
    struct evhttp_bound_socket *bound =
        evhttp_accept_socket_with_handle(a->http, fd);
    a->ev_resume = evtimer_new(base, admin_on_resume, a);
    if (bound == NULL || a->ev_resume == NULL) {
        snprintf(err, errlen, "evhttp_accept_socket failed");
        goto fail;
    }
    a->live = stats_live_new(shm->n_slots);
    a->events = admin_events_new();
    a->ev_tick = event_new(base, -1, EV_PERSIST, admin_on_tick, a);
    struct timeval tick = {0, STATS_LIVE_INTERVAL_MS * 1000};
    if (a->live == NULL || a->events == NULL || a->ev_tick == NULL ||
        event_add(a->ev_tick, &tick) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    a->listener = evhttp_bound_socket_get_listener(bound);
    evconnlistener_set_error_cb(a->listener, admin_on_accept_error);
    a->next = admins;
    admins = a;
    return a;
fail:
    admin_free(a);
    return NULL;
}

bool
admin_set_token(struct admin *a, const char *token)
{
    unsigned char digest[sizeof(a->token_digest)] = {0};

    if (token[0] != '\0' && !sha256(token, strlen(token), digest)) {
        return false;
    }
    /* The subscribers came in with the token that was: a new one ends
     * their streams, and they come back with it, or not at all. */
    if (a->has_token != (token[0] != '\0') ||
        CRYPTO_memcmp(a->token_digest, digest, sizeof(digest)) != 0) {
        admin_events_end_all(a->events);
    }
    a->has_token = token[0] != '\0';
    memcpy(a->token_digest, digest, sizeof(digest));
    OPENSSL_cleanse(digest, sizeof(digest));
    return true;
}

void
admin_free(struct admin *a)
{
    if (a == NULL) {
        return;
    }
    for (struct admin **p = &admins; *p != NULL; p = &(*p)->next) {
        if (*p == a) {
            *p = a->next;
            break;
        }
    }
    if (a->ev_resume != NULL) {
        event_free(a->ev_resume);
    }
    if (a->ev_tick != NULL) {
        event_free(a->ev_tick);
    }
    /* Before evhttp_free: the streams' connections point to them. */
    admin_events_free(a->events);
    stats_live_free(a->live);
    if (a->http != NULL) {
        evhttp_free(a->http);
    }
    /* evhttp_free ended each connection, calling flight_lost for those
     * it still counted as connected; any other flight goes here. */
    while (a->flights != NULL) {
        flight_end(a->flights);
    }
    OPENSSL_cleanse(a->token_digest, sizeof(a->token_digest));
    free(a);
}
