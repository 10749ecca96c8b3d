using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.IO;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using L4P.Config;
using L4P.Connections;
using L4P.LoadBalancing;
using L4P.Metrics;
using L4P.Proxy;
using L4P.Routing;
using L4P.Testing;
using L4P.Tests.Support;
using Microsoft.Extensions.Logging;
using Xunit;

namespace L4P.Tests.Simulation;

/// <summary>
/// The whole per-connection tree (Listener -> ClientConnection -> UpstreamConnection "up", with the Router
/// real or a probe) driven through TestKit. Probes stand in for Akka.IO's TCP manager, its listener actor
/// and its connection actors: no sockets, every event in an order the test chooses.
/// </summary>
public sealed class TreeSimulationTests : TestKit
{
    private static readonly IPEndPoint ListenAddress = IPEndPoint.Parse("127.0.0.1:8443");
    private static readonly IPEndPoint ClientAddress = IPEndPoint.Parse("192.0.2.10:40000");
    private static readonly IPEndPoint A = IPEndPoint.Parse("198.51.100.1:443");
    private static readonly IPEndPoint B = IPEndPoint.Parse("198.51.100.2:443");
    private static readonly IPEndPoint OutLocal = IPEndPoint.Parse("10.0.0.1:5555");

    /// <summary>A plain server in front of a two-address leastconn pool.</summary>
    private const string PoolYaml = """
        version: 1
        servers:
          web:
            listen: ["127.0.0.1:8443"]
            default: pool
            timeouts: { connect: 10s }
        upstream:
          pool: { targets: ["tcp://198.51.100.1:443", "tcp://198.51.100.2:443"], balance: leastconn }
        """;

    /// <summary>SNI routing to two literal-IP upstreams.</summary>
    private const string SniYaml = """
        version: 1
        servers:
          tls:
            listen: ["127.0.0.1:8443"]
            tls: true
            timeouts: { connect: 10s }
            sni:
              a.test: a
              b.test: b
            default: ban
        upstream:
          a: "tcp://198.51.100.1:443"
          b: "tcp://198.51.100.2:443"
        """;

    private readonly TestProbe _tcp;
    private readonly CapturingLoggerProvider _logs = new();
    private readonly ProxyServices _services;

    public TreeSimulationTests() : base("akka.loglevel = INFO")
    {
        _tcp = CreateTestProbe("tcp-manager");
        var factory = LoggerFactory.Create(b => b.AddProvider(_logs));
        _services = new ProxyServices(_tcp.Ref, new ScriptedDns(), factory, new ProxyMetrics(processMetrics: false));
    }

    private static ProxyConfig Parse(string yaml) => ConfigLoader.Parse(yaml, "sim.yaml", _ => null);

    private static ByteString Bytes(string s) => ByteString.FromString(s);

    private IEnumerable<string> ConnLines => _logs.Lines.Where(l => l.Contains("conn server=", StringComparison.Ordinal));

    private static string Result(string line) => line[(line.IndexOf("result=", StringComparison.Ordinal) + 7)..].Split(' ')[0];

    /// <summary>A real Router (and its registry) for <paramref name="yaml"/>; the context of its first server.</summary>
    private (ServerContext Ctx, BackendRegistry Backends) RealRouter(string yaml)
    {
        var config = Parse(yaml);
        var backends = new BackendRegistry(config);
        var router = Sys.ActorOf(Router.Props(config, backends, _services), "router");
        return (new ServerContext(config.Servers[0], router, _services), backends);
    }

    /// <summary>What the real Router would answer for <paramref name="sni"/>, with the addresses the test chooses.</summary>
    private static RouteDecision Decide(ProxyConfig config, string? sni, params IPEndPoint[] addresses)
    {
        var server = config.Servers[0];
        var route = new RouteTable(server, config.Upstreams).Match(sni);
        var plan = UpstreamPlan.For(route, (TcpUpstreamConfig)route.Upstream, sni, server.Timeouts, out _)!;
        return new RouteDecision(route, plan, addresses, null);
    }

