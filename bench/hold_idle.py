#!/usr/bin/env python3
"""Opens N TCP connections to HOST:PORT and holds them idle until stdin closes.
Prints 'held N' once all are established (connections that fail are counted and reported)."""
import asyncio
import sys

async def main(host, port, n):
    writers, failed = [], 0
    sem = asyncio.Semaphore(500)

    async def one():
        nonlocal failed
        async with sem:
            try:
                _, w = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
                writers.append(w)
            except Exception:
                failed += 1

    await asyncio.gather(*(one() for _ in range(n)))
    print(f"held {len(writers)} failed {failed}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for w in writers:
        w.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
