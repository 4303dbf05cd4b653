/* SPDX-License-Identifier: MIT */
/*
 * The master process: binds the listening sockets, maps the shared
 * segment, forks the workers and supervises them. It never touches
 * WebSocket bytes.
 */
#ifndef WSD_MASTER_H
#define WSD_MASTER_H

#include "config.h"

/*
 * What start-up (and a reload) would refuse in cfg beyond its syntax,
 * short of binding or starting anything: a user to become while not
 * root, a log, access_log, case_log or pidfile that could not be opened
 * for writing. 0, or -1 with err saying why (wsd -t; the master's start
 * and reload).
 */
int master_check_config(const struct config *cfg, char *err, size_t errlen);

/*
 * Whether the shared segment for cfg's statistics records (stats_cases,
 * case_request_bytes, case_wirelog) can be mapped, as the start maps it;
 * unmapped again at once. 0, or -1 with err naming stats_cases and the
 * size (wsd -t; a reload cannot change them).
 */
int master_check_records(const struct config *cfg, char *err, size_t errlen);

/*
 * Runs wsd with cfg (heap-allocated; the master takes it over) until
 * SIGTERM, SIGINT (fast stop) or SIGQUIT (graceful stop). items[0..n_items)
 * are where cfg came from: SIGHUP builds the configuration anew from them
 * (they must outlive the call). SIGUSR1 reopens the log files. When
 * ready_fd is not -1, writes "ready pid=PID listen=ADDR:PORT\n" to it once
 * the workers are forked, and closes it; a daemonized start is told it
 * succeeded at the same moment, and systemd too (READY=1). Returns the
 * exit status: 0 after a requested stop, WSD_EXIT_FATAL when start-up
 * fails or every worker exits with it.
 */
int master_run(struct config *cfg, const struct config_item *items,
               size_t n_items, int ready_fd);

#endif
