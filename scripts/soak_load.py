#!/usr/bin/env python3
"""Mixed load for scripts/soak.sh: plain TCP, SNI (TLS), via tinyproxy (TLS through CONNECT), the
echo and health built-ins, each exchange checked by SHA-256. Prints L4P's RSS, descriptors and threads
every interval; exits 1 on any wrong byte or error, or if RSS/descriptors/threads keep growing."""
import asyncio, hashlib, os, random, ssl, sys, time

pid, minutes, interval = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
ports = dict(p.split("=") for p in sys.argv[4:])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
stats = {"ok": 0, "bad": 0, "errors": 0}

async def exchange(kind):
    size = random.choice([1, 100, 4096, 65536, 262144])
    payload = os.urandom(size)
    if kind == "health":
        r, w = await asyncio.open_connection("127.0.0.1", int(ports["health"]))
        w.write(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
        data = await r.read()
        w.close()
        return data.endswith(b"\r\n\r\nOK")
    tls = kind in ("sni", "via")
    r, w = await asyncio.open_connection("127.0.0.1", int(ports[kind]), ssl=ctx if tls else None,
                                         server_hostname="soak.test" if tls else None)
    w.write(payload)
    await w.drain()
    got = await r.readexactly(size)
    w.close()
    return hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()

async def worker(deadline):
    kinds = ["plain", "sni", "via", "echo", "health"]
    while time.time() < deadline:
        try:
            if await asyncio.wait_for(exchange(random.choice(kinds)), 30): stats["ok"] += 1
            else: stats["bad"] += 1
        except Exception as e:
            stats["errors"] += 1
            print("error:", type(e).__name__, e, flush=True)

def sample():
    status = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status"))
    return (int(status["VmRSS"].split()[0]), len(os.listdir(f"/proc/{pid}/fd")), int(status["Threads"]))

async def main():
    deadline = time.time() + minutes * 60
    tasks = [asyncio.create_task(worker(deadline)) for _ in range(16)]
    samples = []
    while time.time() < deadline:
        await asyncio.sleep(min(interval, max(0.1, deadline - time.time())))
        s = sample()
        samples.append(s)
        print(f"minute {len(samples) * interval / 60:.1f}: rss={s[0]} KiB fds={s[1]} threads={s[2]} exchanges ok={stats['ok']} bad={stats['bad']} errors={stats['errors']}", flush=True)
    await asyncio.gather(*tasks)
    failed = stats["bad"] > 0 or stats["errors"] > 0 or stats["ok"] == 0
    if len(samples) >= 3:
        base = samples[1]  # after warm-up
        last = samples[-1]
        growing = [n for i, n in enumerate(("rss", "fds", "threads"))
                   if all(samples[j + 1][i] > samples[j][i] for j in range(1, len(samples) - 1))
                   and last[i] > base[i] * 1.25 + 16]
        if growing:
            print("keeps growing:", ", ".join(growing), flush=True)
            failed = True
    print("soak:", "FAILED" if failed else "passed", stats, flush=True)
    sys.exit(1 if failed else 0)

asyncio.run(main())
