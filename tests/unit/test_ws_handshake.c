/* SPDX-License-Identifier: MIT */
/*
 * Tests for the opening-handshake module: Sec-WebSocket-Accept against the
 * RFC 6455 §1.3 example and vectors computed with an independent SHA-1, the
 * request parser over one table of requests fed whole, one byte at a time
 * and in random pieces, the limits, and the exact bytes of the responses.
 */
#include "autoconf.h"

#include "ws_handshake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "split.h"
#include "tap.h"

/* RFC 6455 §1.2 and §4.1: the sample client handshake. */
#define RFC_REQUEST                                                            \
    "GET /chat HTTP/1.1\r\n"                                                   \
    "Host: server.example.com\r\n"                                             \
    "Upgrade: websocket\r\n"                                                   \
    "Connection: Upgrade\r\n"                                                  \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                          \
    "Origin: http://example.com\r\n"                                           \
    "Sec-WebSocket-Protocol: chat, superchat\r\n"                              \
    "Sec-WebSocket-Version: 13\r\n"                                            \
    "\r\n"

/* The pieces of a minimal valid request, to build the table from. */
#define RL   "GET /chat HTTP/1.1\r\n"
#define HOST "Host: server.example.com\r\n"
#define UPG  "Upgrade: websocket\r\n"
#define CONN "Connection: Upgrade\r\n"
#define KEY  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define VER  "Sec-WebSocket-Version: 13\r\n"
#define END  "\r\n"
#define BASE RL HOST UPG CONN KEY VER END
#define EXT  "Sec-WebSocket-Extensions: permessage-deflate\r\n"
#define EXT4 EXT EXT EXT EXT

/* RFC 6455 §5.7: a masked frame holding "Hello". */
#define HELLO_FRAME "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"

/* The reasons the parser gives, one per rule. */
#define R_EMPTY_LINE   "empty request line"
#define R_LINE         "malformed request line"
#define R_METHOD_TOKEN "request method is not a token"
#define R_TARGET_CHARS "malformed request target"
#define R_VERSION      "malformed HTTP version in request line"
#define R_HTTP10       "HTTP/1.0 request cannot be upgraded (HTTP/1.1 is needed)"
#define R_HTTP_OTHER   "unsupported HTTP version (this server speaks HTTP/1.1)"
#define R_COLON_WS     "whitespace before colon in header field"
#define R_NAME         "malformed header field name"
#define R_FOLD         "obsolete line folding in header section"
#define R_CTL          "control character in header field value"
#define R_GET          "method must be GET"
#define R_TARGET       "request target must be a path or an http(s) URI"
#define R_PATH         "no WebSocket endpoint at this path"
#define R_FRAGMENT     "request target must not hold a fragment (#)"
#define R_NO_HOST      "missing Host header"
#define R_TWO_HOST     "repeated Host header"
#define R_BODY         "handshake request must not have a body"
#define R_TE           "Transfer-Encoding not allowed in handshake"
#define R_NO_UPG       "missing Upgrade header"
#define R_UPG          "Upgrade header does not offer websocket"
#define R_NO_CONN      "missing Connection header"
#define R_CONN         "Connection header lacks the upgrade option"
#define R_NO_VER       "missing Sec-WebSocket-Version header"
#define R_TWO_VER      "repeated Sec-WebSocket-Version header"
#define R_VER          "unsupported Sec-WebSocket-Version (this server speaks 13)"
#define R_NO_KEY       "missing Sec-WebSocket-Key header"
#define R_TWO_KEY      "repeated Sec-WebSocket-Key header"
#define R_KEY          "Sec-WebSocket-Key must be 16 bytes in base64"
#define R_MANY_EXT     "too many Sec-WebSocket-Extensions headers"
#define R_MANY_HEADERS "too many header fields"
#define R_TOO_LARGE    "request header section too large"

/* The limits of the table's configuration unless a case sets its own. */
#define DEFAULT_MAX_BYTES   1024
#define DEFAULT_MAX_HEADERS 16

struct hs_case {
    const char *name;
    const char *req;      /* the bytes the client sends */
    size_t len;           /* their count; they may hold NUL */
    const char *reason;   /* the expected reason; NULL when accepted */
    size_t tail;          /* bytes after the point the result is decided */
    size_t max_bytes;     /* 0 for DEFAULT_MAX_BYTES */
    unsigned status;      /* 0 when accepted, else the HTTP status */
    unsigned max_headers; /* 0 for DEFAULT_MAX_HEADERS */
};

#define ACCEPT(name, req, tail)                                                \
    {                                                                          \
        name, req, sizeof(req) - 1, NULL, tail, 0, 0, 0                        \
    }
#define REFUSE(name, req, status, reason, tail)                                \
    {                                                                          \
        name, req, sizeof(req) - 1, reason, tail, 0, status, 0                 \
    }
#define LIMITED(name, req, status, reason, tail, max_bytes, max_headers)       \
    {                                                                          \
        name, req, sizeof(req) - 1, reason, tail, max_bytes, status,           \
            max_headers                                                        \
    }

