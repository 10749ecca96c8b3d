using System.Net;
using System.Net.Sockets;
using System.Text;
using L4P.Testing;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>
/// Faults at the edges against the real executable, one process for the class. After each test the
/// proxy must still serve a new connection and its open descriptors must return to the baseline.
/// Short versions for the default run; scripts/soak.sh holds the long ones.
/// </summary>
public sealed class FaultFixture : IAsyncLifetime
{
    public readonly int Plain = TestPorts.Free(), Tls = TestPorts.Free(), Echo = TestPorts.Free(), Health = TestPorts.Free(), Limited = TestPorts.Free();
    public TcpBackend Pusher = null!;
    public long PushedBytes;
    public HostProcess Proxy = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("l4p-fault-").FullName;
    public int BaselineFds { get; private set; }

    public async Task InitializeAsync()
    {
        // Pushes up to 1 GiB to whoever connects, as fast as the proxy lets it.
        Pusher = new TcpBackend(async s =>
        {
            var chunk = new byte[64 * 1024];
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            for (long sent = 0; sent < 1L << 30; sent += chunk.Length)
            {
                await s.SendAsync(chunk, SocketFlags.None, cts.Token);
                Interlocked.Add(ref PushedBytes, chunk.Length);
            }
        });
        var path = Path.Combine(_dir, "l4p.yaml");
        await File.WriteAllTextAsync(path, $$"""
            version: 1
            log: info
            servers:
              plain: { listen: ["127.0.0.1:{{Plain}}"], default: pusher }
              tls: { listen: ["127.0.0.1:{{Tls}}"], tls: true, default: echo, timeouts: { client_hello: 1s } }
              echo: { listen: ["127.0.0.1:{{Echo}}"], default: echo, maxclients: 20000 }
              health: { listen: ["127.0.0.1:{{Health}}"], default: health }
              limited: { listen: ["127.0.0.1:{{Limited}}"], default: echo, maxclients: 10 }
            upstream:
              pusher: "tcp://127.0.0.1:{{Pusher.Endpoint.Port}}"
            """);
        Proxy = new HostProcess($"--config {path}");
        await Proxy.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));
        await AssertServesAsync();
        BaselineFds = ProcessStats.OpenFds(Proxy.Pid);
    }

    /// <summary>The proxy still answers a new connection (echo round trip).</summary>
    public async Task AssertServesAsync()
    {
        using var c = await Net.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Echo));
        await c.SendAsync("ping"u8.ToArray());
        if (Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 4)) != "ping") throw new InvalidOperationException("echo broken");
    }

    public async Task DisposeAsync()
    {
        Proxy.Dispose();
        await Pusher.DisposeAsync();
        Directory.Delete(_dir, true);
    }
}

public sealed class FaultTests(FaultFixture f, ITestOutputHelper output) : IClassFixture<FaultFixture>, IAsyncLifetime
{
    private IPEndPoint At(int port) => new(IPAddress.Loopback, port);

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>After each test: still serving, no descriptor leaked.</summary>
    public async Task DisposeAsync()
    {
        await f.AssertServesAsync();
        var fds = await ProcessStats.WaitFdsAtMostAsync(f.Proxy.Pid, f.BaselineFds, TimeSpan.FromSeconds(15));
        output.WriteLine($"fds: baseline {f.BaselineFds}, now {fds}");
        Assert.True(fds <= f.BaselineFds, $"descriptor leak: {fds} open, baseline {f.BaselineFds}");
    }

