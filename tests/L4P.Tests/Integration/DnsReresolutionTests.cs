using System.Net;
using System.Text;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>A real dnsmasq moves a name from backend A to backend B while L4P runs.</summary>
public sealed class DnsReresolutionTests(ITestOutputHelper output)
{
    // tcp:// asks both families; dnsmasq (no upstream servers) REFUSES the AAAA query for these
    // names, which hold only A records: the A answer must still be used.
    [Theory]
    [InlineData("tcp4")]
    [InlineData("tcp")]
    public async Task New_connections_follow_the_dns_change_while_an_old_one_keeps_streaming(string scheme)
    {
        var port = TestPorts.Free();
        await using var a = TcpBackend.Named("A", IPAddress.Parse("127.0.0.2"), port, TimeSpan.FromMilliseconds(50));
        await using var b = TcpBackend.Named("B", IPAddress.Parse("127.0.0.3"), port, TimeSpan.FromMilliseconds(50));
        using var dns = new Dnsmasq("127.0.0.2 svc.test\n");
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            resolver:
              nameservers: ["{{dns.Endpoint}}"]
              interval: 1s
              retry: 1s
            servers:
              plain: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: svc }
            upstream:
              svc: "{{scheme}}://svc.test:{{port}}"
            """, output);

        using var old = await Net.ConnectAsync(proxy.Listen("plain"));
        Assert.Equal("A", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(old, 1)));

        dns.Set("127.0.0.3 svc.test\n");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string seen;
        do
        {
            using var probe = await Net.ConnectAsync(proxy.Listen("plain"));
            seen = Encoding.ASCII.GetString(await Net.ReadExactlyAsync(probe, 1));
            if (seen == "B") break;
            await Task.Delay(200);
        } while (DateTime.UtcNow < deadline);
        Assert.Equal("B", seen);
        await proxy.WaitForLogAsync(l => l.Contains("upstream svc: 127.0.0.2 -> 127.0.0.3"));

        // The connection opened before the change still streams from A.
        var more = Encoding.ASCII.GetString(await Net.ReadExactlyAsync(old, 10));
        Assert.Equal(new string('A', 10), more);
    }

    [Fact]
    public async Task A_reload_that_changes_the_nameservers_asks_the_new_ones()
    {
        var port = TestPorts.Free();
        await using var a = TcpBackend.Named("A", IPAddress.Parse("127.0.0.2"), port);
        await using var b = TcpBackend.Named("B", IPAddress.Parse("127.0.0.3"), port);
        using var first = new Dnsmasq("127.0.0.2 svc.test\n");
        using var second = new Dnsmasq("127.0.0.3 svc.test\n");
        var listen = TestPorts.Free();
        string Yaml(Dnsmasq dns) => $$"""
            version: 1
            resolver: { nameservers: ["{{dns.Endpoint}}"], interval: 1h }
            servers:
              plain: { listen: ["127.0.0.1:{{listen}}"], default: svc }
            upstream:
              svc: "tcp4://svc.test:{{port}}"
            """;
        await using var proxy = await InProcessProxy.StartAsync(Yaml(first), output);
        using (var c = await Net.ConnectAsync(proxy.Listen("plain")))
            Assert.Equal("A", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 1)));

        // The new generation starts with its own first lookup, at the nameserver it names.
        var reloaded = await proxy.Proxy.ReloadAsync(L4P.Config.ConfigLoader.Parse(Yaml(second), "test.yaml", _ => null));
        Assert.Equal(L4P.Proxy.ReloadOutcome.Applied, reloaded.Outcome);
        using (var c = await Net.ConnectAsync(proxy.Listen("plain")))
            Assert.Equal("B", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 1)));
    }

    [Fact]
    public async Task A_name_that_never_resolves_fails_its_connections_fast_and_the_proxy_still_starts()
    {
        using var dns = new Dnsmasq("127.0.0.2 other.test\n");
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            resolver: { nameservers: ["{{dns.Endpoint}}"], interval: 1s, retry: 1s, timeout: 1s }
            servers:
              plain: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: ghost }
              echo: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: echo }
            upstream:
              ghost: "tcp://ghost.test:80"
            """, output);

        using var c = await Net.ConnectAsync(proxy.Listen("plain"));
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(2)));
        Assert.Contains("result=dns_failed reason=\"upstream ghost (tcp://ghost.test:80) has no address yet", await proxy.WaitForLogAsync(l => l.Contains("conn server=plain")));
        await proxy.WaitForLogAsync(l => l.Contains("lookup of ghost.test failed"));

        using var e = await Net.ConnectAsync(proxy.Listen("echo"));
        await e.SendAsync("x"u8.ToArray());
        Assert.Equal("x", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(e, 1)));
    }

    [Theory]
    [InlineData("tcp4")]
    [InlineData("tcp")]
    public async Task Round_robin_over_the_addresses_and_fall_through_when_one_refuses(string scheme)
    {
        var port = TestPorts.Free();
        await using var a = TcpBackend.Named("A", IPAddress.Parse("127.0.0.2"), port, TimeSpan.FromMilliseconds(50));
        await using var b = TcpBackend.Named("B", IPAddress.Parse("127.0.0.3"), port, TimeSpan.FromMilliseconds(50));
        // 127.0.0.4 has nothing listening: connections that start there fall through to the next.
        using var dns = new Dnsmasq("127.0.0.2 rr.test\n127.0.0.3 rr.test\n127.0.0.4 rr.test\n");
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            resolver: { nameservers: ["{{dns.Endpoint}}"] }
            servers:
              plain: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: rr }
            upstream:
              rr: "{{scheme}}://rr.test:{{port}}"
            """, output);

        var seen = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            using var c = await Net.ConnectAsync(proxy.Listen("plain"));
            seen.Add(Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 1)));
        }
        // Starting points rotate A, B, (dead -> A): A twice and B once per round.
        Assert.Equal(6, seen.Count(s => s == "A"));
        Assert.Equal(3, seen.Count(s => s == "B"));
    }

    [Theory]
    [InlineData("127.0.0.2 one.test\n", "127.0.0.2", "AAAA")]
    [InlineData("::1 one.test\n", "::1", "A")]
    public async Task With_both_families_the_one_that_answered_is_used_and_the_refused_one_logged_at_debug(string hosts, string address, string refused)
    {
        var port = TestPorts.Free();
        await using var backend = TcpBackend.Named("X", IPAddress.Parse(address), port, TimeSpan.FromMilliseconds(50));
        using var dns = new Dnsmasq(hosts);
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            log: debug
            resolver: { nameservers: ["{{dns.Endpoint}}"] }
            servers:
              plain: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: one }
            upstream:
              one: "tcp://one.test:{{port}}"
            """, output);

        using var c = await Net.ConnectAsync(proxy.Listen("plain"));
        Assert.Equal("X", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 1)));
        var debug = await proxy.WaitForLogAsync(l => l.Contains("dns: one.test: the"));
        Assert.Contains($"dns: one.test: the {refused} query failed (", debug);
        Assert.Contains("Refused", debug, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(proxy.Logs.Lines, l => l.Contains("lookup of one.test failed"));
    }
}
