/* SPDX-License-Identifier: MIT */
/*
 * Tests of the TLS transport: the server context from certificate files
 * (every refusal with its message), and the transport driven through its
 * interface against an OpenSSL client over real loopback TCP connections:
 * the readiness results, one record per recv, records sent on while the
 * socket takes them (a small piece shares a record), retries after a blocked
 * send, the close, the protocol policy (versions, ciphers, ALPN,
 * renegotiation, resumption) and the counting of failed handshakes.
 * Keys and certificates are made here with OpenSSL's API, never by the
 * code under test.
 */
#include "autoconf.h"

#include "transport_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/dsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "log.h"
#include "tap.h"
#include "tls_memory.h"

#define PUMP_ROUNDS 500 /* of at most 10 ms each: every wait is bounded */

static char dir[64];
static int listen_fd = -1;

/* Files made once: paths inside dir. */
static char cert_file[128], key_file[128], other_key_file[128];
static char rsa_key_file[128], enc_key_file[128], chain_file[128];
static char chain_key_file[128], root_file[128], big_file[128];
static char big_key_file[128], reversed_file[128];

static void
path_in_dir(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static EVP_PKEY *
ec_key(void)
{
    return EVP_EC_gen("P-256");
}

/*
 * A certificate for key, named cn, signed by issuer_key under issuer (NULL:
 * self-signed). ca marks a CA; pad_bytes > 0 adds a comment extension of
 * that size (to make a handshake flight larger than the socket buffers).
 */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
          bool ca, size_t pad_bytes)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX v3;
    static long serial = 1;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x,
                         issuer != NULL ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(
        NULL, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (pad_bytes > 0) {
        char *pad = malloc(pad_bytes + 1);
        memset(pad, 'p', pad_bytes);
        pad[pad_bytes] = '\0';
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_netscape_comment, pad);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        free(pad);
    }
    /* EdDSA signs the message itself: no digest to name. */
    int id = EVP_PKEY_get_base_id(issuer_key);
    X509_sign(x, issuer_key,
              id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL
                                                             : EVP_sha256());
    X509_NAME_free(name);
    return x;
}

static void
write_pem(const char *path, X509 *const *certs, size_t n, EVP_PKEY *key,
          const char *passphrase)
{
    FILE *f = fopen(path, "w");
    for (size_t i = 0; i < n; i++) {
        PEM_write_X509(f, certs[i]);
    }
    if (key != NULL) {
        PEM_write_PrivateKey(
            f, key, passphrase != NULL ? EVP_aes_128_cbc() : NULL,
            (const unsigned char *)passphrase,
            passphrase != NULL ? (int)strlen(passphrase) : 0, NULL, NULL);
    }
    fclose(f);
}

/* Every file the tests load. */
static void
make_files(void)
{
    EVP_PKEY *key = ec_key(), *other = ec_key(), *rsa = EVP_RSA_gen(2048);
    EVP_PKEY *root_key = ec_key(), *mid_key = ec_key(), *leaf_key = ec_key();
    EVP_PKEY *big_key = ec_key();
    X509 *cert = make_cert(key, "localhost", NULL, key, false, 0);
    X509 *root = make_cert(root_key, "wsd test root", NULL, root_key, true, 0);
    X509 *mid =
        make_cert(mid_key, "wsd test intermediate", root, root_key, true, 0);
    X509 *leaf = make_cert(leaf_key, "localhost", mid, mid_key, false, 0);
    X509 *big = make_cert(big_key, "localhost", NULL, big_key, false, 60000);
    X509 *chain[2] = {leaf, mid};

    path_in_dir(cert_file, sizeof(cert_file), "cert.pem");
    path_in_dir(key_file, sizeof(key_file), "key.pem");
    path_in_dir(other_key_file, sizeof(other_key_file), "other.pem");
    path_in_dir(rsa_key_file, sizeof(rsa_key_file), "rsa.pem");
    path_in_dir(enc_key_file, sizeof(enc_key_file), "encrypted.pem");
    path_in_dir(chain_file, sizeof(chain_file), "chain.pem");
    path_in_dir(chain_key_file, sizeof(chain_key_file), "chain-key.pem");
    path_in_dir(root_file, sizeof(root_file), "root.pem");
    path_in_dir(big_file, sizeof(big_file), "big.pem");
    path_in_dir(big_key_file, sizeof(big_key_file), "big-key.pem");
    path_in_dir(reversed_file, sizeof(reversed_file), "reversed.pem");
    write_pem(cert_file, &cert, 1, NULL, NULL);
    write_pem(key_file, NULL, 0, key, NULL);
    write_pem(other_key_file, NULL, 0, other, NULL);
    write_pem(rsa_key_file, NULL, 0, rsa, NULL);
    write_pem(enc_key_file, NULL, 0, key, "secret");
    write_pem(chain_file, chain, 2, NULL, NULL);
    X509 *reversed[2] = {mid, leaf};
    write_pem(reversed_file, reversed, 2, NULL, NULL);
    write_pem(chain_key_file, NULL, 0, leaf_key, NULL);
    write_pem(root_file, &root, 1, NULL, NULL);
    write_pem(big_file, &big, 1, NULL, NULL);
    write_pem(big_key_file, NULL, 0, big_key, NULL);
    X509_free(cert);
    X509_free(root);
    X509_free(mid);
    X509_free(leaf);
    X509_free(big);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(mid_key);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(big_key);
}

static SSL_CTX *
server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
    struct config cfg;
    config_init(&cfg);
    snprintf(cfg.tls_certificate, sizeof(cfg.tls_certificate), "%s", cert);
    snprintf(cfg.tls_certificate_key, sizeof(cfg.tls_certificate_key), "%s",
             key);
    err[0] = '\0';
    return transport_tls_ctx_new(&cfg, err, errlen);
}

