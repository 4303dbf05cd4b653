/* SPDX-License-Identifier: MIT */
/*
 * TLS through OpenSSL: the server context (RFC 8446, RFC 5246 with the
 * RFC 7525 recommendations, ALPN per RFC 7301), the client's context
 * (certificate and host name verified, RFC 6125, with SNI, RFC 6066),
 * and the per-connection transport on a non-blocking socket.
 */
#include "autoconf.h"

#include "transport_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "log.h"

/* The most plaintext one record carries (RFC 8446 §5.1: 2^14 bytes). */
#define TLS_RECORD_BYTES      SSL3_RT_MAX_PLAIN_LENGTH
/* What one socket read takes under OpenSSL (read-ahead): several records
 * of a large message at once. The buffer exists only while records are
 * being read (SSL_MODE_RELEASE_BUFFERS); below malloc's mmap threshold.
 * Not more: a peer that stops inside a record keeps the buffer (OpenSSL
 * releases it empty only), and 256 KiB saved at most a few percent of
 * a 1 MiB echo (README, Over TLS). */
#define TLS_READ_AHEAD_BYTES  (64 * 1024)
/* TLS 1.2 suites: forward secrecy and AEAD only (RFC 7525 §4.2); TLS 1.3
 * suites are all AEAD with (EC)DHE, so OpenSSL's defaults stay. */
#define TLS_CIPHERS_12        "ECDHE+AESGCM:ECDHE+CHACHA20"
/* TLS 1.2 sessions a worker keeps for clients without tickets (about
 * 1 KiB each; OpenSSL's default of 20480 would allow 20 MiB a worker). */
#define TLS_SESSION_CACHE_MAX 4096
/* The name of the socket BIO under every connection, which also tells it
 * from another BIO an SSL of the context may be given (tests do). */
#define TLS_BIO_NAME          "wsd socket"

struct tls_conn {
    SSL *ssl;
    struct transport_tls_env *env;
    int fd;
    uint16_t peer_port;  /* the peer's, from accept, host order */
    uint8_t peer_family; /* AF_INET or AF_INET6; 0: not known */
    /* Flags as bits, so that the peer fits beside them. */
    bool drained : 1;     /* the last socket read was short or would block */
    bool peer_eof : 1;    /* a socket read found the end of the stream */
    bool established : 1; /* the first handshake completed (info_callback) */
    bool counted : 1;     /* its handshake failure is counted in env */
    bool sniffed : 1;     /* the peer's first byte was looked at */
    bool plaintext : 1;   /* it was plain HTTP: bytes go in the clear */
    /* The peer's address from accept (4 bytes of it for IPv4), network
     * order: a failure is often seen after the peer's reset, when
     * getpeername has nothing left to tell. */
    uint8_t peer_addr[16];
};

/* Every wss connection holds one for its life: 40 bytes is what glibc's
 * malloc serves from a 48-byte chunk, as it did before the peer was kept
 * here (README, Memory per connection). */
_Static_assert(sizeof(struct tls_conn) <= 40, "struct tls_conn outgrew 40");