    /// <summary>A Listener (child of the test actor) that asked the TCP-manager probe to bind and was told Bound by a probe listener socket.</summary>
    private (IActorRef Listener, TestProbe Socket) Bind(ServerContext ctx)
    {
        var listener = ChildActorOf(Listener.Props(ctx, ListenAddress));
        var bind = _tcp.ExpectMsg<Tcp.Bind>();
        Assert.Equal(listener, bind.Handler);
        Assert.Equal(ListenAddress, bind.LocalAddress);
        Assert.True(bind.PullMode);
        var socket = CreateTestProbe();
        socket.Send(listener, new Tcp.Bound(ListenAddress));
        Assert.Equal(ListenAddress, ExpectMsg<ListenerBound>().Actual);
        return (listener, socket);
    }

    /// <summary>The probe connection is accepted: the ClientConnection the Listener spawned registers on it.</summary>
    private static IActorRef Accept(IActorRef listener, TestProbe inbound)
    {
        inbound.Send(listener, new Tcp.Connected(ClientAddress, ListenAddress));
        var register = inbound.ExpectMsg<Tcp.Register>();
        Assert.Equal(listener.Path, register.Handler.Path.Parent);
        Assert.True(register.KeepOpenOnPeerClosed);
        return register.Handler;
    }

    [Fact]
    public void A_servers_frame_size_reaches_its_bind_and_every_dial_and_other_servers_keep_the_proxys()
    {
        var services = _services with { Tcp = TcpFrames.WithFrameSize(TcpSettings.Create(Sys), 32 * 1024) };
        var config = Parse("""
            version: 1
            servers:
              small: { listen: ["127.0.0.1:8443"], default: a, frame_size: 4KiB }
              plain: { listen: ["127.0.0.1:8444"], default: a }
            upstream:
              a: "tcp://198.51.100.1:443"
            """);
        var router = Sys.ActorOf(Router.Props(config, new BackendRegistry(config), services), "router");
        var small = new ServerContext(config.Servers.Single(s => s.Name == "small"), router, services);
        var plain = new ServerContext(config.Servers.Single(s => s.Name == "plain"), router, services);
        Assert.Equal(32 * 1024, plain.Tcp!.MaxFrameSizeBytes);

        var listener = ChildActorOf(Listener.Props(small, ListenAddress));
        Assert.Equal(4096, _tcp.ExpectMsg<Tcp.Bind>().TcpSettings!.MaxFrameSizeBytes);
        CreateTestProbe().Send(listener, new Tcp.Bound(ListenAddress));
        ExpectMsg<ListenerBound>();
        var inbound = CreateTestProbe();
        var client = Accept(listener, inbound);
        var (_, connect) = ExpectDial(client, A);
        Assert.Equal(4096, connect.TcpSettings!.MaxFrameSizeBytes);
        Assert.True(connect.TcpSettings.ReceiveBufferSize >= 4096);
    }

    /// <summary>The next dial: to <paramref name="expected"/>, from the client's "up" child.</summary>
    private (IActorRef Up, Tcp.Connect Connect) ExpectDial(IActorRef client, IPEndPoint expected)
    {
        var connect = _tcp.ExpectMsg<Tcp.Connect>();
        Assert.Equal(expected, connect.RemoteAddress);
        Assert.True(connect.PullMode);
        Assert.Equal(client.Path / "up", _tcp.LastSender.Path);
        return (_tcp.LastSender, connect);
    }

    private void Refuse(IActorRef up, Tcp.Connect connect) =>
        _tcp.Send(up, new Tcp.CommandFailed(connect).WithCause(new SocketException((int)SocketError.ConnectionRefused)));

    /// <summary>The probe upstream connection connects and is registered by the "up" child.</summary>
    private static void Connected(IActorRef up, TestProbe outbound, IPEndPoint remote)
    {
        outbound.Send(up, new Tcp.Connected(remote, OutLocal));
        Assert.Equal(up, outbound.ExpectMsg<Tcp.Register>().Handler);
    }

    /// <summary>A plain pair through Listener and Router: dialled, connected, both sides reading.</summary>
    private (IActorRef Client, IActorRef Up) Pair(IActorRef listener, TestProbe inbound, TestProbe outbound, IPEndPoint expected)
    {
        var client = Accept(listener, inbound);
        var (up, _) = ExpectDial(client, expected);
        Connected(up, outbound, expected);
        outbound.ExpectMsg<Tcp.ResumeReading>();
        inbound.ExpectMsg<Tcp.ResumeReading>();
        return (client, up);
    }