/* A header section that never ends, for the byte limit. */
#define UNENDING                                                               \
    "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nX-Pad: "                \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct hs_case cases[] = {
    /* Accepted requests. */
    ACCEPT("RFC 6455 sample request", RFC_REQUEST, 0),
    ACCEPT("minimal request", BASE, 0),
    ACCEPT("bare LF line endings",
           "GET /chat HTTP/1.1\nHost: server.example.com\nUpgrade: websocket\n"
           "Connection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
           "Sec-WebSocket-Version: 13\n\n",
           0),
    ACCEPT("LF lines ended by a CRLF empty line",
           "GET /chat HTTP/1.1\nHost: server.example.com\nUpgrade: websocket\n"
           "Connection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
           "Sec-WebSocket-Version: 13\n\r\n",
           0),
    ACCEPT("CRLF lines ended by a bare LF empty line",
           RL HOST UPG CONN KEY VER "\n", 0),
    ACCEPT("WebSocket frame after the empty line is not consumed",
           BASE HELLO_FRAME, 11),
    ACCEPT("stray CRLF after the empty line is not consumed", BASE "\r\n", 2),
    ACCEPT("header names in any case",
           RL "hOST: server.example.com\r\nUPGRADE: WebSocket\r\n"
              "connection: upgrade\r\n"
              "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "SEC-WEBSOCKET-VERSION: 13\r\n" END,
           0),
    ACCEPT("optional whitespace around values",
           RL "Host: \t server.example.com \t\r\n"
              "Upgrade:  websocket \r\nConnection:\tUpgrade\t\r\n"
              "Sec-WebSocket-Key:  dGhlIHNhbXBsZSBub25jZQ== \r\n"
              "Sec-WebSocket-Version:\t13 \r\n" END,
           0),
    ACCEPT("no whitespace after the colons",
           RL "Host:server.example.com\r\nUpgrade:websocket\r\n"
              "Connection:Upgrade\r\n"
              "Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version:13\r\n" END,
           0),
    ACCEPT("websocket second in the Upgrade list",
           RL HOST "Upgrade: h2c, WebSocket\r\n" CONN KEY VER END, 0),
    ACCEPT("websocket in a repeated Upgrade header",
           RL HOST "Upgrade: h2c\r\nUpgrade: websocket\r\n" CONN KEY VER END,
           0),
    ACCEPT("Connection: keep-alive, Upgrade",
           RL HOST UPG "Connection: keep-alive, Upgrade\r\n" KEY VER END, 0),
    ACCEPT("upgrade in a repeated Connection header",
           RL HOST UPG
           "Connection: keep-alive\r\nConnection: Upgrade\r\n" KEY VER END,
           0),
    ACCEPT("empty elements in the Connection list",
           RL HOST UPG "Connection: , ,Upgrade ,\r\n" KEY VER END, 0),
    ACCEPT("HTTP/1.2", "GET /chat HTTP/1.2\r\n" HOST UPG CONN KEY VER END, 0),
    ACCEPT("HTTP/1.9", "GET /chat HTTP/1.9\r\n" HOST UPG CONN KEY VER END, 0),
    ACCEPT("query string",
           "GET /chat?room=1&x=%20 HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 0),
    ACCEPT("empty query", "GET /chat? HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
           0),
    ACCEPT("Content-Length: 0",
           RL HOST UPG CONN KEY VER "Content-Length: 0\r\n" END, 0),
    ACCEPT("obs-text in a value",
           RL HOST UPG CONN KEY VER "User-Agent: caf\xc3\xa9\r\n" END, 0),
    ACCEPT("empty values",
           RL HOST UPG CONN KEY VER "X-Empty:\r\nX-Blank:   \r\n" END, 0),
    ACCEPT("HTAB inside a value",
           RL HOST UPG CONN KEY VER "X-Tab: a\tb\r\n" END, 0),
    ACCEPT("every tchar in a header name",
           RL HOST UPG CONN KEY VER "!#$%&'*+-.^_`|~09azAZ: v\r\n" END, 0),
    ACCEPT("key with + and /",
           RL HOST UPG CONN
           "Sec-WebSocket-Key: +/+/+/+/+/+/+/+/+/+/+w==\r\n" VER END,
           0),
    ACCEPT("key whose pad bits are zero",
           RL HOST UPG CONN
           "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAQ==\r\n" VER END,
           0),
    ACCEPT("eight extension headers", RL HOST UPG CONN KEY VER EXT4 EXT4 END,
           0),
    LIMITED("exactly max_headers headers",
            RL HOST UPG CONN KEY VER "X-A: 1\r\n" END, 0, NULL, 0, 0, 6),
    LIMITED("exactly max_bytes bytes", BASE HELLO_FRAME, 0, NULL, 11,
            sizeof(BASE) - 1, 0),

    /* 400: the request line. */
    REFUSE("empty line before the request line", "\r\n" BASE, 400, R_EMPTY_LINE,
           sizeof(BASE) - 1),
    REFUSE("bare LF before the request line", "\n" BASE, 400, R_EMPTY_LINE,
           sizeof(BASE) - 1),
    REFUSE("two spaces after the method",
           "GET  /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400, R_LINE, 0),
    REFUSE("two spaces before the version",
           "GET /chat  HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400, R_LINE, 0),
    REFUSE("space after the version",
           "GET /chat HTTP/1.1 \r\n" HOST UPG CONN KEY VER END, 400, R_LINE, 0),
    REFUSE("space before the method",
           " GET /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400, R_LINE, 0),
    REFUSE("method alone", "GET\r\n" HOST UPG CONN KEY VER END, 400, R_LINE, 0),
    REFUSE("no version", "GET /chat\r\n" HOST UPG CONN KEY VER END, 400, R_LINE,
           0),
    REFUSE("tab as a separator",
           "GET\t/chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400,
           R_METHOD_TOKEN, 0),
    REFUSE("method not a token",
           "G(T /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400,
           R_METHOD_TOKEN, 0),
    REFUSE("control character in the target",
           "GET /ch\x01"
           "at HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
           400, R_TARGET_CHARS, 0),
    REFUSE("NUL in the target",
           "GET /ch\0"
           "at HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
           400, R_TARGET_CHARS, 0),
    REFUSE("non-ASCII byte in the target",
           "GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400,
           R_TARGET_CHARS, 0),
    REFUSE("HTTP/1.0", "GET /chat HTTP/1.0\r\n" HOST UPG CONN KEY VER END, 400,
           R_HTTP10, 0),
    REFUSE("HTTP/2.0", "GET /chat HTTP/2.0\r\n" HOST UPG CONN KEY VER END, 400,
           R_HTTP_OTHER, 0),
    REFUSE("HTTP/0.9", "GET /chat HTTP/0.9\r\n" HOST UPG CONN KEY VER END, 400,
           R_HTTP_OTHER, 0),
    REFUSE("lower-case http/1.1",
           "GET /chat http/1.1\r\n" HOST UPG CONN KEY VER END, 400, R_VERSION,
           0),
    REFUSE("HTTP/1.10", "GET /chat HTTP/1.10\r\n" HOST UPG CONN KEY VER END,
           400, R_VERSION, 0),
    REFUSE("HTTP/1", "GET /chat HTTP/1\r\n" HOST UPG CONN KEY VER END, 400,
           R_VERSION, 0),
    REFUSE("HTTP/1.x", "GET /chat HTTP/1.x\r\n" HOST UPG CONN KEY VER END, 400,
           R_VERSION, 0),
    REFUSE("HTTQ/1.1", "GET /chat HTTQ/1.1\r\n" HOST UPG CONN KEY VER END, 400,
           R_VERSION, 0),
    REFUSE("bare CR ending the request line",
           "GET /chat HTTP/1.1\r\r\n" HOST UPG CONN KEY VER END, 400, R_VERSION,
           0),

    /* 400: header fields. */
    REFUSE("space before the colon",
           RL "Host : server.example.com\r\n" UPG CONN KEY VER END, 400,
           R_COLON_WS, 0),
    REFUSE("tab before the colon", RL HOST UPG CONN KEY VER "X-A\t: 1\r\n" END,
           400, R_COLON_WS, 0),
    REFUSE("space inside the name", RL HOST UPG CONN KEY VER "X A: 1\r\n" END,
           400, R_NAME, 0),
    REFUSE("no colon", RL HOST UPG CONN KEY VER "NoColonHere\r\n" END, 400,
           R_NAME, 0),
    REFUSE("empty name", RL HOST UPG CONN KEY VER ": value\r\n" END, 400,
           R_NAME, 0),
    REFUSE("separator in the name", RL HOST UPG CONN KEY VER "X(A): 1\r\n" END,
           400, R_NAME, 0),
    REFUSE("non-ASCII byte in the name",
           RL HOST UPG CONN KEY VER "X-\xc3\xa9: 1\r\n" END, 400, R_NAME, 0),
    REFUSE("obs-fold with a space",
           RL HOST UPG CONN KEY VER "X-A: 1\r\n continued\r\n" END, 400, R_FOLD,
           0),
    REFUSE("obs-fold with a tab",
           RL HOST UPG CONN KEY VER "X-A: 1\r\n\tcontinued\r\n" END, 400,
           R_FOLD, 0),
    REFUSE("whitespace before the first field",
           RL " Host: server.example.com\r\n" UPG CONN KEY VER END, 400, R_FOLD,
           0),
    REFUSE("control character in a value",
           RL HOST UPG CONN KEY VER "X-A: a\x01"
                                    "b\r\n" END,
           400, R_CTL, 0),
    REFUSE("DEL in a value",
           RL HOST UPG CONN KEY VER "X-A: a\x7f"
                                    "b\r\n" END,
           400, R_CTL, 0),
    REFUSE("NUL in a value",
           RL HOST UPG CONN KEY VER "X-A: a\0"
                                    "b\r\n" END,
           400, R_CTL, 0),
    REFUSE("bare CR in a value", RL HOST UPG CONN KEY VER "X-A: a\rb\r\n" END,
           400, R_CTL, 0),
    REFUSE("bare CR as a line ending",
           RL
           "Host: server.example.com\rUpgrade: websocket\r\n" CONN KEY VER END,
           400, R_CTL, 0),

    /* 405, then the target and path. */
    REFUSE("POST", "POST /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 405,
           R_GET, 0),
    REFUSE("lower-case get", "get /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
           405, R_GET, 0),
    REFUSE("HEAD", "HEAD /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 405,
           R_GET, 0),
    /* RFC 6455 §4.2.1 item 1, RFC 9112 §3.2.2: absolute-form names the
     * resource too; its path is what must match. */
    ACCEPT("absolute-form target",
           "GET http://server.example.com/chat HTTP/1.1\r\n" HOST UPG CONN KEY
               VER END,
           0),
    ACCEPT("absolute-form target, https, upper-case scheme, port, query",
           "GET HTTPS://server.example.com:8443/chat?a=1 HTTP/1.1\r\n" HOST UPG
               CONN KEY VER END,
           0),
    REFUSE("absolute-form target with another path",
           "GET http://server.example.com/other HTTP/1.1\r\n" HOST UPG CONN KEY
               VER END,
           404, R_PATH, 0),
    REFUSE(
        "absolute-form target without a path",
        "GET http://server.example.com HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
        404, R_PATH, 0),
    REFUSE("ws: scheme is not an HTTP target",
           "GET ws://server.example.com/chat HTTP/1.1\r\n" HOST UPG CONN KEY VER
               END,
           400, R_TARGET, 0),
    REFUSE("asterisk-form target",
           "GET * HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400, R_TARGET, 0),
    REFUSE("relative target", "GET chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
           400, R_TARGET, 0),
    REFUSE("a fragment after the path",
           "GET /chat#frag HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400,
           R_FRAGMENT, 0),
    REFUSE("a fragment after the query",
           "GET /chat?a=1#frag HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400,
           R_FRAGMENT, 0),
    REFUSE("an empty fragment after an empty query",
           "GET /chat?# HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 400,
           R_FRAGMENT, 0),
    REFUSE("a fragment in an absolute-form target",
           "GET http://server.example.com/chat#x HTTP/1.1\r\n" HOST UPG CONN KEY
               VER END,
           400, R_FRAGMENT, 0),
    REFUSE("another path", "GET /other HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
           404, R_PATH, 0),
    REFUSE("root path", "GET / HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 404,
           R_PATH, 0),
    REFUSE("path with a trailing slash",
           "GET /chat/ HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 404, R_PATH, 0),
    REFUSE("path with a trailing slash and a query",
           "GET /chat/?a=b HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 404, R_PATH,
           0),
    REFUSE("path in another case",
           "GET /Chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 404, R_PATH, 0),
    REFUSE("prefix of the path",
           "GET /cha HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 404, R_PATH, 0),
    REFUSE("percent-encoded path",
           "GET /%63hat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 404, R_PATH,
           0),

    /* 400: Host and body. */
    REFUSE("no Host", RL UPG CONN KEY VER END, 400, R_NO_HOST, 0),
    REFUSE("two Host headers",
           RL HOST UPG CONN KEY VER "host: other.example.com\r\n" END, 400,
           R_TWO_HOST, 0),
    REFUSE("Content-Length: 5 and a body",
           RL HOST UPG CONN KEY VER "Content-Length: 5\r\n" END "hello", 400,
           R_BODY, 5),
    REFUSE("Content-Length: 00",
           RL HOST UPG CONN KEY VER "Content-Length: 00\r\n" END, 400, R_BODY,
           0),
    REFUSE("Content-Length: 0 then 1",
           RL HOST UPG CONN KEY VER
           "Content-Length: 0\r\nContent-Length: 1\r\n" END,
           400, R_BODY, 0),
    REFUSE("Transfer-Encoding: chunked",
           RL HOST UPG CONN KEY VER "Transfer-Encoding: chunked\r\n" END, 400,
           R_TE, 0),
    REFUSE("Transfer-Encoding: identity",
           RL HOST UPG CONN KEY VER "Transfer-Encoding: identity\r\n" END, 400,
           R_TE, 0),

    /* 426: Upgrade. */
    REFUSE("no Upgrade", RL HOST CONN KEY VER END, 426, R_NO_UPG, 0),
    REFUSE("Upgrade: websocket2",
           RL HOST "Upgrade: websocket2\r\n" CONN KEY VER END, 426, R_UPG, 0),
    REFUSE("Upgrade: h2c", RL HOST "Upgrade: h2c\r\n" CONN KEY VER END, 426,
           R_UPG, 0),
    REFUSE("Upgrade: websocket/13",
           RL HOST "Upgrade: websocket/13\r\n" CONN KEY VER END, 426, R_UPG, 0),
    REFUSE("Upgrade: web socket",
           RL HOST "Upgrade: web socket\r\n" CONN KEY VER END, 426, R_UPG, 0),
    REFUSE("empty Upgrade", RL HOST "Upgrade:\r\n" CONN KEY VER END, 426, R_UPG,
           0),

    /* 400: Connection. */
    REFUSE("no Connection", RL HOST UPG KEY VER END, 400, R_NO_CONN, 0),
    REFUSE("Connection: keep-alive",
           RL HOST UPG "Connection: keep-alive\r\n" KEY VER END, 400, R_CONN,
           0),
    REFUSE("Connection: upgrades",
           RL HOST UPG "Connection: upgrades\r\n" KEY VER END, 400, R_CONN, 0),
    REFUSE("Connection list without commas",
           RL HOST UPG "Connection: keep-alive Upgrade\r\n" KEY VER END, 400,
           R_CONN, 0),

    /* Sec-WebSocket-Version. */
    REFUSE("no version", RL HOST UPG CONN KEY END, 400, R_NO_VER, 0),
    REFUSE("two version headers", RL HOST UPG CONN KEY VER VER END, 400,
           R_TWO_VER, 0),
    REFUSE("version 8", RL HOST UPG CONN KEY "Sec-WebSocket-Version: 8\r\n" END,
           426, R_VER, 0),
    REFUSE("version list 13, 8",
           RL HOST UPG CONN KEY "Sec-WebSocket-Version: 13, 8\r\n" END, 426,
           R_VER, 0),
    REFUSE("version 013",
           RL HOST UPG CONN KEY "Sec-WebSocket-Version: 013\r\n" END, 426,
           R_VER, 0),
    REFUSE("empty version",
           RL HOST UPG CONN KEY "Sec-WebSocket-Version:\r\n" END, 426, R_VER,
           0),

    /* 400: Sec-WebSocket-Key. */
    REFUSE("no key", RL HOST UPG CONN VER END, 400, R_NO_KEY, 0),
    REFUSE("two key headers", RL HOST UPG CONN KEY KEY VER END, 400, R_TWO_KEY,
           0),
    REFUSE("key of 23 characters",
           RL HOST UPG CONN
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n" VER END,
           400, R_KEY, 0),
    REFUSE("key without padding",
           RL HOST UPG CONN
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA\r\n" VER END,
           400, R_KEY, 0),
    REFUSE("key in the URL-safe alphabet",
           RL HOST UPG CONN
           "Sec-WebSocket-Key: -_-_-_-_-_-_-_-_-_-_-w==\r\n" VER END,
           400, R_KEY, 0),
    REFUSE("key with pad bits set",
           RL HOST UPG CONN
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n" VER END,
           400, R_KEY, 0),
    REFUSE("key of 20 bytes",
           RL HOST UPG CONN
           "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n" VER END,
           400, R_KEY, 0),
    REFUSE("key of 12 bytes",
           RL HOST UPG CONN "Sec-WebSocket-Key: AAAAAAAAAAAAAAAA\r\n" VER END,
           400, R_KEY, 0),
    REFUSE("padding inside the key",
           RL HOST UPG CONN
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j=Q==\r\n" VER END,
           400, R_KEY, 0),
    REFUSE("three padding characters",
           RL HOST UPG CONN
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ===\r\n" VER END,
           400, R_KEY, 0),
    REFUSE("space inside the key",
           RL HOST UPG CONN
           "Sec-WebSocket-Key: dGhlIHNhbXBs ZSBub25jZQ==\r\n" VER END,
           400, R_KEY, 0),
    REFUSE("empty key", RL HOST UPG CONN "Sec-WebSocket-Key:\r\n" VER END, 400,
           R_KEY, 0),

    /* 431. */
    REFUSE("nine extension headers", RL HOST UPG CONN KEY VER EXT4 EXT4 EXT END,
           431, R_MANY_EXT, 0),
    LIMITED("max_headers + 1 headers",
            RL HOST UPG CONN KEY VER "X-A: 1\r\nX-B: 2\r\n" END, 431,
            R_MANY_HEADERS, 0, 0, 6),
    LIMITED("complete request one byte over max_bytes", BASE HELLO_FRAME, 431,
            R_TOO_LARGE, 11, sizeof(BASE) - 2, 0),
    LIMITED("max_bytes + 1 bytes without an end", UNENDING, 431, R_TOO_LARGE,
            sizeof(UNENDING) - 1 - 41, 40, 0),

    /* The order of the checks when a request breaks several rules. */
    REFUSE("HTTP/1.0 POST", "POST /chat HTTP/1.0\r\n" HOST UPG CONN KEY VER END,
           400, R_HTTP10, 0),
    REFUSE("POST with an obs-fold",
           "POST /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER
           "X-A: 1\r\n 2\r\n" END,
           400, R_FOLD, 0),
    REFUSE("POST to another path",
           "POST /other HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 405, R_GET, 0),
    REFUSE("relative target, no Host", "GET chat HTTP/1.1\r\n" UPG CONN END,
           400, R_TARGET, 0),
    REFUSE("another path, no Host", "GET /other HTTP/1.1\r\n" UPG CONN END, 404,
           R_PATH, 0),
    REFUSE("no Host, a body",
           RL UPG CONN KEY VER "Content-Length: 5\r\n" END "hello", 400,
           R_NO_HOST, 5),
    REFUSE("a body, no Upgrade",
           RL HOST CONN KEY VER "Transfer-Encoding: chunked\r\n" END, 400, R_TE,
           0),
    REFUSE("no Upgrade, no Connection", RL HOST KEY VER END, 426, R_NO_UPG, 0),
    REFUSE("no Connection, version 8",
           RL HOST UPG KEY "Sec-WebSocket-Version: 8\r\n" END, 400, R_NO_CONN,
           0),
    REFUSE("version 8, bad key",
           RL HOST UPG CONN "Sec-WebSocket-Version: 8\r\n"
                            "Sec-WebSocket-Key: x\r\n" END,
           426, R_VER, 0),
    REFUSE("no version, no key", RL HOST UPG CONN END, 400, R_NO_VER, 0),
    LIMITED("too many headers before a malformed one",
            RL HOST UPG CONN KEY VER "X-A: 1\r\nX B: 2\r\n" END, 431,
            R_MANY_HEADERS, 0, 0, 6),
    LIMITED("malformed header before too many",
            RL HOST "X B: 2\r\n" UPG CONN KEY VER "X-A: 1\r\n" END, 400, R_NAME,
            0, 0, 6),
    LIMITED("POST over max_bytes",
            "POST /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, 431,
            R_TOO_LARGE, 0, sizeof(BASE) - 1, 0),
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static struct ws_handshake_config
case_config(const struct hs_case *c)
{
    struct ws_handshake_config cfg = {"/chat", DEFAULT_MAX_BYTES,
                                      DEFAULT_MAX_HEADERS, NULL, NULL};

    if (c->max_bytes != 0) {
        cfg.max_bytes = c->max_bytes;
    }
    if (c->max_headers != 0) {
        cfg.max_headers = c->max_headers;
    }
    return cfg;
}

static bool
span_inside(struct ws_span s, const char *buf, size_t n)
{
    return s.p == NULL ||
           (s.p >= buf && s.len <= n && (size_t)(s.p - buf) <= n - s.len);
}

/* Every span of an accepted request lies in its header section. */
static bool
spans_inside(const struct ws_handshake_request *r, const char *buf, size_t n)
{
    bool inside =
        span_inside(r->method, buf, n) && span_inside(r->target, buf, n) &&
        span_inside(r->path, buf, n) && span_inside(r->query, buf, n) &&
        span_inside(r->host, buf, n) && span_inside(r->key, buf, n) &&
        span_inside(r->user_agent, buf, n) && span_inside(r->origin, buf, n);

    for (unsigned i = 0; i < r->n_extensions; i++) {
        inside = inside && span_inside(r->extensions[i], buf, n);
    }
    return inside;
}

/* The decision point: the length at which the result must appear. */
static size_t
decided_at(const struct hs_case *c)
{
    return c->len - c->tail;
}

/* Whether a result is the one the case expects; says why not. */
static bool
outcome_is(const struct hs_case *c, ssize_t got, const struct ws_error *err,
           const struct ws_handshake_request *r, const char *buf, size_t len)
{
    if (c->status == 0) {
        if (got != (ssize_t)decided_at(c)) {
            tap_diag("%s: got %lld (%s), want %zu", c->name, (long long)got,
                     err->reason != NULL ? err->reason : "no reason",
                     decided_at(c));
            return false;
        }
        if (!spans_inside(r, buf, (size_t)got)) {
            tap_diag("%s: a span points outside the request at %zu bytes",
                     c->name, len);
            return false;
        }
        return true;
    }
    if (got != WS_FAIL || err->code != c->status || err->reason == NULL ||
        strcmp(err->reason, c->reason) != 0) {
        tap_diag("%s: got %lld, status %u (%s), want status %u (%s) at %zu "
                 "bytes",
                 c->name, (long long)got, (unsigned)err->code,
                 err->reason != NULL ? err->reason : "no reason", c->status,
                 c->reason, len);
        return false;
    }
    return true;
}

/*
 * Feeds the first n bytes to the parser with the connection's request
 * struct r, and checks the result: WS_AGAIN before the decision point, the
 * expected outcome from there on.
 */
static bool
feed_prefix(const struct hs_case *c, struct ws_handshake_request *r, size_t n)
{
    struct ws_handshake_config cfg = case_config(c);
    struct ws_error err = {0, NULL};
    /* A piece of its own each time: the buffer may move between calls as a
     * connection's input buffer may. */
    char *b = split_piece_new(c->req, n);
    ssize_t got = ws_handshake_parse(r, b, n, &cfg, &err);
    bool good;

    if (n < decided_at(c)) {
        good = got == WS_AGAIN;
        if (!good) {
            tap_diag("%s: got %lld (%s) at %zu of %zu bytes, want WS_AGAIN",
                     c->name, (long long)got,
                     err.reason != NULL ? err.reason : "no reason", n,
                     decided_at(c));
        }
    } else {
        good = outcome_is(c, got, &err, r, b, n);
    }
    split_piece_free(b, n);
    return good;
}

static void
test_case_whole(const struct hs_case *c)
{
    struct ws_handshake_request r;
    struct ws_handshake_config cfg = case_config(c);
    struct ws_error err = {0, NULL};
    char *b = split_piece_new(c->req, c->len);

    memset(&r, 0, sizeof(r));
    ssize_t got = ws_handshake_parse(&r, b, c->len, &cfg, &err);
    if (c->status == 0) {
        is_int(got, decided_at(c), "%s: %s, accepted", c->name,
               split_name(SPLIT_WHOLE));
        ok(spans_inside(&r, b, decided_at(c)), "%s: spans inside the request",
           c->name);
    } else {
        is_int(got, WS_FAIL, "%s: %s, refused", c->name,
               split_name(SPLIT_WHOLE));
        is_int(err.code, c->status, "%s: status", c->name);
        is_str(err.reason, c->reason, "%s: reason", c->name);
    }
    split_piece_free(b, c->len);
}

static void
test_case_bytewise(const struct hs_case *c)
{
    struct ws_handshake_request r;
    bool good = true;

    /* Zero-filled once, as a connection does, then fed as bytes arrive. */
    memset(&r, 0, sizeof(r));
    for (size_t n = 0; n <= c->len && good; n++) {
        good = feed_prefix(c, &r, n);
    }
    ok(good, "%s: %s", c->name, split_name(SPLIT_ONE_BYTE));
}

static void
test_case_random(const struct hs_case *c)
{
    bool good = true;

    for (int round = 0; round < 16 && good; round++) {
        struct ws_handshake_request r;
        size_t n = 0;

        memset(&r, 0, sizeof(r));
        while (good && n < c->len) {
            n += split_next(SPLIT_RANDOM, c->len - n);
            good = feed_prefix(c, &r, n);
            if (n >= decided_at(c)) {
                break;
            }
        }
    }
    ok(good, "%s: %s", c->name, split_name(SPLIT_RANDOM));
}

static void
test_table(void)
{
    for (size_t i = 0; i < N_CASES; i++) {
        test_case_whole(&cases[i]);
        test_case_bytewise(&cases[i]);
        test_case_random(&cases[i]);
    }
}

static void
test_accept_key(void)
{
    char out[WS_HANDSHAKE_ACCEPT_LEN + 1];
    /* Long enough to overflow the hashing buffer if it were not checked. */
    char long_key[129];

    /* RFC 6455 §1.3 (and §4.2.2). */
    ws_handshake_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    is_str(out,
           "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "accept: RFC 6455 §1.3 example");

    /* Computed with Python's hashlib and base64, not with this code. */
    ws_handshake_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", 24, out);
    is_str(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=", "accept: second vector");
    ws_handshake_accept_key("", 0, out);
    is_str(out, "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w=", "accept: empty key");
    memset(long_key, 'A', sizeof(long_key));
    ws_handshake_accept_key(long_key, 128, out);
    is_str(out, "18kJHgymYy4Gps0qATK+/0kJWKI=", "accept: 128-byte key");
    ws_handshake_accept_key(long_key, 129, out);
    is_str(out, "", "accept: a key over 128 bytes gives the empty string");
}

static bool
span_is(struct ws_span s, const char *want)
{
    return s.p != NULL && s.len == strlen(want) &&
           memcmp(s.p, want, s.len) == 0;
}

static void
test_rfc_request(void)
{
    static const char req[] = RFC_REQUEST;
    struct ws_handshake_config cfg = {"/chat", 4096, 64, NULL, NULL};
    struct ws_handshake_request r;
    struct ws_error err = {0, NULL};

    memset(&r, 0, sizeof(r));
    ssize_t got = ws_handshake_parse(&r, req, sizeof(req) - 1, &cfg, &err);
    is_int(got, sizeof(req) - 1, "RFC request: whole request consumed");
    ok(err.reason == NULL, "RFC request: no error reported");
    ok(span_is(r.method, "GET"), "RFC request: method");
    ok(span_is(r.target, "/chat"), "RFC request: target");
    ok(span_is(r.path, "/chat"), "RFC request: path");
    is_int(r.query.len, 0, "RFC request: no query");
    ok(span_is(r.host, "server.example.com"), "RFC request: host");
    ok(span_is(r.key, "dGhlIHNhbXBsZSBub25jZQ=="), "RFC request: key");
    ok(span_is(r.origin, "http://example.com"), "RFC request: origin");
    ok(r.user_agent.p == NULL && r.user_agent.len == 0,
       "RFC request: no user agent");
    is_int(r.n_extensions, 0, "RFC request: no extensions");
    is_int(r.n_headers, 7, "RFC request: seven header lines");
    ok(r.host.p > req && r.host.p < req + sizeof(req),
       "RFC request: spans point into the caller's buffer");
}

static void
test_spans(void)
{
    static const char req[] = "GET /chat?room=1 HTTP/1.1\r\n"
                              "Host:  server.example.com:8080 \r\n"
                              "User-Agent: test/1.0\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Extensions: permessage-deflate; "
                              "client_max_window_bits\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Origin: http://a.example\r\n"
                              "Origin: http://b.example\r\n"
                              "Sec-WebSocket-Extensions: x-foo\r\n"
                              "Sec-WebSocket-Version: 13\r\n"
                              "\r\n";
    struct ws_handshake_config cfg = {"/chat", 4096, 64, NULL, NULL};
    struct ws_handshake_request r;
    struct ws_error err = {0, NULL};

    memset(&r, 0, sizeof(r));
    ssize_t got = ws_handshake_parse(&r, req, sizeof(req) - 1, &cfg, &err);
    is_int(got, sizeof(req) - 1, "spans: accepted");
    ok(span_is(r.target, "/chat?room=1"), "spans: target with query");
    ok(span_is(r.path, "/chat"), "spans: path before '?'");
    ok(span_is(r.query, "room=1"), "spans: query after '?'");
    ok(span_is(r.host, "server.example.com:8080"), "spans: host trimmed");
    ok(span_is(r.user_agent, "test/1.0"), "spans: user agent");
    ok(span_is(r.origin, "http://a.example"), "spans: the first origin");
    is_int(r.n_extensions, 2, "spans: two extension headers");
    ok(span_is(r.extensions[0], "permessage-deflate; client_max_window_bits"),
       "spans: first extension header");
    ok(span_is(r.extensions[1], "x-foo"), "spans: second extension header");
    is_int(r.n_headers, 10, "spans: ten header lines");

    /* A second call over the same complete request starts afresh. */
    got = ws_handshake_parse(&r, req, sizeof(req) - 1, &cfg, &err);
    is_int(got, sizeof(req) - 1, "spans: a second call gives the same size");
    is_int(r.n_extensions, 2, "spans: a second call does not add extensions");
    is_int(r.n_headers, 10, "spans: a second call does not add headers");
}

/*
 * A slow client: a header section sent one byte at a time into one growing
 * buffer is answered WS_AGAIN up to max_bytes, then 431 before any end.
 */
static void
test_slow_client(void)
{
    const size_t max_bytes = 16384;
    struct ws_handshake_config cfg = {"/chat", max_bytes, 100000, NULL, NULL};
    struct ws_handshake_request r;
    char *buf = malloc(max_bytes + 1);
    bool good = true;

    if (buf == NULL) {
        perror("malloc");
        exit(1);
    }
    memcpy(buf, RL, sizeof(RL) - 1);
    for (size_t i = sizeof(RL) - 1; i <= max_bytes; i++) {
        /* "X: y\r\n" lines, never an empty one. */
        buf[i] = "X: y\r\n"[(i - (sizeof(RL) - 1)) % 6];
    }
    memset(&r, 0, sizeof(r));
    for (size_t n = 0; n <= max_bytes && good; n++) {
        struct ws_error err = {0, NULL};
        good = ws_handshake_parse(&r, buf, n, &cfg, &err) == WS_AGAIN;
    }
    ok(good, "slow client: WS_AGAIN for every length up to max_bytes");

    struct ws_error err = {0, NULL};
    ssize_t got = ws_handshake_parse(&r, buf, max_bytes + 1, &cfg, &err);
    is_int(got, WS_FAIL, "slow client: max_bytes + 1 bytes are refused");
    is_int(err.code, 431, "slow client: with 431");
    is_str(err.reason, R_TOO_LARGE, "slow client: reason");
    free(buf);
}

/*
 * Checks a writer's output against the exact expected bytes, then that
 * every smaller cap gives 0 and writes nothing past the cap.
 */
static void
check_response(const char *name, const char *want,
               size_t (*writer)(char *, size_t, const void *), const void *arg)
{
    size_t want_len = strlen(want);
    char *out = malloc(want_len + 16);
    bool good = true;

    if (out == NULL) {
        perror("malloc");
        exit(1);
    }
    size_t got = writer(out, want_len + 16, arg);
    is_mem(out, got, want, want_len, "%s: exact bytes", name);
    got = writer(out, want_len, arg);
    is_int(got, want_len, "%s: fits a cap of exactly its size", name);

    for (size_t cap = 0; cap < want_len && good; cap++) {
        memset(out, '#', want_len + 16);
        got = writer(out, cap, arg);
        for (size_t i = cap; i < want_len + 16; i++) {
            good = good && out[i] == '#';
        }
        if (got != 0) {
            tap_diag("%s: returned %zu with a cap of %zu", name, got, cap);
            good = false;
        }
    }
    ok(good, "%s: 0 and nothing past the cap for every smaller cap", name);
    free(out);
}

struct args_101 {
    const struct ws_handshake_request *r;
    const char *extensions;
    const char *server;
};

static size_t
write_101(char *out, size_t cap, const void *arg)
{
    const struct args_101 *a = arg;

    return ws_handshake_response_101(out, cap, a->r, a->extensions, a->server);
}

struct args_error {
    struct ws_error err;
    const char *server;
    const struct ws_handshake_request *r; /* NULL for none */
    const struct ws_handshake_config *cfg;
};

static size_t
write_error(char *out, size_t cap, const void *arg)
{
    const struct args_error *a = arg;

    return ws_handshake_response_error(out, cap, &a->err, a->r, a->cfg,
                                       a->server);
}

/* The 404 answer to a request whose path is path: a header section, the
 * body into out[0..cap). */
static size_t
not_found_with_path(const char *path, size_t path_len, char *out, size_t cap)
{
    static const struct ws_handshake_config cfg = {"/chat", 1024, 16, NULL,
                                                   NULL};
    struct ws_handshake_request r;
    struct ws_error err = {404, R_PATH};

    memset(&r, 0, sizeof(r));
    r.path = (struct ws_span){path, path_len};
    size_t n = ws_handshake_response_error(out, cap, &err, &r, &cfg, "wsd");
    const char *body = n > 0 ? strstr(out, "\r\n\r\n") : NULL;
    if (body == NULL) {
        return 0;
    }
    body += 4;
    memmove(out, body, (size_t)(out + n - body));
    return (size_t)(out + n - body);
}

/* A 404 names the path asked for and the endpoint's, and quotes a
 * hostile path harmlessly. */
static void
test_response_not_found(void)
{
    static const char req[] =
        "GET /nope?x=1 HTTP/1.1\r\n" HOST UPG CONN KEY VER END;
    static const struct ws_handshake_config cfg = {"/chat", 4096, 64, NULL,
                                                   NULL};
    struct ws_handshake_request r;
    struct ws_error err = {0, NULL};
    char out[1024];
    size_t n;

    memset(&r, 0, sizeof(r));
    is_int(ws_handshake_parse(&r, req, sizeof(req) - 1, &cfg, &err), WS_FAIL,
           "404: /nope is refused");
    is_int(err.code, 404, "404: status");
    struct args_error e404 = {err, "wsd", &r, &cfg};
    check_response("404 naming both paths",
                   "HTTP/1.1 404 Not Found\r\n"
                   "Server: wsd\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 55\r\n"
                   "Connection: close\r\n"
                   "\r\n"
                   "no WebSocket endpoint at /nope; this server's is /chat\n",
                   write_error, &e404);

    /* Bytes the parser never lets through, should a caller pass them:
     * CR LF (a header injected into a log or a terminal), ESC, NUL, DEL,
     * a space and UTF-8, each as %XX. */
    static const char hostile[] = "/a\r\nX-Evil: 1\x1b[2J\0\x7f \xc3\xa9";
    static const char quoted[] =
        "no WebSocket endpoint at /a%0D%0AX-Evil:%201%1B[2J%00%7F%20%C3%A9; "
        "this server's is /chat\n";
    n = not_found_with_path(hostile, sizeof(hostile) - 1, out, sizeof(out));
    is_mem(out, n, quoted, sizeof(quoted) - 1,
           "404: control bytes and non-ASCII quoted as %%XX");

    /* A long path: 64 bytes of it, then "...". */
    char path[300];
    char want[160];
    memset(path, 'a', sizeof(path));
    path[0] = '/';
    n = not_found_with_path(path, sizeof(path), out, sizeof(out));
    snprintf(want, sizeof(want),
             "no WebSocket endpoint at /%.63s...; this server's is /chat\n",
             path + 1);
    is_mem(out, n, want, strlen(want), "404: a long path is cut at 64 bytes");
    /* An escape that ends at the 64th byte is kept... */
    path[61] = '\n';
    n = not_found_with_path(path, sizeof(path), out, sizeof(out));
    snprintf(want, sizeof(want),
             "no WebSocket endpoint at /%.60s%%0A...; this server's is "
             "/chat\n",
             path + 1);
    is_mem(out, n, want, strlen(want), "404: an escape ending at 64 is kept");
    n = not_found_with_path(path, 62, out, sizeof(out));
    snprintf(want, sizeof(want),
             "no WebSocket endpoint at /%.60s%%0A; this server's is /chat\n",
             path + 1);
    is_mem(out, n, want, strlen(want),
           "404: a path of exactly 64 quoted bytes is not cut");
    /* ...one that would pass it is left out, never cut. */
    path[61] = 'a';
    path[62] = '\n';
    n = not_found_with_path(path, sizeof(path), out, sizeof(out));
    snprintf(want, sizeof(want),
             "no WebSocket endpoint at /%.61s...; this server's is /chat\n",
             path + 1);
    is_mem(out, n, want, strlen(want), "404: an escape past 64 is left out");

    /* The empty path of "http://host" in absolute form. */
    n = not_found_with_path("", 0, out, sizeof(out));
    is_str(n > 0 ? (out[n] = '\0', out) : "",
           "no WebSocket endpoint at an empty path; this server's is /chat\n",
           "404: an empty path is named as such");
}

static void
test_response_101(void)
{
    static const char req[] = RFC_REQUEST;
    struct ws_handshake_config cfg = {"/chat", 4096, 64, NULL, NULL};
    struct ws_handshake_request r;
    struct ws_error err = {0, NULL};

    memset(&r, 0, sizeof(r));
    is_int(ws_handshake_parse(&r, req, sizeof(req) - 1, &cfg, &err),
           sizeof(req) - 1, "101: the RFC request is accepted");

    struct args_101 plain = {&r, NULL, "wsd"};
    /* RFC 6455 §1.3: the server's reply to the sample request. */
    check_response("101",
                   "HTTP/1.1 101 Switching Protocols\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                   "Server: wsd\r\n"
                   "\r\n",
                   write_101, &plain);

    struct args_101 ext = {&r, "permessage-deflate; server_no_context_takeover",
                           "wsd/0.1"};
    check_response("101 with extensions",
                   "HTTP/1.1 101 Switching Protocols\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                   "Sec-WebSocket-Extensions: permessage-deflate; "
                   "server_no_context_takeover\r\n"
                   "Server: wsd/0.1\r\n"
                   "\r\n",
                   write_101, &ext);

    /* Then with the digest fetched once by the caller, as wsd's workers
     * do (ws_handshake_config.sha1), and with a context of the caller's
     * (sha1_ctx) used for three answers in a row: the same answer each
     * time, nothing left in the context from the one before. */
    static const char *const how[] = {"", ", fetched SHA-1", ", a context",
                                      ", the context again",
                                      ", the context a third time"};
    EVP_MD *sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ok(sha1 != NULL && ctx != NULL, "101: SHA-1 fetched, a context made");
    for (int mode = 0; mode < 5; mode++) {
        char name[64];
        cfg.sha1 = mode > 0 ? sha1 : NULL;
        cfg.sha1_ctx = mode > 1 ? ctx : NULL;
        memset(&r, 0, sizeof(r));
        snprintf(name, sizeof(name), "101: accepted%s", how[mode]);
        is_int(ws_handshake_parse(&r, req, sizeof(req) - 1, &cfg, &err),
               sizeof(req) - 1, "%s", name);
        struct args_101 anonymous = {&r, NULL, NULL};
        snprintf(name, sizeof(name), "101 without Server%s", how[mode]);
        check_response(name,
                       "HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                       "\r\n",
                       write_101, &anonymous);
    }
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(sha1);
}

static void
test_response_error(void)
{
    struct args_error e426 = {{426, R_VER}, "wsd", NULL, NULL};
    check_response(
        "426",
        "HTTP/1.1 426 Upgrade Required\r\n"
        "Server: wsd\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 58\r\n"
        "Connection: Upgrade, close\r\n"
        "Upgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n"
        "unsupported Sec-WebSocket-Version (this server speaks 13)\n",
        write_error, &e426);

    struct args_error e405 = {{405, R_GET}, "wsd", NULL, NULL};
    check_response("405",
                   "HTTP/1.1 405 Method Not Allowed\r\n"
                   "Server: wsd\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 19\r\n"
                   "Connection: close\r\n"
                   "Allow: GET\r\n"
                   "\r\n"
                   "method must be GET\n",
                   write_error, &e405);

    struct args_error e404 = {{404, R_PATH}, "wsd", NULL, NULL};
    check_response("404 without the request",
                   "HTTP/1.1 404 Not Found\r\n"
                   "Server: wsd\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 35\r\n"
                   "Connection: close\r\n"
                   "\r\n"
                   "no WebSocket endpoint at this path\n",
                   write_error, &e404);

    struct args_error e503 = {
        {503, "server is at its connection limit"}, NULL, NULL, NULL};
    check_response("503 without Server",
                   "HTTP/1.1 503 Service Unavailable\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 34\r\n"
                   "Connection: close\r\n"
                   "\r\n"
                   "server is at its connection limit\n",
                   write_error, &e503);

    struct args_error no_reason = {{400, NULL}, "wsd", NULL, NULL};
    check_response("400 without a reason",
                   "HTTP/1.1 400 Bad Request\r\n"
                   "Server: wsd\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 12\r\n"
                   "Connection: close\r\n"
                   "\r\n"
                   "Bad Request\n",
                   write_error, &no_reason);

    struct args_error close_code = {
        {1002, "protocol error"}, "wsd", NULL, NULL};
    check_response("a status outside 400-599 is sent as 500",
                   "HTTP/1.1 500 Internal Server Error\r\n"
                   "Server: wsd\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 15\r\n"
                   "Connection: close\r\n"
                   "\r\n"
                   "protocol error\n",
                   write_error, &close_code);

    struct args_error forbidden = {
        {403, "origin not allowed"}, "wsd", NULL, NULL};
    check_response("403 with an empty reason phrase",
                   "HTTP/1.1 403 \r\n"
                   "Server: wsd\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 19\r\n"
                   "Connection: close\r\n"
                   "\r\n"
                   "origin not allowed\n",
                   write_error, &forbidden);
}

static void
test_status_text(void)
{
    is_str(ws_handshake_status_text(101), "Switching Protocols", "text 101");
    is_str(ws_handshake_status_text(400), "Bad Request", "text 400");
    is_str(ws_handshake_status_text(404), "Not Found", "text 404");
    is_str(ws_handshake_status_text(405), "Method Not Allowed", "text 405");
    is_str(ws_handshake_status_text(426), "Upgrade Required", "text 426");
    is_str(ws_handshake_status_text(431), "Request Header Fields Too Large",
           "text 431");
    is_str(ws_handshake_status_text(500), "Internal Server Error", "text 500");
    is_str(ws_handshake_status_text(503), "Service Unavailable", "text 503");
    is_str(ws_handshake_status_text(418), "", "text of another status");
}

/* The first bytes of a TLS 1.3 ClientHello as OpenSSL sends it: record
 * type 22, record version 3.1 (RFC 8446 §5.1), length, handshake type 1. */
#define CLIENT_HELLO "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"

/*
 * A field value's control characters are found eight bytes a step: every
 * byte value of interest at every place of values of 1 to 41 bytes (in
 * the words, in the tail, in a value shorter than a word) is judged as
 * the rule says byte by byte, and a HTAB early in a value does not hide a
 * control character after it.
 */
static void
test_value_controls(void)
{
    static const unsigned char bytes[] = {0x00, 0x01, '\t', '\n', '\r', 0x1f,
                                          ' ',  '~',  0x7f, 0x80, 0xff};
    enum { VALUE_MAX = 41, NAME = 8 }; /* "X-Long: " */
    char line[NAME + VALUE_MAX];
    struct ws_span name, value;
    unsigned wrong = 0, tries = 0;

    memcpy(line, "X-Long: ", NAME);
    for (size_t len = 1; len <= VALUE_MAX; len++) {
        for (size_t b = 0; b < sizeof(bytes); b++) {
            for (size_t at = 0; at < len; at++) {
                memset(line + NAME, 'v', len);
                line[NAME + at] = (char)bytes[b];
                bool control =
                    (bytes[b] < 0x20 && bytes[b] != '\t') || bytes[b] == 0x7f;
                const char *reason = ws_http_parse_field(
                    (struct ws_span){line, NAME + len}, &name, &value);
                tries++;
                if ((reason != NULL) != control) {
                    wrong++;
                    tap_diag("byte 0x%02x at %zu of %zu: %s", bytes[b], at, len,
                             reason != NULL ? reason : "taken");
                }
            }
        }
    }
    is_int(wrong, 0,
           "field values: %u tries, each byte value at each place of "
           "values of 1 to 41 bytes, judged as byte by byte",
           tries);
    memset(line + NAME, 'v', VALUE_MAX);
    line[NAME + 3] = '\t';
    line[NAME + 30] = 0x01;
    ok(ws_http_parse_field((struct ws_span){line, sizeof(line)}, &name,
                           &value) != NULL,
       "field values: a HTAB first does not hide a control character after");
    line[NAME + 30] = 'v';
    ok(ws_http_parse_field((struct ws_span){line, sizeof(line)}, &name,
                           &value) == NULL &&
           value.len == VALUE_MAX,
       "field values: a HTAB inside a value is taken");
}

/*
 * ws_http_span_is_word against the byte-by-byte rule (ASCII upper case
 * folded, nothing else), for every word the handshakes try and words of
 * 1 to 25 bytes with digits and '-': each byte value at each place, and
 * each word in upper case, one byte longer and one shorter.
 */
static void
test_span_is_word(void)
{
    static const char *const words[] = {"host",
                                        "upgrade",
                                        "connection",
                                        "content-length",
                                        "transfer-encoding",
                                        "sec-websocket-version",
                                        "sec-websocket-key",
                                        "sec-websocket-extensions",
                                        "sec-websocket-accept",
                                        "sec-websocket-protocol",
                                        "user-agent",
                                        "origin",
                                        "server",
                                        "websocket",
                                        "a",
                                        "x-1",
                                        "abcdefg",
                                        "abcdefgh",
                                        "ab-defgh9",
                                        "0123456789-abcdef-ghijklm"};
    char buf[32];
    unsigned wrong = 0, tries = 0;

    for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
        const char *w = words[k];
        size_t n = strlen(w);
        for (size_t at = 0; at < n; at++) {
            for (unsigned v = 0; v < 256; v++) {
                memcpy(buf, w, n);
                buf[at] = (char)v;
                unsigned char c = (unsigned char)v;
                if (c >= 'A' && c <= 'Z') {
                    c = (unsigned char)(c - 'A' + 'a');
                }
                bool want = c == (unsigned char)w[at];
                bool got = ws_http_span_is_word((struct ws_span){buf, n}, w);
                tries++;
                if (got != want) {
                    wrong++;
                    tap_diag("%s: byte 0x%02x at %zu: %s", w, v, at,
                             got ? "matched" : "not matched");
                }
            }
        }
        for (size_t i = 0; i < n; i++) {
            char ch = w[i];
            buf[i] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
        }
        tries += 3;
        wrong += !ws_http_span_is_word((struct ws_span){buf, n}, w);
        buf[n] = w[n - 1];
        wrong += ws_http_span_is_word((struct ws_span){buf, n + 1}, w);
        wrong += ws_http_span_is_word((struct ws_span){buf, n - 1}, w);
    }
    is_int(wrong, 0,
           "ws_http_span_is_word: %u tries, each byte value at each place "
           "of 20 words, judged as byte by byte",
           tries);
}

/* ws_http_is_tchar for every byte value against RFC 9110 §5.6.2's
 * definition: DIGIT, ALPHA and the 15 listed marks. */
static void
test_tchars(void)
{
    static const char marks[] = "!#$%&'*+-.^_`|~";
    unsigned wrong = 0;

    for (unsigned v = 0; v < 256; v++) {
        bool want = (v >= '0' && v <= '9') || (v >= 'a' && v <= 'z') ||
                    (v >= 'A' && v <= 'Z') ||
                    (v != 0 && memchr(marks, (int)v, sizeof(marks) - 1));
        if (ws_http_is_tchar((unsigned char)v) != want) {
            wrong++;
            tap_diag("byte 0x%02x: %s", v, want ? "a tchar" : "no tchar");
        }
    }
    is_int(wrong, 0,
           "ws_http_is_tchar: each of the 256 byte values as RFC "
           "9110 defines tchar");
}

static void
test_tls_record(void)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
        bool tls;
    } v[] = {
        {"a ClientHello", CLIENT_HELLO, sizeof(CLIENT_HELLO) - 1, true},
        {"its first byte alone", CLIENT_HELLO, 1, true},
        {"its first two bytes", CLIENT_HELLO, 2, true},
        {"record version 3.0 (SSL 3.0)", "\x16\x03\x00\x00\x05", 5, true},
        {"record version 3.3 (TLS 1.2)", "\x16\x03\x03\x00\x05", 5, true},
        {"record version 3.4", "\x16\x03\x04", 3, true},
        {"nothing", "", 0, false},
        {"record version 3.5", "\x16\x03\x05", 3, false},
        {"major version 2", "\x16\x02\x00", 3, false},
        {"an alert record", "\x15\x03\x03\x00\x02", 5, false},
        {"an application data record", "\x17\x03\x03", 3, false},
        {"an SSL 2.0 ClientHello", "\x80\x2e\x01\x03\x01", 5, false},
        {"GET", "GET /chat HTTP/1.1", 18, false},
        {"a NUL", "\0", 1, false},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        ok(ws_handshake_is_tls_record(v[i].bytes, v[i].len) == v[i].tls,
           "TLS record: %s: %s", v[i].name, v[i].tls ? "yes" : "no");
    }
    /* No request of the table, valid or not, passes for TLS. */
    size_t n_tls = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n_tls += ws_handshake_is_tls_record(cases[i].req, cases[i].len);
    }
    is_int((long long)n_tls, 0, "TLS record: no request of the table");
}

int
main(void)
{
    tap_seed();
    test_accept_key();
    test_rfc_request();
    test_spans();
    test_table();
    test_slow_client();
    test_response_101();
    test_response_error();
    test_response_not_found();
    test_status_text();
    test_tls_record();
    test_value_controls();
    test_span_is_word();
    test_tchars();
    return tap_done();
}
