/* SPDX-License-Identifier: MIT */
/*
 * Plain TCP under the transport interface: recv(2) and sendmsg(2) on a
 * non-blocking socket, EAGAIN mapped to WSD_IO_AGAIN. The socket calls,
 * not read(2) and writev(2): those pass through the file layer
 * (position lock, access checks, fsnotify) that a socket has no use for,
 * a cost the kernel pays on every message.
 */
#include "autoconf.h"

#include "transport.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* On Linux EWOULDBLOCK is EAGAIN: testing both trips -Wlogical-op. */

static ssize_t
tcp_recv(void *ctx, int fd, void *buf, size_t len)
{
    (void)ctx;
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n > 0) {
            return n;
        }
        if (n == 0) {
            return WSD_IO_EOF;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EAGAIN ? WSD_IO_AGAIN : WSD_IO_ERROR;
    }
}

static ssize_t
tcp_send(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    (void)ctx;
    for (;;) {
        /* MSG_NOSIGNAL: a peer gone is an error returned, not SIGPIPE. One
         * span (the common echo) needs no message header to fill. */
        ssize_t n;
        if (iovcnt == 1) {
            n = send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
        } else {
            struct msghdr msg = {
                .msg_iov = (struct iovec *)(uintptr_t)iov,
                .msg_iovlen = (size_t)iovcnt,
            };
            n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        }
        if (n > 0) {
            return n;
        }
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && (errno == EAGAIN)) {
            return WSD_IO_AGAIN;
        }
        return WSD_IO_ERROR;
    }
}

static int
tcp_shutdown(void *ctx, int fd)
{
    (void)ctx;
    return shutdown(fd, SHUT_WR) == -1 ? WSD_IO_ERROR : 0;
}

static bool
tcp_drained(void *ctx, size_t got, size_t asked)
{
    (void)ctx;
    return got < asked;
}

static bool
tcp_has_pending(void *ctx)
{
    (void)ctx;
    return false;
}

static bool
tcp_describe(void *ctx, char *version, size_t version_cap, char *cipher,
             size_t cipher_cap)
{
    (void)ctx;
    (void)version;
    (void)version_cap;
    (void)cipher;
    (void)cipher_cap;
    return false;
}

static void
tcp_timed_out(void *ctx)
{
    (void)ctx;
}

static void
tcp_free(void *ctx)
{
    (void)ctx;
}

const struct transport transport_tcp = {
    .name = "tcp",
    .short_read_drains = true,
    .drained = tcp_drained,
    .recv = tcp_recv,
    .send = tcp_send,
    .shutdown = tcp_shutdown,
    .has_pending = tcp_has_pending,
    .describe = tcp_describe,
    .timed_out = tcp_timed_out,
    .free = tcp_free,
};

bool
transport_peer_took(int fd, uint64_t now_ms, uint64_t *at_ms)
{
    int unsent = 0;
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    if (ioctl(fd, SIOCOUTQNSD, &unsent) != 0 || unsent <= 0 ||
        getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_last_data_sent) +
                  sizeof(ti.tcpi_last_data_sent) ||
        ti.tcpi_last_data_sent >= now_ms) {
        return false;
    }
    *at_ms = now_ms - ti.tcpi_last_data_sent;
    return true;
}
