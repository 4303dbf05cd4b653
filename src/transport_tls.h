/* SPDX-License-Identifier: MIT */
/*
 * TLS under the transport interface, with OpenSSL: the server context,
 * built by the master from the configuration before it forks, the
 * client's (wsc's) context, and the state of one connection of either
 * side, whose SSL_read and SSL_write stand in for recv(2) and sendmsg(2).
 * conn.c and wsc see only struct transport. Not here: client
 * certificates, a server's SNI, OCSP stapling.
 */
#ifndef WSD_TRANSPORT_TLS_H
#define WSD_TRANSPORT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "config.h"
#include "transport.h"

#define TRANSPORT_TLS_REASON_MAX 96
#define TRANSPORT_TLS_PEER_MAX   64 /* "[IPv6]:port" */

/*
 * What the TLS connections of one worker share; owned by the worker and
 * zero-filled by transport_tls_env_init(). Failed handshakes are counted
 * here and logged by transport_tls_report() as one line, so that a flood
 * of bad connections cannot flood the log.
 */
struct transport_tls_env {
    SSL_CTX *ctx; /* the master's, inherited through fork; not freed here */
    unsigned n_failed; /* handshakes failed since the last report */
    char last_reason[TRANSPORT_TLS_REASON_MAX]; /* the last one's reason */
    char last_peer[TRANSPORT_TLS_PEER_MAX];     /* and its peer */
    BIO_METHOD *bio; /* the socket under OpenSSL, for every connection */
};

/*
 * Builds the server context from cfg's tls_certificate (PEM, leaf first,
 * then any intermediates) and tls_certificate_key (PEM, unencrypted): TLS
 * 1.2 at least, 1.3 when the client has it, ECDHE with AEAD ciphers only
 * for 1.2, the server's cipher order, no compression, no renegotiation,
 * ALPN "http/1.1", and session resumption through the server cache and
 * tickets. Called in the master before fork, so that every worker shares
 * the ticket keys and resumes the others' sessions. Returns the context,
 * or NULL with err[0..errlen) naming the directive, the file and the
 * problem, e.g. "tls_certificate_key /etc/wsd/key.pem: key does not match
 * the certificate /etc/wsd/cert.pem". A key that can sign no handshake of
 * that policy (DSA, EC on a curve other than P-256, P-384 and P-521) is
 * refused too. A certificate of the file out of its validity period is
 * not refused, but logged as a warning with its notAfter or notBefore.
 * wsd -t, start-up and a reload all come through here.
 */
SSL_CTX *transport_tls_ctx_new(const struct config *cfg, char *err,
                               size_t errlen);

/* Zero-fills env and borrows ctx (from transport_tls_ctx_new). */
void transport_tls_env_init(struct transport_tls_env *env, SSL_CTX *ctx);

/* Releases what env made (after its last connection is freed). */
void transport_tls_env_done(struct transport_tls_env *env);

/*
 * The state of a new server-side TLS connection on the accepted socket fd,
 * for transport_tls's calls (its free releases it), from the peer
 * accept(2) gave (peer[0..peer_len), IPv4 or IPv6; may be NULL), which
 * a failed handshake is reported with. The handshake runs inside the
 * first reads. Returns NULL (errno ENOMEM) when out of memory.
 */
void *transport_tls_conn_new(struct transport_tls_env *env, int fd,
                             const struct sockaddr *peer, socklen_t peer_len);

/*
 * The client's context (wsc): TLS 1.2 at least, the server's certificate
 * verified against the system's CA store, or against the PEM
 * certificates of cafile alone when it is not NULL; with insecure,
 * nothing is verified (the caller says so loudly). Returns the context,
 * or NULL with err naming the file or the problem.
 */
SSL_CTX *transport_tls_client_ctx_new(const char *cafile, bool insecure,
                                      char *err, size_t errlen);

/*
 * The state of a new client-side TLS connection on the connected socket
 * fd, for transport_tls's calls, to the server named host (a DNS name,
 * sent as SNI, or an IP address): unless the context is insecure, the
 * handshake fails when the certificate does not hold that name. The
 * handshake runs inside the first sends and reads. Returns NULL (errno
 * ENOMEM) when out of memory.
 */
void *transport_tls_client_conn_new(struct transport_tls_env *env, int fd,
                                    const char *host);

/*
 * Why a client connection's handshake refused the server's certificate
 * (OpenSSL's words: "certificate has expired", "hostname mismatch"...),
 * or NULL when it did not.
 */
const char *transport_tls_verify_error(void *ctx);

/*
 * Logs, at info level, how many handshakes failed since the last call and
 * the last one's reason and peer, then starts counting afresh; logs
 * nothing when none failed. The worker calls it once a second.
 */
void transport_tls_report(struct transport_tls_env *env);

/*
 * recv is one SSL_read, send one SSL_write of at most one record (16 KiB,
 * small iovecs gathered), shutdown sends close_notify then the FIN. A
 * failure is counted once per connection in its env when the handshake
 * had not finished (also when the connection is freed unfinished), and
 * logged at debug level otherwise. A peer whose first byte is a letter
 * speaks plain HTTP: the first recv returns WSD_IO_PLAINTEXT (counted as
 * a failed handshake), and the connection is plain TCP from then on.
 */
extern const struct transport transport_tls;

#endif