static void
test_ctx_refusals(void)
{
    char missing[160], want[512], err[CONFIG_ERROR_MAX];
    struct {
        const char *cert, *key;
        const char *problem; /* after "DIRECTIVE FILE: " */
        bool key_named;      /* the key file is the one named */
    } cases[] = {
        {missing, key_file, "No such file or directory", false},
        {dir, key_file, "not a regular file", false},
        {key_file, key_file, "no usable PEM certificate (no start line)",
         false},
        {cert_file, missing, "No such file or directory", true},
        {cert_file, cert_file, "no PEM private key in it", true},
        {cert_file, enc_key_file,
         "the key is encrypted, and wsd asks for no passphrase", true},
        {cert_file, other_key_file, NULL, true},
        {cert_file, rsa_key_file, NULL, true},
    };

    path_in_dir(missing, sizeof(missing), "missing.pem");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SSL_CTX *ctx =
            server_ctx(cases[i].cert, cases[i].key, err, sizeof(err));
        ok(ctx == NULL, "case %zu refused", i);
        if (cases[i].problem == NULL) {
            snprintf(want, sizeof(want),
                     "tls_certificate_key %s: key does not match the "
                     "certificate %s",
                     cases[i].key, cases[i].cert);
        } else {
            snprintf(want, sizeof(want), "%s %s: %s",
                     cases[i].key_named ? "tls_certificate_key"
                                        : "tls_certificate",
                     cases[i].key_named ? cases[i].key : cases[i].cert,
                     cases[i].problem);
        }
        is_str(err, want, "case %zu names the file and the problem", i);
        ok(ERR_peek_error() == 0, "case %zu leaves no OpenSSL error queued", i);
        SSL_CTX_free(ctx);
    }

    /* The intermediate first, then the leaf: the key matches the second
     * certificate, and the message says what the order must be. */
    SSL_CTX *ctx = server_ctx(reversed_file, chain_key_file, err, sizeof(err));
    ok(ctx == NULL, "a chain with the leaf second is refused");
    snprintf(want, sizeof(want),
             "tls_certificate_key %s: key matches certificate 2 of %s, not "
             "the first: the file's first certificate must be the server's "
             "own (leaf first, then its intermediates)",
             chain_key_file, reversed_file);
    is_str(err, want, "... saying that the leaf must come first");
    ok(ERR_peek_error() == 0, "... and leaves no OpenSSL error queued");
    SSL_CTX_free(ctx);
}

static void
test_ctx_settings(SSL_CTX *ctx)
{
    uint64_t opts = SSL_CTX_get_options(ctx);
    long mode = SSL_CTX_get_mode(ctx);

    is_int(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION,
           "TLS 1.2 at least");
    is_int(SSL_CTX_get_max_proto_version(ctx), 0,
           "no highest version: TLS 1.3 when the client has it");
    ok(opts & SSL_OP_NO_RENEGOTIATION, "renegotiation refused");
    ok(opts & SSL_OP_NO_COMPRESSION, "no TLS compression (CRIME)");
    ok(opts & SSL_OP_CIPHER_SERVER_PREFERENCE, "the server's cipher order");
    ok(!(opts & SSL_OP_NO_TICKET), "session tickets on");
    ok(mode & SSL_MODE_ENABLE_PARTIAL_WRITE, "partial writes");
    ok(mode & SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER,
       "a retried write may come from another buffer");
    is_int(SSL_CTX_get_session_cache_mode(ctx), SSL_SESS_CACHE_SERVER,
           "server-side session cache");
    is_int(SSL_CTX_sess_get_cache_size(ctx), 4096,
           "at most 4096 cached sessions a worker");
    ok(SSL_CTX_get_read_ahead(ctx), "read-ahead: records in one read(2)");
}

/* Client and server ends of one loopback TCP connection. */
struct pair {
    int cfd, sfd;
    SSL *client;
    void *server; /* transport_tls state */
};

static void
nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Opens a connection; client_bufs > 0 shrinks the client's receive and
 * the server's send buffer to that many bytes. */
static void
pair_open(struct pair *p, struct transport_tls_env *env, SSL_CTX *cctx,
          int client_bufs)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int one = 1;

    getsockname(listen_fd, (struct sockaddr *)&sin, &len);
    p->cfd = socket(AF_INET, SOCK_STREAM, 0);
    if (client_bufs > 0) {
        setsockopt(p->cfd, SOL_SOCKET, SO_RCVBUF, &client_bufs,
                   sizeof(client_bufs));
    }
    if (connect(p->cfd, (struct sockaddr *)&sin, len) == -1) {
        tap_diag("connect: %s", strerror(errno));
    }
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);
    p->sfd = accept(listen_fd, (struct sockaddr *)&peer, &peer_len);
    if (client_bufs > 0) {
        setsockopt(p->sfd, SOL_SOCKET, SO_SNDBUF, &client_bufs,
                   sizeof(client_bufs));
    }
    setsockopt(p->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(p->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    nonblock(p->cfd);
    nonblock(p->sfd);
    p->client = cctx != NULL ? SSL_new(cctx) : NULL;
    if (p->client != NULL) {
        SSL_set_fd(p->client, p->cfd);
        SSL_set_connect_state(p->client);
    }
    p->server =
        transport_tls_conn_new(env, p->sfd, (struct sockaddr *)&peer, peer_len);
}

static void
pair_close(struct pair *p)
{
    transport_tls.free(p->server);
    SSL_free(p->client);
    close(p->cfd);
    close(p->sfd);
    ERR_clear_error();
}

static void
wait_io(const struct pair *p)
{
    struct pollfd fds[2] = {{p->cfd, POLLIN, 0}, {p->sfd, POLLIN, 0}};
    poll(fds, 2, 10);
}

/*
 * Runs the handshake: the client's SSL_do_handshake against the server's
 * recv (WSD_IO_AGAIN until application data comes). Returns 1 when the
 * client finished, 0 when it failed; *srv gets the server's last result.
 */
static int
pair_handshake(struct pair *p, ssize_t *srv)
{
    char buf[64];
    int after = 0; /* server reads since the client finished */

    *srv = WSD_IO_AGAIN;
    for (int i = 0; i < PUMP_ROUNDS; i++) {
        if (after == 0) {
            ERR_clear_error();
            int r = SSL_do_handshake(p->client);
            int e = SSL_get_error(p->client, r);
            if (r == 1) {
                after = 1;
            } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                /* Let the server read the client's alert. */
                for (int j = 0; j < 50 && *srv == WSD_IO_AGAIN; j++) {
                    wait_io(p);
                    *srv =
                        transport_tls.recv(p->server, p->sfd, buf, sizeof(buf));
                }
                return 0;
            }
        }
        *srv = transport_tls.recv(p->server, p->sfd, buf, sizeof(buf));
        if (*srv != WSD_IO_AGAIN && *srv != WSD_IO_WANT_WRITE) {
            return after > 0;
        }
        /* TLS 1.3: the client is done before the server has read its
         * Finished; a server read or two completes the handshake. */
        if (after > 0 && after++ >= 2) {
            return 1;
        }
        wait_io(p);
    }
    return after > 0;
}

