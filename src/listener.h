/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets, made by the master before it forks: one SO_REUSEPORT
 * socket per worker slot on the same address, so that the kernel spreads
 * connections without a thundering herd and a respawned worker inherits
 * its slot's queue (nginx's reuseport clones).
 */
#ifndef WSD_LISTENER_H
#define WSD_LISTENER_H

#include <stdint.h>

#include "config.h"

/*
 * Opens n non-blocking, close-on-exec sockets listening on addr (port 0:
 * the kernel picks one, and all n share it), storing them in fds[0..n).
 * Returns 0, or -1 after logging the failing call (no fd left open).
 */
int listener_open(const struct config_addr *addr, unsigned n, int *fds);

/* The local port fd is bound to, or 0 on error. */
uint16_t listener_port(int fd);

/* Closes fds[0..n) that are not -1 and sets them to -1. */
void listener_close(int *fds, unsigned n);

#endif
