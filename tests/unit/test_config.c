/* SPDX-License-Identifier: MIT */
/*
 * Tests of the directive table: defaults, every value type, the refusals
 * with their messages, and config files with "file:line: directive:
 * problem" errors.
 */
#include "autoconf.h"

#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static void
test_defaults(void)
{
    struct config cfg;
    char err[CONFIG_ERROR_MAX];
    config_init(&cfg);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&cfg.listen.ss;

    is_str(cfg.listen.text, "127.0.0.1:8888", "default listen");
    is_int(sin->sin_family, AF_INET, "default listen is IPv4");
    is_int(ntohs(sin->sin_port), 8888, "default port 8888");
    is_int(ntohl(sin->sin_addr.s_addr), 0x7f000001, "default 127.0.0.1");
    is_str(cfg.path, "/ws", "default path");
    ok(cfg.workers_auto, "default workers auto");
    is_int(cfg.max_message_bytes, 16 * 1024 * 1024,
           "default max_message_bytes 16 MiB (Autobahn 9.* needs it)");
    is_int(cfg.max_frame_bytes, 16 * 1024 * 1024, "default max_frame_bytes");
    is_int(cfg.max_handshake_bytes, 8192, "default max_handshake_bytes");
    is_int(cfg.max_headers, 64, "default max_headers");
    is_int(cfg.handshake_timeout_ms, 10000, "default handshake_timeout_ms");
    is_int(cfg.close_timeout_ms, 2000, "default close_timeout_ms");
    is_int(cfg.write_high_water_bytes, 1024 * 1024, "default high water");
    is_int(cfg.max_connections, 10000, "default max_connections");
    is_int(cfg.log_level, LOG_LEVEL_INFO, "default log level");
    ok(cfg.deflate, "permessage-deflate on by default");
    is_int(cfg.deflate_level, 1, "default deflate_level");
    is_int(cfg.deflate_mem_level, 8, "default deflate_mem_level");
    is_int(cfg.deflate_min_bytes, 64, "default deflate_min_bytes");
    is_int(cfg.deflate_server_max_window_bits, 15,
           "default deflate_server_max_window_bits");
    is_int(cfg.deflate_client_max_window_bits, 15,
           "default deflate_client_max_window_bits");
    ok(!cfg.deflate_server_no_context_takeover,
       "server context takeover allowed by default");
    ok(!cfg.deflate_client_no_context_takeover,
       "client context takeover allowed by default");
    is_int(cfg.stats_cases, 4096, "default stats_cases");
    is_str(cfg.tls_listen.text, "127.0.0.1:8889", "default tls_listen");
    ok(!cfg.tls_listen_given, "the default tls_listen counts as not given");
    is_str(cfg.tls_certificate, "", "no certificate by default");
    is_str(cfg.tls_certificate_key, "", "no private key by default");
    ok(!config_tls_is_on(&cfg), "TLS is off by default");
    is_int(config_finish(&cfg, err), 0, "the defaults pass config_finish");
    is_int(cfg.workers, sysconf(_SC_NPROCESSORS_ONLN),
           "workers auto resolves to the online CPUs");
}

static void
test_values(void)
{
    struct config cfg;
    char err[CONFIG_ERROR_MAX];
    config_init(&cfg);

    is_int(config_set(&cfg, "max_message_bytes", "1024", err), 0, "plain");
    is_int(cfg.max_message_bytes, 1024, "plain number");
    is_int(config_set(&cfg, "max-message-bytes", "2k", err), 0, "dash name");
    is_int(cfg.max_message_bytes, 2048, "k suffix and dashes");
    is_int(config_set(&cfg, "max_message_bytes", "3M", err), 0, "M suffix");
    is_int(cfg.max_message_bytes, 3 * 1024 * 1024, "M is MiB");
    is_int(config_set(&cfg, "max_frame_bytes", "1g", err), 0, "g suffix");
    is_int(cfg.max_frame_bytes, 1024 * 1024 * 1024, "g is GiB");
    is_int(config_set(&cfg, "workers", "3", err), 0, "workers 3");
    ok(!cfg.workers_auto && cfg.workers == 3, "workers set");
    is_int(config_set(&cfg, "workers", "auto", err), 0, "workers auto");
    ok(cfg.workers_auto, "workers auto again");
    is_int(config_set(&cfg, "path", "/chat", err), 0, "path");
    is_str(cfg.path, "/chat", "path set");
    is_int(config_set(&cfg, "deflate", "off", err), 0, "deflate off");
    ok(!cfg.deflate, "deflate off set");
    is_int(config_set(&cfg, "deflate-server-no-context-takeover", "on", err), 0,
           "a boolean on");
    ok(cfg.deflate_server_no_context_takeover, "boolean set");
    is_int(config_set(&cfg, "stats_cases", "0", err), 0, "stats_cases 0");
    is_int(cfg.stats_cases, 0, "stats_cases 0: no case records");
    is_int(config_set(&cfg, "log_level", "debug", err), 0, "log level");
    is_int(cfg.log_level, LOG_LEVEL_DEBUG, "log level set");

    is_int(config_set(&cfg, "listen", "[::1]:9000", err), 0, "IPv6 listen");
    const struct sockaddr_in6 *sin6 =
        (const struct sockaddr_in6 *)&cfg.listen.ss;
    is_int(sin6->sin6_family, AF_INET6, "IPv6 family");
    is_int(ntohs(sin6->sin6_port), 9000, "IPv6 port");
    is_int(config_set(&cfg, "listen", "*:0", err), 0, "wildcard, port 0");
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&cfg.listen.ss;
    is_int(sin->sin_addr.s_addr, 0, "* is 0.0.0.0");
    is_int(ntohs(sin->sin_port), 0, "port 0 kept for the kernel to pick");
}

