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
#include "command.h"
#include "output.h"
#include "report_writer.h"
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
    const char *record_dir;     /* NULL: no records written */
    const char *agent;          /* wsc autobahn */
    const char *cases;          /* wsc autobahn: NULL, every case */
    bool timeouts_given;        /* --handshake-timeout or --close-timeout */
    unsigned bench_connections; /* wsc bench */
    size_t bench_size;
    uint64_t bench_seconds;
    uint64_t bench_warmup;
};

struct wsc_run {
    struct event_base *base;
    SSL_CTX *tls_ctx;
    struct transport_tls_env tls;
    struct stats_shm shm; /* one slot; one record with --record */
    struct wsc_random random;
    uint8_t *rbuf;               /* the connections' read buffer */
    struct output_buf scratch;   /* and what they mask messages into */
    struct report_writer report; /* with --record */
    bool recording;
    int stopped_by; /* SIGINT or SIGTERM that stopped the run; 0: none */
};

/* "wsc: " and the sentence, on stderr. */
#define wsc_say(...) command_say("wsc", __VA_ARGS__)

/* The exit status of an outcome. */
int wsc_exit_status(enum wsc_outcome o);

/* The loop, the TLS context and the statistics of a run; 0, or an exit
 * status (said). */
int wsc_setup(struct wsc_options *o, struct wsc_run *run);
void wsc_teardown(struct wsc_run *run);

/*
 * With --record, writes the record of the connection that just ended into
 * the report folder, as the Autobahn testsuite's per-case object; case_id
 * and case_number, when given (wsc autobahn), name it as the testsuite
 * does ("1.1.1", 1). Returns 0, or -1 (said).
 */
int wsc_record(struct wsc_run *run, const char *case_id, uint64_t case_number);

/* `wsc autobahn URL`: the fuzzingserver campaign; returns the exit
 * status. */
int wsc_autobahn_run(struct wsc_options *o, struct wsc_run *run);

/* `wsc bench URL`: echoes under load, the client's CPU per message;
 * returns the exit status. */
int wsc_bench_run(struct wsc_options *o, struct wsc_run *run);

#endif
