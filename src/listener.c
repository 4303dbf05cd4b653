/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets, in the master only, and the guarantee that nothing
 * else listens on their addresses.
 *
 * Linux lets a TCP socket bind, and later listen, next to another socket
 * on an overlapping address (the same port, the same address or a wildcard)
 * only when both set SO_REUSEADDR and the other one is not listening, or
 * both set SO_REUSEPORT and belong to the same user (inet_bind_conflict()
 * in net/ipv4/inet_connection_sock.c; listen() runs the same check again).
 * The workers' SO_REUSEPORT clones would therefore join those of any other
 * process of the same user, another wsd above all, without a word. So
 * before the clones, a check socket with SO_REUSEADDR and without
 * SO_REUSEPORT is bound: it fails next to any listening socket, but not
 * next to connections in TIME_WAIT (they keep SO_REUSEADDR from their
 * listener) nor sockets only bound; and as it does not listen, the clones
 * bind and listen next to it. Two wsd could still both pass that check
 * before either listens, so the check and the clones' listen() calls are
 * made holding a lock on the port: an abstract Unix socket, which one
 * process at a time can bind and the kernel frees when that process ends
 * (both namespaces are the network namespace's).
 */
#include "autoconf.h"

#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LISTENER_BACKLOG      511
#define LISTENER_LOCK_WAIT_MS 2000

/* What failed, for the message: the syscall, or EADDRINUSE's own text. */
static void
say(char *err, size_t errlen, const char *directive,
    const struct config_addr *addr, const char *call)
{
    snprintf(err, errlen, "%s %s: %s: %s", directive, addr->text, call,
             strerror(errno));
}

static int
port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    }
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET) {
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    } else {
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    }
}

/* Where h's socket is bound; len 0 when that cannot be known. */
static struct config_addr
held_addr(const struct listener_held *h)
{
    struct config_addr a;

    memset(&a, 0, sizeof(a));
    a.len = sizeof(a.ss);
    if (h->fd == -1 ||
        getsockname(h->fd, (struct sockaddr *)&a.ss, &a.len) == -1) {
        a.len = 0;
    }
    return a;
}

/* The SO_REUSEPORT listener of held that covers addr: on the same address
 * or its family's wildcard, and on the same port. NULL if none. */
static const struct listener_held *
held_covering(const struct config_addr *addr, const struct listener_held *held,
              size_t n_held)
{
    for (size_t i = 0; i < n_held; i++) {
        struct config_addr h = held_addr(&held[i]);
        if (held[i].reuseport && h.len != 0 && config_addr_overlaps(&h, addr) &&
            (config_addr_is_wildcard(&h) || !config_addr_is_wildcard(addr))) {
            return &held[i];
        }
    }
    return NULL;
}

/* "address already in use", and by whom as far as that is known: a
 * listener of held that overlaps addr, or else another process. */
static void
say_in_use(char *err, size_t errlen, const char *directive,
           const struct config_addr *addr, const struct listener_held *held,
           size_t n_held)
{
    for (size_t i = 0; i < n_held; i++) {
        struct config_addr h = held_addr(&held[i]);
        if (h.len != 0 && config_addr_overlaps(&h, addr)) {
            snprintf(err, errlen,
                     "%s %s: address already in use (by this wsd's running "
                     "%s, which a reload cannot hand over: restart wsd)",
                     directive, addr->text, held[i].directive);
            return;
        }
    }
    snprintf(err, errlen,
             "%s %s: address already in use (another process holds it)",
             directive, addr->text);
}

/* A non-blocking, close-on-exec TCP socket for ss with SO_REUSEADDR (and
 * SO_REUSEPORT if asked) and TCP_NODELAY, bound to ss; -1 with the
 * problem in err. Linux copies TCP_NODELAY from a listening socket to the
 * connections it accepts (tcp_create_openreq_child): set once here, it
 * saves every connection a setsockopt. Echoes are small and latency
 * matters more than packet count; the write path already batches what one
 * read produces. */
static int
bound_socket(const struct sockaddr_storage *ss, socklen_t len, bool reuseport,
             const char *directive, const struct config_addr *addr,
             const struct listener_held *held, size_t n_held, char *err,
             size_t errlen)
{
    int one = 1;
    int fd =
        socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd == -1) {
        say(err, errlen, directive, addr, "socket");
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) {
        say(err, errlen, directive, addr, "setsockopt(SO_REUSEADDR)");
        goto fail_close_fd;
    }
    if (reuseport &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) {
        say(err, errlen, directive, addr, "setsockopt(SO_REUSEPORT)");
        goto fail_close_fd;
    }
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
        say(err, errlen, directive, addr, "setsockopt(TCP_NODELAY)");
        goto fail_close_fd;
    }
    if (ss->ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) {
        say(err, errlen, directive, addr, "setsockopt(IPV6_V6ONLY)");
        goto fail_close_fd;
    }
    if (bind(fd, (const struct sockaddr *)ss, len) == -1) {
        if (errno == EADDRINUSE) {
            say_in_use(err, errlen, directive, addr, held, n_held);
        } else {
            say(err, errlen, directive, addr, "bind");
        }
        goto fail_close_fd;
    }
    return fd;
