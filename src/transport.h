/* SPDX-License-Identifier: MIT */
/*
 * The I/O interface under a connection: conn.c reads and writes through it
 * and never learns whether plain TCP or TLS carries the bytes (nginx's
 * c->recv/c->send, Redis's ConnectionType).
 */
#ifndef WSD_TRANSPORT_H
#define WSD_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * Results of recv, send and shutdown besides a byte count (>0). AGAIN
 * waits for the call's own readiness: readable for recv, writable for send
 * and shutdown.
 */
#define WSD_IO_AGAIN      (-1) /* would block */
#define WSD_IO_EOF        (-2) /* the peer closed its side (recv only) */
#define WSD_IO_ERROR      (-3) /* the connection is broken; errno is set */
/* Would block on the other readiness, which only TLS asks for: a send (or
 * shutdown) needs the peer's handshake records first, a recv has a record
 * of its own to send first. Retry the same call once the socket is
 * readable (WANT_READ) or writable (WANT_WRITE). */
#define WSD_IO_WANT_READ  (-4) /* send and shutdown only */
#define WSD_IO_WANT_WRITE (-5) /* recv only */
/* recv only, from a transport that protects the bytes (TLS): the peer's
 * first bytes are plain HTTP, not a handshake. Nothing is consumed; from
 * then on recv and send carry bytes in the clear, so that the caller can
 * answer in kind, and shutdown sends only the FIN. */
#define WSD_IO_PLAINTEXT  (-6)

/*
 * Every call takes the connection's transport state (ctx) and socket (fd).
 * The bytes counted by recv and send are application bytes: for TLS, the
 * plaintext of one SSL_read, or of the SSL_writes of one send (a record
 * each), never record overhead.
 */
struct transport {
    const char *name;
    /* A recv that returns fewer bytes than asked emptied the socket, so
     * the next bytes to arrive make it readable anew: a caller may wait
     * edge-triggered. True for TCP; false for TLS, whose recv returns one
     * record's plaintext while more records may wait in the socket. */
    bool short_read_drains;
    /* Whether a recv that returned got of the asked bytes left nothing
     * that had arrived: the caller may stop reading until readiness says
     * more has come, without a read that finds nothing. TCP: a short
     * read. TLS: the socket reads under the record were short, and
     * OpenSSL holds no further record. */
    bool (*drained)(void *ctx, size_t got, size_t asked);
    /* Reads at most len bytes into buf. Never returns 0. */
    ssize_t (*recv)(void *ctx, int fd, void *buf, size_t len);
    /*
     * Writes from iov[0..iovcnt), which holds at least one byte. Returns
     * the bytes accepted, never 0. After WSD_IO_AGAIN or WSD_IO_WANT_READ
     * the caller retries with the same bytes at the front, possibly more
     * after them and in other buffers (TLS has taken them into a record
     * already and only finishes sending it).
     */
    ssize_t (*send)(void *ctx, int fd, const struct iovec *iov, int iovcnt);
    /* Ends our sending side once everything is sent (FIN, for TLS after
     * close_notify); reading goes on. Returns 0, WSD_IO_AGAIN or
     * WSD_IO_WANT_READ (call again once ready), or WSD_IO_ERROR. */
    int (*shutdown)(void *ctx, int fd);
    /* Whether recv has bytes to return that arrived already, so that no
     * readiness will announce them (TLS: a record read only in part, or
     * records OpenSSL read ahead). */
    bool (*has_pending)(void *ctx);
    /* For the statistics: when the bytes are protected, writes the
     * protocol version and cipher (NUL-terminated, cut to fit) and returns
     * true; returns false for plain TCP. */
    bool (*describe)(void *ctx, char *version, size_t version_cap, char *cipher,
                     size_t cipher_cap);
    /* The opening handshake ran out of time (handshake_timeout_ms) and
     * the connection is about to close: TLS counts a handshake that had
     * not finished as failed. Any other end (a stop, no memory) is no
     * failure of the peer's. */
    void (*timed_out)(void *ctx);
    /* Releases ctx (may be NULL); does not close fd. */
    void (*free)(void *ctx);
};

extern const struct transport transport_tcp;

/*
 * Whether the peer on the TCP socket fd (under either transport) is still
 * taking our bytes, and since when (*at_ms, monotonic, now_ms being now):
 * while the kernel holds bytes of ours it has not sent, they wait on the
 * peer's window, and the kernel sends more only as the peer reads, so its
 * last sending of data is when the peer last read. False when nothing
 * waits unsent (a peer whose own buffer holds what was sent is not seen
 * here) or the kernel cannot say. A peer that stopped reading is seen
 * taking nothing since it stopped: probes of a closed window carry no new
 * data. Two syscalls: for a keepalive deadline, not the echo path.
 */
bool transport_peer_took(int fd, uint64_t now_ms, uint64_t *at_ms);

#endif
