using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using L4P.Config;
using L4P.Health;
using L4P.LoadBalancing;
using L4P.Metrics;
using L4P.Proxy;
using L4P.Resolution;
using L4P.Routing;
using L4P.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace L4P.Tests.Simulation;

/// <summary>The Router actor alone: asked as connections ask it, fed as the resolver, health checks and upstream connections feed it.</summary>
public sealed class RouterSimulationTests : TestKit
{
    private const string Yaml = """
        version: 1
        servers:
          web:
            listen: ["127.0.0.1:1"]
            tls: true
            sni:
              api.example.com: api
              "*.example.org": pool
              banned.example.com: ban
            default: echo
        upstream:
          api: "tcp://192.0.2.1:443"
          pool:
            targets: ["tcp://192.0.2.11:443", "tcp://192.0.2.12:443", "tcp://192.0.2.13:443"]
            balance: BALANCE
          named: "tcp4://backend.test:8443"
        """;

    private (IActorRef Router, BackendRegistry Registry) Start(string balance = "roundrobin", ScriptedDns? dns = null)
    {
        var config = ConfigLoader.Parse(Yaml.Replace("BALANCE", balance), "sim.yaml", _ => null);
        var registry = new BackendRegistry(config);
        var services = new ProxyServices(CreateTestProbe().Ref, dns ?? new ScriptedDns(), NullLoggerFactory.Instance, new ProxyMetrics(processMetrics: false));
        return (Sys.ActorOf(Router.Props(config, registry, services)), registry);
    }

    private RouteDecision Ask(IActorRef router, string? sni, string client = "198.51.100.7")
    {
        router.Tell(new RouteRequest("web", sni, IPAddress.Parse(client)), TestActor);
        return ExpectMsg<RouteDecision>();
    }

    private static IPEndPoint Ep(string s) => IPEndPoint.Parse(s);

    [Fact]
    public void Routes_by_sni_exact_wildcard_and_default_and_answers_the_asker()
    {
        var (router, _) = Start();
        var api = Ask(router, "API.example.com.");
        Assert.Equal("api", api.Route.Upstream.Name);
        Assert.Equal([Ep("192.0.2.1:443")], api.Addresses);
        Assert.Null(api.Refusal);
        Assert.Equal("pool", Ask(router, "a.b.example.org").Route.Upstream.Name);
        var fallback = Ask(router, null);
        Assert.Equal("echo", fallback.Route.Upstream.Name);
        Assert.Empty(fallback.Addresses);
        Assert.Null(fallback.Plan);
        Assert.Equal("ban", Ask(router, "banned.example.com").Route.Upstream.Name);
    }

    [Fact]
    public void Round_robin_turns_are_strictly_in_order_however_many_connections_ask_at_once()
    {
        var (router, _) = Start();
        const int asks = 300;
        for (var i = 0; i < asks; i++) router.Tell(new RouteRequest("web", "x.example.org", null), TestActor);
        var firsts = Enumerable.Range(0, asks).Select(_ => ExpectMsg<RouteDecision>().Addresses[0]).ToList();
        for (var i = 1; i < asks; i++) Assert.NotEqual(firsts[i - 1], firsts[i]);
        Assert.All(firsts.GroupBy(e => e), g => Assert.Equal(asks / 3, g.Count()));
    }

    [Fact]
    public void Leastconn_follows_the_connect_outcomes_and_releases_it_hears()
    {
        var (router, registry) = Start("leastconn");
        var busy = Ep("192.0.2.11:443");
        router.Tell(new DialOutcome("pool", busy, Connected: true));
        router.Tell(new DialOutcome("pool", busy, Connected: true));
        Assert.NotEqual(busy, Ask(router, "x.example.org").Addresses[0]);
        Assert.Equal(2, registry.ActiveOn("pool", busy));
        Assert.Equal(busy, Ask(router, "x.example.org").Addresses[^1]); // the busiest is the last fall-through

        router.Tell(new UpstreamReleased("pool", busy));
        router.Tell(new UpstreamReleased("pool", busy));
        Ask(router, "x.example.org"); // messages are handled in order: the releases came first
        Assert.Equal(0, registry.ActiveOn("pool", busy));
    }

    [Fact]
    public void A_health_verdict_takes_an_address_out_and_all_down_is_a_refusal()
    {
        var (router, _) = Start();
        router.Tell(new HealthChecker.Verdict("api", Ep("192.0.2.1:443"), Up: false));
        var d = Ask(router, "api.example.com");
        Assert.Empty(d.Addresses);
        Assert.Equal("all_down", d.Refusal!.Code);
        router.Tell(new HealthChecker.Verdict("api", Ep("192.0.2.1:443"), Up: true));
        Assert.Null(Ask(router, "api.example.com").Refusal);
    }

    [Fact]
    public void Addresses_come_from_the_broadcast_changes_and_a_name_without_one_is_dns_failed()
    {
        var dns = new ScriptedDns(); // backend.test never resolves
        var config = ConfigLoader.Parse("""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:1"], default: named }
            upstream:
              named: "tcp4://backend.test:8443"
            """, "sim.yaml", _ => null);
        var services = new ProxyServices(CreateTestProbe().Ref, dns, NullLoggerFactory.Instance, new ProxyMetrics(processMetrics: false));
        var router = Sys.ActorOf(Router.Props(config, new BackendRegistry(config), services));
        var none = Ask(router, null);
        Assert.Equal("dns_failed", none.Refusal!.Code);
        Assert.Contains("backend.test", none.Refusal.Reason);

        Sys.EventStream.Publish(new BackendsChanged(new BackendKey("backend.test", AddressFamilyFilter.IPv4), [IPAddress.Parse("192.0.2.50")]));
        AwaitAssert(() => Assert.Equal([Ep("192.0.2.50:8443")], Ask(router, null).Addresses));
    }

    [Fact]
    public void A_retired_router_still_answers_during_its_grace_then_stops()
    {
        var (router, _) = Start();
        Watch(router);
        router.Tell(new Router.Retire(TimeSpan.FromMilliseconds(500)));
        Assert.Equal("api", Ask(router, "api.example.com").Route.Upstream.Name);
        ExpectTerminated(router, TimeSpan.FromSeconds(3));
    }
}
