#!/usr/bin/env python3
"""throttle.py: a TCP proxy that slows the answers down (tests only).

    throttle.py --listen PORT --target HOST:PORT [--rate BYTES_PER_SECOND]
                [--delay SECONDS]

Listens on 127.0.0.1:PORT; each connection accepted is forwarded to TARGET
both ways, byte for byte (TLS passes through untouched). With --rate, what
the target sends to the client goes at most RATE bytes per second on each
connection (0: no limit); what the client sends is not limited. With
--delay, each connection waits that long after it is accepted before
anything is forwarded (the target is connected only then).
Standard library only. Stops on SIGTERM.
"""

import argparse
import asyncio
import signal
import time

# How much the rate limiter lets through at once: a twentieth of a second's
# worth, so that the rate holds over short windows too.
SLICES_PER_SECOND = 20


async def pump(reader, writer, rate):
    """Copy reader to writer until EOF, at most RATE bytes/s (0: no limit).

    The pace is kept against the connection's start: after n bytes the copy
    does not go on before start + n / rate, so that pauses are not made up
    by bursts beyond one slice.
    """
    chunk = 65536 if rate == 0 else max(1, min(65536, rate // SLICES_PER_SECOND))
    start = time.monotonic()
    sent = 0
    try:
        while True:
            data = await reader.read(chunk)
            if not data:
                break
            writer.write(data)
            await writer.drain()
            sent += len(data)
            if rate:
                wait = start + sent / rate - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def handle(client_reader, client_writer, args):
    """One client connection: wait --delay, connect the target, forward."""
    server_writer = None
    try:
        if args.delay > 0:
            await asyncio.sleep(args.delay)
        server_reader, server_writer = await asyncio.open_connection(
            args.host, args.port)
        await asyncio.gather(
            pump(client_reader, server_writer, 0),
            pump(server_reader, client_writer, args.rate))
    except (ConnectionError, OSError):
        pass
    finally:
        for w in (client_writer, server_writer):
            if w is not None:
                w.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--rate", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    args.host, _, port = args.target.rpartition(":")
    args.port = int(port)
    if args.rate < 0 or args.delay < 0:
        parser.error("--rate and --delay must not be negative")

    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args), "127.0.0.1", args.listen,
        reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