static void
test_refusals(void)
{
    static const struct {
        const char *name, *value, *message;
    } cases[] = {
        {"no_such", "1", "no_such: unknown directive"},
        {"workers", "0", "workers: 0 is out of range (1 to 256)"},
        {"workers", "abc", "workers: \"abc\" is not a non-negative integer"},
        {"max_message_bytes", "-5",
         "max_message_bytes: \"-5\" is not a size (a number, optionally with "
         "k, m or g)"},
        {"max_message_bytes", "10x",
         "max_message_bytes: \"10x\" is not a size (a number, optionally "
         "with k, m or g)"},
        {"max_message_bytes", "99999999999999999999",
         "max_message_bytes: 99999999999999999999 is out of range (125 to "
         "1073741824)"},
        {"max_message_bytes", "99999999999999999g",
         "max_message_bytes: 99999999999999999g is out of range (125 to "
         "1073741824)"},
        {"workers", "99999999999999999999",
         "workers: 99999999999999999999 is out of range (1 to 256)"},
        {"max_message_bytes", "2g",
         "max_message_bytes: 2g is out of range (125 to 1073741824)"},
        {"max_message_bytes", "",
         "max_message_bytes: \"\" is not a size (a "
         "number, optionally with k, m or g)"},
        {"listen", "nonsense",
         "listen: \"nonsense\" is not ADDR:PORT (an IPv4 address, [IPv6] or "
         "*, and a port 0-65535)"},
        {"listen", "127.0.0.1:65536",
         "listen: \"127.0.0.1:65536\" is not ADDR:PORT (an IPv4 address, "
         "[IPv6] or *, and a port 0-65535)"},
        {"listen", "host.example:80",
         "listen: \"host.example:80\" is not ADDR:PORT (an IPv4 address, "
         "[IPv6] or *, and a port 0-65535)"},
        {"listen", "::1:80",
         "listen: \"::1:80\" is not ADDR:PORT (an IPv4 address, [IPv6] or "
         "*, and a port 0-65535)"},
        {"listen", "[*]:80",
         "listen: \"[*]:80\" is not ADDR:PORT (an IPv4 address, [IPv6] or "
         "*, and a port 0-65535)"},
        {"admin_listen", "[127.0.0.1]:80",
         "admin_listen: \"[127.0.0.1]:80\" is not ADDR:PORT (an IPv4 "
         "address, [IPv6] or *, and a port 0-65535)"},
        {"path", "ws",
         "path: \"ws\" is not an absolute path without query "
         "(at most 255 bytes)"},
        {"path", "/ws?x",
         "path: \"/ws?x\" is not an absolute path without "
         "query (at most 255 bytes)"},
        {"log_level", "loud",
         "log_level: \"loud\" is not one of debug info "
         "notice warn error crit alert"},
        {"handshake_timeout_ms", "0",
         "handshake_timeout_ms: 0 is out of range (1 to 3600000)"},
        {"deflate", "yes", "deflate: \"yes\" is not on or off"},
        {"deflate_server_max_window_bits", "8",
         "deflate_server_max_window_bits: 8 is out of range (9 to 15)"},
        {"deflate_level", "10", "deflate_level: 10 is out of range (0 to 9)"},
        {"tls_listen", "localhost:8889",
         "tls_listen: \"localhost:8889\" is not ADDR:PORT (an IPv4 address, "
         "[IPv6] or *, and a port 0-65535)"},
        {"log", "", "log: \"\" is not stderr, syslog or a file name"},
        {"log", "off",
         "log: \"off\" is not stderr, syslog or a file name (./off names a "
         "file of that name)"},
        {"access_log", "on",
         "access_log: \"on\" is not off or a file name (./on names a file of "
         "that name)"},
        {"access_log", "", "access_log: \"\" is not off or a file name"},
        {"case_log", "on",
         "case_log: \"on\" is not off or a file name (./on names a file of "
         "that name)"},
        {"case_log", "", "case_log: \"\" is not off or a file name"},
        {"daemon", "1", "daemon: \"1\" is not on or off"},
        {"pong_timeout_ms", "0",
         "pong_timeout_ms: 0 is out of range (1 to 3600000)"},
        {"user", "a\tb", "user: control characters are not allowed"},
    };
    struct config cfg;
    struct config before;
    char err[CONFIG_ERROR_MAX];

    config_init(&cfg);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(&before, &cfg, sizeof(cfg));
        is_int(config_set(&cfg, cases[i].name, cases[i].value, err), -1,
               "%s %s refused", cases[i].name, cases[i].value);
        is_str(err, cases[i].message, "%s %s message", cases[i].name,
               cases[i].value);
        ok(memcmp(&before, &cfg, sizeof(cfg)) == 0,
           "%s %s leaves the configuration unchanged", cases[i].name,
           cases[i].value);
    }
}