/* Reads exactly n bytes on the client side, bounded in time. */
static size_t
client_read(struct pair *p, unsigned char *buf, size_t n)
{
    size_t got = 0;
    for (int i = 0; i < PUMP_ROUNDS && got < n; i++) {
        int r = SSL_read(p->client, buf + got, (int)(n - got));
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (SSL_get_error(p->client, r) != SSL_ERROR_WANT_READ) {
            break;
        }
        wait_io(p);
    }
    return got;
}

/* The client's first SSL_read result other than SSL_ERROR_WANT_READ,
 * bounded: one record's bytes, or the end or error that came instead. */
static int
client_read_once(struct pair *p, unsigned char *buf, int n)
{
    int r = SSL_read(p->client, buf, n);
    for (int i = 0; i < PUMP_ROUNDS && r <= 0 &&
                    SSL_get_error(p->client, r) == SSL_ERROR_WANT_READ;
         i++) {
        wait_io(p);
        r = SSL_read(p->client, buf, n);
    }
    return r;
}

/* The server's next recv result other than WSD_IO_AGAIN, bounded. */
static ssize_t
server_recv(struct pair *p, void *buf, size_t len)
{
    ssize_t n = WSD_IO_AGAIN;
    for (int i = 0; i < PUMP_ROUNDS && n == WSD_IO_AGAIN; i++) {
        n = transport_tls.recv(p->server, p->sfd, buf, len);
        if (n == WSD_IO_AGAIN) {
            wait_io(p);
        }
    }
    return n;
}

static SSL_CTX *
client_ctx(int min_version, int max_version, const char *ciphers)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, min_version);
    SSL_CTX_set_max_proto_version(ctx, max_version);
    if (ciphers != NULL) {
        SSL_CTX_set_cipher_list(ctx, ciphers);
    }
    return ctx;
}

/* A key of the kind name names: "RSA", "RSA-PSS", "DSA", "ED25519",
 * "ED448", or "EC:curve". */
static EVP_PKEY *
key_of_kind(const char *kind)
{
    if (strncmp(kind, "EC:", 3) == 0) {
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind + 3);
    }
    if (strcmp(kind, "RSA") == 0) {
        return EVP_PKEY_Q_keygen(NULL, NULL, kind, (size_t)2048);
    }
    if (strcmp(kind, "RSA-PSS") == 0) {
        EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, kind, NULL);
        EVP_PKEY *key = NULL;
        if (kc != NULL && EVP_PKEY_keygen_init(kc) == 1 &&
            EVP_PKEY_CTX_set_rsa_keygen_bits(kc, 2048) == 1) {
            EVP_PKEY_keygen(kc, &key);
        }
        EVP_PKEY_CTX_free(kc);
        return key;
    }
    if (strcmp(kind, "DSA") != 0) {
        return EVP_PKEY_Q_keygen(NULL, NULL, kind);
    }
    /* DSA: parameters first (FIPS 186-4 sizes, as openssl dsaparam). */
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
    EVP_PKEY *params = NULL, *key = NULL;
    if (pc != NULL && EVP_PKEY_paramgen_init(pc) == 1 &&
        EVP_PKEY_CTX_set_dsa_paramgen_bits(pc, 2048) == 1 &&
        EVP_PKEY_CTX_set_dsa_paramgen_q_bits(pc, 224) == 1 &&
        EVP_PKEY_paramgen(pc, &params) == 1) {
        EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL);
        if (kc != NULL && EVP_PKEY_keygen_init(kc) == 1) {
            EVP_PKEY_keygen(kc, &key);
        }
        EVP_PKEY_CTX_free(kc);
    }
    EVP_PKEY_free(params);
    EVP_PKEY_CTX_free(pc);
    return key;
}

/*
 * One handshake at exactly version between a client of OpenSSL's
 * defaults and a server of sctx, through a pair of memory BIOs: 1 when
 * both sides finished, 0 when either failed.
 */
static int
memory_handshake(SSL_CTX *sctx, int version)
{
    SSL_CTX *cctx = client_ctx(version, version, NULL);
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    BIO *cb = NULL, *sb = NULL;
    int done_c = 0, done_s = 0, failed = 0;

    BIO_new_bio_pair(&cb, 0, &sb, 0);
    SSL_set_bio(c, cb, cb);
    SSL_set_bio(s, sb, sb);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    for (int i = 0; i < 50 && !failed && !(done_c && done_s); i++) {
        int r = SSL_do_handshake(c);
        done_c = r == 1;
        failed = r <= 0 && SSL_get_error(c, r) != SSL_ERROR_WANT_READ;
        r = SSL_do_handshake(s);
        done_s = r == 1;
        failed =
            failed || (r <= 0 && SSL_get_error(s, r) != SSL_ERROR_WANT_READ);
    }
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(cctx);
    ERR_clear_error();
    return done_c && done_s && !failed;
}

/* A server context with wsd's policy (README, TLS), made here: TLS 1.2
 * at least, ECDHE with AES-GCM or ChaCha20 for 1.2. */
static SSL_CTX *
policy_ctx(X509 *cert, EVP_PKEY *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
    SSL_CTX_use_certificate(ctx, cert);
    SSL_CTX_use_PrivateKey(ctx, key);
    ERR_clear_error();
    return ctx;
}

/*
 * Keys that cannot sign any handshake the policy offers are refused at
 * start-up, with the reason; the others load. Which is which is checked
 * here first by real handshakes, at TLS 1.2 and at 1.3, against a
 * server with the same policy made without wsd's code.
 */
