// SPDX-License-Identifier: MIT
//
// An echo server on node's ws module (Debian node-ws, found through
// NODE_PATH), a peer in `make bench`'s comparison table; not part of wsd.
// permessage-deflate is enabled (ws leaves it off by default on servers)
// with ws's own defaults otherwise: messages under 1 KiB go uncompressed.
//
// usage: node node_echo.js PORT
'use strict';

const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
if (!(port > 0 && port < 65536)) {
    console.error('usage: node node_echo.js PORT');
    process.exit(2);
}
const wss = new WebSocketServer({
    host: '127.0.0.1',
    port,
    perMessageDeflate: true,
    maxPayload: 100 * 1024 * 1024,
});
wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(`node_echo: listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