/* config_finish on the defaults plus directives set[0..n) (name, value). */
static int
finish_with(struct config *cfg, const char *const *set, size_t n, char *err)
{
    config_init(cfg);
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (config_set(cfg, set[i], set[i + 1], err) != 0) {
            return -2;
        }
    }
    return config_finish(cfg, err);
}

/* config_finish with TLS on and the two endpoints at listen, tls_listen. */
static int
finish_tls_ports(struct config *cfg, const char *listen, const char *tls_listen,
                 char *err)
{
    config_init(cfg);
    if (config_set(cfg, "tls_certificate", "/c.pem", err) != 0 ||
        config_set(cfg, "tls_certificate_key", "/k.pem", err) != 0 ||
        config_set(cfg, "listen", listen, err) != 0 ||
        config_set(cfg, "tls_listen", tls_listen, err) != 0) {
        return -2;
    }
    return config_finish(cfg, err);
}

/* The admin endpoint beside the others: the kernel would refuse its
 * socket next to theirs, with a message blaming another process. */
static void
test_admin_ports(void)
{
    static const char *const tls[] = {"tls_certificate", "/c.pem",
                                      "tls_certificate_key", "/k.pem"};
    static const struct {
        const char *admin;
        bool tls_on;
        int rc;
        const char *what;
    } ports[] = {
        {"127.0.0.1:8888", false, -1, "admin on the default listen port"},
        {"*:8888", false, -1, "admin * over listen's port"},
        {"127.0.0.1:8889", true, -1, "admin on tls_listen's port"},
        {"127.0.0.1:8889", false, 0, "admin on tls_listen's port, TLS off"},
        {"127.0.0.2:8888", false, 0, "listen's port on another address"},
        {"127.0.0.1:0", false, 0, "admin on port 0"},
    };
    struct config cfg;
    char err[CONFIG_ERROR_MAX];

    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        config_init(&cfg);
        for (size_t k = 0; ports[i].tls_on && k < 4; k += 2) {
            config_set(&cfg, tls[k], tls[k + 1], err);
        }
        config_set(&cfg, "admin_listen", ports[i].admin, err);
        is_int(config_finish(&cfg, err), ports[i].rc, "%s: %s", ports[i].what,
               ports[i].rc == 0 ? "accepted" : "refused");
    }
    config_init(&cfg);
    config_set(&cfg, "admin_listen", "127.0.0.1:8888", err);
    config_finish(&cfg, err);
    is_str(err,
           "admin_listen: 127.0.0.1:8888 takes the port of listen "
           "127.0.0.1:8888",
           "admin on listen's address is refused by name");
    config_init(&cfg);
    config_set(&cfg, "tls_certificate", "/c.pem", err);
    config_set(&cfg, "tls_certificate_key", "/k.pem", err);
    config_set(&cfg, "admin_listen", "127.0.0.1:8889", err);
    config_finish(&cfg, err);
    is_str(err,
           "admin_listen: 127.0.0.1:8889 takes the port of tls_listen "
           "127.0.0.1:8889",
           "admin on tls_listen's address is refused by name");
}

