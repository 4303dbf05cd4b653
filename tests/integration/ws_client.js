// SPDX-License-Identifier: MIT
//
// Interoperability client for wsd's integration tests (test_deflate.py):
// node's `ws` module (Debian node-ws, found through NODE_PATH) connects with
// permessage-deflate enabled, sends a list of messages one at a time, waits
// for each echo, compares it with what it sent, closes with 1000 and prints
// one JSON line with what happened. It judges nothing beyond equality: the
// Python test asserts on the JSON.
//
// Input, as JSON in argv[2] or else on stdin:
//   { "url": "ws://127.0.0.1:PORT/ws",
//     "perMessageDeflate": true | { ws's perMessageDeflate options },
//     "timeout_ms": 20000,            // the whole run, hard bound
//     "messages": [
//       { "type": "text", "data": "..." },
//       { "type": "text", "unit": "...", "count": N },   // unit repeated
//       { "type": "binary", "b64": "..." },
//       { "type": "binary", "unit_b64": "...", "count": N } ] }
//
// Output, one line on stdout:
//   { "ok": bool, "error": null | "...", "extensions": response header
//     value or null, "params": the accepted permessage-deflate parameters
//     as ws understood them, or null, "results": [ { "i", "type", "len",
//     "ok", "got_type", "got_len", "first_diff" } ], "close_code",
//     "close_reason" }
// Exit status: 0 when every echo matched and the close was 1000, 1 when
// something differed, 2 on bad input, 3 on the hard timeout.
'use strict';

const WebSocket = require('ws');

function readInput() {
    if (process.argv.length > 2) {
        return Promise.resolve(process.argv[2]);
    }
    return new Promise((resolve, reject) => {
        const chunks = [];
        process.stdin.on('data', (c) => chunks.push(c));
        process.stdin.on('end', () =>
            resolve(Buffer.concat(chunks).toString('utf8')));
        process.stdin.on('error', reject);
    });
}

function build(m) {
    if (m.type === 'text') {
        if (typeof m.data === 'string') {
            return m.data;
        }
        return m.unit.repeat(m.count);
    }
    if (m.type === 'binary') {
        if (typeof m.b64 === 'string') {
            return Buffer.from(m.b64, 'base64');
        }
        const unit = Buffer.from(m.unit_b64, 'base64');
        const out = Buffer.alloc(unit.length * m.count);
        for (let i = 0; i < m.count; i++) {
            unit.copy(out, i * unit.length);
        }
        return out;
    }
    throw new Error('unknown message type ' + m.type);
}

function firstDiff(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
        if (a[i] !== b[i]) {
            return i;
        }
    }
    return a.length === b.length ? null : n;
}

let printed = false;
const report = {
    ok: false, error: null, extensions: null, params: null, results: [],
    close_code: null, close_reason: null,
};

function finish(status) {
    if (printed) {
        return;
    }
    printed = true;
    process.stdout.write(JSON.stringify(report) + '\n', () =>
        process.exit(status));
}

async function main() {
    let input;
    try {
        input = JSON.parse(await readInput());
    } catch (e) {
        report.error = 'bad input: ' + e.message;
        finish(2);
        return;
    }
    const hard = setTimeout(() => {
        report.error = (report.error || '') +
            'hard timeout of ' + input.timeout_ms + ' ms';
        finish(3);
    }, input.timeout_ms || 20000);
    hard.unref();

    const messages = input.messages.map(build);
    const ws = new WebSocket(input.url, {
        perMessageDeflate: input.perMessageDeflate,
        handshakeTimeout: input.timeout_ms || 20000,
        maxPayload: 64 * 1024 * 1024,
    });
    const pending = [];
    let waiter = null;
    const wake = () => {
        if (waiter) {
            const w = waiter;
            waiter = null;
            w();
        }
    };

    ws.on('upgrade', (res) => {
        const v = res.headers['sec-websocket-extensions'];
        report.extensions = v === undefined ? null : v;
    });
    ws.on('message', (data, isBinary) => {
        pending.push({ data, isBinary });
        wake();
    });
    ws.on('error', (e) => {
        report.error = (report.error ? report.error + '; ' : '') +
            'ws error: ' + e.message;
    });
    const closed = new Promise((resolve) => {
        ws.on('close', (code, reason) => {
            report.close_code = code;
            report.close_reason = reason.toString('utf8');
            wake();
            resolve();
        });
    });
    const opened = await new Promise((resolve) => {
        ws.once('open', () => resolve(true));
        ws.once('close', () => resolve(false));
    });
    if (!opened) {
        report.error = (report.error || '') + ' (never opened)';
        finish(1);
        return;
    }
    const pmd = ws._extensions && ws._extensions['permessage-deflate'];
    report.params = pmd && pmd.params ? pmd.params : null;

    let allOk = true;
    for (let i = 0; i < messages.length; i++) {
        const want = messages[i];
        const isText = typeof want === 'string';
        ws.send(want, { binary: !isText, compress: true });
        while (pending.length === 0 && ws.readyState === WebSocket.OPEN) {
            await new Promise((resolve) => { waiter = resolve; });
        }
        const r = {
            i, type: isText ? 'text' : 'binary',
            len: isText ? Buffer.byteLength(want, 'utf8') : want.length,
            ok: false, got_type: null, got_len: null, first_diff: null,
        };
        report.results.push(r);
        if (pending.length === 0) {
            allOk = false;
            report.error = (report.error || '') +
                ' connection closed before echo ' + i;
            break;
        }
        const got = pending.shift();
        const gotBuf = Buffer.isBuffer(got.data) ? got.data
            : Buffer.concat(got.data);
        r.got_type = got.isBinary ? 'binary' : 'text';
        r.got_len = gotBuf.length;
        const wantBuf = isText ? Buffer.from(want, 'utf8') : want;
        r.ok = r.got_type === r.type && gotBuf.equals(wantBuf);
        if (!r.ok) {
            r.first_diff = firstDiff(gotBuf, wantBuf);
            allOk = false;
        }
    }
    if (ws.readyState === WebSocket.OPEN) {
        ws.close(1000);
    }
    await closed;
    report.ok = allOk && report.close_code === 1000;
    clearTimeout(hard);
    finish(report.ok ? 0 : 1);
}

main().catch((e) => {
    report.error = 'exception: ' + (e && e.stack ? e.stack : e);
    finish(1);
});