    /// <summary>One chunk source -> sink: written with an ack, the source not read again before the ack, then read.</summary>
    private static void Relay(TestProbe source, IActorRef handler, TestProbe sink, string data, bool checkBackpressure = false)
    {
        source.Send(handler, new Tcp.Received(Bytes(data)));
        var write = sink.ExpectMsg<Tcp.Write>();
        Assert.Equal(data, write.Data.ToString());
        Assert.True(write.WantsAck);
        if (checkBackpressure) source.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        sink.Reply(write.Ack);
        source.ExpectMsg<Tcp.ResumeReading>();
    }

    /// <summary>Akka.IO's connection actors stop (as they do once closed); the pair ends.</summary>
    private void End(IActorRef client, params TestProbe[] sockets)
    {
        Watch(client);
        foreach (var s in sockets) Sys.Stop(s.Ref);
        ExpectTerminated(client);
    }

    /// <summary>How many actors match <paramref name="path"/> (a wildcard selection; Identify is answered once per match, or once with no subject).</summary>
    private int Count(ActorPath path)
    {
        var probe = CreateTestProbe();
        Sys.ActorSelection(path).Tell(new Identify(path.ToString()), probe.Ref);
        var found = 0;
        while (probe.ReceiveOne(TimeSpan.FromMilliseconds(200)) is ActorIdentity id)
            if (id.Subject is not null) found++;
        return found;
    }

    [Fact]
    public void Listener_binds_accepts_enforces_maxclients_and_accepts_again_once_a_pair_ends()
    {
        var (ctx, _) = RealRouter("""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:8443"], default: echo, maxclients: 1 }
            """);
        var (listener, _) = Bind(ctx);

        var first = CreateTestProbe();
        var client = Accept(listener, first);
        first.ExpectMsg<Tcp.ResumeReading>();
        first.Send(client, new Tcp.Received(Bytes("ping")));
        Assert.Equal("ping", first.ExpectMsg<Tcp.Write>().Data.ToString()); // alive: the echo built-in answers

        var second = CreateTestProbe();
        second.Send(listener, new Tcp.Connected(ClientAddress, ListenAddress));
        second.ExpectMsg<Tcp.Close>();
        second.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Contains(_logs.Lines, l => l.Contains("maxclients 1 reached", StringComparison.Ordinal));
        Assert.Equal(1, Count(listener.Path / "*"));

        first.Send(client, Tcp.PeerClosed.Instance);
        first.ExpectMsg<Tcp.ConfirmedClose>();
        End(client, first);
        // The listener has counted the end (it logs it once below the limit).
        AwaitAssert(() => Assert.Contains(_logs.Lines, l => l.Contains("below maxclients again (1 rejected so far)", StringComparison.Ordinal)));

        var third = CreateTestProbe();
        var again = Accept(listener, third);
        Assert.NotEqual(client, again);
        third.ExpectMsg<Tcp.ResumeReading>();
        Assert.Equal("ok", Result(Assert.Single(ConnLines)));
    }

    [Fact]
    public void Sni_picks_the_upstream_through_the_real_router_and_the_ClientHello_is_the_first_write()
    {
        var (ctx, _) = RealRouter(SniYaml);
        var (listener, _) = Bind(ctx);
        foreach (var (sni, address) in new[] { ("b.test", B), ("a.test", A) })
        {
            var inbound = CreateTestProbe();
            var outbound = CreateTestProbe();
            var client = Accept(listener, inbound);
            inbound.ExpectMsg<Tcp.ResumeReading>();
            var hello = HelloBuilder.Hello(sni);
            // In two reads: the first is not a complete ClientHello, so the client is read again.
            inbound.Send(client, new Tcp.Received(ByteString.FromBytes(hello.AsSpan(0, 20).ToArray())));
            inbound.ExpectMsg<Tcp.ResumeReading>();
            inbound.Send(client, new Tcp.Received(ByteString.FromBytes(hello.AsSpan(20).ToArray())));

            var (up, _) = ExpectDial(client, address);
            Connected(up, outbound, address);
            Assert.Equal(hello, outbound.ExpectMsg<Tcp.Write>().Data.ToArray());
            outbound.ExpectMsg<Tcp.ResumeReading>();
            inbound.ExpectMsg<Tcp.ResumeReading>();
            End(client, inbound, outbound);
            var line = ConnLines.Last();
            Assert.Contains($"sni={sni} route={sni} upstream={sni[0]}({address})", line);
            Assert.Contains($"up={hello.Length} ", line);
        }
    }

