/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets, made by the master before it forks: for each worker
 * endpoint, one SO_REUSEPORT socket per worker slot on the same address,
 * so that the kernel spreads connections without a thundering herd and a
 * respawned worker inherits its slot's queue (nginx's reuseport clones);
 * for the admin endpoint, one plain socket. Either way, an address that
 * another socket listens on is refused, so that no other process (another
 * wsd included) shares wsd's connections.
 */
#ifndef WSD_LISTENER_H
#define WSD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * A listener of the running configuration, which a reload's new address
 * may overlap: it tells a conflict with wsd itself from one with another
 * process.
 */
struct listener_held {
    const char *directive; /* "listen", "tls_listen" or "admin_listen" */
    int fd;                /* one of its sockets; -1: none */
    bool reuseport;        /* SO_REUSEPORT clones (not the admin socket) */
};

/*
 * Opens n non-blocking, close-on-exec SO_REUSEPORT sockets listening on
 * addr (port 0: the kernel picks one, and all n share it) into fds[0..n).
 * Fails when another socket listens on an overlapping address, unless
 * that is a SO_REUSEPORT listener among held[0..n_held) on the same
 * address or its wildcard (a reload handing an address over to another
 * endpoint). A socket that is only bound, or a connection in TIME_WAIT,
 * is no obstacle. May wait up to 2 s for another wsd opening the same
 * port. Returns 0, or -1 with "DIRECTIVE ADDRESS: problem" in
 * err[0..errlen), e.g. "listen 127.0.0.1:8888: address already in use
 * (another process holds it)", and no socket left open.
 */
int listener_open(const char *directive, const struct config_addr *addr,
                  unsigned n, int *fds, const struct listener_held *held,
                  size_t n_held, char *err, size_t errlen);

/*
 * Opens one non-blocking, close-on-exec socket listening on addr, without
 * SO_REUSEPORT (the admin endpoint: the master alone accepts on it). Fails
 * like listener_open, held[0..n_held) serving only to name wsd's own
 * listener in the message. Returns the socket, or -1 with the problem in
 * err[0..errlen).
 */
int listener_open_one(const char *directive, const struct config_addr *addr,
                      const struct listener_held *held, size_t n_held,
                      char *err, size_t errlen);

/* The local port fd is bound to, or 0 on error. */
uint16_t listener_port(int fd);

/* Closes fds[0..n) that are not -1 and sets them to -1. */
void listener_close(int *fds, unsigned n);

#endif
