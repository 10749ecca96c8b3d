#!/usr/bin/env python3
"""Chaos clients for scripts/chaos.sh, then the quiet checks.

  chaos_load.py PID MINUTES SEED name=PORT...   (names: echo tiny sni pool checked dead admin; workers=N maxclients=N)

For MINUTES, N workers each pick a random behaviour against a random L4P server (127.0.0.1 only):
  normal      request/response; byte for byte on the good paths (echo built-in, SNI good.test to an echo,
              via tinyproxy to an echo), a prefix of what was sent elsewhere, nothing at all via the dead proxy
  half_close  send, shut down our write side, read until EOF
  rst         send a little (or nothing), then reset (SO_LINGER 0 and close)
  mid_hello   part of a real ClientHello (python's ssl, MemoryBIO), then leave (FIN or RST) or go silent
  stall       connect, send nothing, wait 0.5-4 s
  slow_read   send 1-4 MiB while reading 4 KiB every 10-50 ms for 1-4 s, then FIN or RST
Every byte that comes back must be a prefix of what was sent (the upstreams echo, or say nothing).

Then quiet, each wait bounded: l4p_active_connections sums to 0, l4p_open_sockets and the socket
links in /proc/PID/fd back within SOCKET_DELTA of their baseline, every maxclients slot free (a burst of
maxclients connections to echo, tiny and sni all admitted and echoed), RSS within RSS_BOUND_MIB of its
baseline. Prints a summary; exits 1 with one line per failed check."""
import asyncio, collections, ipaddress, os, random, re, socket, ssl, struct, subprocess, sys, time, urllib.request

PID, MINUTES, SEED = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
ARGS = dict(a.split("=", 1) for a in sys.argv[4:])
WORKERS = int(ARGS.pop("workers", 50))
MAXCLIENTS = int(ARGS.pop("maxclients", 200))
PORTS = {k: int(v) for k, v in ARGS.items()}
HOST = "127.0.0.1"
assert ipaddress.ip_address(HOST).is_loopback

# Bounds (README, Reliability: Chaos run).
QUIET_BOUND = 20.0       # s: the longest timer chain, idle 5 s (tiny) + the 5 s reset of a close whose peer never reads, x2 for a shared machine
SOCKET_DELTA = 5         # the checked upstream's 4 addresses may each have a probe in flight (interval 1 s, timeout 500 ms), + the scrape's own connection
RSS_BOUND_MIB = 150      # JIT, thread-pool growth and a GC heap sized by the peak (slow reads of MiB) that .NET keeps committed
BEHAVIOUR_BOUND = 15.0   # s: our own bound on any one behaviour; every one of them ends well before it on its own
IDLE = {"tiny": 5}       # s: timeouts.idle per target (chaos.sh); 2 s elsewhere
NAMES = ["good.test", "hang.test", "late.test", "rst.test", "a.pool.test", "other.test", None]

failures = []
stats = collections.defaultdict(collections.Counter)   # (behaviour, target) -> outcome -> count
samples = []                                            # (t, rss KiB, sockets)
notes = []
shorts = []
stuck = []


def fail(line):
    failures.append(line)
    print("chaos: FAILED:", line, flush=True)


# ---------- the process, its metrics ----------