static void
test_tls(void)
{
    static const char *const cert_only[] = {"tls_certificate", "/c.pem"};
    static const char *const key_only[] = {"tls_certificate_key", "/k.pem"};
    static const char *const listen_only[] = {"tls_listen", "127.0.0.1:0"};
    static const char *const default_listen[] = {"tls_listen",
                                                 "127.0.0.1:8889"};
    static const char *const both[] = {"tls_certificate", "/c.pem",
                                       "tls_certificate_key", "/k.pem"};
    struct config cfg;
    char err[CONFIG_ERROR_MAX];
    char long_name[CONFIG_FILE_MAX + 1];

    is_int(finish_with(&cfg, both, 4, err), 0, "certificate and key: TLS on");
    ok(config_tls_is_on(&cfg), "config_tls_is_on with a certificate");
    is_str(cfg.tls_certificate, "/c.pem", "tls_certificate set");
    is_str(cfg.tls_certificate_key, "/k.pem", "tls_certificate_key set");
    is_str(cfg.tls_listen.text, "127.0.0.1:8889",
           "a certificate without tls_listen serves 127.0.0.1:8889");

    is_int(finish_with(&cfg, cert_only, 2, err), -1, "certificate, no key");
    is_str(err,
           "tls_certificate_key: missing (tls_certificate needs its private "
           "key)",
           "a certificate without a key is refused by name");
    is_int(finish_with(&cfg, key_only, 2, err), -1, "key, no certificate");
    is_str(err, "tls_certificate_key: TLS is off without tls_certificate",
           "a key without a certificate is refused by name");
    is_int(finish_with(&cfg, listen_only, 2, err), -1,
           "tls_listen without a certificate");
    is_str(err, "tls_listen: TLS is off without tls_certificate",
           "tls_listen without a certificate is refused by name");
    ok(cfg.tls_listen_given, "a tls_listen that is set counts as given");
    is_int(finish_with(&cfg, default_listen, 2, err), -1,
           "tls_listen given with the default value, no certificate");

    static const struct {
        const char *listen, *tls_listen;
        int rc;
        const char *what;
    } ports[] = {
        {"127.0.0.1:9000", "127.0.0.1:9000", -1, "ws and wss on one port"},
        {"*:9000", "127.0.0.1:9000", -1, "wss on a port listen * covers"},
        {"[::]:9000", "[::1]:9000", -1, "wss on a port listen [::] covers"},
        {"127.0.0.1:9000", "127.0.0.2:9000", 0, "one port, two addresses"},
        {"127.0.0.1:9000", "[::1]:9000", 0, "one port, IPv4 and IPv6"},
        {"127.0.0.1:0", "127.0.0.1:0", 0, "port 0 for both"},
    };
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        is_int(
            finish_tls_ports(&cfg, ports[i].listen, ports[i].tls_listen, err),
            ports[i].rc, "%s: %s", ports[i].what,
            ports[i].rc == 0 ? "accepted" : "refused");
    }
    finish_tls_ports(&cfg, "127.0.0.1:9000", "127.0.0.1:9000", err);
    is_str(err,
           "tls_listen: 127.0.0.1:9000 takes the port of listen "
           "127.0.0.1:9000 (ws:// and wss:// need their own)",
           "one port for ws:// and wss:// is refused by name (SO_REUSEPORT "
           "would mix them)");

    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[0] = '/';
    long_name[sizeof(long_name) - 1] = '\0';
    config_init(&cfg);
    is_int(config_set(&cfg, "tls_certificate", long_name, err), -1,
           "a file name of CONFIG_FILE_MAX bytes is refused");
    is_str(err, "tls_certificate: file name longer than 1023 bytes",
           "long file name message");
    is_int(config_set(&cfg, "tls-certificate", "", err), 0,
           "an empty file name is accepted (none)");
    ok(!config_tls_is_on(&cfg), "an empty certificate leaves TLS off");
}

static const char *
write_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/wsd-test-config-%ld.conf",
             (long)getpid());
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return NULL;
    }
    fputs(text, f);
    fclose(f);
    return path;
}

