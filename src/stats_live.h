/* SPDX-License-Identifier: MIT */
/*
 * The counters as they move: what the console's push channel (GET
 * /v1/events) sends. It owns what it remembers of past snapshots, one a
 * tick: the last 15 minutes of rates for the charts, the last minute of
 * totals (close codes sent in the last minute, and the like), and each
 * worker's previous CPU time and counters (CPU share, messages per
 * second). Pure: it is handed copies of the counters (stats_json's
 * snapshot) and returns JSON; it never reads the shared segment, /proc
 * or a clock, and knows nothing of HTTP.
 */
#ifndef WSD_STATS_LIVE_H
#define WSD_STATS_LIVE_H

#include <jansson.h>

#include "stats_json.h"

#define STATS_LIVE_INTERVAL_MS 1000 /* one snapshot a tick, this often */
#define STATS_LIVE_HISTORY     900  /* samples kept: 15 minutes, one a second */
#define STATS_LIVE_MINUTE      60   /* seconds of "lastMinute" */

struct stats_live;

/* Room for n_slots worker slots (the segment's). NULL when out of memory. */
struct stats_live *stats_live_new(unsigned n_slots);
void stats_live_free(struct stats_live *l);

/*
 * Takes one tick's snapshot s (its workers' totals and, when it has them,
 * their processes' CPU time and memory; s->now_ms its time). Rates are
 * per second over the time since the snapshot before, 0 for the first.
 */
void stats_live_add(struct stats_live *l, const struct stats_json_snapshot *s);

/*
 * The event for the last snapshot taken, s (the same one):
 * {"time": s's, "stats": the /v1/stats document of s, "rates": {per second},
 *  "lastMinute": {"seconds", "totals": what was counted in that span,
 *  with "active" now and "peak" the most at a tick of it}, "workers":
 *  [{"slot", "pid", "cpuPercent", "residentBytes", "rxMessagesPerSecond",
 *  "txMessagesPerSecond"}], "master": {"cpuPercent", "residentBytes"}}.
 * NULL when out of memory.
 */
json_t *stats_live_event(const struct stats_live *l,
                         const struct stats_json_snapshot *s);

/*
 * The samples kept, oldest first: {"intervalMs", "keys": [...],
 * "samples": [[t, ...], ...]}, each sample a row of the keys' values
 * (t: Unix ms; "active": connections open; the others per second).
 */
json_t *stats_live_history(const struct stats_live *l);

#endif