/*
 * RFC 7301 §3.2: choose http/1.1 from the client's list, the protocol a
 * WebSocket opening handshake speaks. A client that offers no http/1.1
 * gets no ALPN answer rather than an alert, as the RFC allows.
 */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
            const unsigned char *in, unsigned int inlen, void *arg)
{
    static const char http11[] = "http/1.1";
    unsigned int i = 0;
    (void)ssl;
    (void)arg;

    while (i < inlen) {
        unsigned int n = in[i];
        if (n == 0 || n > inlen - i - 1) {
            break;
        }
        if (n == sizeof(http11) - 1 && memcmp(in + i + 1, http11, n) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* wsd starts unattended: an encrypted key fails instead of prompting. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return -1;
}

/*
 * OpenSSL's reason for the oldest queued error (the cause, where later
 * entries add only where it surfaced) into buf, or fallback; empties the
 * queue so that nothing carries over to another connection.
 */
static const char *
ssl_reason(char *buf, size_t len, const char *fallback)
{
    unsigned long e = ERR_peek_error();

    if (e == 0) {
        snprintf(buf, len, "%s", fallback);
    } else if (ERR_SYSTEM_ERROR(e)) {
        snprintf(buf, len, "%s", strerror(ERR_GET_REASON(e)));
    } else {
        const char *r = ERR_reason_error_string(e);
        snprintf(buf, len, "%s", r != NULL ? r : fallback);
    }
    ERR_clear_error();
    return buf;
}

/* 0 when path is a regular file we can open; else -1 and err says why. */
static int
check_file(const char *directive, const char *path, char *err, size_t errlen)
{
    struct stat st;
    FILE *f = fopen(path, "r");
    int rc = 0;

    if (f == NULL) {
        snprintf(err, errlen, "%s %s: %s", directive, path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file", directive, path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

/* Loads the private key from path into pkey; -1 with err filled. */
static int
load_key(const char *path, EVP_PKEY **pkey, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(err, errlen, "tls_certificate_key %s: %s", path,
                 strerror(errno));
        return -1;
    }
    *pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (*pkey == NULL) {
        /* OpenSSL's reasons here ("unsupported") say little: tell the
         * encrypted key, the one case with a remedy, from no key. */
        bool encrypted = false;
        unsigned long e;
        while ((e = ERR_get_error()) != 0) {
            encrypted =
                encrypted || (ERR_GET_LIB(e) == ERR_LIB_PEM &&
                              ERR_GET_REASON(e) == PEM_R_BAD_PASSWORD_READ);
        }
        snprintf(err, errlen, "tls_certificate_key %s: %s", path,
                 encrypted ? "the key is encrypted, and wsd asks for no "
                             "passphrase"
                           : "no PEM private key in it");
        return -1;
    }
    return 0;
}

/*
 * Why pkey cannot sign the handshakes the policy allows, into buf, or
 * NULL when it can. TLS 1.3 signs with RSASSA-PSS (RSA and RSA-PSS
 * keys), ECDSA on P-256, P-384 or P-521, Ed25519 or Ed448 (RFC 8446
 * §4.2.3); TLS 1.2, with only ECDHE_RSA and ECDHE_ECDSA suites allowed,
 * needs the same (RFC 8422 §5.1.1: on a curve the client offers, and
 * OpenSSL's clients offer those three). DSA, and EC on any other curve,
 * fail every 1.2 handshake (alert 40) and every 1.3 one (alert 70).
 */
static const char *
key_cannot_sign(EVP_PKEY *pkey, char *buf, size_t len)
{
    static const char *const curves[] = {"prime256v1", "secp384r1",
                                         "secp521r1"};
    char curve[64];
    size_t n = 0;

    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448:
        return NULL;
    case EVP_PKEY_EC:
        if (EVP_PKEY_get_group_name(pkey, curve, sizeof(curve), &n) != 1) {
            snprintf(buf, len, "EC keys without a named curve");
            ERR_clear_error();
            return buf;
        }
        for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
            if (strcmp(curve, curves[i]) == 0) {
                return NULL;
            }
        }
        snprintf(buf, len, "EC keys on %s", curve);
        return buf;
    default: {
        const char *type = EVP_PKEY_get0_type_name(pkey);
        snprintf(buf, len, "%s keys", type != NULL ? type : "such");
        return buf;
    }
    }
}

/* t as "YYYY-MM-DDTHH:MM:SSZ" into buf[0..len) (at least 21 bytes). */
static void
time_text(const ASN1_TIME *t, char *buf, size_t len)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, len, "an unreadable date");
    }
}

/*
 * Warns of certificate number index (0: the server's own) of the file
 * path when it is not valid now, with the date it ends or begins (RFC
 * 5280 §4.1.2.5). It is served all the same: an operator may test
 * clients against an expired certificate on purpose.
 */
static void
warn_validity(const char *path, X509 *x, int index)
{
    char which[48] = "the certificate";
    char when[32];

    if (index > 0) {
        snprintf(which, sizeof(which), "certificate %d of the file", index + 1);
    }
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
        time_text(X509_get0_notAfter(x), when, sizeof(when));
        log_msg(LOG_LEVEL_WARN,
                "tls_certificate %s: %s expired on %s (notAfter); clients "
                "that check it will refuse it",
                path, which, when);
    } else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
        time_text(X509_get0_notBefore(x), when, sizeof(when));
        log_msg(LOG_LEVEL_WARN,
                "tls_certificate %s: %s is not valid before %s (notBefore); "
                "clients that check it will refuse it",
                path, which, when);
    }
}

