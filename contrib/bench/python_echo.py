#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An echo server on python3-websockets (Debian), a peer in `make bench`'s
comparison table; not part of wsd. The library's defaults, which accept
permessage-deflate, except no size limit and no keepalive pings.

usage: python_echo.py PORT
"""
import asyncio
import signal
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass  # the client closed with echoes still queued


async def main(port):
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM,
                                                  stop.set_result, None)
    async with websockets.serve(echo, "127.0.0.1", port, max_size=None,
                                ping_interval=None):
        print("python_echo: listening on 127.0.0.1:%d" % port, flush=True)
        await stop


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python_echo.py PORT")
    asyncio.run(main(int(sys.argv[1])))
