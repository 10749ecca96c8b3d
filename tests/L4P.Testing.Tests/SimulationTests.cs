using Akka.IO;
using Akka.TestKit.Xunit2;
using Xunit;

namespace L4P.Testing.Tests;

/// <summary>
/// Whole configs run in <see cref="L4PSimulation"/>: the listener, the connection pair, the router, the
/// resolver and the root's reload and drain, with a simulated network, scripted DNS and virtual time.
/// </summary>
public sealed class SimulationTests() : TestKit(L4PSimulation.Config)
{
    private const string SniYaml = """
        version: 1
        servers:
          tls:
            listen: ["0.0.0.0:443", "[::]:443"]
            tls: true
            sni:
              a.test: a
              "*.b.test": b
            default: ban
        upstream:
          a: "tcp://198.51.100.1:443"
          b: "tcp://198.51.100.2:443"
        """;

    [Fact]
    public void Sni_picks_the_upstream_and_bytes_flow_both_ways_until_both_FINs()
    {
        using var sim = L4PSimulation.Start(this, SniYaml);
        var client = sim.Accept("[::]:443", from: "[2001:db8::9]:5555");
        var hello = HelloBuilder.Hello("x.b.test", fragment: 100); // several TLS records
        client.Send(hello[..20]); // not a whole ClientHello yet: the proxy reads again
        client.Send(hello[20..]);

        var upstream = sim.ExpectConnect("198.51.100.2:443").Accept();
        upstream.ExpectReceived(hello);
        foreach (var chunk in new[] { "server hello", "certificate", "finished" })
        {
            upstream.Send(chunk);
            client.ExpectReceived(chunk);
        }
        client.Send("GET / HTTP/1.1\r\n\r\n");
        upstream.ExpectReceived("GET / ");
        upstream.ExpectReceived("HTTP/1.1\r\n\r\n"); // one write, read in two parts

        client.Close();
        Assert.IsType<Tcp.ConfirmedClose>(upstream.ExpectClosed()); // the FIN passed on
        client.ExpectClosed();
        var line = sim.ExpectLog("conn server=tls");
        Assert.Contains("client=[2001:db8::9]:5555 sni=x.b.test route=*.b.test upstream=b(198.51.100.2:443)", line);
        Assert.Contains($"up={hello.Length + 18} down=31 ", line);
        Assert.Contains("result=ok", line);

        var stranger = sim.Accept("0.0.0.0:443");
        stranger.Send(HelloBuilder.Hello("nobody.test"));
        stranger.ExpectClosed();
        Assert.Contains("sni=nobody.test route=default upstream=ban", sim.ExpectLog("result=banned"));
        Assert.Equal(1, sim.Metrics.Connections.WithLabels("tls", "b", "ok").Value);
    }

    private const string IdleYaml = """
        version: 1
        servers:
          web:
            listen: ["0.0.0.0:8080"]
            default: backend
            timeouts: { idle: 30s }
        upstream:
          backend: "tcp://198.51.100.1:80"
        """;

    [Fact]
    public void Idle_timeout_counts_from_the_last_byte_on_virtual_time()
    {
        using var sim = L4PSimulation.Start(this, IdleYaml);
        var client = sim.Accept("0.0.0.0:8080");
        var upstream = sim.ExpectConnect("198.51.100.1:80").Accept();
        client.Send("hello");
        upstream.ExpectReceived("hello");

        sim.Advance(TimeSpan.FromSeconds(20));
        upstream.Send("late answer"); // a byte at 20s: the idle clock starts again
        client.ExpectReceived("late answer");
        sim.Advance(TimeSpan.FromSeconds(29)); // 49s: the check at 30s saw 10s of quiet and looks again at 50s
        client.ExpectOpen();
        upstream.ExpectOpen();

        sim.Advance(TimeSpan.FromSeconds(1)); // 50s: 30s without a byte
        client.ExpectClosed();
        upstream.ExpectClosed();
        var line = sim.ExpectLog("result=idle_timeout");
        Assert.Contains("duration=50.000s", line); // the proxy's clock is the virtual one
        Assert.Contains("reason=\"no byte either way for 30s\"", line);
    }

    private const string PoolYaml = """
        version: 1
        servers:
          web:
            listen: ["0.0.0.0:8080"]
            default: pool
            timeouts: { connect: 5s }
        upstream:
          pool: { targets: ["tcp://198.51.100.1:80", "tcp://198.51.100.2:80"] }
        """;

    [Fact]
    public void A_refused_address_falls_through_to_the_next()
    {
        using var sim = L4PSimulation.Start(this, PoolYaml);
        var client = sim.Accept("0.0.0.0:8080");
        sim.ExpectConnect("198.51.100.1:80").Refuse();
        var upstream = sim.ExpectConnect("198.51.100.2:80").Accept();
        client.Send("ping");
        upstream.ExpectReceived("ping");
        upstream.Close();
        client.ExpectClosed();
        upstream.ExpectClosed();
        Assert.Contains("upstream=pool(198.51.100.2:80)", sim.ExpectLog("result=ok"));

        // Round robin: the next connection starts at the second address; both refuse.
        var unlucky = sim.Accept("0.0.0.0:8080");
        sim.ExpectConnect("198.51.100.2:80").Refuse();
        sim.ExpectConnect("198.51.100.1:80").Refuse();
        unlucky.ExpectClosed();
        Assert.Contains("reason=\"all 2 addresses failed, last 198.51.100.1:80: Connection refused\"", sim.ExpectLog("result=connect_failed"));
    }