static void
test_key_types(void)
{
    static const struct {
        const char *kind;
        const char *name; /* in the refusal, "" when it signs */
    } cases[] = {
        {"RSA", ""},
        {"RSA-PSS", ""},
        {"EC:P-256", ""},
        {"EC:P-384", ""},
        {"EC:P-521", ""},
        {"ED25519", ""},
        {"ED448", ""},
        {"DSA", "DSA keys"},
        {"EC:secp256k1", "EC keys on secp256k1"},
        {"EC:brainpoolP256r1", "EC keys on brainpoolP256r1"},
    };
    char cert[160], key[160], want[512], err[CONFIG_ERROR_MAX];

    path_in_dir(cert, sizeof(cert), "kind-cert.pem");
    path_in_dir(key, sizeof(key), "kind-key.pem");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *kind = cases[i].kind;
        bool signs = cases[i].name[0] == '\0';
        EVP_PKEY *k = key_of_kind(kind);
        if (k == NULL) {
            ok(false, "%s: a key made", kind);
            ERR_clear_error();
            continue;
        }
        X509 *x = make_cert(k, "localhost", NULL, k, false, 0);
        write_pem(cert, &x, 1, NULL, NULL);
        write_pem(key, NULL, 0, k, NULL);

        SSL_CTX *ref = policy_ctx(x, k);
        is_int(memory_handshake(ref, TLS1_2_VERSION), signs,
               "%s: %s TLS 1.2 handshake under the policy", kind,
               signs ? "a" : "no");
        is_int(memory_handshake(ref, TLS1_3_VERSION), signs,
               "%s: %s TLS 1.3 handshake under the policy", kind,
               signs ? "a" : "no");
        SSL_CTX_free(ref);

        SSL_CTX *ctx = server_ctx(cert, key, err, sizeof(err));
        if (signs) {
            ok(ctx != NULL, "%s: loaded (%s)", kind, err);
            ok(ctx != NULL && memory_handshake(ctx, TLS1_2_VERSION) &&
                   memory_handshake(ctx, TLS1_3_VERSION),
               "%s: wsd's context completes TLS 1.2 and 1.3 handshakes", kind);
        } else {
            ok(ctx == NULL, "%s: refused", kind);
            snprintf(want, sizeof(want),
                     "tls_certificate_key %s: %s cannot sign a TLS 1.2 "
                     "ECDHE or TLS 1.3 handshake (RSA, EC on P-256, P-384 "
                     "or P-521, Ed25519 and Ed448 keys can)",
                     key, cases[i].name);
            is_str(err, want, "%s: the file and the problem named", kind);
        }
        ok(ERR_peek_error() == 0, "%s: no OpenSSL error left queued", kind);
        SSL_CTX_free(ctx);
        X509_free(x);
        EVP_PKEY_free(k);
    }
    unlink(cert);
    unlink(key);
}

/* Runs fn with what the log writes to stderr (at warn level and above)
 * going into buf[0..len), NUL-terminated. */
static void
capture_log(void (*fn)(void *), void *arg, char *buf, size_t len)
{
    char log_path[128];
    path_in_dir(log_path, sizeof(log_path), "log");
    int saved = dup(STDERR_FILENO);
    int fd = open(log_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    dup2(fd, STDERR_FILENO);
    log_set_level(LOG_LEVEL_WARN);
    fn(arg);
    log_set_level(LOG_LEVEL_ALERT);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    FILE *f = fopen(log_path, "r");
    size_t n = f != NULL ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f != NULL) {
        fclose(f);
    }
}

struct dated_load {
    const char *cert, *key;
    SSL_CTX *ctx;
    char err[CONFIG_ERROR_MAX];
};

static void
dated_load(void *arg)
{
    struct dated_load *d = arg;
    d->ctx = server_ctx(d->cert, d->key, d->err, sizeof(d->err));
}

/*
 * A certificate out of its validity period is loaded (an operator may
 * test clients against one on purpose), with a warning naming the
 * directive, the file and the date; one within it, without.
 */
static void
test_validity(void)
{
    static const struct {
        const char *what;
        const char *not_before, *not_after; /* RFC 5280 times */
        const char *warning; /* after "tls_certificate FILE: ", or NULL */
    } cases[] = {
        {"expired", "20190101000000Z", "20200102030405Z",
         "the certificate expired on 2020-01-02T03:04:05Z (notAfter)"},
        {"not yet valid", "20990304050607Z", "21000101000000Z",
         "the certificate is not valid before 2099-03-04T05:06:07Z "
         "(notBefore)"},
        {"valid", "20190101000000Z", "20990101000000Z", NULL},
    };
    char cert[160], key[160], want[512], log[2048];
    EVP_PKEY *k = ec_key();
    long pid = (long)getpid();

    path_in_dir(cert, sizeof(cert), "dated-cert.pem");
    path_in_dir(key, sizeof(key), "dated-key.pem");
    write_pem(key, NULL, 0, k, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509 *x = make_cert(k, "localhost", NULL, k, false, 0);
        ASN1_TIME *nb = ASN1_TIME_new(), *na = ASN1_TIME_new();
        ASN1_TIME_set_string_X509(nb, cases[i].not_before);
        ASN1_TIME_set_string_X509(na, cases[i].not_after);
        X509_set1_notBefore(x, nb);
        X509_set1_notAfter(x, na);
        X509_sign(x, k, EVP_sha256());
        write_pem(cert, &x, 1, NULL, NULL);
        struct dated_load d = {.cert = cert, .key = key};
        capture_log(dated_load, &d, log, sizeof(log));
        ok(d.ctx != NULL, "%s: loaded all the same (%s)", cases[i].what, d.err);
        if (cases[i].warning != NULL) {
            snprintf(want, sizeof(want),
                     "wsd[%ld]: warn: tls_certificate %s: %s; clients that "
                     "check it will refuse it\n",
                     pid, cert, cases[i].warning);
        } else {
            want[0] = '\0';
        }
        is_str(log, want, "%s: %s", cases[i].what,
               cases[i].warning != NULL ? "one warning, with the date"
                                        : "no warning");
        SSL_CTX_free(d.ctx);
        ASN1_TIME_free(nb);
        ASN1_TIME_free(na);
        X509_free(x);
    }

    /* An intermediate that expired, behind a valid leaf: named by its
     * place in the file. */
    EVP_PKEY *mid_key = ec_key();
    X509 *mid =
        make_cert(mid_key, "wsd test intermediate", NULL, mid_key, true, 0);
    ASN1_TIME *na = ASN1_TIME_new();
    ASN1_TIME_set_string_X509(na, "20200102030405Z");
    X509_set1_notAfter(mid, na);
    X509_sign(mid, mid_key, EVP_sha256());
    X509 *chain[2] = {make_cert(k, "localhost", mid, mid_key, false, 0), mid};
    write_pem(cert, chain, 2, NULL, NULL);
    struct dated_load d = {.cert = cert, .key = key};
    capture_log(dated_load, &d, log, sizeof(log));
    ok(d.ctx != NULL, "expired intermediate: loaded (%s)", d.err);
    snprintf(want, sizeof(want),
             "wsd[%ld]: warn: tls_certificate %s: certificate 2 of the file "
             "expired on 2020-01-02T03:04:05Z (notAfter); clients that check "
             "it will refuse it\n",
             pid, cert);
    is_str(log, want, "expired intermediate: its warning names its place");
    SSL_CTX_free(d.ctx);
    ASN1_TIME_free(na);
    X509_free(chain[0]);
    X509_free(mid);
    EVP_PKEY_free(mid_key);
    EVP_PKEY_free(k);
    unlink(cert);
    unlink(key);
}