/*
 * Notes the end of a server connection's first handshake, which OpenSSL
 * tells here as soon as it is complete: for TLS 1.3, once the client's
 * Finished is read, before the session tickets go out (RFC 8446 §4.6.1:
 * after the handshake), which SSL_is_init_finished waits for, and which
 * a client that closes at once never lets go out.
 */
static void
info_callback(const SSL *ssl, int where, int ret)
{
    (void)ret;
    if ((where & SSL_CB_HANDSHAKE_DONE) != 0) {
        BIO *b = SSL_get_rbio(ssl);
        const char *name = b != NULL ? BIO_method_name(b) : NULL;
        struct tls_conn *tc = name != NULL && strcmp(name, TLS_BIO_NAME) == 0
                                  ? BIO_get_data(b)
                                  : NULL;
        if (tc != NULL) {
            tc->established = true;
        }
    }
}

/*
 * Which certificate after the first of ctx's file (1: the second) pkey
 * belongs to, or 0 when none: a file with the leaf anywhere but first
 * (RFC 8446 §4.4.2, RFC 5246 §7.4.2: the sender's certificate comes
 * first).
 */
static int
key_matches_chain(SSL_CTX *ctx, EVP_PKEY *pkey)
{
    STACK_OF(X509) *chain = NULL;
    int found = 0;

    if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1 && chain != NULL) {
        for (int i = 0; i < sk_X509_num(chain) && found == 0; i++) {
            if (X509_check_private_key(sk_X509_value(chain, i), pkey) == 1) {
                found = i + 1;
            }
        }
    }
    ERR_clear_error();
    return found;
}

/* Protocol, cipher, ALPN and session settings (none reads a file). */
static int
ctx_settings(SSL_CTX *ctx)
{
    static const unsigned char sid_ctx[] = "wsd";

    /* RFC 8996 deprecates TLS 1.0 and 1.1; OpenSSL negotiates the highest
     * version both sides have, so 1.3 whenever the client has it. */
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1) {
        return -1;
    }
    /* No renegotiation: a client could make the server redo the costly
     * part of a handshake at will (RFC 7525 §3.5 allows refusing it). */
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_COMPRESSION);
    /* conn.c retries a blocked send with the same bytes at the front but
     * from another buffer; an SSL_write returns once a record is out
     * (tls_send offers at most one record anyway). */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* Read-ahead: one read(2) takes as many records as OpenSSL's buffer
     * holds, where without it every record costs two (its header, then
     * its body). What it read beyond the record returned is no longer
     * readiness for the event loop: tls_has_pending tells of it. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_AHEAD_BYTES);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    SSL_CTX_set_info_callback(ctx, info_callback);
    /* Session tickets are on by default; SSL_CTX_new drew their keys, so
     * every worker forked after this resumes any worker's sessions. A
     * reload builds a new context, with new keys (README, Resumption).
     * The cache serves TLS 1.2 session IDs within one worker. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, TLS_SESSION_CACHE_MAX);
    int rc = SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    return rc == 1 ? 0 : -1;
}

SSL_CTX *
transport_tls_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
    const char *cert = cfg->tls_certificate;
    const char *key = cfg->tls_certificate_key;
    char reason[TRANSPORT_TLS_REASON_MAX];
    SSL_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    ERR_clear_error();
    /* Open the files first, so that a missing or unreadable one is named
     * with the system's reason rather than OpenSSL's chain of errors. */
    if (check_file("tls_certificate", cert, err, errlen) != 0 ||
        check_file("tls_certificate_key", key, err, errlen) != 0) {
        goto fail;
    }
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || ctx_settings(ctx) != 0) {
        snprintf(err, errlen, "tls: cannot set up a TLS context: %s",
                 ssl_reason(reason, sizeof(reason), "unknown error"));
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        snprintf(err, errlen,
                 "tls_certificate %s: no usable PEM certificate (%s)", cert,
                 ssl_reason(reason, sizeof(reason), "none found"));
        goto fail;
    }
    if (load_key(key, &pkey, err, errlen) != 0) {
        goto fail;
    }
    /* Checked here, before SSL_CTX_use_PrivateKey, whose own check is
     * skipped when the key's type differs from the certificate's. */
    if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), pkey) != 1) {
        int other = key_matches_chain(ctx, pkey);
        if (other > 0) {
            /* Each path cut well short of its 1 KiB, so that the
             * sentence always fits (gcc -flto proves it). */
            snprintf(err, errlen,
                     "tls_certificate_key %.900s: key matches certificate %d "
                     "of %.900s, not the first: the file's first certificate "
                     "must be the server's own (leaf first, then its "
                     "intermediates)",
                     key, other + 1, cert);
        } else {
            snprintf(err, errlen,
                     "tls_certificate_key %s: key does not match the "
                     "certificate %s",
                     key, cert);
        }
        goto fail;
    }
    /* A key that signs nothing the policy allows would pass every check
     * here and fail every handshake: refuse it now, with the reason. */
    if (key_cannot_sign(pkey, reason, sizeof(reason)) != NULL) {
        snprintf(err, errlen,
                 "tls_certificate_key %s: %s cannot sign a TLS 1.2 ECDHE or "
                 "TLS 1.3 handshake (RSA, EC on P-256, P-384 or P-521, "
                 "Ed25519 and Ed448 keys can)",
                 key, reason);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "tls_certificate_key %s: unusable key (%s)", key,
                 ssl_reason(reason, sizeof(reason), "unknown error"));
        goto fail;
    }
    EVP_PKEY_free(pkey);
    /* Once the context is sure to be used: a refused one warns of
     * nothing. */
    STACK_OF(X509) *chain = NULL;
    warn_validity(cert, SSL_CTX_get0_certificate(ctx), 0);
    if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1 && chain != NULL) {
        for (int i = 0; i < sk_X509_num(chain); i++) {
            warn_validity(cert, sk_X509_value(chain, i), i + 1);
        }
    }
    return ctx;

