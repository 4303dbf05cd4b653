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
 * Runs wsd with cfg until SIGTERM, SIGINT or SIGQUIT. When ready_fd is not
 * -1, writes "ready pid=PID listen=ADDR:PORT\n" to it once the workers are
 * forked, and closes it. Returns the exit status: 0 after a requested
 * stop, WSD_EXIT_FATAL when start-up fails or every worker exits with it.
 */
int master_run(const struct config *cfg, int ready_fd);

#endif
