/* SPDX-License-Identifier: MIT */
/*
 * Statistics as JSON (jansson), with the Autobahn testsuite's names, and
 * as Prometheus text. Pure: it turns copies of records and counters into
 * documents and never touches the shared segment or the network.
 */
#ifndef WSD_STATS_JSON_H
#define WSD_STATS_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "procfs.h"
#include "stats_shm.h"

/* What a worker slot looked like when it was read. */
struct stats_json_worker {
    unsigned slot;
    int pid;             /* 0: no worker running */
    unsigned generation; /* workers started in the slot */
    uint64_t heartbeat_ms;
    struct stats_totals t;
    /* Exits the master saw (not while it stopped): died while it should
     * run (respawned), exit status 2 (not respawned), after a reload. */
    uint64_t crashed, fatal, retired;
};

/* A process of wsd as /proc shows it, for the process_* metrics. */
struct stats_json_process {
    int worker; /* its slot, or -1 for the master */
    struct procfs_sample s;
};

/* One read of the whole segment's counters. */
struct stats_json_snapshot {
    const char *version; /* wsd's */
    unsigned layout_major, layout_minor;
    uint64_t started_ms, now_ms;
    uint64_t last_case_id, peak_active;
    unsigned n_cases; /* record capacity */
    unsigned n_workers;
    const struct stats_json_worker *workers;
    uint64_t max_connections; /* per worker; 0: not known */
    uint64_t reloads, reloads_refused;
    unsigned n_processes; /* the master first, then the workers */
    const struct stats_json_process *processes;
};

/* A case record as an object ("id", "rxOctetStats", "wasClean", ...);
 * c is followed by its request head and wire log (stats_case_read). */
json_t *stats_json_case(const struct stats_case *c, uint64_t now_ms);

/* A case's wire log as Autobahn's rows ("RO", "TO", "RF", "TF") and
 * wsd's own ("TMO", "SHUT", "DROP", "GAP"). */
json_t *stats_json_wirelog(const struct stats_case *c);

/*
 * The same log in rows of the Autobahn testsuite's kinds alone, for a
 * reader that knows no others: a timeout becomes ["CTE", directive] (a
 * timer that ran out), a gap ["WLM", false] then ["WLM", true] (logging
 * off, then on again), and our FIN and the drop are left out (the case's
 * droppedByMe says who closed TCP).
 */
json_t *stats_json_wirelog_autobahn(const struct stats_case *c);

/*
 * Reads back the bytes a wire log row shows in hex (its RO and TO rows,
 * and a frame's payload after its "0x"), as wsd and the Autobahn
 * testsuite write them: hex digits of either case, then " ..." when only
 * the first bytes were kept (*more says so). Returns how many bytes
 * s[0..len) holds, and writes the first cap of them to out (which may be
 * NULL when cap is 0); or -1 when s is not hex (an odd number of digits,
 * any other character), out then holding nothing of use.
 */
ssize_t stats_json_hex_read(const char *s, size_t len, uint8_t *out, size_t cap,
                            bool *more);

/*
 * Pieces of a case object that other documents of a case share:
 * Autobahn's {"size": count} of reads or writes, by increasing size;
 * {"opcode": count} of the opcodes that occurred; a time as UTC ISO 8601
 * with milliseconds ("2026-11-22T05:10:47.355Z"); a NUL-terminated record
 * field of size cap as a string (stats_json_string), or null when empty.
 */
json_t *stats_json_octets(const struct stats_octets *o);
json_t *stats_json_frames(const uint64_t by_opcode[16]);
json_t *stats_json_time(uint64_t ms);
json_t *stats_json_field(const char *s, size_t cap);

/*
 * Sets the closing behaviour of c on j, with Autobahn's names and
 * meanings: closedByMe, failedByMe, droppedByMe, wasClean,
 * wasNotCleanReason (null when clean), wasOpenHandshakeTimeout,
 * wasCloseHandshakeTimeout, localCloseCode, localCloseReason,
 * remoteCloseCode and remoteCloseReason (codes null when the close frame
 * had none or there was none; reasons null when empty).
 */
void stats_json_set_closing(json_t *j, const struct stats_case *c);

/* One set of counters as /v1/stats writes each: {"accepted", "active",
 * "refused": {...}, ..., "txMessageBytes": {histogram}}. */
json_t *stats_json_totals(const struct stats_totals *t);

/* Totals since start and per worker, as GET /v1/stats serves them. */
json_t *stats_json_stats(const struct stats_json_snapshot *s);

/*
 * The same counters in the Prometheus text exposition format (0.0.4),
 * with HELP and TYPE lines, appended to out. Returns 0, or -1 when out
 * of memory: some of it was then left out, and out is not to be served.
 */
int stats_json_prometheus(const struct stats_json_snapshot *s,
                          struct evbuffer *out);

/*
 * A JSON string from bytes that need not be UTF-8 (a peer's User-Agent or
 * close reason): each byte that is not part of a valid sequence becomes
 * U+FFFD, so the document stays valid whatever the peer sent.
 */
json_t *stats_json_string(const char *p, size_t len);

#endif
