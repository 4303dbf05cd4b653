/* SPDX-License-Identifier: MIT */
/*
 * `wsc autobahn URL`: a campaign against the Autobahn testsuite's
 * fuzzingserver as the testsuite defines it: /getCaseCount, then for each
 * case /getCaseInfo (its id, for the progress line) and /runCase (every
 * message echoed back as it came), then /updateReports, which makes the
 * server write its reports. One connection at a time, in case order.
 */
#include "autoconf.h"

#include "wsc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_close.h"

#define CASES_MAX                     100000
#define TEXT_MAX                      512 /* the one message a query connection keeps */
/* The testsuite's server is Python: it may build a case's messages (up
 * to 16 MiB) before its 101 goes out, and read a backlog of echoes
 * before our close. Its own deadline for a case is 100 s. */
#define AUTOBAHN_HANDSHAKE_TIMEOUT_MS 60000
#define AUTOBAHN_CLOSE_TIMEOUT_MS     10000

/* One connection of the campaign. */
struct one {
    struct event_base *base;
    bool echo;           /* a case: echo every message */
    char text[TEXT_MAX]; /* a query: the last text message, cut */
    struct wsc_result res;
    unsigned messages;
};

static void
one_open(struct wsc_conn *c, void *arg)
{
    (void)c;
    (void)arg;
}

static void
one_message(struct wsc_conn *c, uint8_t opcode, const uint8_t *p, size_t len,
            void *arg)
{
    struct one *o = arg;

    o->messages++;
    if (o->echo) {
        wsc_conn_send(c, opcode, p, len);
        return;
    }
    snprintf(o->text, sizeof(o->text), "%.*s",
             (int)(len < TEXT_MAX ? len : TEXT_MAX - 1), (const char *)p);
}

static void
one_end(struct wsc_conn *c, const struct wsc_result *r, void *arg)
{
    struct one *o = arg;
    (void)c;

    o->res = *r;
    event_base_loopbreak(o->base);
}

/*
 * Runs one connection to the fuzzingserver's target (path and query
 * after the URL's own path) to its end. Returns false when it could not
 * start (said).
 */
static bool
run_one(struct wsc_options *opt, struct wsc_run *run, const char *target,
        struct one *o)
{
    static const struct wsc_callbacks cb = {one_open, one_message, NULL, NULL,
                                            one_end};
    struct wsc_url url = opt->url;
    char err[512];
    size_t base = strcspn(opt->url.target, "?");

    /* The URL's path, without its last '/', is the server's prefix. */
    if (base > 0 && opt->url.target[base - 1] == '/') {
        base--;
    }
    snprintf(url.target, sizeof(url.target), "%.*s%s", (int)base,
             opt->url.target, target);
    o->base = run->base;
    struct wsc_conn *c =
        wsc_conn_start(run->base, &url, &opt->set, &cb, o, err, sizeof(err));
    if (c == NULL) {
        wsc_say("%s", err);
        return false;
    }
    event_base_dispatch(run->base);
    wsc_conn_free(c);
    return true;
}

/* --cases LIST: "1-5,9,12-": numbers and ranges of the 1..count cases,
 * marked in want (or only checked, want NULL). */
static bool
parse_cases(const char *list, unsigned long count, bool *want)
{
    const char *p = list;
    char *end;

    while (*p != '\0') {
        if (*p < '0' || *p > '9') {
            return false;
        }
        unsigned long a = strtoul(p, &end, 10);
        unsigned long b = a;
        p = end;
        if (*p == '-') {
            p++;
            if (*p == ',' || *p == '\0') {
                b = count;
            } else if (*p < '0' || *p > '9') {
                return false;
            } else {
                b = strtoul(p, &end, 10);
                p = end;
            }
        }
        /* Past the server's cases (a number too large for strtoul
         * included, ULONG_MAX): no case to run, refused. */
        if (a == 0 || b < a || b > count || (*p != ',' && *p != '\0')) {
            return false;
        }
        for (unsigned long k = a; want != NULL && k <= b; k++) {
            want[k] = true;
        }
        if (*p == ',' && *++p == '\0') {
            return false;
        }
    }
    return true;
}

/* A query's one message, a number or a {"id": ...} object. */
static void
case_id(const char *info, char *id, size_t cap)
{
    const char *k = strstr(info, "\"id\"");
    const char *q = k != NULL ? strchr(k + 4, '"') : NULL;
    const char *e = q != NULL ? strchr(q + 1, '"') : NULL;

    if (e == NULL || (size_t)(e - q - 1) >= cap) {
        snprintf(id, cap, "?");
        return;
    }
    snprintf(id, cap, "%.*s", (int)(e - q - 1), q + 1);
}

/* The agent as a query parameter: only what needs no escape. */
static bool
agent_ok(const char *agent)
{
    if (agent[0] == '\0' || strlen(agent) > 64) {
        return false;
    }
    for (const char *p = agent; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)) {
            return false;
        }
    }
    return true;
}

