using System.Net.Sockets;
using System.Text;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>/metrics over a real socket, parsed by the reference parser; idle and connect timeouts.</summary>
public sealed class MetricsAndTimeoutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Metrics_are_valid_exposition_and_count_known_traffic()
    {
        await using var backend = TcpBackend.Echo();
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              health: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: admin }
              plain: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: backend, maxclients: 1 }
              nowhere: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: closed }
            upstream:
              backend: "tcp://127.0.0.1:{{backend.Endpoint.Port}}"
              closed: "tcp://127.0.0.1:{{TestPorts.Closed()}}"
            """, output);
        const int n = 5;
        for (var i = 0; i < n; i++)
        {
            using var c = await Net.ConnectAsync(proxy.Listen("plain"));
            await c.SendAsync(new byte[1000]);
            c.Shutdown(SocketShutdown.Send);
            Assert.Equal(1000, (await Net.ReadToEndAsync(c)).Length);
            await proxy.WaitForLogAsync(l => l.Contains("conn server=plain") && proxy.Logs.Lines.Count(x => x.Contains("conn server=plain")) > i);
            // The log line is written before the listener hears the connection actor stop; the slot frees then.
            await proxy.WaitIdleAsync("plain");
        }
        using (var refused = await Net.ConnectAsync(proxy.Listen("nowhere")))
            Assert.True(await Net.IsClosedByPeerAsync(refused, TimeSpan.FromSeconds(3)));
        await proxy.WaitForLogAsync(l => l.Contains("conn server=nowhere"));

        // Hold the only slot of `plain`, get one rejected; health keeps answering meanwhile.
        using var holder = await Net.ConnectAsync(proxy.Listen("plain"));
        await holder.SendAsync("x"u8.ToArray());
        await Net.ReadExactlyAsync(holder, 1);
        using (var rejected = await Net.ConnectAsync(proxy.Listen("plain")))
            Assert.True(await Net.IsClosedByPeerAsync(rejected, TimeSpan.FromSeconds(3)));
        Assert.Equal("OK", (await Net.HttpGetAsync(proxy.Listen("health"), "/health")).Body);

        var (head, body) = await Net.HttpGetAsync(proxy.Listen("health"), "/metrics");
        Assert.Contains("Content-Type: text/plain; version=0.0.4; charset=utf-8", head);
        var m = await PrometheusSamples.ParseAsync(body);
        var plainListen = proxy.Listen("plain").ToString();

        Assert.Equal(n, m.Value("l4p_connections_total", ("server", "plain"), ("upstream", "backend"), ("result", "ok")));
        Assert.Equal(1, m.Value("l4p_connections_total", ("server", "nowhere"), ("upstream", "closed"), ("result", "connect_failed")));
        Assert.Equal(1, m.Value("l4p_connections_total", ("server", "plain"), ("result", "rejected_maxclients")));
        Assert.Equal(n * 1000 + 1, m.Value("l4p_bytes_total", ("server", "plain"), ("direction", "client_to_upstream")));
        Assert.Equal(n * 1000 + 1, m.Value("l4p_bytes_total", ("server", "plain"), ("direction", "upstream_to_client")));
        Assert.Equal(1, m.Value("l4p_active_connections", ("server", "plain"), ("listen", plainListen)));
        Assert.Equal(1, m.Value("l4p_maxclients", ("server", "plain"), ("listen", plainListen)));
        Assert.Equal(n + 1, m.Value("l4p_upstream_connect_seconds_count", ("upstream", "backend")));
        Assert.True(m.Value("l4p_upstream_connect_seconds_sum", ("upstream", "backend")) > 0);
        // The process's sockets (this test's peers share it): at least the listeners and the held pair's two.
        Assert.True(m.Value("l4p_open_sockets") >= proxy.Config.Servers.Sum(s => s.Listen.Length) + 2, $"l4p_open_sockets {m.Value("l4p_open_sockets")}");
    }

    [Fact]
    public async Task Idle_timeout_closes_a_quiet_connection_and_spares_a_busy_one()
    {
        await using var backend = TcpBackend.Echo();
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              plain:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                default: backend
                timeouts: { idle: 1500ms }
            upstream:
              backend: "tcp://127.0.0.1:{{backend.Endpoint.Port}}"
            """, output);
        using var quiet = await Net.ConnectAsync(proxy.Listen("plain"));
        using var busy = await Net.ConnectAsync(proxy.Listen("plain"));
        for (var i = 0; i < 14; i++)
        {
            await busy.SendAsync("b"u8.ToArray());
            await Net.ReadExactlyAsync(busy, 1);
            await Task.Delay(150);
        }
        // 2.1 s later the busy one (a byte every 150 ms, 10x inside the limit) still echoes; the quiet
        // one was closed after ~1.5 s.
        Assert.True(await Net.IsClosedByPeerAsync(quiet, TimeSpan.FromSeconds(2)));
        await busy.SendAsync("z"u8.ToArray());
        Assert.Equal("z", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(busy, 1)));
        var line = await proxy.WaitForLogAsync(l => l.Contains("result=idle_timeout"));
        Assert.Contains("reason=\"no byte either way for 1500ms\"", line);
    }

    /// <summary>
    /// An upstream that never completes the handshake, on this machine: a listener that never
    /// accepts, its queue filled first, so the kernel drops further SYNs.
    /// </summary>
    private static async Task<List<Socket>> StuckUpstreamAsync()
    {
        var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        squatter.Listen(0);
        var sockets = new List<Socket> { squatter };
        for (var i = 0; i < 4; i++)
        {
            var f = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _ = f.ConnectAsync(squatter.LocalEndPoint!);
            sockets.Add(f);
        }
        await Task.Delay(200);
        return sockets;
    }

    [Fact]
    public async Task Connect_timeout_is_labelled()
    {
        var stuck = await StuckUpstreamAsync();
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              plain:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                default: stuck
                timeouts: { connect: 700ms }
            upstream:
              stuck: "tcp://{{stuck[0].LocalEndPoint}}"
            """, output);
        using var c = await Net.ConnectAsync(proxy.Listen("plain"));
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(5)));
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=plain"));
        Assert.Contains("result=connect_timeout reason=\"connect timeout after 700ms", line);
        foreach (var s in stuck) s.Dispose();
    }

    [Theory]
    // tls-proxy-tunnel's own refused-upstream test: a via without a target, only connect_timeout.
    [InlineData("via: { connect_timeout: 700ms }", "700ms", 0.7)]
    // An explicit timeouts.connect wins over it.
    [InlineData("via: { connect_timeout: 700ms }\n    timeouts: { connect: 1500ms }", "1500ms", 1.5)]
    public async Task A_via_without_target_sets_the_connect_timeout_of_direct_connects(string keys, string expected, double seconds)
    {
        var stuck = await StuckUpstreamAsync();
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              plain:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                default: stuck
                {{keys}}
            upstream:
              stuck: "tcp://{{stuck[0].LocalEndPoint}}"
            """, output);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var c = await Net.ConnectAsync(proxy.Listen("plain"));
        // Well before the default 10s.
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(6)));
        Assert.InRange(watch.Elapsed.TotalSeconds, seconds - 0.1, 6);
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=plain"));
        Assert.Contains($"result=connect_timeout reason=\"connect timeout after {expected}", line);
        foreach (var s in stuck) s.Dispose();
    }
}
