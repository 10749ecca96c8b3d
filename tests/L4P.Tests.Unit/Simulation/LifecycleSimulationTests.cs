using Akka.Actor;
using Akka.IO;
using Akka.TestKit.Xunit2;
using L4P.Config;
using L4P.Connections;
using L4P.Proxy;
using L4P.Testing;
using Xunit;

namespace L4P.Tests.Simulation;

/// <summary>
/// Who closes each socket when its owner dies, and who notices each death, on virtual time with the
/// harness's Akka.IO watch model (an actor that dialled and registered itself is not watched): every
/// test disposes its simulation, which fails on a socket left open by a dead owner.
/// </summary>
public sealed class LifecycleSimulationTests() : TestKit(L4PSimulation.Config)
{
    private const string ViaYaml = """
        version: 1
        servers:
          p:
            listen: ["0.0.0.0:8443"]
            default: corp
            via: { target: "inside.test:8443", connect_timeout: 60s }
            timeouts: { idle: 5s }
        upstream:
          corp: "tcp://198.51.100.1:3128"
        """;

    private const string PlainYaml = """
        version: 1
        servers:
          web:
            listen: ["0.0.0.0:8080"]
            default: backend
        upstream:
          backend: "tcp://198.51.100.1:80"
        """;

    private const string ClientPath = "/user/proxy/root/listen-0/*";

    private void Inject(string path) => Sys.ActorSelection(path).Tell(new InjectedFault("injected by the test"));

    [Fact]
    public void A_child_that_throws_mid_CONNECT_resets_the_proxy_socket_it_owns()
    {
        using var sim = L4PSimulation.Start(this, ViaYaml);
        var client = sim.Accept("0.0.0.0:8443");
        var proxy = sim.ExpectConnect("198.51.100.1:3128").Accept();
        proxy.ExpectReceived("CONNECT inside.test:8443 HTTP/1.1\r\n");
        Inject(ClientPath + "/up");
        Assert.IsType<Tcp.Abort>(proxy.ExpectClosed());
        client.ExpectClosed();
        Assert.Contains("upstream connection failed: InjectedFaultException: injected by the test", sim.ExpectLog("result=upstream_failed"));
    }

    [Fact]
    public void A_child_that_throws_mid_relay_resets_the_upstream_and_the_pair_ends()
    {
        using var sim = L4PSimulation.Start(this, PlainYaml);
        var client = sim.Accept("0.0.0.0:8080");
        var upstream = sim.ExpectConnect("198.51.100.1:80").Accept();
        client.Send("ping");
        upstream.ExpectReceived("ping");
        Inject(ClientPath + "/up");
        Assert.IsType<Tcp.Abort>(upstream.ExpectClosed());
        client.ExpectClosed();
        sim.ExpectLog("result=upstream_failed");
    }

    [Fact]
    public void A_client_connection_that_throws_takes_its_child_and_both_sockets_with_it()
    {
        using var sim = L4PSimulation.Start(this, ViaYaml);
        var client = sim.Accept("0.0.0.0:8443");
        var proxy = sim.ExpectConnect("198.51.100.1:3128").Accept();
        proxy.ExpectReceived("CONNECT inside.test:8443 HTTP/1.1\r\n");
        Inject(ClientPath);
        // The child stops with its parent, and its PostStop resets the socket only it owns.
        Assert.IsType<Tcp.Abort>(proxy.ExpectClosed());
        Assert.IsType<Tcp.Abort>(client.ExpectClosed());
    }

    [Fact]
    public void Idle_firing_during_the_CONNECT_exchange_closes_both_sockets()
    {
        using var sim = L4PSimulation.Start(this, ViaYaml);
        var client = sim.Accept("0.0.0.0:8443");
        var proxy = sim.ExpectConnect("198.51.100.1:3128").Accept();
        proxy.ExpectReceived("CONNECT inside.test:8443 HTTP/1.1\r\n");
        sim.Advance(TimeSpan.FromSeconds(6)); // the proxy never answers; idle is 5s, connect_timeout 60s
        Assert.IsType<Tcp.Abort>(proxy.ExpectClosed());
        client.ExpectClosed();
        Assert.Contains("result=idle_timeout", sim.ExpectLog("conn server=p"));
    }

    [Fact]
    public void The_proxy_answering_after_the_client_was_closed_finds_nobody_and_leaks_nothing()
    {
        using var sim = L4PSimulation.Start(this, ViaYaml);
        var client = sim.Accept("0.0.0.0:8443");
        var proxy = sim.ExpectConnect("198.51.100.1:3128").Accept();
        proxy.ExpectReceived("CONNECT inside.test:8443 HTTP/1.1\r\n");
        sim.Advance(TimeSpan.FromSeconds(6));
        client.ExpectClosed();
        proxy.ExpectClosed();
        sim.ExpectLog("result=idle_timeout");
        sim.ExpectNoLeakedSockets();
    }

