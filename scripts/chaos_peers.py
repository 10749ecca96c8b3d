#!/usr/bin/env python3
"""Misbehaving upstreams for scripts/chaos.sh, all on 127.0.0.1, one process:
  echo=PORT       a good echo (half-close honoured: on EOF it finishes writing, then shuts down its side)
  hang=PORT       accepts and reads forever, never writes (a health target or CONNECT proxy that never answers)
  late=PORT       reads, waits 0.2-3 s, echoes what it read, then echoes on (replies late)
  rst=PORT        echoes 1 B-16 KiB, then resets the connection (SO_LINGER 0): RST mid-stream
  blackhole=PORT  listen(0) with its accept queue filled and never accepted: a connect there hangs
Runs until killed (scripts/chaos.sh's trap)."""
import asyncio, random, socket, struct, sys

HOST = "127.0.0.1"


def reset(writer):
    sock = writer.get_extra_info("socket")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


async def echo(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def hang(reader, writer):
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def late(reader, writer):
    try:
        first = await reader.read(65536)
        await asyncio.sleep(random.uniform(0.2, 3.0))
        if first:
            writer.write(first)
            await writer.drain()
            await echo(reader, writer)
            return
    except (ConnectionError, OSError):
        pass
    writer.close()


async def rst(reader, writer):
    budget = random.randint(1, 16384)
    try:
        while budget > 0 and (data := await reader.read(min(budget, 65536))):
            writer.write(data)
            await writer.drain()
            budget -= len(data)
    except (ConnectionError, OSError):
        pass
    reset(writer)


def blackhole(port):
    """A listener nobody accepts on, with its queue full: further SYNs are dropped, connects hang."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((HOST, port))
    lsock.listen(0)
    fillers = []
    for _ in range(8):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((HOST, port))
        except BlockingIOError:
            pass
        fillers.append(s)
    return [lsock, *fillers]


async def main():
    handlers = {"echo": echo, "hang": hang, "late": late, "rst": rst}
    servers, keep = [], []
    for arg in sys.argv[1:]:
        kind, port = arg.split("=")
        if kind == "blackhole":
            keep += blackhole(int(port))
        else:
            servers.append(await asyncio.start_server(handlers[kind], HOST, int(port), backlog=1024, reuse_address=True))
    print("peers ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


asyncio.run(main())