static void
test_files(void)
{
    struct config cfg;
    char err[CONFIG_ERROR_MAX];
    char want[CONFIG_ERROR_MAX];
    const char *path;

    config_init(&cfg);
    path = write_file("# a comment\n"
                      "\n"
                      "   max_message_bytes   4k   # trailing comment\n"
                      "workers 2\r\n"
                      "path /echo\n");
    ok(path != NULL, "config file written");
    is_int(config_load_file(&cfg, path, err), 0, "good file loads");
    is_int(cfg.max_message_bytes, 4096, "file sets a size");
    is_int(cfg.workers, 2, "file sets workers (CRLF line end)");
    is_str(cfg.path, "/echo", "file sets the path");

    path = write_file("admin_token \"a b#c\"  # a comment\n"
                      "admin_token_file \"\"\n");
    is_int(config_load_file(&cfg, path, err), 0, "quoted values load");
    is_str(cfg.admin_token, "a b#c", "a quoted value keeps spaces and #");
    is_str(cfg.admin_token_file, "", "an empty quoted value");

    path = write_file("workers 2\n\nmax_frame_bytes lots\n");
    is_int(config_load_file(&cfg, path, err), -1, "bad value refused");
    snprintf(want, sizeof(want),
             "%s:3: max_frame_bytes: \"lots\" is not a size (a number, "
             "optionally with k, m or g)",
             path);
    is_str(err, want, "file:line: directive: problem");

    path = write_file("workers\n");
    is_int(config_load_file(&cfg, path, err), -1, "missing value refused");
    snprintf(want, sizeof(want), "%s:1: workers: missing value", path);
    is_str(err, want, "missing value message");

    static const struct {
        const char *text, *problem;
    } quotes[] = {
        {"access_log \"/tmp/a.log\n",
         "access_log: a double quote is not closed"},
        {"case_log /tmp/c\" # comment\n",
         "case_log: a double quote is not closed"},
        {"admin_token \"a\"b\"\n", "admin_token: a double quote is not closed"},
        {"admin_token \"a\"b\n",
         "admin_token: a double quote may only enclose the whole value"},
        {"path /a\"b\"\n",
         "path: a double quote may only enclose the whole value"},
    };
    for (size_t i = 0; i < sizeof(quotes) / sizeof(quotes[0]); i++) {
        path = write_file(quotes[i].text);
        is_int(config_load_file(&cfg, path, err), -1, "stray quote refused");
        snprintf(want, sizeof(want), "%s:1: %s", path, quotes[i].problem);
        is_str(err, want, "stray quote: the line and what is wrong");
        unlink(path);
    }

    path = write_file("frobnicate yes\n");
    is_int(config_load_file(&cfg, path, err), -1, "unknown directive");
    snprintf(want, sizeof(want), "%s:1: frobnicate: unknown directive", path);
    is_str(err, want, "unknown directive message");
    unlink(path);

    is_int(config_load_file(&cfg, "/nonexistent/wsd.conf", err), -1,
           "missing file refused");
    is_str(err, "/nonexistent/wsd.conf: No such file or directory",
           "missing file message names the file and the reason");
}

static void
test_shipped_file(void)
{
    struct config cfg;
    struct config defaults;
    char err[CONFIG_ERROR_MAX];
    char path[1024];
    const char *srcdir = getenv("WSD_SRCDIR");

    snprintf(path, sizeof(path), "%s/etc/wsd.conf",
             srcdir != NULL ? srcdir : ".");
    config_init(&defaults);
    config_init(&cfg);
    is_int(config_load_file(&cfg, path, err), 0, "etc/wsd.conf loads: %s",
           path);
    ok(memcmp(&cfg, &defaults, sizeof(cfg)) == 0,
       "etc/wsd.conf states exactly the built-in defaults");
}

/* The daemon directives: values, joined rules, and what a reload may
 * change. */
