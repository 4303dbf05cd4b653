/* SPDX-License-Identifier: MIT */
#include "autoconf.h"

#include "tap_json.h"

#include <stdlib.h>

#include "tap.h"

char *
tap_json_text(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

bool
tap_is_json_key_at(const char *file, int line, const json_t *o, const char *key,
                   const char *want)
{
    json_t *v = json_object_get(o, key);
    char *got = v != NULL ? tap_json_text(v) : NULL;
    bool same = tap_is_str_at(file, line, got, want, "%s: %s", key, want);
    free(got);
    return same;
}

bool
tap_has_exactly_keys_at(const char *file, int line, const json_t *o,
                        const char *const *keys, size_t n, const char *what)
{
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(o, keys[i]) == NULL) {
            tap_diag("%s: no key %s", what, keys[i]);
            all = false;
        }
    }
    all = tap_ok_at(file, line, all, "%s: every key is there", what) && all;
    return tap_is_int_at(file, line, (long long)json_object_size(o),
                         (long long)n, "%s: and no other", what) &&
           all;
}

const char *const tap_autobahn_keys[TAP_AUTOBAHN_KEYS] = {
    "case",
    "id",
    "description",
    "expectation",
    "agent",
    "started",
    "duration",
    "reportTime",
    "reportCompressionRatio",
    "behavior",
    "behaviorClose",
    "expected",
    "expectedClose",
    "received",
    "result",
    "resultClose",
    "wirelog",
    "createWirelog",
    "closedByMe",
    "failedByMe",
    "droppedByMe",
    "wasClean",
    "wasNotCleanReason",
    "wasServerConnectionDropTimeout",
    "wasOpenHandshakeTimeout",
    "wasCloseHandshakeTimeout",
    "localCloseCode",
    "localCloseReason",
    "remoteCloseCode",
    "remoteCloseReason",
    "isServer",
    "createStats",
    "rxOctetStats",
    "rxFrameStats",
    "txOctetStats",
    "txFrameStats",
    "httpRequest",
    "httpResponse",
    "trafficStats",
};