static const char *
outcome_word(enum wsc_outcome o)
{
    switch (o) {
    case WSC_CLEAN:
        return "clean close";
    case WSC_UNCLEAN:
        return "no clean close";
    case WSC_REFUSED:
        return "handshake failed";
    case WSC_PROTOCOL:
        return "failed by wsc";
    case WSC_TIMEOUT:
        return "timeout";
    case WSC_TLS:
        return "TLS failed";
    }
    return "?";
}

int
wsc_autobahn_run(struct wsc_options *opt, struct wsc_run *run)
{
    struct one o;
    char target[256];
    unsigned tally[WSC_TLS + 1] = {0};

    if (!agent_ok(opt->agent)) {
        wsc_say("--agent '%s': 1 to 64 letters, digits and -._~", opt->agent);
        return WSC_EXIT_USAGE;
    }
    /* What can be checked before the server says how many cases it has
     * (a list past them is refused once it has). */
    if (opt->cases != NULL && !parse_cases(opt->cases, ULONG_MAX - 1, NULL)) {
        wsc_say("--cases '%s': numbers and ranges of cases from 1, e.g. "
                "1-5,9,12-",
                opt->cases);
        return WSC_EXIT_USAGE;
    }
    if (!opt->timeouts_given) {
        opt->set.handshake_timeout_ms = AUTOBAHN_HANDSHAKE_TIMEOUT_MS;
        opt->set.close_timeout_ms = AUTOBAHN_CLOSE_TIMEOUT_MS;
    }
    if (!opt->set.deflate) {
        /* The offer the testsuite's cases 13.* accept in every variant. */
        static const char params[] =
            "client_no_context_takeover; client_max_window_bits";
        struct ws_error err = {0, NULL};
        opt->set.deflate = true;
        ws_deflate_offer_parse(&opt->set.offer, params, sizeof(params) - 1,
                               &err);
    }
    memset(&o, 0, sizeof(o));
    if (!run_one(opt, run, "/getCaseCount", &o)) {
        return WSC_EXIT_UNCLEAN;
    }
    char *end;
    unsigned long count = strtoul(o.text, &end, 10);
    if (o.messages == 0 || end == o.text || count == 0 || count > CASES_MAX) {
        wsc_say("/getCaseCount: no case count (%s): is this a fuzzingserver?",
                o.res.outcome == WSC_CLEAN ? o.text : o.res.why);
        return wsc_exit_status(o.res.outcome == WSC_CLEAN ? WSC_UNCLEAN
                                                          : o.res.outcome);
    }
    bool *want = calloc(count + 1, sizeof(*want));
    if (want == NULL) {
        wsc_say("out of memory");
        return WSC_EXIT_UNCLEAN;
    }
    if (opt->cases == NULL) {
        memset(want, 1, (count + 1) * sizeof(*want));
    } else if (!parse_cases(opt->cases, count, want)) {
        wsc_say("--cases '%s': numbers and ranges of 1 to %lu, e.g. 1-5,9,12-",
                opt->cases, count);
        free(want);
        return WSC_EXIT_USAGE;
    }
    unsigned ran = 0;
    for (unsigned long n = 1; n <= count; n++) {
        char id[64];
        if (!want[n]) {
            continue;
        }
        memset(&o, 0, sizeof(o));
        snprintf(target, sizeof(target), "/getCaseInfo?case=%lu&agent=%s", n,
                 opt->agent);
        if (!run_one(opt, run, target, &o)) {
            break;
        }
        case_id(o.text, id, sizeof(id));
        memset(&o, 0, sizeof(o));
        o.echo = true;
        snprintf(target, sizeof(target), "/runCase?case=%lu&agent=%s", n,
                 opt->agent);
        if (!run_one(opt, run, target, &o)) {
            break;
        }
        wsc_record(run, id, n);
        ran++;
        tally[o.res.outcome]++;
        /* The id is the server's: wsc_say shows it escaped. */
        char closed[40] = "";
        if (o.res.close_code != 0) {
            snprintf(closed, sizeof(closed), ", the server's close %u",
                     o.res.close_code);
        }
        wsc_say("case %lu/%lu %s: %s%s%s%s", n, count, id,
                outcome_word(o.res.outcome), closed,
                o.res.why[0] != '\0' ? ": " : "", o.res.why);
    }
    free(want);
    memset(&o, 0, sizeof(o));
    snprintf(target, sizeof(target), "/updateReports?agent=%s", opt->agent);
    bool updated = run_one(opt, run, target, &o) && o.res.outcome == WSC_CLEAN;
    fprintf(stderr,
            "wsc: %u cases as agent %s: %u closed cleanly, %u failed by wsc, "
            "%u timed out, %u without a clean close, %u refused; reports %s\n",
            ran, opt->agent, tally[WSC_CLEAN], tally[WSC_PROTOCOL],
            tally[WSC_TIMEOUT], tally[WSC_UNCLEAN] + tally[WSC_TLS],
            tally[WSC_REFUSED],
            updated ? "updated (in the fuzzingserver's outdir)"
                    : "NOT updated");
    return updated ? WSC_EXIT_CLEAN : WSC_EXIT_UNCLEAN;
}