static void
test_daemon_directives(void)
{
    static const char *const daemon_stderr[] = {"daemon", "on"};
    static const char *const daemon_syslog[] = {"daemon", "on", "log",
                                                "syslog"};
    static const char *const group_only[] = {"group", "root"};
    static const char *const no_user[] = {"user", "no-such-user-of-wsd"};
    static const char *const root_user[] = {"user", "root", "group", "root"};
    static const char *const access_no_records[] = {
        "access_log", "/var/log/wsd/access.log", "stats_cases", "0"};
    static const char *const case_no_records[] = {
        "case_log", "/var/log/wsd/cases.log", "stats_cases", "0"};
    static const char *const case_is_access[] = {
        "case_log", "/var/log/wsd/a.log", "access_log", "/var/log/wsd/a.log"};
    static const char *const case_is_log[] = {"case_log", "/var/log/wsd/a.log",
                                              "log", "/var/log/wsd/a.log"};
    static const char *const case_own_file[] = {
        "case_log", "/var/log/wsd/cases.log", "access_log",
        "/var/log/wsd/a.log"};
    struct config cfg;
    struct config next;
    char err[CONFIG_ERROR_MAX];

    config_init(&cfg);
    ok(!cfg.daemon && cfg.pidfile[0] == '\0' && cfg.user[0] == '\0',
       "daemon off, no pidfile, no user by default");
    is_str(cfg.log, "stderr", "log stderr by default");
    is_str(cfg.access_log, "off", "access_log off by default");
    is_str(cfg.case_log, "off", "case_log off by default");
    is_int((int)cfg.ping_interval_ms, 30000, "ping_interval_ms 30000");
    is_int((int)cfg.pong_timeout_ms, 10000, "pong_timeout_ms 10000");
    is_int((int)cfg.idle_timeout_ms, 0, "idle_timeout_ms off");
    is_int((int)cfg.shutdown_timeout_ms, 30000, "shutdown_timeout_ms 30000");
    is_int(config_set(&cfg, "log", "/var/log/wsd/wsd.log", err), 0, "log file");
    is_str(cfg.log, "/var/log/wsd/wsd.log", "log file kept");
    is_int(config_set(&cfg, "log", "syslog", err), 0, "log syslog");
    is_int(config_set(&cfg, "access_log", "/var/log/wsd/access.log", err), 0,
           "access_log file");
    is_int(config_set(&cfg, "access_log", "off", err), 0, "access_log off");
    is_int(config_set(&cfg, "pidfile", "", err), 0, "pidfile none");
    is_int(config_set(&cfg, "ping_interval_ms", "0", err), 0,
           "ping_interval_ms 0 turns pings off");

    is_int(finish_with(&cfg, daemon_stderr, 2, err), 0,
           "daemon with log stderr: accepted");
    is_str(cfg.log, "syslog", "daemon with log stderr: syslog instead");
    ok(cfg.log_syslog_default, "daemon with log stderr: said to be chosen");
    is_int(finish_with(&cfg, daemon_syslog, 4, err), 0, "daemon with syslog");
    ok(!cfg.log_syslog_default, "daemon with log syslog: not chosen");
    is_int(finish_with(&cfg, daemon_stderr, 0, err), 0, "not a daemon");
    ok(!cfg.log_syslog_default && strcmp(cfg.log, "stderr") == 0,
       "not a daemon: log stderr stays");
    is_int(finish_with(&cfg, group_only, 2, err), -1, "group without user");
    is_str(err, "group: needs user", "group without user: message");
    is_int(finish_with(&cfg, no_user, 2, err), -1, "unknown user refused");
    is_str(err, "user: \"no-such-user-of-wsd\": no such user",
           "unknown user: message");
    is_int(finish_with(&cfg, access_no_records, 4, err), -1,
           "access_log with stats_cases 0 refused");
    is_str(err,
           "access_log: needs stats_cases above 0 (each line is written from "
           "the connection's record)",
           "access_log with stats_cases 0: message");
    is_int(finish_with(&cfg, case_no_records, 4, err), -1,
           "case_log with stats_cases 0 refused");
    is_str(err,
           "case_log: needs stats_cases above 0 (each line is the case's "
           "record)",
           "case_log with stats_cases 0: message");
    is_int(finish_with(&cfg, case_is_access, 4, err), -1,
           "case_log in access_log's file refused");
    is_str(err,
           "case_log: /var/log/wsd/a.log is the access_log file too (each "
           "needs its own)",
           "case_log in access_log's file: message");
    is_int(finish_with(&cfg, case_is_log, 4, err), -1,
           "case_log in log's file refused");
    is_str(err,
           "case_log: /var/log/wsd/a.log is the log file too (each needs its "
           "own)",
           "case_log in log's file: message");
    is_int(finish_with(&cfg, case_own_file, 4, err), 0,
           "case_log in a file of its own: accepted");
    is_int(finish_with(&cfg, root_user, 4, err), 0, "user root, group root");
    is_int((int)cfg.uid, 0, "root's uid resolved");
    is_int((int)cfg.gid, 0, "root's gid resolved");

    static const struct {
        const char *name, *value, *message;
    } restart_only[] = {
        {"workers", "7",
         "workers: a changed value needs a restart, not a "
         "reload"},
        {"stats_cases", "9",
         "stats_cases: a changed value needs a restart, "
         "not a reload"},
        {"daemon", "on",
         "daemon: a changed value needs a restart, not a "
         "reload"},
        {"pidfile", "/run/other.pid",
         "pidfile: a changed value needs a "
         "restart, not a reload"},
    };
    config_init(&cfg);
    config_finish(&cfg, err);
    for (size_t i = 0; i < sizeof(restart_only) / sizeof(restart_only[0]);
         i++) {
        config_init(&next);
        config_set(&next, restart_only[i].name, restart_only[i].value, err);
        if (strcmp(restart_only[i].name, "daemon") == 0) {
            config_set(&next, "log", "syslog", err);
        }
        config_finish(&next, err);
        is_int(config_reloadable(&cfg, &next, err), -1, "reload: %s refused",
               restart_only[i].name);
        is_str(err, restart_only[i].message, "reload: %s message",
               restart_only[i].name);
    }
    config_init(&next);
    config_set(&next, "path", "/other", err);
    config_set(&next, "listen", "127.0.0.1:9999", err);
    config_set(&next, "max_message_bytes", "1k", err);
    config_finish(&next, err);
    is_int(config_reloadable(&cfg, &next, err), 0,
           "reload: path, listen and limits may change");
}