fail:
    EVP_PKEY_free(pkey);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

SSL_CTX *
transport_tls_client_ctx_new(const char *cafile, bool insecure, char *err,
                             size_t errlen)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    char reason[TRANSPORT_TLS_REASON_MAX];
    SSL_CTX *ctx;

    ERR_clear_error();
    if (cafile != NULL && check_file("--cacert", cafile, err, errlen) != 0) {
        return NULL;
    }
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL ||
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
        snprintf(err, errlen, "tls: cannot set up a TLS context: %s",
                 ssl_reason(reason, sizeof(reason), "unknown error"));
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    int loaded = cafile != NULL
                     ? SSL_CTX_load_verify_locations(ctx, cafile, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
    if (loaded != 1) {
        snprintf(err, errlen, "%s%s: no usable PEM certificate (%s)",
                 cafile != NULL ? "--cacert " : "the system's CA store",
                 cafile != NULL ? cafile : "",
                 ssl_reason(reason, sizeof(reason), "none found"));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/*
 * The socket under OpenSSL: recv(2) and send(2) with MSG_NOSIGNAL, as
 * transport_tcp, where OpenSSL's socket BIO calls read(2) and write(2),
 * which pass through the file layer every time; and a note of whether
 * the last read emptied the socket, for tls_drained.
 */
static int
bio_read(BIO *b, char *buf, int len)
{
    struct tls_conn *tc = BIO_get_data(b);
    ssize_t n = recv(tc->fd, buf, (size_t)len, 0);

    BIO_clear_retry_flags(b);
    if (n < 0) {
        tc->drained = errno == EAGAIN;
        if (tc->drained || errno == EINTR) {
            BIO_set_retry_read(b);
        }
        return -1;
    }
    tc->drained = n < len;
    tc->peer_eof = n == 0;
    return (int)n;
}

static int
bio_write(BIO *b, const char *buf, int len)
{
    struct tls_conn *tc = BIO_get_data(b);
    ssize_t n = send(tc->fd, buf, (size_t)len, MSG_NOSIGNAL);

    BIO_clear_retry_flags(b);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            BIO_set_retry_write(b);
        }
        return -1;
    }
    return (int)n;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    /* OpenSSL asks a dozen times per echo: only EOF needs the state. */
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* nothing is held */
    case BIO_CTRL_EOF: {
        const struct tls_conn *tc = BIO_get_data(b);
        return tc != NULL && tc->peer_eof;
    }
    default:
        return 0; /* no kTLS, no fd to hand out, nothing pending */
    }
}

