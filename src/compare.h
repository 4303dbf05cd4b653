/* SPDX-License-Identifier: MIT */
/*
 * Both ends of one WebSocket connection, compared. The client's report of
 * it (the Autobahn testsuite's per-case JSON, or any client's in that
 * format, "isServer" false) and wsd's (GET /v1/cases/ID/autobahn, "isServer"
 * true) say what each end sent and saw; side by side they show what the
 * path between them did, each way: client->server (the request as the
 * client sent it and as wsd read it, the frames the client sent and those
 * wsd parsed) and server->client (the response as wsd sent it and as the
 * client read it, wsd's frames and the client's).
 *
 * Pure: jansson in, jansson out, no I/O, no state. The module borrows its
 * inputs and returns new documents the caller owns. It is not a judge of
 * either end's conformance (the testsuite grades the client's view): only
 * of whether the two views of one wire agree.
 */
#ifndef WSD_COMPARE_H
#define WSD_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Room for compare_is_autobahn_case's sentence. */
#define COMPARE_ERROR_MAX 256

/*
 * True when c has the shape of an Autobahn per-case report in every key
 * the comparison reads: "httpRequest" and "httpResponse" strings;
 * "isServer", "closedByMe", "droppedByMe" and "wasClean" booleans;
 * "localCloseCode" and "remoteCloseCode" integers or null,
 * "localCloseReason", "remoteCloseReason" and "wasNotCleanReason" strings
 * or null; "rxOctetStats", "txOctetStats" ({"size": count}) and
 * "rxFrameStats", "txFrameStats" ({"opcode": count}) objects of decimal
 * keys and non-negative integer counts; "createWirelog" a boolean when
 * present; "wirelog" an array of rows, each an array that begins with a
 * string, and each RF or TF row with [length, payload], an opcode of 0 to
 * 15, a FIN boolean and an RSV of 0 to 7 (and a TF row's seventh element,
 * repeatLength, an integer or null). Rows may have more elements than the
 * testsuite writes (wsd marks frames it discarded): they are not read.
 * Otherwise false, with err (COMPARE_ERROR_MAX) naming the key at fault.
 */
bool compare_is_autobahn_case(const json_t *c, char *err);

/*
 * The Sec-WebSocket-Key of c's "httpRequest" (the opening handshake's
 * header, its value without surrounding white space), copied into key;
 * false when there is none, or it does not fit in cap. The key is unique
 * per connection and intermediaries pass it on unchanged, so it pairs the
 * two ends' reports of one connection.
 */
bool compare_request_key(const json_t *c, char *key, size_t cap);

/*
 * What the report c says its handshake was answered with, for a case
 * that no wsd record pairs with (key: its Sec-WebSocket-Key): the status
 * line and Server header it got (an intermediary's own answer, such as a
 * 502, shows as one), and, for a 101, whether its Sec-WebSocket-Accept
 * is that of another key, which means the key was changed on the way.
 * Written into out[0..cap) with a NUL; false when there is nothing to
 * say (no response head in c) or out of memory.
 */
bool compare_answer(const json_t *c, const char *key, char *out, size_t cap);

/*
 * Compares client (the client's report) with server (wsd's); both of the
 * shape compare_is_autobahn_case accepts. Returns a new object, or NULL
 * when out of memory:
 *
 *   "identical"       true when nothing differs (notes do not count);
 *   "verdict"         one line: "identical", or each difference, way by
 *                     way ("client->server: ...; server->client: ...");
 *   "clientToServer", "serverToClient"
 *                     each way: "differences" ([{"kind", "text"}]),
 *                     "notes" ([text]), "frames" ("sequence": the two
 *                     wire logs compared frame by frame; "counts": by
 *                     frames per opcode only, a log being incomplete, or
 *                     "none": the sender wrote octets outside its frames),
 *                     "framesByOpcode" ({"sent", "received"}),
 *                     "messagePayloadOctets" ({"sent", "received"}, null
 *                     unless compared by sequence), and "octets"
 *                     ({"sent", "writes", "received", "reads",
 *                     "sameSegmentation"}; a total is null where wsd kept
 *                     as many distinct sizes as it keeps at most, unless
 *                     its report also has "rxOctetOverflow" and
 *                     "txOctetOverflow" as /v1/cases/ID has them);
 *   "closing"         the connection's end: "differences" and "notes"
 *                     (who sent the first close frame, who closed TCP,
 *                     whether each end saw a clean close);
 *   "notes"           every note, way by way, in one list of text.
 *
 * Difference kinds: "request line", "status line", "header added",
 * "header removed", "header changed", "head", "extension offer",
 * "extension grant", "frames by opcode", "fragmented", "coalesced",
 * "re-fragmented", "dropped", "inserted", "reordered", "changed",
 * "compression", "payload", "message payload octets", "close code",
 * "close reason", "close frame dropped", "close frame inserted",
 * "octets", "who closed", "who closed TCP", "clean close".
 *
 * Octets by the size of each read and write differ whenever TCP cuts the
 * stream otherwise, so they are reported ("sameSegmentation") and never a
 * difference; a difference in the totals is one only when nothing else
 * explains it. The testsuite's own ways are notes, not differences: frames
 * it wrote by hand outside its frame log (6.4.3 abandons a frame midway),
 * frames a receiver never parsed once the closing handshake had begun,
 * long payloads it logs as a pattern and a repeat length.
 */
json_t *compare_cases(const json_t *client, const json_t *server);

#endif