    [Fact]
    public void A_slow_router_is_asked_once_and_its_late_answer_still_connects()
    {
        var config = Parse(SniYaml);
        var router = CreateTestProbe("router");
        var (listener, _) = Bind(new ServerContext(config.Servers[0], router.Ref, _services));
        var inbound = CreateTestProbe();
        var outbound = CreateTestProbe();
        var client = Accept(listener, inbound);
        inbound.ExpectMsg<Tcp.ResumeReading>();
        var hello = HelloBuilder.Hello("a.test");
        inbound.Send(client, new Tcp.Received(ByteString.FromBytes(hello)));

        var request = router.ExpectMsg<RouteRequest>();
        Assert.Equal(new RouteRequest("tls", "a.test", ClientAddress.Address), request);
        Assert.Equal(client, router.LastSender);
        // Meanwhile nothing is read and nothing dialled.
        inbound.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        _tcp.ExpectNoMsg(TimeSpan.Zero);

        router.Reply(Decide(config, "a.test", A));
        var (up, _) = ExpectDial(client, A);
        Connected(up, outbound, A);
        Assert.Equal(hello, outbound.ExpectMsg<Tcp.Write>().Data.ToArray());
        router.ExpectMsg(new DialOutcome("a", A, Connected: true));
        router.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_router_that_never_answers_closes_the_client_with_router_timeout()
    {
        var config = Parse(PoolYaml);
        var router = CreateTestProbe("router");
        var (listener, _) = Bind(new ServerContext(config.Servers[0], router.Ref, _services));
        var inbound = CreateTestProbe();
        var client = Accept(listener, inbound);
        Assert.Equal(new RouteRequest("web", null, ClientAddress.Address), router.ExpectMsg<RouteRequest>());

        inbound.ExpectMsg<Tcp.Close>(ClientConnection.RouterTimeout + TimeSpan.FromSeconds(3));
        // An answer after the timeout is ignored: nothing is dialled.
        router.Reply(Decide(config, null, A));
        _tcp.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        End(client, inbound);
        var line = Assert.Single(ConnLines);
        Assert.Contains("result=router_timeout reason=\"the router", line);
        AwaitAssert(() => Assert.Equal(0, Count(listener.Path / "*")));
    }

    [Fact]
    public void An_empty_address_list_without_refusal_fails_as_connect_failed()
    {
        var config = Parse(PoolYaml);
        var router = CreateTestProbe("router");
        var (listener, _) = Bind(new ServerContext(config.Servers[0], router.Ref, _services));
        var inbound = CreateTestProbe();
        var client = Accept(listener, inbound);
        router.ExpectMsg<RouteRequest>();
        router.Reply(Decide(config, null));

        inbound.ExpectMsg<Tcp.Close>();
        _tcp.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        End(client, inbound);
        Assert.Equal("connect_failed", Result(Assert.Single(ConnLines)));
        router.ExpectNoMsg(TimeSpan.Zero); // nothing dialled, nothing to report or release
        AwaitAssert(() => Assert.Equal(0, Count(listener.Path / "*")));
    }

    [Fact]
    public void A_child_that_throws_ends_the_pair_as_upstream_failed_and_leaves_nothing()
    {
        var config = Parse(PoolYaml);
        var router = CreateTestProbe("router");
        var (listener, _) = Bind(new ServerContext(config.Servers[0], router.Ref, _services));
        var inbound = CreateTestProbe();
        var client = Accept(listener, inbound);
        router.ExpectMsg<RouteRequest>();
        // Inconsistent: a decision for a TCP upstream without its address list. The child throws in PreStart.
        var decision = Decide(config, null, A);
        EventFilter.Exception<ActorInitializationException>().ExpectOne(() => router.Reply(decision with { Addresses = null! }));

        inbound.ExpectMsg<Tcp.Close>();
        _tcp.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        End(client, inbound);
        var line = Assert.Single(ConnLines);
        // The cause, not Akka's wrapper ("ActorInitializationException: Exception during creation").
        Assert.Contains("result=upstream_failed reason=\"upstream connection failed: NullReferenceException: ", line);
        router.ExpectNoMsg(TimeSpan.Zero);
        AwaitAssert(() => Assert.Equal(0, Count(listener.Path / "*")));
    }

    [Fact]
    public void A_client_connection_that_throws_is_stopped_and_counted_out_by_the_listener()
    {
        var config = Parse(PoolYaml.Replace("default: pool", "default: pool\n    maxclients: 1", StringComparison.Ordinal));
        Assert.Equal(1, config.Servers[0].MaxClients);
        var router = CreateTestProbe("router");
        var (listener, _) = Bind(new ServerContext(config.Servers[0], router.Ref, _services));
        var client = Accept(listener, CreateTestProbe());
        router.ExpectMsg<RouteRequest>();
        // Inconsistent: a decision without a route (the real Router never says so). The ClientConnection throws.
        var decision = Decide(config, null, A);
        Watch(client);
        EventFilter.Exception<NullReferenceException>().ExpectOne(() => router.Reply(decision with { Route = null! }));
        ExpectTerminated(client);
        _tcp.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        // The listener stopped it (no restart: it would register again) and freed its maxclients slot.
        AwaitAssert(() => Assert.Equal(0, _services.Metrics.ActiveConnections.WithLabels("web", ListenAddress.ToString()).Value));
        Assert.Equal(0, Count(listener.Path / "*"));
        var next = CreateTestProbe();
        Accept(listener, next);
        router.ExpectMsg<RouteRequest>();
    }

    [Fact]
    public void A_refused_address_falls_through_to_the_next_and_the_router_hears_each_outcome_and_the_release()
    {
        var config = Parse(PoolYaml);
        var router = CreateTestProbe("router");
        var (listener, _) = Bind(new ServerContext(config.Servers[0], router.Ref, _services));
        var inbound = CreateTestProbe();
        var outbound = CreateTestProbe();
        var client = Accept(listener, inbound);
        router.ExpectMsg<RouteRequest>();
        router.Reply(Decide(config, null, A, B));

        var (up, connect) = ExpectDial(client, A);
        Refuse(up, connect);
        router.ExpectMsg(new DialOutcome("pool", A, Connected: false));
        ExpectDial(client, B);
        Connected(up, outbound, B);
        router.ExpectMsg(new DialOutcome("pool", B, Connected: true));
        outbound.ExpectMsg<Tcp.ResumeReading>();
        inbound.ExpectMsg<Tcp.ResumeReading>();
        Relay(inbound, client, outbound, "request");

        inbound.Send(client, Tcp.PeerClosed.Instance);
        outbound.ExpectMsg<Tcp.ConfirmedClose>();
        outbound.Send(up, Tcp.ConfirmedClosed.Instance);
        inbound.ExpectMsg<Tcp.ConfirmedClose>();
        router.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // not released while the pair lives
        End(client, inbound, outbound);
        router.ExpectMsg(new UpstreamReleased("pool", B));
        router.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        var line = Assert.Single(ConnLines);
        Assert.Contains($"upstream=pool({B})", line);
        Assert.Equal("ok", Result(line));
    }

    private const string ViaYaml = """
        version: 1
        servers:
          p:
            listen: ["127.0.0.1:8443"]
            default: corp
            via: { target: "inside.test:8443", connect_timeout: 10s }
        upstream:
          corp: "tcp://198.51.100.1:3128"
        """;

    private static readonly IPEndPoint ProxyAddress = IPEndPoint.Parse("198.51.100.1:3128");

    /// <summary>Dialled and connected to the via; returns after the CONNECT request was written and the reply is being read.</summary>
    private (IActorRef Client, IActorRef Up) Handshaking(IActorRef listener, TestProbe inbound, TestProbe outbound)
    {
        var client = Accept(listener, inbound);
        var (up, _) = ExpectDial(client, ProxyAddress);
        Connected(up, outbound, ProxyAddress);
        Assert.StartsWith("CONNECT inside.test:8443 HTTP/1.1\r\nHost: inside.test:8443\r\n", outbound.ExpectMsg<Tcp.Write>().Data.ToString());
        outbound.ExpectMsg<Tcp.ResumeReading>();
        return (client, up);
    }

    [Fact]
    public void A_407_split_over_two_reads_closes_the_client_with_proxy_status_407()
    {
        var (ctx, _) = RealRouter(ViaYaml);
        var (listener, _) = Bind(ctx);
        var inbound = CreateTestProbe();
        var outbound = CreateTestProbe();
        var (client, up) = Handshaking(listener, inbound, outbound);

        outbound.Send(up, new Tcp.Received(Bytes("HTTP/1.1 407 Proxy Authen")));
        outbound.ExpectMsg<Tcp.ResumeReading>();
        inbound.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // the client is not read until the tunnel is open
        outbound.Send(up, new Tcp.Received(Bytes("tication Required\r\n\r\n")));
        // The child stops with the refusal: its PostStop resets the proxy's socket, which it owns.
        outbound.ExpectMsg<Tcp.Abort>();
        inbound.ExpectMsg<Tcp.Close>();
        End(client, inbound, outbound);
        var line = Assert.Single(ConnLines);
        Assert.Contains("via=inside.test:8443", line);
        Assert.Contains("result=proxy_status_407 reason=\"proxy refused CONNECT inside.test:8443: HTTP/1.1 407 Proxy Authentication Required (proxy authentication required)\"", line);
    }

    [Fact]
    public void Tunnel_bytes_after_a_200_reach_the_client_first()
    {
        var (ctx, _) = RealRouter(ViaYaml);
        var (listener, _) = Bind(ctx);
        var inbound = CreateTestProbe();
        var outbound = CreateTestProbe();
        var (client, up) = Handshaking(listener, inbound, outbound);

        outbound.Send(up, new Tcp.Received(Bytes("HTTP/1.1 200 Connection established\r\nProxy-Agent: sim\r\n\r\nSSH-2.0-banner\r\n")));
        var first = inbound.ExpectMsg<Tcp.Write>();
        Assert.Equal("SSH-2.0-banner\r\n", first.Data.ToString());
        Assert.Equal(up, inbound.LastSender);
        inbound.ExpectMsg<Tcp.ResumeReading>(); // the client -> upstream leg starts
        outbound.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // the upstream waits for the client's ack
        inbound.Send(up, first.Ack); // not Reply: the client's ResumeReading came last
        outbound.ExpectMsg<Tcp.ResumeReading>();
        Relay(inbound, client, outbound, "SSH-2.0-client\r\n");
    }

    [Fact]
    public void Client_FIN_first_the_upstream_keeps_sending_under_backpressure_then_its_EOF_ends_the_pair()
    {
        var (ctx, _) = RealRouter(PoolYaml);
        var (listener, _) = Bind(ctx);
        var inbound = CreateTestProbe();
        var outbound = CreateTestProbe();
        var (client, up) = Pair(listener, inbound, outbound, A);
        Relay(inbound, client, outbound, "GET /", checkBackpressure: true);

        inbound.Send(client, Tcp.PeerClosed.Instance);
        outbound.ExpectMsg<Tcp.ConfirmedClose>();
        // Half-closed: upstream -> client still flows, one chunk at a time.
        Relay(outbound, up, inbound, "part 1", checkBackpressure: true);
        Relay(outbound, up, inbound, "part 2", checkBackpressure: true);

        outbound.Send(up, Tcp.ConfirmedClosed.Instance); // its EOF after our FIN
        inbound.ExpectMsg<Tcp.ConfirmedClose>();
        inbound.Send(client, Tcp.ConfirmedClosed.Instance);
        End(client, inbound, outbound);
        var line = Assert.Single(ConnLines);
        Assert.Contains("up=5 down=12 ", line);
        Assert.Equal("ok", Result(line));
    }

    [Fact]
    public void Upstream_FIN_first_the_client_keeps_sending_under_backpressure_then_its_EOF_ends_the_pair()
    {
        var (ctx, _) = RealRouter(PoolYaml);
        var (listener, _) = Bind(ctx);
        var inbound = CreateTestProbe();
        var outbound = CreateTestProbe();
        var (client, up) = Pair(listener, inbound, outbound, A);
        Relay(outbound, up, inbound, "banner", checkBackpressure: true);

        outbound.Send(up, Tcp.PeerClosed.Instance);
        inbound.ExpectMsg<Tcp.ConfirmedClose>();
        Relay(inbound, client, outbound, "upload 1", checkBackpressure: true);
        Relay(inbound, client, outbound, "upload 2", checkBackpressure: true);

        inbound.Send(client, Tcp.ConfirmedClosed.Instance); // the client's EOF after our FIN
        outbound.ExpectMsg<Tcp.ConfirmedClose>();
        outbound.Send(up, Tcp.ConfirmedClosed.Instance);
        End(client, inbound, outbound);
        var line = Assert.Single(ConnLines);
        Assert.Contains("up=16 down=6 ", line);
        Assert.Equal("ok", Result(line));
    }

    [Fact]
    public void Two_hundred_pairs_ending_in_mixed_ways_leave_no_actor_and_no_leastconn_count()
    {
        const int pairs = 200, batch = 20;
        var (ctx, backends) = RealRouter(PoolYaml);
        var (listener, _) = Bind(ctx);
        var rng = new Random(20260611);
        var expected = new Dictionary<string, int>();
        void Expect(string result) => expected[result] = expected.GetValueOrDefault(result) + 1;

        for (var b = 0; b < pairs / batch; b++)
        {
            var open = new List<(int Kind, IActorRef Client, IActorRef Up, TestProbe In, TestProbe Out)>();
            var onA = 0;
            var onB = 0;
            for (var i = 0; i < batch; i++)
            {
                var kind = rng.Next(7);
                var inbound = CreateTestProbe();
                var outbound = CreateTestProbe();
                var client = Accept(listener, inbound);
                var connect = _tcp.ExpectMsg<Tcp.Connect>();
                var up = _tcp.LastSender;
                var first = (IPEndPoint)connect.RemoteAddress;
                var second = first.Equals(A) ? B : A;
                // leastconn: the first address tried has no more open connections than the other.
                Assert.True(backends.ActiveOn("pool", first) <= backends.ActiveOn("pool", second));
                switch (kind)
                {
                    case 5: // the client leaves while we dial
                        End(client, inbound);
                        Expect("client_closed");
                        continue;
                    case 6: // every address refuses
                        Refuse(up, connect);
                        Refuse(up, ExpectDial(client, second).Connect);
                        inbound.ExpectMsg<Tcp.Close>();
                        End(client, inbound);
                        Expect("connect_failed");
                        continue;
                }
                var address = first;
                if (kind == 4) // the first refuses, the second takes it
                {
                    Refuse(up, connect);
                    ExpectDial(client, second);
                    address = second;
                }
                Connected(up, outbound, address);
                outbound.ExpectMsg<Tcp.ResumeReading>();
                inbound.ExpectMsg<Tcp.ResumeReading>();
                Relay(inbound, client, outbound, $"b{b}p{i} up");
                Relay(outbound, up, inbound, $"b{b}p{i} down");
                if (address.Equals(A)) onA++;
                else onB++;
                open.Add((kind, client, up, inbound, outbound));
            }

            // Every open pair is counted on its address, and is a child of the listener with its "up" child.
            AwaitAssert(() =>
            {
                Assert.Equal(onA, backends.ActiveOn("pool", A));
                Assert.Equal(onB, backends.ActiveOn("pool", B));
            });
            Assert.Equal(open.Count, Count(listener.Path / "*" / "up"));

            foreach (var (kind, client, up, inbound, outbound) in open)
            {
                switch (kind)
                {
                    case 1: // upstream FIN first
                        outbound.Send(up, Tcp.PeerClosed.Instance);
                        inbound.ExpectMsg<Tcp.ConfirmedClose>();
                        inbound.Send(client, Tcp.ConfirmedClosed.Instance);
                        outbound.ExpectMsg<Tcp.ConfirmedClose>();
                        Expect("ok");
                        break;
                    case 2: // client reset
                        inbound.Send(client, new Tcp.ErrorClosed("Connection reset by peer"));
                        outbound.ExpectMsg<Tcp.Close>();
                        Expect("client_reset");
                        break;
                    case 3: // upstream reset
                        outbound.Send(up, new Tcp.ErrorClosed("Connection reset by peer"));
                        inbound.ExpectMsg<Tcp.Close>();
                        Expect("upstream_reset");
                        break;
                    default: // client FIN first
                        inbound.Send(client, Tcp.PeerClosed.Instance);
                        outbound.ExpectMsg<Tcp.ConfirmedClose>();
                        outbound.Send(up, Tcp.ConfirmedClosed.Instance);
                        inbound.ExpectMsg<Tcp.ConfirmedClose>();
                        Expect("ok");
                        break;
                }
                End(client, inbound, outbound);
            }
        }

        AwaitAssert(() =>
        {
            Assert.Equal(0, backends.ActiveOn("pool", A));
            Assert.Equal(0, backends.ActiveOn("pool", B));
            Assert.Equal(0, _services.Metrics.ActiveConnections.WithLabels("web", ListenAddress.ToString()).Value);
        });
        Assert.Equal(0, Count(listener.Path / "*"));
        var results = ConnLines.GroupBy(Result).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expected.OrderBy(kv => kv.Key), results.OrderBy(kv => kv.Key));
        Assert.Equal(pairs, results.Values.Sum());
    }