static int
bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

void
transport_tls_env_init(struct transport_tls_env *env, SSL_CTX *ctx)
{
    memset(env, 0, sizeof(*env));
    env->ctx = ctx;
}

void
transport_tls_env_done(struct transport_tls_env *env)
{
    BIO_meth_free(env->bio);
    env->bio = NULL;
}

/* The BIO method, made at the first connection. */
static BIO_METHOD *
env_bio(struct transport_tls_env *env)
{
    BIO_METHOD *m;

    if (env->bio != NULL) {
        return env->bio;
    }
    m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, TLS_BIO_NAME);
    if (m == NULL || BIO_meth_set_read(m, bio_read) != 1 ||
        BIO_meth_set_write(m, bio_write) != 1 ||
        BIO_meth_set_ctrl(m, bio_ctrl) != 1 ||
        BIO_meth_set_create(m, bio_create) != 1) {
        BIO_meth_free(m);
        return NULL;
    }
    env->bio = m;
    return m;
}

/* Keeps the peer's address and port from peer (may be NULL) in tc. */
static void
keep_peer(struct tls_conn *tc, const struct sockaddr *peer, socklen_t len)
{
    /* Copied out: the caller's sockaddr need not be aligned for these. */
    if (peer != NULL && peer->sa_family == AF_INET &&
        len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, peer, sizeof(sin));
        tc->peer_family = AF_INET;
        tc->peer_port = ntohs(sin.sin_port);
        memcpy(tc->peer_addr, &sin.sin_addr, sizeof(sin.sin_addr));
    } else if (peer != NULL && peer->sa_family == AF_INET6 &&
               len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, peer, sizeof(sin6));
        tc->peer_family = AF_INET6;
        tc->peer_port = ntohs(sin6.sin6_port);
        memcpy(tc->peer_addr, &sin6.sin6_addr, sizeof(sin6.sin6_addr));
    }
}

void *
transport_tls_conn_new(struct transport_tls_env *env, int fd,
                       const struct sockaddr *peer, socklen_t peer_len)
{
    struct tls_conn *tc = calloc(1, sizeof(*tc));

    if (tc == NULL) {
        return NULL;
    }
    tc->env = env;
    tc->fd = fd;
    keep_peer(tc, peer, peer_len);
    BIO_METHOD *m = env_bio(env);
    BIO *bio = m != NULL ? BIO_new(m) : NULL;
    tc->ssl = bio != NULL ? SSL_new(env->ctx) : NULL;
    if (tc->ssl == NULL) {
        BIO_free(bio);
        free(tc);
        ERR_clear_error();
        errno = ENOMEM;
        return NULL;
    }
    BIO_set_data(bio, tc);
    SSL_set_bio(tc->ssl, bio, bio); /* one reference, taken for both */
    SSL_set_accept_state(tc->ssl);
    return tc;
}

/* True when host is an IPv4 or IPv6 address rather than a name. */
static bool
is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

void *
transport_tls_client_conn_new(struct transport_tls_env *env, int fd,
                              const char *host)
{
    struct tls_conn *tc = transport_tls_conn_new(env, fd, NULL, 0);

    if (tc == NULL) {
        return NULL;
    }
    /* A client never meets a plain-HTTP peer on its own connection. */
    tc->sniffed = true;
    SSL_set_connect_state(tc->ssl);
    bool ip = is_ip_literal(host);
    X509_VERIFY_PARAM *vp = SSL_get0_param(tc->ssl);
    /* OpenSSL's macro takes a name it does not change, but not const. */
    char name[256];
    snprintf(name, sizeof(name), "%s", host);
    /* RFC 6066 §3: SNI carries names, never an address; RFC 6125: the
     * certificate must hold the name (or the address) connected to. */
    if ((!ip && SSL_set_tlsext_host_name(tc->ssl, name) != 1) ||
        (ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host)
            : SSL_set1_host(tc->ssl, host)) != 1) {
        SSL_free(tc->ssl);
        free(tc);
        ERR_clear_error();
        errno = ENOMEM;
        return NULL;
    }
    return tc;
}