static void
test_io(struct transport_tls_env *env)
{
    SSL_CTX *cctx = client_ctx(0, 0, NULL);
    struct pair p;
    unsigned char buf[70000], got[70000];
    ssize_t srv;

    static const unsigned char alpn[] = "\x02h2\x08http/1.1";
    SSL_CTX_set_alpn_protos(cctx, alpn, sizeof(alpn) - 1);
    pair_open(&p, env, cctx, 0);
    ok(p.server != NULL, "transport_tls_conn_new");
    /* Before the handshake a send needs the client's records. */
    char x[1] = {'x'};
    struct iovec early = {.iov_base = x, .iov_len = 1};
    is_int(transport_tls.send(p.server, p.sfd, &early, 1), WSD_IO_WANT_READ,
           "a send before the handshake waits for readability");
    is_int(pair_handshake(&p, &srv), 1, "handshake");
    is_int(srv, WSD_IO_AGAIN, "no data yet: WSD_IO_AGAIN");
    is_str(SSL_get_version(p.client), "TLSv1.3", "TLS 1.3 negotiated");
    const unsigned char *proto = NULL;
    unsigned proto_len = 0;
    SSL_get0_alpn_selected(p.client, &proto, &proto_len);
    is_mem(proto, proto_len, "http/1.1", 8,
           "ALPN: http/1.1 chosen from h2, http/1.1");

    /* One SSL_read per recv: three records, three reads; the last one
     * drained what had come, the others did not (read ahead, OpenSSL
     * holds the next record). */
    memset(buf, 'a', 3000);
    for (size_t i = 0; i < 3; i++) {
        SSL_write(p.client, buf + i * 1000, 1000);
    }
    wait_io(&p);
    for (int i = 0; i < 3; i++) {
        is_int(server_recv(&p, got, sizeof(got)), 1000,
               "recv %d returns one record's 1000 bytes", i);
        is_int(transport_tls.drained(p.server, 1000, sizeof(got)), i == 2,
               "recv %d: %s", i, i == 2 ? "drained" : "more held");
    }
    ok(!transport_tls.drained(p.server, sizeof(got), sizeof(got)),
       "a full read never says drained");
    is_int(transport_tls.recv(p.server, p.sfd, got, sizeof(got)), WSD_IO_AGAIN,
           "then WSD_IO_AGAIN");
    ok(transport_tls.drained(p.server, 0, sizeof(got)),
       "which drained the socket");

    /* A record read in part leaves the rest pending. */
    for (size_t i = 0; i < 5000; i++) {
        buf[i] = (unsigned char)(i * 7);
    }
    SSL_write(p.client, buf, 5000);
    is_int(server_recv(&p, got, 100), 100, "recv of 100 from a 5000 record");
    ok(transport_tls.has_pending(p.server), "the rest is pending");
    is_int(transport_tls.recv(p.server, p.sfd, got + 100, sizeof(got) - 100),
           4900, "then the rest without waiting");
    is_mem(got, 5000, buf, 5000, "bytes intact");
    ok(!transport_tls.has_pending(p.server), "nothing pending after");

    /* Small pieces share a record, and a send goes on record by record
     * while the socket takes them. */
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char)(i * 13 + 1);
    }
    struct iovec iov[4] = {
        {buf, 2}, {buf + 2, 8}, {buf + 10, 20000}, {buf + 20010, 5}};
    is_int(transport_tls.send(p.server, p.sfd, iov, 4), 20015,
           "gathered send of 20015 bytes takes them all");
    is_int(client_read_once(&p, got, 20015), 16384,
           "the first record is a full one: 2 + 8 + 16374");
    is_int(client_read(&p, got + 16384, 20015 - 16384), 20015 - 16384,
           "the second the rest, 3626 + 5");
    is_mem(got, 20015, buf, 20015, "in order and intact");

    /* The server's close: close_notify, then the FIN. */
    is_int(transport_tls.shutdown(p.server, p.sfd), 0, "shutdown");
    int r = client_read_once(&p, got, 1);
    is_int(SSL_get_error(p.client, r), SSL_ERROR_ZERO_RETURN,
           "the client gets close_notify");
    ssize_t eof = -1;
    for (int i = 0; i < PUMP_ROUNDS && eof == -1; i++) {
        wait_io(&p);
        eof = read(p.cfd, got, 1);
    }
    is_int(eof, 0, "then the end of the stream");
    pair_close(&p);

    /* ALPN without http/1.1: no answer, and the handshake goes on. */
    static const unsigned char h2[] = "\x02h2";
    SSL_CTX_set_alpn_protos(cctx, h2, sizeof(h2) - 1);
    pair_open(&p, env, cctx, 0);
    is_int(pair_handshake(&p, &srv), 1, "handshake offering only h2");
    SSL_get0_alpn_selected(p.client, &proto, &proto_len);
    is_int(proto_len, 0, "no ALPN protocol chosen");
    /* The client's close_notify, then its close without one. */
    SSL_shutdown(p.client);
    is_int(server_recv(&p, got, sizeof(got)), WSD_IO_EOF,
           "close_notify: WSD_IO_EOF");
    pair_close(&p);
    pair_open(&p, env, cctx, 0);
    is_int(pair_handshake(&p, &srv), 1, "handshake");
    shutdown(p.cfd, SHUT_WR);
    is_int(server_recv(&p, got, sizeof(got)), WSD_IO_EOF,
           "a FIN without close_notify: WSD_IO_EOF too");
    pair_close(&p);
    SSL_CTX_free(cctx);
    is_int(env->n_failed, 0, "no handshake failed so far");
}