    [Fact]
    public void A_dial_that_hangs_ends_at_the_connect_timeout()
    {
        using var sim = L4PSimulation.Start(this, PoolYaml);
        var client = sim.Accept("0.0.0.0:8080");
        sim.ExpectConnect("198.51.100.1:80").Hang();
        sim.Advance(TimeSpan.FromSeconds(4));
        client.ExpectOpen();
        sim.Advance(TimeSpan.FromSeconds(1));
        client.ExpectClosed();
        Assert.Contains("reason=\"connect timeout after 5s (upstream pool)\"", sim.ExpectLog("result=connect_timeout"));
    }

    private const string DnsYaml = """
        version: 1
        resolver: { interval: 60s }
        servers:
          web: { listen: ["0.0.0.0:8080"], default: backend }
        upstream:
          backend: "tcp://backend.test:80"
        """;

    [Fact]
    public void A_DNS_change_moves_the_next_connection_and_leaves_the_open_one()
    {
        using var sim = L4PSimulation.Start(this, DnsYaml, new ScriptedDns().Answer("backend.test", "192.0.2.1"));
        var first = sim.Accept("0.0.0.0:8080");
        var old = sim.ExpectConnect("192.0.2.1:80").Accept();

        sim.Dns.Answer("backend.test", "192.0.2.2");
        sim.Advance(TimeSpan.FromSeconds(60)); // resolver.interval
        sim.ExpectAddresses("backend", "192.0.2.2:80");
        sim.ExpectLog("upstream backend: 192.0.2.1 -> 192.0.2.2");

        var second = sim.Accept("0.0.0.0:8080");
        var moved = sim.ExpectConnect("192.0.2.2:80").Accept();
        second.Send("to the new one");
        moved.ExpectReceived("to the new one");
        first.Send("still to the old one");
        old.ExpectReceived("still to the old one");
        Assert.Equal(2, sim.Dns.Calls("backend.test"));
    }

    private const string BlueYaml = """
        version: 1
        servers:
          tls:
            listen: ["0.0.0.0:443"]
            tls: true
            sni: { app.test: blue }
        upstream:
          blue: "tcp://198.51.100.10:443"
          green: "tcp://198.51.100.20:443"
        """;

    [Fact]
    public void A_reload_moves_the_route_for_new_connections_only()
    {
        using var sim = L4PSimulation.Start(this, BlueYaml);
        var before = sim.Accept("0.0.0.0:443");
        before.Send(HelloBuilder.Hello("app.test"));
        var blue = sim.ExpectConnect("198.51.100.10:443").Accept();

        var reloaded = sim.Reload(BlueYaml.Replace("app.test: blue", "app.test: green", StringComparison.Ordinal));
        Assert.Equal("ok", reloaded.Result);
        Assert.Empty(reloaded.Problems);

        var after = sim.Accept("0.0.0.0:443"); // the same listening socket, the new config
        after.Send(HelloBuilder.Hello("app.test"));
        var green = sim.ExpectConnect("198.51.100.20:443").Accept();
        green.Send("green");
        after.ExpectReceived("green");
        blue.Send("blue"); // the connection from before the reload keeps its upstream
        before.ExpectReceived("blue");

        blue.Reset();
        before.ExpectClosed();
        Assert.Contains("upstream=blue(198.51.100.10:443)", sim.ExpectLog("result=upstream_reset"));
    }

    [Fact]
    public void A_reload_whose_new_address_cannot_be_bound_says_so_and_applies_the_rest()
    {
        using var sim = L4PSimulation.Start(this, BlueYaml);
        sim.FailBind("0.0.0.0:8443");
        var reloaded = sim.Reload(BlueYaml.Replace("""["0.0.0.0:443"]""", """["0.0.0.0:443", "0.0.0.0:8443"]""", StringComparison.Ordinal)
            .Replace("app.test: blue", "app.test: green", StringComparison.Ordinal));
        Assert.Equal("bind_failed", reloaded.Result);
        Assert.Equal("cannot listen on 0.0.0.0:8443 (servers.tls.listen): Address already in use", Assert.Single(reloaded.Problems));

        var client = sim.Accept("0.0.0.0:443");
        client.Send(HelloBuilder.Hello("app.test"));
        sim.ExpectConnect("198.51.100.20:443");
    }

    [Fact]
    public void Drain_closes_newcomers_and_ends_once_the_relays_in_flight_have()
    {
        using var sim = L4PSimulation.Start(this, IdleYaml);
        var client = sim.Accept("0.0.0.0:8080");
        var upstream = sim.ExpectConnect("198.51.100.1:80").Accept();

        sim.Drain();
        sim.ExpectLog("server web on 0.0.0.0:8080: draining 1 connection(s)");
        var late = sim.Accept("0.0.0.0:8080");
        Assert.IsType<Tcp.Close>(late.ExpectClosed()); // still bound, but closed at once
        Assert.Null(late.Handler);

        client.Send("last words"); // the relay in flight goes on
        upstream.ExpectReceived("last words");
        upstream.Close();
        client.ExpectClosed();
        upstream.ExpectClosed();
        sim.ExpectDrained();
        sim.ExpectLog("result=ok");
    }
}
