#!/usr/bin/env python3
"""hang.py: an "engine" that accepts connections and never answers (tests only).

    hang.py --unix PATH | --tcp PORT

Listens on the unix socket PATH or on 127.0.0.1:PORT, accepts every
connection, reads and drops whatever the client sends (so that a request
is sent whole and the client waits for the answer) and never writes a
byte; a connection ends only when the client closes it. Standard library
only. Stops on SIGTERM.
"""

import argparse
import asyncio
import signal


async def swallow(reader, writer):
    """Read until the client closes; answer nothing."""
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix")
    where.add_argument("--tcp", type=int)
    args = parser.parse_args()
    if args.unix:
        server = await asyncio.start_unix_server(swallow, args.unix)
    else:
        server = await asyncio.start_server(swallow, "127.0.0.1", args.tcp,
                                            reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