    [Fact]
    public async Task A_client_that_never_reads_does_not_grow_proxy_memory_while_upstream_pushes()
    {
        var pid = f.Proxy.Pid;
        using var c = await Net.ConnectAsync(At(f.Plain));
        c.ReceiveBufferSize = 64 * 1024;
        await Task.Delay(1500);
        var pushedEarly = Interlocked.Read(ref f.PushedBytes);
        var rssEarly = ProcessStats.RssKiB(pid);
        await Task.Delay(3000);
        var pushedLate = Interlocked.Read(ref f.PushedBytes);
        var rssLate = ProcessStats.RssKiB(pid);
        output.WriteLine($"pushed {pushedEarly} -> {pushedLate} bytes, proxy RSS {rssEarly} -> {rssLate} KiB");
        // Backpressure: the upstream is stalled after filling the socket buffers (far below 1 GiB),
        // and the proxy's memory does not follow it.
        Assert.True(pushedLate < 64L * 1024 * 1024, $"upstream pushed {pushedLate} bytes: no backpressure");
        Assert.True(pushedLate - pushedEarly < 8L * 1024 * 1024, "upstream kept pushing while the client did not read");
        Assert.True(rssLate - rssEarly < 20 * 1024, $"proxy RSS grew {rssLate - rssEarly} KiB");
        // Reading now drains it: the relay resumes.
        Assert.True((await Net.ReadExactlyAsync(c, 1 << 20)).Length == 1 << 20);
    }

    [Fact]
    public async Task Client_reset_mid_stream_ends_the_relay()
    {
        var c = await Net.ConnectAsync(At(f.Plain));
        await Net.ReadExactlyAsync(c, 256 * 1024);
        c.LingerState = new LingerOption(true, 0);
        c.Close();
        await f.Proxy.WaitForOutputAsync("result=client_reset", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Slow_loris_on_the_ClientHello_is_cut_at_client_hello_timeout()
    {
        var hello = HelloBuilder.Hello("slow.test");
        using var c = await Net.ConnectAsync(At(f.Tls));
        var closed = false;
        var start = DateTime.UtcNow;
        try
        {
            for (var i = 0; i < hello.Length && !closed; i++)
            {
                await c.SendAsync(hello.AsMemory(i, 1));
                await Task.Delay(150);
                closed = c.Poll(0, SelectMode.SelectRead) && c.Available == 0;
            }
        }
        catch (SocketException) { closed = true; }
        Assert.True(closed || await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(2)));
        Assert.InRange((DateTime.UtcNow - start).TotalSeconds, 0.9, 4);
        await f.Proxy.WaitForOutputAsync("result=client_hello_timeout reason=\"incomplete ClientHello", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Many_idle_connections_are_held_and_released()
    {
        var n = int.TryParse(Environment.GetEnvironmentVariable("L4P_IDLE_CONNECTIONS"), out var env) ? env : 2000;
        var sockets = new List<Socket>(n);
        var before = ProcessStats.OpenFds(f.Proxy.Pid);
        // The runtime opens and closes a descriptor or two of its own meanwhile.
        var expected = before + n - 2;
        try
        {
            for (var i = 0; i < n; i++) sockets.Add(await Net.ConnectAsync(At(f.Echo)));
            // All held: each still echoes.
            foreach (var s in sockets.Where((_, i) => i % 97 == 0))
            {
                await s.SendAsync("x"u8.ToArray());
                Assert.Equal("x", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(s, 1)));
            }
            // Accepts trail the client's connects a little: wait until the proxy holds them all.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (ProcessStats.OpenFds(f.Proxy.Pid) < expected && DateTime.UtcNow < deadline) await Task.Delay(100);
            Assert.True(ProcessStats.OpenFds(f.Proxy.Pid) >= expected, $"{ProcessStats.OpenFds(f.Proxy.Pid)} descriptors for {n} connections, {before} before");
            output.WriteLine($"{n} idle connections: proxy RSS {ProcessStats.RssKiB(f.Proxy.Pid)} KiB, {ProcessStats.Threads(f.Proxy.Pid)} threads");
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
    }

    [Fact]
    public async Task A_flood_at_maxclients_leaves_health_answering()
    {
        var flood = new List<Socket>();
        try
        {
            for (var i = 0; i < 300; i++) flood.Add(await Net.ConnectAsync(At(f.Limited)));
            for (var i = 0; i < 20; i++)
            {
                using var h = await Net.ConnectAsync(At(f.Health));
                await h.SendAsync("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"u8.ToArray());
                Assert.EndsWith("\r\n\r\nOK", Encoding.ASCII.GetString(await Net.ReadToEndAsync(h)));
            }
            await f.Proxy.WaitForOutputAsync("maxclients 10 reached", TimeSpan.FromSeconds(5));
        }
        finally
        {
            foreach (var s in flood) s.Dispose();
        }
    }
}
