using System.Net;
using System.Net.Sockets;
using System.Text;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>Upstreams with several targets: each balance over real connections, and active health checks.</summary>
public sealed class BalanceAndHealthTests(ITestOutputHelper output)
{
    private static async Task<string> WhoAsync(IPEndPoint proxy, IPAddress? from = null)
    {
        using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (from is not null) c.Bind(new IPEndPoint(from, 0));
        await c.ConnectAsync(proxy);
        return Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 1));
    }

    private async Task<(InProcessProxy Proxy, TcpBackend[] Backends)> StartAsync(string balance, string extra = "")
    {
        TcpBackend[] backends = [TcpBackend.Named("A"), TcpBackend.Named("B"), TcpBackend.Named("C")];
        var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: pool }
            upstream:
              pool:
                targets: [{{string.Join(", ", backends.Select(b => $"\"tcp://127.0.0.1:{b.Endpoint.Port}\""))}}]
                balance: {{balance}}
                {{extra}}
            """, output);
        return (proxy, backends);
    }

    private static async Task DisposeAll(InProcessProxy proxy, TcpBackend[] backends)
    {
        await proxy.DisposeAsync();
        foreach (var b in backends) await b.DisposeAsync();
    }

    [Fact]
    public async Task Roundrobin_is_exact()
    {
        var (proxy, backends) = await StartAsync("roundrobin");
        var seen = new List<string>();
        for (var i = 0; i < 9; i++) seen.Add(await WhoAsync(proxy.Listen("web")));
        await DisposeAll(proxy, backends);
        Assert.Equal("ABCABCABC", string.Concat(seen));
    }

    [Fact]
    public async Task Leastconn_avoids_the_target_holding_a_long_connection()
    {
        var (proxy, backends) = await StartAsync("leastconn");
        using var pinned = await Net.ConnectAsync(proxy.Listen("web"));
        var pinnedTo = Encoding.ASCII.GetString(await Net.ReadExactlyAsync(pinned, 1));
        var seen = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            using var c = await Net.ConnectAsync(proxy.Listen("web"));
            seen.Add(Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 1)));
            c.Close();
            await proxy.WaitForLogAsync(_ => proxy.Logs.Lines.Count(l => l.Contains("conn server=web")) > i);
        }
        await DisposeAll(proxy, backends);
        Assert.DoesNotContain(pinnedTo, seen);
        Assert.Equal(2, seen.Distinct().Count());
    }

    [Fact]
    public async Task Source_is_stable_per_client_address()
    {
        var (proxy, backends) = await StartAsync("source");
        var byClient = new Dictionary<string, HashSet<string>>();
        for (var ip = 1; ip <= 12; ip++)
        {
            var from = IPAddress.Parse($"127.0.0.{ip}");
            var set = byClient[from.ToString()] = [];
            for (var i = 0; i < 4; i++) set.Add(await WhoAsync(proxy.Listen("web"), from));
        }
        await DisposeAll(proxy, backends);
        Assert.All(byClient.Values, s => Assert.Single(s)); // each client always lands on one target
        Assert.True(byClient.Values.Select(s => s.Single()).Distinct().Count() >= 2); // and clients spread
    }

    [Fact]
    public async Task Random_uses_every_target()
    {
        var (proxy, backends) = await StartAsync("random");
        var seen = new HashSet<string>();
        for (var i = 0; i < 60 && seen.Count < 3; i++) seen.Add(await WhoAsync(proxy.Listen("web")));
        await DisposeAll(proxy, backends);
        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public async Task A_target_that_goes_down_gets_no_connections_and_comes_back_after_rise_checks()
    {
        var a = TcpBackend.Named("A");
        var bPort = TestPorts.Free();
        var b = TcpBackend.Named("B", port: bPort);
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: pool }
              health: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: health }
            upstream:
              pool:
                targets: ["tcp://127.0.0.1:{{a.Endpoint.Port}}", "tcp://127.0.0.1:{{bPort}}"]
                check: { interval: 150ms, timeout: 300ms, rise: 2, fall: 2 }
            """, output);
        var seen = new List<string>();
        for (var i = 0; i < 4; i++) seen.Add(await WhoAsync(proxy.Listen("web")));
        Assert.Contains("B", seen);

        // B goes away. Every client connection keeps working meanwhile (a refused address falls
        // through to the next), and after `fall` checks B is down and skipped.
        await b.DisposeAsync();
        var during = new List<string>();
        var down = proxy.WaitForLogAsync(l => l.Contains($"127.0.0.1:{bPort} is down after 2 failed checks"), TimeSpan.FromSeconds(5));
        while (!down.IsCompleted) during.Add(await WhoAsync(proxy.Listen("web")));
        await down;
        Assert.All(during, w => Assert.Equal("A", w));
        var m = await MetricsAsync(proxy);
        Assert.Equal(0, m.Value("l4p_upstream_up", ("upstream", "pool"), ("address", $"127.0.0.1:{bPort}")));
        Assert.DoesNotContain(proxy.Logs.Lines, l => l.Contains("conn server=web") && !l.Contains("result=ok"));

        // B comes back on the same port: after `rise` good checks it is used again.
        b = TcpBackend.Named("B", port: bPort);
        await proxy.WaitForLogAsync(l => l.Contains($"127.0.0.1:{bPort} is up again after 2 good checks"), TimeSpan.FromSeconds(5));
        var after = new List<string>();
        for (var i = 0; i < 4; i++) after.Add(await WhoAsync(proxy.Listen("web")));
        Assert.Contains("B", after);
        Assert.Equal(1, (await MetricsAsync(proxy)).Value("l4p_upstream_up", ("upstream", "pool"), ("address", $"127.0.0.1:{bPort}")));
        await a.DisposeAsync();
        await b.DisposeAsync();
    }

    [Fact]
    public async Task When_every_target_is_down_connections_fail_fast_with_the_reason()
    {
        var port = TestPorts.Closed();
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: pool }
            upstream:
              pool: { targets: ["tcp://127.0.0.1:{{port}}"], check: { interval: 100ms, timeout: 200ms, fall: 1 } }
            """, output);
        await proxy.WaitForLogAsync(l => l.Contains("is down after 1 failed checks"));
        using var c = await Net.ConnectAsync(proxy.Listen("web"));
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(2)));
        Assert.Contains("result=all_down reason=\"every address of upstream pool failed its health checks\"",
            await proxy.WaitForLogAsync(l => l.Contains("conn server=web")));
    }

    [Fact]
    public async Task Send_expect_checks_a_simple_protocol()
    {
        // A backend that answers PING with PONG is up; one that answers NOPE is down.
        static TcpBackend Pinger(string reply) => new(async s =>
        {
            var buf = new byte[64];
            var n = await s.ReceiveAsync(buf);
            if (Encoding.ASCII.GetString(buf, 0, n).StartsWith("PING", StringComparison.Ordinal)) await s.SendAsync(Encoding.ASCII.GetBytes(reply));
        });
        await using var good = Pinger("PONG\r\n");
        await using var bad = Pinger("NOPE\r\n");
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: pool }
            upstream:
              pool:
                targets: ["tcp://127.0.0.1:{{good.Endpoint.Port}}", "tcp://127.0.0.1:{{bad.Endpoint.Port}}"]
                check: { interval: 100ms, timeout: 300ms, fall: 1, send: "PING\r\n", expect: "PONG" }
            """, output);
        await proxy.WaitForLogAsync(l => l.Contains($"127.0.0.1:{bad.Endpoint.Port} is down"));
        await Task.Delay(500);
        Assert.DoesNotContain(proxy.Logs.Lines, l => l.Contains($"127.0.0.1:{good.Endpoint.Port} is down"));
    }

    private static async Task<PrometheusSamples> MetricsAsync(InProcessProxy proxy) =>
        await PrometheusSamples.ParseAsync(System.Text.Encoding.UTF8.GetString(await proxy.Metrics.RenderAsync()));
}
