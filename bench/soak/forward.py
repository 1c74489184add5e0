#!/usr/bin/python3
"""Byte forwarder between a TCP port and a Unix socket, either way round.

The soak runs every agent in a network namespace of its own that has only
`lo`. Its server address is a TCP port on that `lo`; this forwarder, started
inside the namespace, carries each connection over a Unix socket (which
crosses the namespace boundary, being a file) to a second forwarder outside,
which connects to the server node. Taking the namespace's `lo` down cuts the
agent off exactly as a dead link would: its packets go nowhere, its
connections hang, and nothing outside notices.

    forward.py tcp:127.0.0.1:8787=unix:/run/x.sock [unix:/a.sock=tcp:127.0.0.1:9000 ...]
"""

import asyncio
import os
import signal
import sys


def parse(address):
    kind, _, rest = address.partition(":")
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        return ("tcp", host, int(port))
    if kind == "unix":
        return ("unix", rest, None)
    raise SystemExit("forward.py: not tcp:HOST:PORT or unix:PATH: %r" % address)


async def open_connection(target):
    if target[0] == "tcp":
        return await asyncio.open_connection(target[1], target[2])
    return await asyncio.open_unix_connection(target[1])


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


def handler(target):
    async def handle(reader, writer):
        try:
            up_reader, up_writer = await open_connection(target)
        except OSError:
            # The server node is down: the client sees its connection closed,
            # as it would with a load balancer in front of a dead node.
            writer.close()
            return
        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
    return handle


async def main(pairs):
    servers = []
    for pair in pairs:
        listen, _, to = pair.partition("=")
        listen, to = parse(listen), parse(to)
        if listen[0] == "tcp":
            servers.append(await asyncio.start_server(handler(to), listen[1], listen[2]))
        else:
            if os.path.exists(listen[1]):
                os.unlink(listen[1])
            servers.append(await asyncio.start_unix_server(handler(to), listen[1]))
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1:]))