def rss_kib():
    for line in open(f"/proc/{PID}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proc_sockets():
    n = 0
    for fd in os.listdir(f"/proc/{PID}/fd"):
        try:
            if os.readlink(f"/proc/{PID}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape():
    """[(name, {labels}, value)] from admin's /metrics."""
    with NO_PROXY.open(f"http://{HOST}:{PORTS['admin']}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not (m := SAMPLE.match(line)):
            continue
        out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def metric(samples_, name, **match):
    return sum(v for n, l, v in samples_ if n == name and all(l.get(k) == w for k, w in match.items()))


def by_label(samples_, name, label, **match):
    c = collections.Counter()
    for n, l, v in samples_:
        if n == name and all(l.get(k) == w for k, w in match.items()):
            c[l.get(label, "")] += int(v)
    return c


def active_connections(m):
    """Every server's active connections but the scrape's own (admin answers it: at most one there)."""
    return sum(v for n, l, v in m if n == "l4p_active_connections" and l.get("server") != "admin") + \
        max(0, metric(m, "l4p_active_connections", server="admin") - 1)


def ss_lines():
    try:
        out = subprocess.run(["ss", "-Htanp"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [l for l in out.splitlines() if f"pid={PID}," in l and "LISTEN" not in l]


# ---------- ClientHellos ----------

def client_hello(name):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


HELLOS = {name: [client_hello(name) for _ in range(4)] for name in NAMES}


# ---------- socket helpers ----------

OPEN = set()  # every client socket not yet closed: when the load stops, the ones in flight are dropped at once


async def connect(port, limit=1 << 20):
    r, w = await asyncio.wait_for(asyncio.open_connection(HOST, port, limit=limit), 5)
    OPEN.add(w)
    return r, w


def reset(writer):
    try:
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


async def read_upto(reader, n, timeout):
    """Up to n bytes: (data, how) with how = full | eof | reset | timeout."""
    buf = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(buf), "timeout"
            try:
                chunk = await asyncio.wait_for(reader.read(min(65536, n - len(buf))), left)
            except asyncio.TimeoutError:
                return bytes(buf), "timeout"
            if not chunk:
                return bytes(buf), "eof"
            buf += chunk
    except (ConnectionError, OSError):
        return bytes(buf), "reset"
    return bytes(buf), "full"


async def send(writer, data):
    """True if written (the peer may have gone: that is chaos, not a failure)."""
    try:
        writer.write(data)
        await writer.drain()
        return True
    except (ConnectionError, OSError):
        return False


def close(writer, rng):
    if rng.random() < 0.5:
        writer.close()
    else:
        reset(writer)


# ---------- targets ----------
# (name, port, first bytes (a ClientHello or nothing), mode): exact = must come back whole;
# prefix = what comes back is a prefix of what was sent; empty = nothing may come back.

def targets(rng):
    hello = lambda n: rng.choice(HELLOS[n])
    return {
        "echo": ("echo", PORTS["echo"], b"", "exact"),
        "tiny": ("tiny", PORTS["tiny"], b"", "exact"),
        "sni_good": ("sni_good", PORTS["sni"], hello("good.test"), "exact"),
        "sni_bad": ("sni_bad", PORTS["sni"], hello(rng.choice(NAMES[1:])), "prefix"),
        "pool": ("pool", PORTS["pool"], b"", "prefix"),
        "checked": ("checked", PORTS["checked"], b"", "prefix"),
        "dead": ("dead", PORTS["dead"], b"", "empty"),
    }


def judge(key, got, sent, mode, how, need_eof):
    if not sent.startswith(got) or (mode == "empty" and got):
        stats[key]["bad"] += 1
        i = next((i for i in range(min(len(got), len(sent))) if got[i] != sent[i]), min(len(got), len(sent)))
        fail(f"wrong bytes: {key[0]} on {key[1]}: {len(got)} B back of {len(sent)} sent, first difference at byte {i}")
        return
    if len(got) == len(sent) and (not need_eof or how == "eof"):
        stats[key]["ok"] += 1
    elif mode == "exact":
        stats[key]["short"] += 1   # a good path that did not answer in full: reported at the end
        shorts.append(f"{key[0]} on {key[1]}: {how} after {len(got)} of {len(sent)} B")
    elif how == "timeout":
        stats[key]["not_closed"] += 1  # neither answered nor closed by L4P within 12 s (idle is 2 s, 5 s on tiny)
        stuck.append(f"{key[0]} on {key[1]}: still open after {len(got)} of {len(sent)} B")
    else:
        stats[key]["closed"] += 1  # chaos upstream: closed, reset or silent, as it should


def payload(rng):
    return os.urandom(rng.choice([1, 100, 4096, 65536, 262144]))


async def normal(rng, t):
    name, port, first, mode = t
    r, w = await connect(port)
    sent = first + payload(rng)
    await send(w, sent)
    got, how = await read_upto(r, len(sent), 12)
    judge(("normal", name), got, sent, mode, how, False)
    w.close()


async def half_close(rng, t):
    name, port, first, mode = t
    if name == "tiny":
        mode = "prefix"
    r, w = await connect(port)
    sent = first + payload(rng)
    if await send(w, sent):
        try:
            w.write_eof()
        except (ConnectionError, OSError):
            pass
    got, how = await read_upto(r, len(sent) + 1, 12)  # one more than sent: wait for the EOF
    judge(("half_close", name), got, sent, mode, how, True)
    w.close()


async def rst(rng, t):
    name, port, first, mode = t
    r, w = await connect(port)
    data = (first + payload(rng))[: rng.choice([0, 1, 50, 4096, 100000])]
    if data:
        await send(w, data)
    await asyncio.sleep(rng.uniform(0, 0.5))
    reset(w)
    stats[("rst", name)]["ok"] += 1


async def mid_hello(rng, t):
    name, port, first, mode = t
    hello = rng.choice(HELLOS[rng.choice(NAMES)])
    r, w = await connect(PORTS["sni"])
    cut = rng.randint(1, len(hello) - 1)
    await send(w, hello[: cut // 2])
    await asyncio.sleep(rng.uniform(0, 0.3))
    await send(w, hello[cut // 2: cut])
    end = rng.choice(["fin", "rst", "silent"])
    if end == "silent":  # client_hello 1 s: L4P must close it, without a byte back
        got, how = await read_upto(r, 1, 4)
        if got:
            stats[("mid_hello", "sni")]["bad"] += 1
            fail("wrong bytes: mid_hello on sni: a byte came back for half a ClientHello")
        else:
            stats[("mid_hello", "sni")]["closed" if how != "timeout" else "not_closed"] += 1
            if how == "timeout":
                stuck.append("mid_hello on sni: half a ClientHello still open after 4 s")
        w.close()
        return
    (w.close if end == "fin" else lambda: reset(w))()
    stats[("mid_hello", "sni")]["ok"] += 1


async def stall(rng, t):
    name, port, first, mode = t
    r, w = await connect(port)
    idle = IDLE.get(name, 2)
    wait = rng.uniform(0.5, idle + 2)
    got, how = await read_upto(r, 1, wait)
    if got:
        stats[("stall", name)]["bad"] += 1
        fail(f"wrong bytes: stall on {name}: a byte came back though nothing was sent")
    else:
        # past idle (client_hello 1 s on sni) + 1.5 s of silence L4P should have closed it
        outcome = "closed" if how != "timeout" else ("not_closed" if wait > idle + 1.5 else "ok")
        stats[("stall", name)][outcome] += 1
        if outcome == "not_closed":
            stuck.append(f"stall on {name}: silent and still open after {wait:.1f} s")
    close(w, rng)


async def slow_read(rng, t):
    name, port, first, mode = t
    # A small reader buffer: asyncio stops reading the socket past 2 x limit and resumes below limit,
    # which with 1 MiB would leave the socket unread for seconds (and L4P would rightly time it out as idle).
    r, w = await connect(port, limit=16384)
    sent = first + os.urandom(rng.randint(1, 4) << 20)
    t0 = time.monotonic()

    async def writer():
        for i in range(0, len(sent), 65536):
            if not await send(w, sent[i: i + 65536]):
                return

    wt = asyncio.create_task(writer())
    got = bytearray()
    how = "timeout"
    end = time.monotonic() + rng.uniform(1, 4)
    try:
        while time.monotonic() < end and len(got) < len(sent):
            chunk = await asyncio.wait_for(r.read(4096), 3)
            if not chunk:
                how = "eof"
                break
            got += chunk
            await asyncio.sleep(rng.uniform(0.01, 0.05))
    except asyncio.TimeoutError:
        pass
    except (ConnectionError, OSError):
        how = "reset"
    wt.cancel()
    key = ("slow_read", name)
    if not sent.startswith(bytes(got)):
        stats[key]["bad"] += 1
        fail(f"wrong bytes: slow_read on {name}: {len(got)} B back not a prefix of what was sent")
    elif mode == "exact" and how != "timeout" and len(got) < len(sent):
        stats[key]["short"] += 1
        shorts.append(f"slow_read on {name}: {how} after {len(got)} of {len(sent)} B, {time.monotonic() - t0:.1f} s in")
    else:
        stats[key]["ok" if len(got) > 0 or mode != "exact" else "short"] += 1
    close(w, rng)
    try:
        await wt
    except (asyncio.CancelledError, ConnectionError, OSError):
        pass


BEHAVIOURS = [  # (weight, behaviour, the targets it is tried on)
    (30, normal, ["echo", "tiny", "sni_good", "sni_bad", "pool", "checked", "dead"]),
    (10, half_close, ["echo", "tiny", "sni_good", "pool", "checked"]),  # tinyproxy ends a tunnel on the client's FIN: a prefix there
    (15, rst, ["echo", "tiny", "sni_good", "sni_bad", "pool", "checked", "dead"]),
    (10, mid_hello, ["sni_good"]),
    (15, stall, ["echo", "tiny", "sni_good", "pool", "checked", "dead"]),
    (10, slow_read, ["echo", "tiny", "sni_good", "pool"]),
]


async def worker(i, deadline):
    rng = random.Random(SEED * 1000 + i)
    weights = [b[0] for b in BEHAVIOURS]
    while time.time() < deadline:
        _, behaviour, names = rng.choices(BEHAVIOURS, weights)[0]
        t = targets(rng)[rng.choice(names)]
        try:
            await asyncio.wait_for(behaviour(rng, t), BEHAVIOUR_BOUND)
        except asyncio.TimeoutError:
            stats[(behaviour.__name__, t[0])]["hung"] += 1
        except (ConnectionRefusedError, OSError, asyncio.IncompleteReadError) as e:
            stats[(behaviour.__name__, t[0])]["error"] += 1
            notes.append(f"{behaviour.__name__} on {t[0]}: {type(e).__name__} {e}")


async def monitor(stop):
    start = time.monotonic()
    while not stop.is_set():
        samples.append((time.monotonic() - start, rss_kib(), proc_sockets()))
        for w in [w for w in OPEN if w.transport.is_closing()]:
            OPEN.discard(w)
        try:
            await asyncio.wait_for(stop.wait(), 1)
        except asyncio.TimeoutError:
            pass


# ---------- quiet checks ----------

async def baseline():
    """Lowest of several readings over 2 s (a health probe's interval): sockets with no probe in flight."""
    metric_socks, proc_socks = [], []
    for _ in range(8):
        proc_socks.append(proc_sockets())
        m = await asyncio.to_thread(scrape)
        metric_socks.append(int(metric(m, "l4p_open_sockets")))
        await asyncio.sleep(0.25)
    return min(metric_socks), min(proc_socks), rss_kib()


async def converge(base_m, base_p, bound):
    """Poll until no connection is active and both socket counts are within SOCKET_DELTA; (seconds, last readings)."""
    start = time.monotonic()
    while True:
        p = proc_sockets()
        m = await asyncio.to_thread(scrape)
        active = active_connections(m)
        socks = int(metric(m, "l4p_open_sockets"))
        ok = active == 0 and socks <= base_m + SOCKET_DELTA and p <= base_p + SOCKET_DELTA
        took = time.monotonic() - start
        if ok or took >= bound:
            return ok, took, active, socks, p, m
        await asyncio.sleep(0.5)


async def burst(key):
    """MAXCLIENTS connections to one server, all open at once, each echoed; every slot must admit one."""
    name, port, first, mode = targets(random.Random(SEED))[key]
    server = {"sni_good": "sni"}.get(key, key)
    m0 = await asyncio.to_thread(scrape)
    before = metric(m0, "l4p_connections_total", server=server, result="rejected_maxclients")
    results0 = by_label(m0, "l4p_connections_total", "result", server=server)
    all_up = asyncio.Event()
    done = {"echoed": 0, "failed": 0}
    writers = []

    opening = asyncio.Semaphore(10)  # opened 10 at a time (tinyproxy answered 50 concurrent CONNECTs in up to 3.6 s here), all held open together

    async def one():
        async with opening:
            try:
                r, w = await connect(port)
            except (OSError, asyncio.TimeoutError):
                done["failed"] += 1
                return
            writers.append(w)
            sent = first + os.urandom(64)
            await send(w, sent)
            got, how = await read_upto(r, len(sent), 10)
            if got != sent:
                done["failed"] += 1
                return
            done["echoed"] += 1
        while not all_up.is_set():  # keep it busy (idle is 2 s) until every one is in
            await asyncio.sleep(0.5)
            if not await send(w, b"."):
                return
            if (await read_upto(r, 1, 5))[0] != b".":
                return

    tasks = [asyncio.create_task(one()) for _ in range(MAXCLIENTS)]
    bound = time.monotonic() + 20
    while done["echoed"] + done["failed"] < MAXCLIENTS and time.monotonic() < bound:
        await asyncio.sleep(0.1)
    m = await asyncio.to_thread(scrape)
    active = metric(m, "l4p_active_connections", server=server)
    rejected = metric(m, "l4p_connections_total", server=server, result="rejected_maxclients") - before
    all_up.set()
    await asyncio.wait(tasks, timeout=10)
    for w in writers:
        w.close()
    ok = done["echoed"] == MAXCLIENTS and rejected == 0 and active == MAXCLIENTS
    line = f"maxclients burst on {server}: {done['echoed']}/{MAXCLIENTS} echoed, active {int(active)}, rejected_maxclients +{int(rejected)}"
    if not ok:
        ended = by_label(m, "l4p_connections_total", "result", server=server)
        ended.subtract(results0)
        line += f", ended meanwhile: {dict(+ended) or 'none'}, {done['failed']} failed on our side"
    print("  " + line, flush=True)
    if not ok:
        fail(line + f" (every one of the {MAXCLIENTS} slots must admit and echo one)")


def table(rows, header):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in [header, *rows]:
        print("  " + "  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(row, widths))))


async def main():
    base_m, base_p, base_rss = await baseline()
    print(f"chaos: baseline open sockets {base_m} (metric), {base_p} (/proc), RSS {base_rss // 1024} MiB; "
          f"{WORKERS} workers for {MINUTES} min, seed {SEED}", flush=True)
    stop = asyncio.Event()
    mon = asyncio.create_task(monitor(stop))
    deadline = time.time() + MINUTES * 60
    started = time.monotonic()
    workers = [asyncio.create_task(worker(i, deadline)) for i in range(WORKERS)]
    await asyncio.sleep(max(0, deadline - time.time()))
    # Stop: every behaviour in flight is abandoned where it is, its socket closed (FIN or RST) at once.
    for t in workers:
        t.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    stop.set()
    await mon
    rng = random.Random(SEED)
    dropped = [w for w in OPEN if not w.transport.is_closing()]
    for w in dropped:
        close(w, rng)
    OPEN.clear()
    load_s = time.monotonic() - started
    print(f"chaos: load stopped after {load_s:.0f} s; {len(dropped)} client connections in flight dropped (FIN or RST)", flush=True)

    ok, took, active, socks, procs, m = await converge(base_m, base_p, QUIET_BOUND)
    if not ok:
        per = {f"{l.get('server')} {l.get('listen')}": int(v) for n, l, v in m
               if n == "l4p_active_connections" and v and (l.get("server") != "admin" or v > 1)}
        fail(f"not quiet after {QUIET_BOUND:.0f} s: active connections {int(active)} {per or ''}, open sockets {socks} "
             f"(baseline {base_m} + {SOCKET_DELTA}), /proc sockets {procs} (baseline {base_p} + {SOCKET_DELTA})")
        for l in ss_lines()[:40]:
            print("  ss:", l, flush=True)
    quiet = (took, active, socks, procs)

    for key in ("echo", "tiny", "sni_good"):
        await burst(key)
    ok2, took2, active2, socks2, procs2, m = await converge(base_m, base_p, QUIET_BOUND)
    if not ok2:
        fail(f"not quiet after the maxclients bursts ({QUIET_BOUND:.0f} s): active {int(active2)}, open sockets {socks2}, /proc sockets {procs2}")
    after_rss = rss_kib()
    peak_rss = max([s[1] for s in samples] + [after_rss])
    if after_rss > base_rss + RSS_BOUND_MIB * 1024:
        fail(f"RSS {after_rss // 1024} MiB after quiet > baseline {base_rss // 1024} MiB + {RSS_BOUND_MIB} MiB")

    # ---------- summary ----------
    print(f"\nchaos summary: {load_s:.0f} s of load, {WORKERS} workers, seed {SEED}")
    print("connections per behaviour (ok = verified/expected; closed = a chaos upstream closed, reset or stayed silent;")
    print("short = a good path that did not answer in full; not_closed = neither answered nor closed well past its timeout):")
    outcomes = ["ok", "closed", "short", "not_closed", "bad", "error", "hung"]
    rows = []
    for (b, t) in sorted(stats):
        c = stats[(b, t)]
        rows.append([f"{b} {t}", sum(c.values()), *[c[o] for o in outcomes]])
    totals = collections.Counter()
    for c in stats.values():
        totals.update(c)
    rows.append(["all", sum(totals.values()), *[totals[o] for o in outcomes]])
    table(rows, ["behaviour target", "runs", *outcomes])
    print("l4p_connections_total by result (all servers):")
    res = by_label(m, "l4p_connections_total", "result")
    table([[k, v] for k, v in res.most_common()], ["result", "count"])
    peak_socks = max([s[2] for s in samples] + [procs2])
    print("quiet checks:")
    table([
        ["active connections", 0, f"{int(quiet[1])} ({quiet[0]:.1f} s)", int(active2), "0", "ok" if ok and ok2 else "FAILED"],
        ["open sockets (l4p_open_sockets)", base_m, quiet[2], socks2, f"<= {base_m + SOCKET_DELTA}", "ok" if socks2 <= base_m + SOCKET_DELTA and quiet[2] <= base_m + SOCKET_DELTA else "FAILED"],
        ["open sockets (/proc/PID/fd)", base_p, quiet[3], procs2, f"<= {base_p + SOCKET_DELTA} (peak {peak_socks})", "ok" if procs2 <= base_p + SOCKET_DELTA and quiet[3] <= base_p + SOCKET_DELTA else "FAILED"],
        ["RSS MiB", base_rss // 1024, f"peak {peak_rss // 1024}", after_rss // 1024, f"<= {(base_rss // 1024) + RSS_BOUND_MIB}", "ok" if after_rss <= base_rss + RSS_BOUND_MIB * 1024 else "FAILED"],
    ], ["check", "baseline", "after load", "after bursts", "bound", "verdict"])

    if totals["ok"] == 0:
        fail("no behaviour completed: the load never reached L4P")
    if totals["short"]:
        fail(f"{totals['short']} exchanges on a good path (echo, tinyproxy to echo, SNI good.test) did not answer in full: "
             + "; ".join(shorts[:5]))
    if totals["not_closed"]:
        fail(f"{totals['not_closed']} connections were still open well past their timeout (idle 2 s, 5 s on tiny; client_hello 1 s): "
             + "; ".join(stuck[:5]))
    if totals["error"]:
        fail(f"{totals['error']} connections to L4P failed outright, e.g. {notes[0]}")
    if totals["hung"]:
        fail(f"{totals['hung']} behaviours hit the {BEHAVIOUR_BOUND:.0f} s bound")
    if not os.path.exists(f"/proc/{PID}"):
        fail("L4P exited during the run")
    print("chaos:", "FAILED" if failures else "passed", flush=True)
    for f in failures:
        print("chaos: FAILED:", f, flush=True)
    sys.exit(1 if failures else 0)


asyncio.run(main())