/*
 * File names: relative ones are made absolute, from the current directory
 * for config_set and config_load_file, from each item's dir for
 * config_build, both for the file to load and for the names inside it.
 */
static void
test_relative_files(void)
{
    static const char *const file_directives[] = {"tls_certificate",
                                                  "tls_certificate_key",
                                                  "admin_token_file",
                                                  "pidfile",
                                                  "log",
                                                  "access_log",
                                                  "case_log"};
    char cwd[CONFIG_FILE_MAX];
    char want[CONFIG_FILE_MAX + 16];
    char path[CONFIG_FILE_MAX];
    char long_dir[CONFIG_FILE_MAX];
    char err[CONFIG_ERROR_MAX];
    struct config cfg;

    ok(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");
    config_init(&cfg);
    for (size_t i = 0; i < sizeof(file_directives) / sizeof(char *); i++) {
        const char *name = file_directives[i];
        const char *field =
            strcmp(name, "tls_certificate") == 0       ? cfg.tls_certificate
            : strcmp(name, "tls_certificate_key") == 0 ? cfg.tls_certificate_key
            : strcmp(name, "admin_token_file") == 0    ? cfg.admin_token_file
            : strcmp(name, "pidfile") == 0             ? cfg.pidfile
            : strcmp(name, "log") == 0                 ? cfg.log
            : strcmp(name, "access_log") == 0          ? cfg.access_log
                                                       : cfg.case_log;
        snprintf(want, sizeof(want), "%s/sub/%s.x", cwd, name);
        snprintf(path, sizeof(path), "sub/%s.x", name);
        is_int(config_set(&cfg, name, path, err), 0, "%s relative: accepted",
               name);
        is_str(field, want, "%s relative: from the current directory", name);
        snprintf(path, sizeof(path), "./sub/%s.x", name);
        config_set(&cfg, name, path, err);
        is_str(field, want, "%s ./relative: the same, without ./", name);
        is_int(config_set(&cfg, name, "/abs/x", err), 0, "%s absolute", name);
        is_str(field, "/abs/x", "%s absolute: kept as it is", name);
    }

    const char *conf = "/tmp/wsd-test-config-relative.conf";
    FILE *f = fopen(conf, "w");
    ok(f != NULL, "temporary file");
    if (f == NULL) {
        return;
    }
    fputs("tls_certificate certs/c.pem\npidfile /run/wsd.pid\n"
          "log logs/wsd.log\n",
          f);
    fclose(f);
    const struct config_item items[] = {
        {NULL, "wsd-test-config-relative.conf", "/tmp"},
        {"tls_certificate_key", "certs/c.key", "/srv/wsd/"},
        {"access_log", "a.log", "/"},
    };
    is_int(config_build(&cfg, items, 3, err), 0,
           "build: a relative file from its dir: %s", err);
    is_str(cfg.tls_certificate, "/tmp/certs/c.pem",
           "build: a name in the file, from the item's dir (not the "
           "current directory)");
    is_str(cfg.pidfile, "/run/wsd.pid", "build: an absolute name as it is");
    is_str(cfg.log, "/tmp/logs/wsd.log", "build: log from the item's dir");
    is_str(cfg.tls_certificate_key, "/srv/wsd/certs/c.key",
           "build: a setting from its dir (one '/' between)");
    is_str(cfg.access_log, "/a.log", "build: from /");
    const struct config_item missing[] = {{NULL, "nowhere.conf", "/tmp"}};
    is_int(config_build(&cfg, missing, 1, err), -1, "build: missing file");
    is_str(err, "/tmp/nowhere.conf: No such file or directory",
           "build: the message names the file made absolute");
    remove(conf);

    memset(long_dir, 'd', sizeof(long_dir) - 1);
    long_dir[0] = '/';
    long_dir[sizeof(long_dir) - 10] = '\0';
    const struct config_item too_long[] = {{"pidfile", "0123456789", long_dir}};
    is_int(config_build(&cfg, too_long, 1, err), -1,
           "build: a name too long once made absolute is refused");
    is_str(err, "pidfile: file name longer than 1023 bytes (made absolute)",
           "build: too long: message");
}

/* config_build: defaults, then files and settings in order. */
static void
test_build(void)
{
    const char *path = "/tmp/wsd-test-config-build.conf";
    FILE *f = fopen(path, "w");
    struct config cfg;
    char err[CONFIG_ERROR_MAX];

    ok(f != NULL, "temporary file");
    if (f == NULL) {
        return;
    }
    fputs("path /file\nmax_headers 10\n", f);
    fclose(f);
    const struct config_item in_order[] = {{"path", "/before", NULL},
                                           {NULL, path, NULL},
                                           {"max_headers", "20", NULL}};
    is_int(config_build(&cfg, in_order, 3, err), 0, "build: ok");
    is_str(cfg.path, "/file", "build: the file overrides what came before");
    is_int((int)cfg.max_headers, 20, "build: a later setting overrides it");
    const struct config_item bad[] = {{NULL, path, NULL},
                                      {"workers", "0", NULL}};
    is_int(config_build(&cfg, bad, 2, err), -1, "build: a bad setting fails");
    is_str(err, "workers: 0 is out of range (1 to 256)", "build: message");
    const struct config_item joined[] = {
        {"tls_certificate_key", "/k.pem", NULL}};
    is_int(config_build(&cfg, joined, 1, err), -1,
           "build: config_finish's rules apply");
    remove(path);
}

/*
 * A value refused only once every directive is read (a user that does
 * not exist, a token file that is missing, a rule joining two
 * directives) is a bad line too: its message names the file and line
 * that set the directive, as a value the parser refuses does; one set on
 * the command line keeps its message as it is.
 */
static void
test_build_locates(void)
{
    const char *path = "/tmp/wsd-test-config-locate.conf";
    struct config cfg;
    char err[CONFIG_ERROR_MAX];
    char want[CONFIG_ERROR_MAX];
    static const struct {
        const char *text, *problem;
        unsigned line;
    } cases[] = {
        {"workers 1\nuser no-such-user-wsd\n",
         "user: \"no-such-user-wsd\": no such user", 2},
        {"user nobody\n\ngroup no-such-group-wsd\n",
         "group: \"no-such-group-wsd\": no such group", 3},
        {"# token\nadmin_token_file /nonexistent/token\n",
         "admin_token_file /nonexistent/token: No such file or directory", 2},
        {"workers 1\nworkers 2\ntls_listen 127.0.0.1:0\n",
         "tls_listen: TLS is off without tls_certificate", 3},
        {"stats_cases 0\naccess_log /tmp/a.log\n",
         "access_log: needs stats_cases above 0 (each line is written from "
         "the connection's record)",
         2},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(path, "w");
        ok(f != NULL, "temporary file");
        if (f == NULL) {
            return;
        }
        fputs(cases[i].text, f);
        fclose(f);
        const struct config_item items[] = {{"path", "/x", NULL},
                                            {NULL, path, NULL}};
        is_int(config_build(&cfg, items, 2, err), -1, "build: %s refused",
               cases[i].problem);
        snprintf(want, sizeof(want), "%s:%u: %s", path, cases[i].line,
                 cases[i].problem);
        is_str(err, want, "build: file:line: problem");
    }
    /* The command line has the last word, and is no line of the file. */
    const struct config_item later[] = {{NULL, path, NULL},
                                        {"user", "no-such-user-wsd", NULL}};
    is_int(config_build(&cfg, later, 2, err), -1, "build: bad user refused");
    is_str(err, "user: \"no-such-user-wsd\": no such user",
           "build: a setting of the command line is named as it is");
    remove(path);
}

int
main(void)
{
    log_set_level(LOG_LEVEL_ALERT);
    test_defaults();
    test_values();
    test_refusals();
    test_daemon_directives();
    test_build();
    test_build_locates();
    test_relative_files();
    test_tls();
    test_admin_ports();
    test_files();
    test_shipped_file();
    return tap_done();
}
