/* SPDX-License-Identifier: MIT */
/*
 * The listening sockets' options that their connections inherit: each
 * WebSocket listener (SO_REUSEPORT clones and the one-socket kind) has
 * TCP_NODELAY, and so has a connection accepted from it, which wsd no
 * longer sets itself (conn_new). Loopback, port 0.
 */
#include "autoconf.h"

#include "listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static int
nodelay(int fd)
{
    int v = -1;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) == -1) {
        return -1;
    }
    return v;
}

/* A connection to the port of fds[0..n) (SO_REUSEPORT clones share it),
 * accepted by whichever the kernel gave it to: the server side, or -1. */
static int
accept_one(const int *fds, unsigned n, int *client)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(listener_port(fds[0]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    if (*client == -1 ||
        connect(*client, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
        return -1;
    }
    struct pollfd p[2];
    for (unsigned i = 0; i < n; i++) {
        p[i] = (struct pollfd){fds[i], POLLIN, 0};
    }
    if (poll(p, n, 5000) < 1) {
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        if ((p[i].revents & POLLIN) != 0) {
            return accept(fds[i], NULL, NULL);
        }
    }
    return -1;
}

static void
check(const char *what, const int *fds, unsigned n)
{
    int client = -1;
    for (unsigned i = 0; i < n; i++) {
        ok(fds[i] != -1, "%s %u: listening", what, i);
        if (fds[i] == -1) {
            return;
        }
        is_int(nodelay(fds[i]), 1,
               "%s %u: the listening socket has "
               "TCP_NODELAY",
               what, i);
    }
    int sfd = accept_one(fds, n, &client);
    ok(sfd != -1, "%s: a connection accepted", what);
    is_int(sfd != -1 ? nodelay(sfd) : -1, 1,
           "%s: the accepted connection has TCP_NODELAY from its listener",
           what);
    if (sfd != -1) {
        close(sfd);
    }
    if (client != -1) {
        close(client);
    }
}

int
main(void)
{
    struct config_addr addr;
    struct sockaddr_in *sin = (struct sockaddr_in *)&addr.ss;
    char err[CONFIG_ERROR_MAX];

    memset(&addr, 0, sizeof(addr));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin->sin_port = 0;
    addr.len = sizeof(*sin);
    snprintf(addr.text, sizeof(addr.text), "127.0.0.1:0");

    int fds[2] = {-1, -1};
    int r = listener_open("listen", &addr, 2, fds, NULL, 0, err, sizeof(err));
    if (r != 0) {
        tap_diag("listener_open: %s", err);
    }
    check("SO_REUSEPORT clone", fds, 2);
    listener_close(fds, 2);

    int one =
        listener_open_one("admin_listen", &addr, NULL, 0, err, sizeof(err));
    if (one == -1) {
        tap_diag("listener_open_one: %s", err);
    }
    check("one socket", &one, 1);
    if (one != -1) {
        close(one);
    }
    return tap_done();
}