fail_close_fd:
    close(fd);
    return -1;
}

static int
do_listen(int fd, const char *directive, const struct config_addr *addr,
          const struct listener_held *held, size_t n_held, char *err,
          size_t errlen)
{
    if (listen(fd, LISTENER_BACKLOG) == -1) {
        if (errno == EADDRINUSE) {
            say_in_use(err, errlen, directive, addr, held, n_held);
        } else {
            say(err, errlen, directive, addr, "listen");
        }
        return -1;
    }
    return 0;
}

/*
 * Takes the lock of port: binds the abstract Unix socket
 * "@wsd-listen-port-PORT", waiting up to LISTENER_LOCK_WAIT_MS while
 * another process holds it (another wsd opens the port: that takes
 * microseconds). Returns the socket to close to unlock, or -1 with the
 * problem in err.
 */
static int
port_lock(int port, const char *directive, const struct config_addr *addr,
          char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct timespec step = {0, 1000 * 1000};
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd == -1) {
        say(err, errlen, directive, addr, "socket(AF_UNIX)");
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    /* sun_path[0] stays NUL: the abstract namespace. */
    int n = snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
                     "wsd-listen-port-%d", port);
    socklen_t len =
        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    for (int waited_ms = 0;; waited_ms++) {
        if (bind(fd, (const struct sockaddr *)&sun, len) == 0) {
            return fd;
        }
        if (errno != EADDRINUSE) {
            say(err, errlen, directive, addr, "bind(@wsd-listen-port)");
            break;
        }
        if (waited_ms == LISTENER_LOCK_WAIT_MS) {
            snprintf(err, errlen,
                     "%s %s: another process has held the lock of port %d "
                     "(the abstract socket @%s) for %d ms",
                     directive, addr->text, port, sun.sun_path + 1,
                     LISTENER_LOCK_WAIT_MS);
            break;
        }
        nanosleep(&step, NULL);
    }
    close(fd);
    return -1;
}

int
listener_open(const char *directive, const struct config_addr *addr, unsigned n,
              int *fds, const struct listener_held *held, size_t n_held,
              char *err, size_t errlen)
{
    struct sockaddr_storage ss = addr->ss;
    int pick = -1;  /* port 0: the port the kernel chose, kept meanwhile */
    int check = -1; /* see the top of the file */
    int lock = -1;
    int rc = -1;
    struct config_addr bound = *addr; /* with the port the kernel chose */

    for (unsigned i = 0; i < n; i++) {
        fds[i] = -1;
    }
    if (port_of(&ss) == 0) {
        /* The kernel picks a port nothing is bound to; then the same
         * checks as for a port asked for. */
        pick = bound_socket(&ss, addr->len, false, directive, addr, NULL, 0,
                            err, errlen);
        if (pick == -1) {
            goto out;
        }
        set_port(&ss, listener_port(pick));
    }
    lock = port_lock(port_of(&ss), directive, addr, err, errlen);
    if (lock == -1) {
        goto out;
    }
    bound.ss = ss;
    /* A listener of the running configuration that covers the address
     * passed this check when it was opened, and keeps everyone else out
     * since: the clones join it, as the reload wants. */
    if (held_covering(&bound, held, n_held) == NULL) {
        check = bound_socket(&ss, addr->len, false, directive, addr, held,
                             n_held, err, errlen);
        if (check == -1) {
            goto out;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        fds[i] = bound_socket(&ss, addr->len, true, directive, addr, held,
                              n_held, err, errlen);
        if (fds[i] == -1 || do_listen(fds[i], directive, addr, held, n_held,
                                      err, errlen) != 0) {
            listener_close(fds, n);
            goto out;
        }
    }
    rc = 0;
out:
    /* The clones listen now: the check socket has done its work, and
     * the lock can go. */
    if (check != -1) {
        close(check);
    }
    if (pick != -1) {
        close(pick);
    }
    if (lock != -1) {
        close(lock);
    }
    return rc;
}

int
listener_open_one(const char *directive, const struct config_addr *addr,
                  const struct listener_held *held, size_t n_held, char *err,
                  size_t errlen)
{
    /* Without SO_REUSEPORT, the kernel refuses this socket next to any
     * listening one, and any other one next to it: no lock is needed. */
    int fd = bound_socket(&addr->ss, addr->len, false, directive, addr, held,
                          n_held, err, errlen);

    if (fd != -1 &&
        do_listen(fd, directive, addr, held, n_held, err, errlen) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

uint16_t
listener_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
        return 0;
    }
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
        return 0;
    }
    return (uint16_t)port_of(&ss);
}

void
listener_close(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] != -1) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}