    private const string CheckYaml = """
        version: 1
        servers:
          web:
            listen: ["0.0.0.0:8080"]
            default: pool
        upstream:
          pool:
            targets: ["tcp://198.51.100.1:80"]
            check: { interval: 2s, timeout: 1s, send: "PING\r\n", expect: "PONG" }
        """;

    /// <summary>
    /// The checker arms its first round in PreStart, which may run just after Start returns: once it answers an
    /// Identify (handled after PreStart) that timer is set, and a step of virtual time fires it.
    /// </summary>
    private void StartChecks(L4PSimulation sim)
    {
        var identity = Sys.ActorSelection("/user/proxy/root/router-1/check-pool").Ask<ActorIdentity>(new Identify(1), TimeSpan.FromSeconds(3)).Result;
        Assert.NotNull(identity.Subject);
        sim.Advance(TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public void A_health_probe_closes_the_socket_it_registered_after_each_check()
    {
        using var sim = L4PSimulation.Start(this, CheckYaml);
        StartChecks(sim);
        for (var round = 0; round < 3; round++)
        {
            var probe = sim.ExpectConnect("198.51.100.1:80").Accept();
            probe.ExpectReceived("PING\r\n");
            probe.Send("PONG\r\n");
            Assert.IsType<Tcp.Close>(probe.ExpectClosed()); // a FIN to the target, not a socket left open
            sim.Advance(TimeSpan.FromSeconds(2));
        }
    }

    [Fact]
    public void A_health_probe_whose_target_never_answers_is_reset_at_its_timeout_and_the_next_round_probes_again()
    {
        using var sim = L4PSimulation.Start(this, CheckYaml);
        StartChecks(sim);
        var probe = sim.ExpectConnect("198.51.100.1:80").Accept();
        probe.ExpectReceived("PING\r\n");
        sim.Advance(TimeSpan.FromSeconds(1)); // the check's timeout: the target never answered
        var close = probe.ExpectClosed();
        Assert.True(close is Tcp.Close or Tcp.Abort, $"expected the probe's socket closed, got {close.GetType().Name}");
        sim.Advance(TimeSpan.FromSeconds(1));
        sim.ExpectConnect("198.51.100.1:80").Hang(); // the next round probes again
    }

    [Fact]
    public void A_router_that_dies_is_started_again_after_its_backoff_and_routes_again()
    {
        using var sim = L4PSimulation.Start(this, PlainYaml);
        // A request for a server this generation does not have makes the router throw.
        Sys.ActorSelection("/user/proxy/root/router-1").Tell(new L4P.Routing.RouteRequest("nope", null, null));
        sim.ExpectLog("router-1 died (InvalidOperationException: route request for server nope");
        Assert.Equal(1, sim.Metrics.ActorRestarts.WithLabels("router").Value);
        sim.Advance(Backoff.Min);
        AwaitAssert(() => Assert.NotNull(Sys.ActorSelection("/user/proxy/root/router-2").ResolveOne(TimeSpan.FromSeconds(1)).Result));
        var client = sim.Accept("0.0.0.0:8080");
        var upstream = sim.ExpectConnect("198.51.100.1:80").Accept();
        client.Send("after");
        upstream.ExpectReceived("after");
    }

    private const string NamedYaml = """
        version: 1
        resolver: { interval: 30s, retry: 5s, timeout: 2s }
        servers:
          web:
            listen: ["0.0.0.0:8080"]
            default: backend
        upstream:
          backend: "tcp://backend.test:80"
        """;

    [Fact]
    public void A_lookup_that_never_answers_ends_at_the_resolvers_own_deadline_and_is_retried()
    {
        var dns = new ScriptedDns().Answer("backend.test", "198.51.100.1");
        using var sim = L4PSimulation.Start(this, NamedYaml, dns);
        dns.Hang("backend.test");
        sim.Advance(TimeSpan.FromSeconds(30)); // the interval: a lookup that ignores its token
        Assert.Equal(2, dns.Calls("backend.test"));
        sim.Advance(TimeSpan.FromSeconds(2)); // our deadline, not the lookup's
        Assert.Contains("timeout after 2s; keeping 198.51.100.1", sim.ExpectLog("lookup of backend.test failed"));
        dns.Answer("backend.test", "198.51.100.2");
        sim.Advance(TimeSpan.FromSeconds(5)); // the retry
        sim.ExpectAddresses("backend", "198.51.100.2:80");
    }

    [Fact]
    public void A_reload_whose_router_fails_to_start_is_refused_with_its_exception_and_the_next_reload_works()
    {
        using var sim = L4PSimulation.Start(this, PlainYaml);
        var good = ConfigLoader.Parse(PlainYaml, "in-code.yaml", _ => null);
        // Built in code, never validated: a default naming no upstream fails in the router's constructor.
        var bad = good with { Servers = [good.Servers[0] with { Default = "nope" }] };
        var probe = CreateTestProbe();
        probe.Send(sim.Root, new ProxyRoot.Reload(bad));
        var refused = probe.ExpectMsg<ProxyRoot.Reloaded>();
        Assert.Equal(ReloadOutcome.Failed, refused.Outcome);
        Assert.True(refused.Problems[0].Contains("KeyNotFoundException", StringComparison.Ordinal), refused.Problems[0]);
        Assert.Equal(ReloadOutcome.Applied, sim.Reload(PlainYaml).Outcome);
    }

    [Fact]
    public void A_reload_not_ready_by_the_deadline_is_abandoned_by_the_root_and_the_next_one_is_free()
    {
        var dns = new ScriptedDns().Answer("backend.test", "198.51.100.1");
        using var sim = L4PSimulation.Start(this, PlainYaml, dns);
        dns.Hang("slow.test");
        var probe = CreateTestProbe();
        var slow = ConfigLoader.Parse(NamedYaml.Replace("backend.test", "slow.test").Replace("timeout: 2s", "timeout: 60s"), "slow.yaml", _ => null);
        probe.Send(sim.Root, new ProxyRoot.Reload(slow));
        // Answered after the Reload (mailbox order): the root has armed its deadline before time moves.
        probe.Send(sim.Root, ProxyRoot.GetState.Instance);
        Assert.Equal(1, probe.ExpectMsg<ProxyRoot.State>().Generation);
        sim.Advance(ProxyRoot.ReloadDeadline);
        var answer = probe.ExpectMsg<ProxyRoot.Reloaded>();
        Assert.Equal(ReloadOutcome.Timeout, answer.Outcome);
        Assert.Contains("was not ready within 45s", answer.Problems[0]);
        Assert.Equal(ReloadOutcome.Applied, sim.Reload(NamedYaml).Outcome);
    }

    [Fact]
    public void A_drain_cancels_a_pending_reload_which_then_binds_nothing()
    {
        var dns = new ScriptedDns().Answer("backend.test", "198.51.100.1");
        using var sim = L4PSimulation.Start(this, PlainYaml, dns);
        dns.Hang("slow.test");
        var slowYaml = NamedYaml.Replace("backend.test", "slow.test").Replace("timeout: 2s", "timeout: 60s").Replace("0.0.0.0:8080", "0.0.0.0:9090");
        var probe = CreateTestProbe();
        probe.Send(sim.Root, new ProxyRoot.Reload(ConfigLoader.Parse(slowYaml, "slow.yaml", _ => null)));
        sim.Drain();
        var answer = probe.ExpectMsg<ProxyRoot.Reloaded>();
        Assert.Equal(ReloadOutcome.Cancelled, answer.Outcome);
        sim.ExpectDrained();
        dns.Answer("slow.test", "198.51.100.9");
        sim.Advance(TimeSpan.FromSeconds(60));
        Assert.Throws<Xunit.Sdk.XunitException>(() => sim.Accept("0.0.0.0:9090"));
    }

    [Fact]
    public void A_root_that_throws_is_resumed_by_its_guardian_with_its_connections_and_its_config()
    {
        using var sim = L4PSimulation.Start(this, PlainYaml);
        var client = sim.Accept("0.0.0.0:8080");
        var upstream = sim.ExpectConnect("198.51.100.1:80").Accept();
        Assert.Equal(ReloadOutcome.Applied, sim.Reload(NamedYaml.Replace("backend.test", "198.51.100.2")).Outcome);
        Inject("/user/proxy/root");
        sim.ExpectLog("the proxy's root actor failed handling a message (InjectedFaultException: injected by the test)");
        Assert.Equal(1, sim.Metrics.ActorRestarts.WithLabels("proxy_root").Value);
        client.Send("still here");
        upstream.ExpectReceived("still here"); // the live pair kept going
        var next = sim.Accept("0.0.0.0:8080");
        sim.ExpectConnect("198.51.100.2:80").Accept(); // generation 2's config, not the one captured at start
        var state = CreateTestProbe();
        state.Send(sim.Root, ProxyRoot.GetState.Instance);
        Assert.Equal(2, state.ExpectMsg<ProxyRoot.State>().Generation);
        next.Close();
    }

    [Fact]
    public void A_listener_that_dies_takes_its_connections_and_its_address_is_bound_again_after_the_backoff()
    {
        using var sim = L4PSimulation.Start(this, PlainYaml);
        var client = sim.Accept("0.0.0.0:8080");
        var upstream = sim.ExpectConnect("198.51.100.1:80").Accept();
        Inject("/user/proxy/root/listen-0");
        Assert.IsType<Tcp.Abort>(upstream.ExpectClosed()); // the pair went with its listener, and reset its sockets
        Assert.IsType<Tcp.Abort>(client.ExpectClosed());
        sim.ExpectLog("died (InjectedFaultException: injected by the test), and its connections with it: binding the address again in 1s");
        Assert.Equal(1, sim.Metrics.ActorRestarts.WithLabels("listener").Value);
        sim.Advance(Backoff.Min);
        AwaitAssert(() => Assert.NotNull(Sys.ActorSelection("/user/proxy/root/listen-1").ResolveOne(TimeSpan.FromSeconds(1)).Result));
        var next = sim.Accept("0.0.0.0:8080");
        sim.ExpectConnect("198.51.100.1:80").Accept();
        next.Close();
    }
}
