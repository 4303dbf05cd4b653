/* SPDX-License-Identifier: MIT */
/*
 * The I/O interface under a connection: conn.c reads and writes through it
 * and never learns whether plain TCP or TLS carries the bytes (nginx's
 * c->recv/c->send, Redis's ConnectionType).
 */
#ifndef WSD_TRANSPORT_H
#define WSD_TRANSPORT_H

#include <sys/types.h>
#include <sys/uio.h>

/* Results of recv and send besides a byte count (>0). */
#define WSD_IO_AGAIN (-1) /* would block: wait for readiness */
#define WSD_IO_EOF   (-2) /* the peer closed its side (recv only) */
#define WSD_IO_ERROR (-3) /* the connection is broken; errno is set */

struct transport {
    const char *name;
    /* Reads at most len bytes into buf. Never returns 0. */
    ssize_t (*recv)(void *ctx, int fd, void *buf, size_t len);
    /* Writes from iov[0..iovcnt). Returns bytes accepted, never 0. */
    ssize_t (*send)(void *ctx, int fd, const struct iovec *iov, int iovcnt);
    /* Ends our sending side once everything is sent (FIN, for TLS after
     * close_notify); reading goes on. Returns 0 or WSD_IO_ERROR. */
    int (*shutdown)(void *ctx, int fd);
    /* Releases ctx (may be NULL); does not close fd. */
    void (*free)(void *ctx);
};

extern const struct transport transport_tcp;

#endif
