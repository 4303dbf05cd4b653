// SPDX-License-Identifier: MIT
//
// An echo server on node's ws module (Debian node-ws, found through
// NODE_PATH) for test_wsc.py: wsc against a third-party server. It
// listens on 127.0.0.1 on a port the kernel picks, prints
// {"port": N} once it listens, then for each connection a line
// {"extensions": "...negotiated Sec-WebSocket-Extensions, or empty"},
// echoes every message as it came, and exits on SIGTERM or when its
// standard input closes.
//
// usage: node ws_server.js deflate|plain
'use strict';

const { WebSocketServer } = require('ws');

const mode = process.argv[2];
if (mode !== 'deflate' && mode !== 'plain') {
    console.error('usage: node ws_server.js deflate|plain');
    process.exit(2);
}
const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    // Compress whatever the size, so that the tests see it both ways.
    perMessageDeflate: mode === 'deflate' ? { threshold: 0 } : false,
    maxPayload: 64 * 1024 * 1024,
});
wss.on('connection', (ws) => {
    console.log(JSON.stringify({ extensions: ws.extensions }));
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => {
    console.log(JSON.stringify({ port: wss.address().port }));
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