    [Fact]
    public void ProxyRoot_warms_up_binds_reloads_to_another_port_and_drains_the_old_listener_first()
    {
        var config = Parse("""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:8443"], default: echo }
            """);
        var root = Sys.ActorOf(ProxyRoot.Props(config, _services), "proxy");
        root.Tell(ProxyRoot.WaitReady.Instance);

        // TcpWarmup: bind, connect, both ends closed, unbind; then the configured address is bound.
        var warm = _tcp.ExpectMsg<Tcp.Bind>();
        Assert.Equal(0, ((IPEndPoint)warm.LocalAddress).Port);
        var warmSocket = CreateTestProbe();
        var warmAddress = IPEndPoint.Parse("127.0.0.1:40001");
        warmSocket.Send(warm.Handler, new Tcp.Bound(warmAddress));
        Assert.Equal(warmAddress, _tcp.ExpectMsg<Tcp.Connect>().RemoteAddress);
        foreach (var end in new[] { CreateTestProbe(), CreateTestProbe() })
        {
            end.Send(warm.Handler, new Tcp.Connected(warmAddress, warmAddress));
            end.ExpectMsg<Tcp.Register>();
            end.ExpectMsg<Tcp.Close>();
        }
        warmSocket.ExpectMsg<Tcp.Unbind>();
        _tcp.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // nothing bound before the warmup is done
        warmSocket.Reply(Tcp.Unbound.Instance);

        var bind = _tcp.ExpectMsg<Tcp.Bind>();
        Assert.Equal(ListenAddress, bind.LocalAddress);
        var oldListener = bind.Handler;
        var oldSocket = CreateTestProbe();
        oldSocket.Send(oldListener, new Tcp.Bound(ListenAddress));
        Assert.Equal(ListenAddress, Assert.Single(ExpectMsg<ProxyRoot.Ready>().Listeners).Configured);

        var live = CreateTestProbe();
        var liveClient = Accept(oldListener, live);
        live.ExpectMsg<Tcp.ResumeReading>();

        // Reload: the server moves to 9443.
        var moved = IPEndPoint.Parse("127.0.0.1:9443");
        root.Tell(new ProxyRoot.Reload(Parse("""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:9443"], default: echo }
            """)));
        var bind2 = _tcp.ExpectMsg<Tcp.Bind>();
        Assert.Equal(moved, bind2.LocalAddress);
        var newSocket = CreateTestProbe();
        newSocket.Send(bind2.Handler, new Tcp.Bound(moved));
        var reloaded = ExpectMsg<ProxyRoot.Reloaded>();
        Assert.Equal("ok", reloaded.Result);
        Assert.Empty(reloaded.Problems);

        // Draining: the old socket stays bound while its connection lives; newcomers there are closed.
        oldSocket.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        var late = CreateTestProbe();
        late.Send(oldListener, new Tcp.Connected(ClientAddress, ListenAddress));
        late.ExpectMsg<Tcp.Close>();
        var fresh = CreateTestProbe();
        var freshClient = Accept(bind2.Handler, fresh);
        fresh.ExpectMsg<Tcp.ResumeReading>();

        // The old connection still relays (echo), then ends: now the old listener unbinds and stops.
        Relay(live, liveClient, live, "still here");
        live.Send(liveClient, Tcp.PeerClosed.Instance);
        live.ExpectMsg<Tcp.ConfirmedClose>();
        Watch(oldListener);
        End(liveClient, live);
        oldSocket.ExpectMsg<Tcp.Unbind>();
        oldSocket.Reply(Tcp.Unbound.Instance);
        ExpectTerminated(oldListener);
        newSocket.ExpectNoMsg(TimeSpan.Zero);

        // Shutdown drains the new one the same way.
        root.Tell(ProxyRoot.Drain.Instance);
        newSocket.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        End(freshClient, fresh);
        newSocket.ExpectMsg<Tcp.Unbind>();
        newSocket.Reply(Tcp.Unbound.Instance);
        ExpectMsg<ProxyRoot.Drained>();
    }
}