const char *
transport_tls_verify_error(void *ctx)
{
    struct tls_conn *tc = ctx;
    long v = SSL_get_verify_result(tc->ssl);

    return v == X509_V_OK ? NULL : X509_verify_cert_error_string(v);
}

/* The peer of tc as "ADDR:PORT" or "[ADDR]:PORT": as accept gave it, or
 * else (a client's connection) as getpeername tells it now. */
static void
peer_text(const struct tls_conn *tc, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char host[INET6_ADDRSTRLEN];

    if (tc->peer_family != 0) {
        inet_ntop(tc->peer_family, tc->peer_addr, host, sizeof(host));
        snprintf(buf, len, tc->peer_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
                 host, tc->peer_port);
        return;
    }
    memset(&ss, 0, sizeof(ss));
    if (getpeername(tc->fd, (struct sockaddr *)&ss, &sslen) == -1) {
        snprintf(buf, len, "a peer gone");
    } else if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
    } else {
        snprintf(buf, len, "a local peer");
    }
}

/* Notes the end of the first handshake; after a fatal error OpenSSL's
 * state no longer tells whether there was one. */
static void
tls_progress(struct tls_conn *tc)
{
    if (!tc->established && SSL_is_init_finished(tc->ssl)) {
        tc->established = true;
    }
}

/*
 * Records why tc's connection failed: counted once (for the next report)
 * when its first handshake had not finished, else only logged at debug
 * level (a refused renegotiation, a bad record, a reset).
 */
static void
tls_failed(struct tls_conn *tc, const char *reason)
{
    struct transport_tls_env *env = tc->env;
    char peer[TRANSPORT_TLS_PEER_MAX];

    peer_text(tc, peer, sizeof(peer));
    if (tc->established) {
        log_debug("tls: %s from %s", reason, peer);
        return;
    }
    if (tc->counted) {
        return;
    }
    tc->counted = true;
    env->n_failed++;
    snprintf(env->last_reason, sizeof(env->last_reason), "%s", reason);
    memcpy(env->last_peer, peer, sizeof(env->last_peer));
    log_debug("tls: handshake failed: %s from %s", reason, peer);
}

/*
 * Empties the thread's error queue before an SSL call, since a stale
 * error would make SSL_get_error misread its result. The queue is
 * nearly always empty already (every failure here clears it), and
 * looking costs less than clearing its sixteen slots every call.
 */
static void
clear_stale_errors(void)
{
    if (ERR_peek_error() != 0) {
        ERR_clear_error();
    }
}

/*
 * Maps a failed SSL_read, SSL_write or SSL_shutdown (r <= 0) onto the
 * transport's results; reading tells which readiness is WSD_IO_AGAIN.
 */
