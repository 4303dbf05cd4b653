/* SPDX-License-Identifier: MIT */
/*
 * What the parts of wsc share: its options, the state of a run (event
 * loop, TLS context, statistics, random bytes), its exit statuses and
 * the modes wsc_main dispatches to.
 */
#ifndef WSD_WSC_H
#define WSD_WSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "clock.h"
#include "stats_shm.h"
#include "transport_tls.h"
#include "wsc_conn.h"
#include "wsc_url.h"

/* Exit statuses: how the connection (or the campaign) ended. */
enum wsc_exit {
    WSC_EXIT_CLEAN = 0,    /* a clean close */
    WSC_EXIT_UNCLEAN = 1,  /* no connection, or no clean close */
    WSC_EXIT_USAGE = 2,    /* a bad command line or input */
    WSC_EXIT_REFUSED = 3,  /* the opening handshake refused or failed */
    WSC_EXIT_PROTOCOL = 4, /* the server broke the protocol */
    WSC_EXIT_TIMEOUT = 5,  /* a timeout ran out */
    WSC_EXIT_TLS = 6,      /* TLS failed, or the certificate was refused */
};

#define WSC_HEADERS_MAX          32
#define WSC_MAX_MESSAGE_DEFAULT  (UINT64_C(64) << 20)
/* What each record keeps of the request, and its wire log's entries. */
#define WSC_RECORD_REQUEST_BYTES 4096
#define WSC_RECORD_WIRE_ENTRIES  4096

struct wsc_options {
    struct wsc_url url;
    struct wsc_settings set;
    const char *headers[WSC_HEADERS_MAX];
    size_t n_headers;
    char protocols[512];
    bool binary;
    char separator; /* of records, in and out */
    uint16_t close_code;
    const char *close_reason;
    const char *cacert;
    bool insecure;
    const char *record_dir; /* NULL: no records written */
    const char *agent;      /* wsc autobahn */
    const char *cases;      /* wsc autobahn: NULL, every case */
};

struct wsc_run {
    struct event_base *base;
    SSL_CTX *tls_ctx;
    struct transport_tls_env tls;
    struct stats_shm shm;
    struct wsc_random random;
};

/* "wsc: " and the sentence, on stderr. */
void wsc_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status of an outcome. */
int wsc_exit_status(enum wsc_outcome o);

/* The loop, the TLS context and the statistics of a run; 0, or an exit
 * status (said). */
int wsc_setup(struct wsc_options *o, struct wsc_run *run);
void wsc_teardown(struct wsc_run *run);

/* `wsc autobahn URL`: the fuzzingserver campaign; returns the exit
 * status. */
int wsc_autobahn_run(struct wsc_options *o, struct wsc_run *run);

#endif