/*
 * Fills the connection until the server's send would block, then drains
 * the client while retrying with the same bytes split differently and
 * with more behind them, as conn.c does from its output buffer.
 */
static void
test_blocked_send(struct transport_tls_env *env)
{
    enum { TOTAL = 4 << 20 };
    SSL_CTX *cctx = client_ctx(0, 0, NULL);
    unsigned char *data = malloc(TOTAL), *got = malloc(TOTAL);
    struct pair p;
    ssize_t srv;
    size_t sent = 0, read_n = 0;
    int blocked = 0, rounds = 0, errors = 0, partial = 0;

    for (size_t i = 0; i < TOTAL; i++) {
        data[i] = (unsigned char)(i ^ (i >> 8) ^ (i >> 16));
    }
    pair_open(&p, env, cctx, 4096);
    is_int(pair_handshake(&p, &srv), 1, "handshake (small buffers)");
    while ((sent < TOTAL || read_n < TOTAL) && rounds++ < 20000) {
        /* Alternate the layouts: one buffer, or 3 bytes then the rest. */
        size_t left = TOTAL - sent;
        struct iovec iov[2] = {{data + sent, left < 3 ? left : 3},
                               {data + sent + 3, left < 3 ? 0 : left - 3}};
        ssize_t n = 0;
        if (left > 0) {
            if (rounds % 2 == 0) {
                iov[0].iov_len = left;
            }
            n = transport_tls.send(p.server, p.sfd, iov,
                                   rounds % 2 == 0 ? 1 : 2);
        }
        if (n > 0) {
            partial += (size_t)n < left;
            sent += (size_t)n;
            continue;
        }
        if (n == WSD_IO_AGAIN) {
            blocked++;
        } else if (left > 0) {
            errors++;
            break;
        }
        int r = SSL_read(p.client, got + read_n, (int)(TOTAL - read_n));
        if (r > 0) {
            read_n += (size_t)r;
        } else {
            wait_io(&p);
        }
    }
    ok(blocked > 0, "the send blocked (%d times)", blocked);
    ok(partial > 0, "a send took some records, then blocked (%d times)",
       partial);
    is_int(errors, 0, "no retry was refused");
    is_int(read_n, TOTAL, "the client got every byte");
    ok(memcmp(got, data, TOTAL) == 0, "in order and intact");
    pair_close(&p);
    SSL_CTX_free(cctx);
    free(data);
    free(got);
}

/* A handshake flight larger than the socket buffers: the server's recv
 * must send before it can read on. */
static void
test_recv_wants_write(void)
{
    char err[CONFIG_ERROR_MAX];
    SSL_CTX *big = server_ctx(big_file, big_key_file, err, sizeof(err));
    SSL_CTX *cctx = client_ctx(0, 0, NULL);
    struct transport_tls_env env;
    struct pair p;
    unsigned char buf[64];
    ssize_t n = WSD_IO_AGAIN;

    ok(big != NULL, "context with a 60 KB certificate: %s", err);
    transport_tls_env_init(&env, big);
    pair_open(&p, &env, cctx, 4096);
    /* The ClientHello, and no reading by the client meanwhile. */
    SSL_do_handshake(p.client);
    for (int i = 0; i < PUMP_ROUNDS && n == WSD_IO_AGAIN; i++) {
        n = transport_tls.recv(p.server, p.sfd, buf, sizeof(buf));
        if (n == WSD_IO_AGAIN) {
            wait_io(&p);
        }
    }
    is_int(n, WSD_IO_WANT_WRITE,
           "recv whose flight does not fit: WSD_IO_WANT_WRITE");
    ssize_t srv;
    is_int(pair_handshake(&p, &srv), 1,
           "the handshake completes once the client reads");
    pair_close(&p);
    is_int(env.n_failed, 0, "not a failure");
    SSL_CTX_free(cctx);
    transport_tls_env_done(&env);
    SSL_CTX_free(big);
}

/* Raw bytes from a client that speaks no TLS; the server's result. */
static ssize_t
raw_client(struct transport_tls_env *env, const void *bytes, size_t len,
           int *err)
{
    struct pair p;
    unsigned char buf[64];

    pair_open(&p, env, NULL, 0);
    if (write(p.cfd, bytes, len) != (ssize_t)len) {
        tap_diag("write: %s", strerror(errno));
    }
    ssize_t n = server_recv(&p, buf, sizeof(buf));
    *err = errno;
    pair_close(&p);
    return n;
}

/* Plain HTTP on the TLS port: told apart at its first byte, then carried
 * in the clear both ways, so that the caller can answer it. */