static ssize_t
tls_result(struct tls_conn *tc, int r, bool reading)
{
    int saved = errno;
    int e = SSL_get_error(tc->ssl, r);
    unsigned long first = ERR_peek_error();
    char reason[TRANSPORT_TLS_REASON_MAX];
    bool eof;
    bool alert;

    switch (e) {
    case SSL_ERROR_WANT_READ:
        return reading ? WSD_IO_AGAIN : WSD_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return reading ? WSD_IO_WANT_WRITE : WSD_IO_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        /* The peer's close_notify: the end of its stream. */
        ERR_clear_error();
        if (reading) {
            return WSD_IO_EOF;
        }
        errno = EPIPE;
        return WSD_IO_ERROR;
    default:
        break;
    }
    /* A TCP end of stream without close_notify is an end of stream too:
     * WebSocket has its own close handshake to tell a clean close. */
    eof = (e == SSL_ERROR_SYSCALL && first == 0 && saved == 0) ||
          (ERR_GET_LIB(first) == ERR_LIB_SSL &&
           ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
    if (e == SSL_ERROR_SYSCALL && first == 0) {
        snprintf(reason, sizeof(reason), "%s",
                 saved != 0 ? strerror(saved) : "unexpected eof");
    } else {
        ssl_reason(reason, sizeof(reason), "unknown error");
    }
    /* A fatal alert from the peer (OpenSSL's reasons for those are the
     * alert's code past SSL_AD_REASON_OFFSET): the peer ended the
     * connection, and OpenSSL sends no alert back (RFC 8446 §6.2). Told
     * by EREMOTEIO, which no socket call returns (a socket the kernel
     * aborts fails with ECONNABORTED, which is no alert). */
    alert = ERR_GET_LIB(first) == ERR_LIB_SSL &&
            ERR_GET_REASON(first) >= SSL_AD_REASON_OFFSET &&
            ERR_GET_REASON(first) <= SSL_AD_REASON_OFFSET + 255;
    tls_failed(tc, reason);
    ERR_clear_error();
    if (eof && reading) {
        return WSD_IO_EOF;
    }
    errno = e == SSL_ERROR_SYSCALL && saved != 0 ? saved
            : eof                                ? EPIPE
            : alert                              ? EREMOTEIO
                                                 : EPROTO;
    return WSD_IO_ERROR;
}

/*
 * Looks at the peer's first byte, once it has come, without taking it:
 * a TLS record begins with its content type (20 to 24; 22 for the
 * ClientHello, RFC 8446 §5.1), an HTTP request with its method, a token
 * that is a word in letters (RFC 9110 §9). Returns true, once, when it
 * is a letter: the peer speaks plain HTTP, and tc carries bytes in the
 * clear from now on. Anything else is left to OpenSSL, which refuses
 * what is not TLS (and tells a silent peer, an end or an error).
 */
static bool
tls_sniff_plaintext(struct tls_conn *tc)
{
    unsigned char first;

    if (recv(tc->fd, &first, 1, MSG_PEEK) != 1) {
        return false;
    }
    tc->sniffed = true;
    if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z'))) {
        return false;
    }
    tc->plaintext = true;
    tls_failed(tc, "plain HTTP request on the TLS port");
    return true;
}