static void
test_plaintext(struct transport_tls_env *env, const char *http)
{
    static const char answer[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    struct iovec iov = {.iov_base = (void *)(uintptr_t)answer,
                        .iov_len = sizeof(answer) - 1};
    size_t len = strlen(http);
    char buf[128];
    struct pair p;

    pair_open(&p, env, NULL, 0);
    is_int(transport_tls.recv(p.server, p.sfd, buf, sizeof(buf)), WSD_IO_AGAIN,
           "plaintext HTTP: nothing yet, WSD_IO_AGAIN");
    ok(write(p.cfd, http, len) == (ssize_t)len, "plaintext HTTP sent");
    is_int(server_recv(&p, buf, sizeof(buf)), WSD_IO_PLAINTEXT,
           "plaintext HTTP: WSD_IO_PLAINTEXT");
    ssize_t n = server_recv(&p, buf, sizeof(buf));
    ok(n == (ssize_t)len && memcmp(buf, http, len) == 0,
       "then recv returns the request itself, in the clear");
    is_int(transport_tls.send(p.server, p.sfd, &iov, 1),
           (long long)sizeof(answer) - 1, "send takes the answer");
    is_int(transport_tls.shutdown(p.server, p.sfd), 0, "shutdown: the FIN");
    char got[128];
    size_t have = 0;
    for (int i = 0; i < PUMP_ROUNDS && have < sizeof(got); i++) {
        ssize_t r = read(p.cfd, got + have, sizeof(got) - have);
        if (r == 0) {
            break;
        }
        if (r > 0) {
            have += (size_t)r;
        } else {
            wait_io(&p);
        }
    }
    ok(have == sizeof(answer) - 1 && memcmp(got, answer, have) == 0,
       "the client reads the answer in the clear, then the end");
    is_int(transport_tls.recv(p.server, p.sfd, buf, sizeof(buf)), WSD_IO_AGAIN,
           "plaintext: a recv with nothing to read is WSD_IO_AGAIN");
    ok(!transport_tls.describe(p.server, buf, 16, buf + 16, 64),
       "plaintext: not described as TLS");
    pair_close(&p);
}

static void
test_failures(struct transport_tls_env *env)
{
    static const char http[] = "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n";
    unsigned char garbage[300];
    int err = 0;
    char port[16];

    env->n_failed = 0;
    test_plaintext(env, http);
    is_int(env->n_failed, 1, "one failed handshake counted");
    is_str(env->last_reason, "plain HTTP request on the TLS port",
           "its reason");
    ok(strncmp(env->last_peer, "127.0.0.1:", 10) == 0, "peer named: %s",
       env->last_peer);
    ok(ERR_peek_error() == 0, "no error left queued");

    for (size_t i = 0; i < sizeof(garbage); i++) {
        garbage[i] = (unsigned char)(i * 131 + 7);
    }
    is_int(raw_client(env, garbage, sizeof(garbage), &err), WSD_IO_ERROR,
           "garbage: WSD_IO_ERROR");
    is_int(env->n_failed, 2, "counted");

    /* The first bytes of a ClientHello, then the client's FIN. */
    static const unsigned char hello_start[] = {0x16, 0x03, 0x01, 0x02, 0x00,
                                                0x01, 0x00, 0x01, 0xfc, 0x03};
    struct pair p;
    unsigned char buf[64];
    pair_open(&p, env, NULL, 0);
    ok(write(p.cfd, hello_start, sizeof(hello_start)) ==
           (ssize_t)sizeof(hello_start),
       "truncated ClientHello sent");
    shutdown(p.cfd, SHUT_WR);
    is_int(server_recv(&p, buf, sizeof(buf)), WSD_IO_EOF,
           "truncated ClientHello and FIN: WSD_IO_EOF");
    is_int(env->n_failed, 3, "counted");
    is_str(env->last_reason, "unexpected eof while reading", "its reason");
    pair_close(&p);
    is_int(env->n_failed, 3, "freeing it does not count it twice");

    /* A silent client, closed by conn.c's handshake timeout. */
    pair_open(&p, env, NULL, 0);
    is_int(transport_tls.recv(p.server, p.sfd, buf, sizeof(buf)), WSD_IO_AGAIN,
           "a silent client: WSD_IO_AGAIN");
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    getsockname(p.cfd, (struct sockaddr *)&sin, &len);
    snprintf(port, sizeof(port), ":%u", ntohs(sin.sin_port));
    transport_tls.timed_out(p.server);
    pair_close(&p);
    is_int(env->n_failed, 4, "timed out before its handshake: counted");
    is_str(env->last_reason, "handshake not finished in time", "its reason");
    ok(strstr(env->last_peer, port) != NULL, "its peer %s", env->last_peer);

    /* The report: one line, then a fresh count. */
    char log_path[128];
    path_in_dir(log_path, sizeof(log_path), "log");
    int saved = dup(STDERR_FILENO);
    int fd = open(log_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    dup2(fd, STDERR_FILENO);
    log_set_level(LOG_LEVEL_INFO);
    transport_tls_report(env);
    transport_tls_report(env);
    log_set_level(LOG_LEVEL_ALERT);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    char line[512] = "", want[512];
    FILE *f = fopen(log_path, "r");
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    line[n] = '\0';
    fclose(f);
    snprintf(want, sizeof(want),
             "wsd[%ld]: info: tls: 4 handshakes failed in the last second, "
             "last: handshake not finished in time from %s\n",
             (long)getpid(), env->last_peer);
    is_str(line, want, "one report line, and none when nothing failed");
    is_int(env->n_failed, 0, "the count starts afresh");

    /* A silent client dropped by a stop: freed without a timeout, no
     * failure of its own. */
    pair_open(&p, env, NULL, 0);
    is_int(transport_tls.recv(p.server, p.sfd, buf, sizeof(buf)), WSD_IO_AGAIN,
           "another silent client: WSD_IO_AGAIN");
    pair_close(&p);
    is_int(env->n_failed, 0,
           "freed before its handshake (a stop): not "
           "counted");

    /* The peer is the one accept gave, whatever the socket can still
     * tell (here: nothing of IPv6, it is a socket pair). */
    int sv[2];
    struct sockaddr_in6 six = {.sin6_family = AF_INET6,
                               .sin6_port = htons(4242),
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "a socket pair");
    void *t = transport_tls_conn_new(env, sv[0], (struct sockaddr *)&six,
                                     sizeof(six));
    transport_tls.timed_out(t);
    transport_tls.free(t);
    is_str(env->last_peer, "[::1]:4242", "an IPv6 peer from accept, named");
    close(sv[0]);
    close(sv[1]);
    env->n_failed = 0;
}

/* The protocol policy, seen from clients that ask for less. */
static void
test_policy(struct transport_tls_env *env)
{
    struct pair p;
    ssize_t srv;

    env->n_failed = 0;
    SSL_CTX *old =
        client_ctx(TLS1_VERSION, TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_security_level(old, 0);
    pair_open(&p, env, old, 0);
    is_int(pair_handshake(&p, &srv), 0, "a TLS 1.1 client is refused");
    is_int(srv, WSD_IO_ERROR, "the server's recv fails");
    is_str(env->last_reason, "unsupported protocol", "its reason");
    pair_close(&p);
    SSL_CTX_free(old);

    SSL_CTX *cbc = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION,
                              "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA");
    pair_open(&p, env, cbc, 0);
    is_int(pair_handshake(&p, &srv), 0, "a TLS 1.2 client with CBC only");
    is_str(env->last_reason, "no shared cipher", "its reason");
    pair_close(&p);
    SSL_CTX_free(cbc);
    is_int(env->n_failed, 2, "both counted");

    SSL_CTX *v12 = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION, NULL);
    pair_open(&p, env, v12, 0);
    is_int(pair_handshake(&p, &srv), 1, "a TLS 1.2 client");
    const SSL_CIPHER *c = SSL_get_current_cipher(p.client);
    ok(SSL_CIPHER_get_kx_nid(c) == NID_kx_ecdhe && SSL_CIPHER_is_aead(c),
       "TLS 1.2: ECDHE with an AEAD cipher (%s)", SSL_CIPHER_get_name(c));
    ok(SSL_get_current_compression(p.client) == NULL, "no compression");

    /* RFC 5746 renegotiation, started by the client. */
    unsigned char buf[64];
    ok(SSL_renegotiate(p.client) == 1, "client starts a renegotiation");
    int r = 0;
    for (int i = 0; i < PUMP_ROUNDS; i++) {
        r = SSL_do_handshake(p.client);
        int e = SSL_get_error(p.client, r);
        if (r == 1 || (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)) {
            break;
        }
        srv = transport_tls.recv(p.server, p.sfd, buf, sizeof(buf));
        if (srv != WSD_IO_AGAIN) {
            break;
        }
        wait_io(&p);
    }
    ok(r != 1, "the renegotiation does not complete");
    char version[16], cipher[48];
    ok(transport_tls.describe(p.server, version, sizeof(version), cipher,
                              sizeof(cipher)),
       "the connection is still described as TLS");
    is_str(version, "TLSv1.2", "... with its version");
    is_int(env->n_failed, 2, "a refused renegotiation is no failed handshake");
    ok(SSL_get_secure_renegotiation_support(p.client),
       "(the server does speak RFC 5746, it just refuses)");
    pair_close(&p);
    SSL_CTX_free(v12);
}

/* Resumption: a session from one connection is resumed by the next. */
static void
test_resumption(struct transport_tls_env *env, int version)
{
    SSL_CTX *cctx = client_ctx(version, version, NULL);
    struct pair p;
    ssize_t srv;
    unsigned char buf[8];
    char x[1] = {'x'};
    struct iovec one = {.iov_base = x, .iov_len = 1};

    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
    pair_open(&p, env, cctx, 0);
    is_int(pair_handshake(&p, &srv), 1, "first handshake (%04x)", version);
    /* TLS 1.3 tickets come after the handshake: read past them. */
    transport_tls.send(p.server, p.sfd, &one, 1);
    client_read(&p, buf, 1);
    SSL_SESSION *sess = SSL_get1_session(p.client);
    ok(sess != NULL && SSL_SESSION_is_resumable(sess), "a resumable session");
    /* Both sides close properly: OpenSSL forgets the session of a
     * connection freed without close_notify. */
    transport_tls.shutdown(p.server, p.sfd);
    SSL_shutdown(p.client);
    pair_close(&p);

    pair_open(&p, env, cctx, 0);
    SSL_set_session(p.client, sess);
    is_int(pair_handshake(&p, &srv), 1, "second handshake");
    ok(SSL_session_reused(p.client), "the session is resumed (%04x)", version);
    pair_close(&p);
    SSL_SESSION_free(sess);
    SSL_CTX_free(cctx);
}

/* A certificate chain: a client trusting only the root verifies. */
static void
test_chain(void)
{
    char err[CONFIG_ERROR_MAX];
    SSL_CTX *ctx = server_ctx(chain_file, chain_key_file, err, sizeof(err));
    SSL_CTX *cctx = client_ctx(0, 0, NULL);
    struct transport_tls_env env;
    struct pair p;
    ssize_t srv;

    ok(ctx != NULL, "leaf and intermediate in one file load: %s", err);
    SSL_CTX_load_verify_locations(cctx, root_file, NULL);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
    transport_tls_env_init(&env, ctx);
    pair_open(&p, &env, cctx, 0);
    is_int(pair_handshake(&p, &srv), 1, "handshake with verification");
    is_int(SSL_get_verify_result(p.client), X509_V_OK,
           "the intermediate is sent: the chain verifies to the root");
    pair_close(&p);
    SSL_CTX_free(cctx);
    transport_tls_env_done(&env);
    SSL_CTX_free(ctx);
}

static void
remove_dir(void)
{
    static const char *const names[] = {
        "cert.pem",      "key.pem",     "other.pem",     "rsa.pem",
        "encrypted.pem", "chain.pem",   "chain-key.pem", "root.pem",
        "big.pem",       "big-key.pem", "log",           "reversed.pem"};
    char path[160];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        path_in_dir(path, sizeof(path), names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int
main(void)
{
    struct sockaddr_in sin;
    struct transport_tls_env env;
    char err[CONFIG_ERROR_MAX];

    /* As wsd does: OpenSSL's record buffers through tls_memory's cache. */
    ok(tls_memory_install(), "OpenSSL's memory functions installed");
    log_set_level(LOG_LEVEL_ALERT);
    snprintf(dir, sizeof(dir), "/tmp/wsd-test-tls-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    make_files();
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(listen_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
        listen(listen_fd, 16) == -1) {
        printf("Bail out! listen: %s\n", strerror(errno));
        remove_dir();
        return 1;
    }

    test_ctx_refusals();
    test_key_types();
    test_validity();
    SSL_CTX *ctx = server_ctx(cert_file, key_file, err, sizeof(err));
    ok(ctx != NULL, "certificate and key load: %s", err);
    test_ctx_settings(ctx);
    transport_tls_env_init(&env, ctx);
    test_io(&env);
    ok(tls_memory_counts().reused > 0,
       "the record buffers released between records came back from the "
       "cache (%llu times)",
       (unsigned long long)tls_memory_counts().reused);
    test_blocked_send(&env);
    test_recv_wants_write();
    test_failures(&env);
    test_policy(&env);
    test_resumption(&env, TLS1_2_VERSION);
    test_resumption(&env, TLS1_3_VERSION);
    test_chain();
    transport_tls_env_done(&env);
    SSL_CTX_free(ctx);
    close(listen_fd);
    remove_dir();
    return tap_done();
}