static ssize_t
tls_recv(void *ctx, int fd, void *buf, size_t len)
{
    struct tls_conn *tc = ctx;

    if (tc->plaintext) {
        return transport_tcp.recv(NULL, fd, buf, len);
    }
    if (!tc->sniffed && tls_sniff_plaintext(tc)) {
        return WSD_IO_PLAINTEXT;
    }
    clear_stale_errors();
    int r = SSL_read(tc->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    tls_progress(tc);
    return r > 0 ? r : tls_result(tc, r, true);
}

/*
 * Points *p at the next record's plaintext: the bytes of iov[0..iovcnt)
 * from offset skip on, one record's worth at most, straight from their
 * buffer when one holds them all, else gathered into record, so that
 * small pieces (a frame header and its payload) share a record. Returns
 * their count, 0 when none are left.
 */
static size_t
next_record(const struct iovec *iov, int iovcnt, size_t skip,
            unsigned char *record, const void **p)
{
    size_t want = 0;
    int i = 0;

    while (i < iovcnt && skip >= iov[i].iov_len) {
        skip -= iov[i++].iov_len;
    }
    for (int k = i; k < iovcnt && want < TLS_RECORD_BYTES; k++) {
        want += iov[k].iov_len - (k == i ? skip : 0);
    }
    if (want > TLS_RECORD_BYTES) {
        want = TLS_RECORD_BYTES;
    }
    if (want == 0 || iov[i].iov_len - skip >= want) {
        *p = want == 0 ? NULL : (const char *)iov[i].iov_base + skip;
        return want;
    }
    for (size_t got = 0; got < want; i++, skip = 0) {
        size_t n = iov[i].iov_len - skip;
        if (n > want - got) {
            n = want - got;
        }
        memcpy(record + got, (const char *)iov[i].iov_base + skip, n);
        got += n;
    }
    *p = record;
    return want;
}

/*
 * SSL_writes of a record each, as long as the socket takes them, so
 * that a short count means the socket is full, as from TCP. A record
 * that blocks stays with OpenSSL: the caller's retry offers its bytes
 * first again, and at least as many, because the caller's pending bytes
 * only grow.
 */
static ssize_t
tls_send(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    struct tls_conn *tc = ctx;
    unsigned char record[TLS_RECORD_BYTES];
    size_t sent = 0;
    size_t want;
    const void *p;

    if (tc->plaintext) {
        return transport_tcp.send(NULL, fd, iov, iovcnt);
    }
    while ((want = next_record(iov, iovcnt, sent, record, &p)) > 0) {
        clear_stale_errors();
        int r = SSL_write(tc->ssl, p, (int)want);
        tls_progress(tc);
        if (r <= 0) {
            int e = SSL_get_error(tc->ssl, r);
            if (sent > 0 &&
                (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)) {
                ERR_clear_error();
                break; /* what was sent counts; the rest waits */
            }
            return tls_result(tc, r, false);
        }
        sent += (size_t)r;
    }
    return (ssize_t)sent;
}

static int
tls_shutdown(void *ctx, int fd)
{
    struct tls_conn *tc = ctx;

    /* close_notify (RFC 8446 §6.1) once there was a handshake; called
     * again after a blocked attempt, SSL_shutdown sends the held alert. */
    if (SSL_is_init_finished(tc->ssl)) {
        ERR_clear_error();
        int r = SSL_shutdown(tc->ssl);
        if (r < 0) {
            ssize_t rc = tls_result(tc, r, false);
            return rc == WSD_IO_AGAIN || rc == WSD_IO_WANT_READ ? (int)rc
                                                                : WSD_IO_ERROR;
        }
    }
    return shutdown(fd, SHUT_WR) == -1 ? WSD_IO_ERROR : 0;
}

static bool
tls_drained(void *ctx, size_t got, size_t asked)
{
    struct tls_conn *tc = ctx;

    if (tc->plaintext) {
        return got < asked;
    }
    return got < asked && tc->drained && SSL_has_pending(tc->ssl) != 1;
}

static bool
tls_has_pending(void *ctx)
{
    struct tls_conn *tc = ctx;
    return SSL_has_pending(tc->ssl) == 1;
}

static void
tls_timed_out(void *ctx)
{
    struct tls_conn *tc = ctx;

    if (!tc->established) {
        tls_failed(tc, "handshake not finished in time");
    }
}

static void
tls_free(void *ctx)
{
    struct tls_conn *tc = ctx;

    /* A handshake still under way is dropped without a word: the worker
     * stops, or had no memory for it; tls_timed_out counted a timeout's
     * and tls_result every other failure. */
    if (tc == NULL) {
        return;
    }
    SSL_free(tc->ssl);
    free(tc);
}

void
transport_tls_report(struct transport_tls_env *env)
{
    if (env->n_failed == 0) {
        return;
    }
    log_msg(LOG_LEVEL_INFO,
            "tls: %u handshake%s failed in the last second, last: %s from "
            "%s",
            env->n_failed, env->n_failed == 1 ? "" : "s", env->last_reason,
            env->last_peer);
    env->n_failed = 0;
}

static bool
tls_describe(void *ctx, char *version, size_t version_cap, char *cipher,
             size_t cipher_cap)
{
    struct tls_conn *tc = ctx;

    /* Once established, always: a renegotiation the client begins (and
     * we refuse) leaves SSL_is_init_finished false. */
    if (tc == NULL || !tc->established) {
        return false;
    }
    snprintf(version, version_cap, "%s", SSL_get_version(tc->ssl));
    snprintf(cipher, cipher_cap, "%s", SSL_get_cipher_name(tc->ssl));
    return true;
}

const struct transport transport_tls = {
    .name = "tls",
    .short_read_drains = false,
    .drained = tls_drained,
    .recv = tls_recv,
    .send = tls_send,
    .shutdown = tls_shutdown,
    .has_pending = tls_has_pending,
    .describe = tls_describe,
    .timed_out = tls_timed_out,
    .free = tls_free,
};
