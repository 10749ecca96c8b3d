using System.Net;
using Akka.Actor;
using Akka.IO;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using L4P.Config;
using L4P.Connections;
using L4P.LoadBalancing;
using L4P.Metrics;
using L4P.Proxy;
using L4P.Resolution;
using L4P.Tests.Support;
using Microsoft.Extensions.Logging;
using Xunit;

namespace L4P.Tests.Simulation;

/// <summary>
/// ClientConnection (with its UpstreamConnection child, a real Router, and their relay legs) driven through TestKit, with probes standing in for
/// Akka.IO's connection actors and TCP manager: no sockets, exact control of every event's order.
/// </summary>
public sealed class RelaySimulationTests : TestKit
{
    private static readonly IPEndPoint ClientAddress = IPEndPoint.Parse("192.0.2.10:40000");
    private static readonly IPEndPoint UpstreamAddress = IPEndPoint.Parse("198.51.100.1:443");

    private readonly TestProbe _inbound;
    private readonly TestProbe _outbound;
    private readonly TestProbe _tcp;
    private readonly CapturingLoggerProvider _logs = new();
    private readonly ServerContext _ctx;

    public RelaySimulationTests() : base("akka.loglevel = INFO")
    {
        _inbound = CreateTestProbe("inbound");
        _outbound = CreateTestProbe("outbound");
        _tcp = CreateTestProbe("tcp-manager");
        var config = ConfigLoader.Parse("""
            version: 1
            servers:
              web:
                listen: ["127.0.0.1:1"]
                default: backend
                timeouts: { connect: 2s }
            upstream:
              backend: "tcp://198.51.100.1:443"
            """, "sim.yaml", _ => null);
        var factory = LoggerFactory.Create(b => b.AddProvider(_logs));
        var services = new ProxyServices(_tcp.Ref, SystemDnsLookup.Instance, factory, new ProxyMetrics(processMetrics: false));
        var router = Sys.ActorOf(L4P.Routing.Router.Props(config, new BackendRegistry(config), services), "router");
        _ctx = new ServerContext(config.Servers[0], router, services);
    }

    private static ByteString Bytes(string s) => ByteString.FromString(s);

    /// <summary>A client connection whose upstream has connected; both sides reading.</summary>
    private (IActorRef Client, IActorRef Upstream) Connected()
    {
        var client = Sys.ActorOf(ClientConnection.Props(_ctx, _inbound.Ref, ClientAddress));
        Assert.Same(client, _inbound.ExpectMsg<Tcp.Register>().Handler);
        var connect = _tcp.ExpectMsg<Tcp.Connect>();
        Assert.Equal(UpstreamAddress, connect.RemoteAddress);
        Assert.True(connect.PullMode);
        var upstream = _tcp.LastSender;
        _outbound.Send(upstream, new Tcp.Connected(UpstreamAddress, IPEndPoint.Parse("10.0.0.1:5555")));
        Assert.Same(upstream, _outbound.ExpectMsg<Tcp.Register>().Handler);
        _outbound.ExpectMsg<Tcp.ResumeReading>();
        _inbound.ExpectMsg<Tcp.ResumeReading>();
        return (client, upstream);
    }

    [Fact]
    public void No_second_read_before_the_write_is_acked()
    {
        var (client, _) = Connected();
        _inbound.Send(client, new Tcp.Received(Bytes("hello")));
        var write = _outbound.ExpectMsg<Tcp.Write>();
        Assert.Equal("hello", write.Data.ToString());
        Assert.True(write.WantsAck);

        // Backpressure: the client side stays suspended while the upstream write is pending.
        _inbound.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        _outbound.Reply(write.Ack);
        _inbound.ExpectMsg<Tcp.ResumeReading>();
    }

    [Fact]
    public void Downstream_is_paced_by_the_client_socket_acks_too()
    {
        var (_, upstream) = Connected();
        _outbound.Send(upstream, new Tcp.Received(Bytes("response")));
        var write = _inbound.ExpectMsg<Tcp.Write>();
        Assert.Equal("response", write.Data.ToString());
        _outbound.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        _inbound.Reply(write.Ack);
        _outbound.ExpectMsg<Tcp.ResumeReading>();
    }

    [Fact]
    public void Client_EOF_is_forwarded_after_the_pending_write_and_the_other_direction_keeps_flowing()
    {
        var (client, upstream) = Connected();
        _inbound.Send(client, new Tcp.Received(Bytes("last words")));
        _inbound.Send(client, Tcp.PeerClosed.Instance);

        // Order on the upstream socket: the data, then the FIN request (Akka.IO flushes before FIN).
        Assert.Equal("last words", _outbound.ExpectMsg<Tcp.Write>().Data.ToString());
        _outbound.ExpectMsg<Tcp.ConfirmedClose>();

        // Half-close: upstream -> client still relays.
        _outbound.Send(upstream, new Tcp.Received(Bytes("answer")));
        Assert.Equal("answer", _inbound.ExpectMsg<Tcp.Write>().Data.ToString());
    }

    [Fact]
    public void Upstream_EOF_after_our_FIN_closes_the_client_side()
    {
        var (client, upstream) = Connected();
        _inbound.Send(client, Tcp.PeerClosed.Instance);
        _outbound.ExpectMsg<Tcp.ConfirmedClose>();
        // Akka.IO reports the upstream's EOF as ConfirmedClosed (never PeerClosed) after our ConfirmedClose.
        _outbound.Send(upstream, Tcp.ConfirmedClosed.Instance);
        _inbound.ExpectMsg<Tcp.ConfirmedClose>();
    }

    [Fact]
    public void Refused_upstream_closes_the_client_and_ends_the_pair_with_a_logged_reason()
    {
        var client = Sys.ActorOf(ClientConnection.Props(_ctx, _inbound.Ref, ClientAddress));
        Watch(client);
        _inbound.ExpectMsg<Tcp.Register>();
        var connect = _tcp.ExpectMsg<Tcp.Connect>();
        _tcp.Reply(new Tcp.CommandFailed(connect).WithCause(new System.Net.Sockets.SocketException(111)));

        _inbound.ExpectMsg<Tcp.Close>();
        Sys.Stop(_inbound.Ref); // the client socket actor stops after closing
        ExpectTerminated(client);
        var line = Assert.Single(_logs.Lines, l => l.Contains("conn server=web"));
        Assert.Contains("result=connect_failed reason=\"198.51.100.1:443", line);
        Assert.Contains("client=192.0.2.10:40000", line);
    }

    [Fact]
    public void Connect_timeout_closes_the_client()
    {
        var client = Sys.ActorOf(ClientConnection.Props(_ctx, _inbound.Ref, ClientAddress));
        Watch(client);
        _inbound.ExpectMsg<Tcp.Register>();
        _tcp.ExpectMsg<Tcp.Connect>(); // and never answer
        _inbound.ExpectMsg<Tcp.Close>(TimeSpan.FromSeconds(4));
        Sys.Stop(_inbound.Ref);
        ExpectTerminated(client);
        Assert.Contains(_logs.Lines, l => l.Contains("result=connect_timeout reason=\"connect timeout after 2s"));
    }

    [Fact]
    public void Upstream_reset_closes_the_client_and_the_pair_ends()
    {
        var (client, upstream) = Connected();
        Watch(client);
        _outbound.Send(upstream, new Tcp.ErrorClosed("Connection reset by peer"));
        _inbound.ExpectMsg<Tcp.Close>();
        Sys.Stop(_outbound.Ref);
        Sys.Stop(_inbound.Ref);
        ExpectTerminated(client);
        Assert.Contains(_logs.Lines, l => l.Contains("result=upstream_reset reason=\"Connection reset by peer"));
    }

    [Fact]
    public void Client_gone_while_half_closed_upstream_is_closed_then_aborted_if_it_will_not_finish()
    {
        var (client, upstream) = Connected();
        Watch(client);
        _inbound.Send(client, Tcp.PeerClosed.Instance);
        _outbound.ExpectMsg<Tcp.ConfirmedClose>();
        // The upstream streams; the client socket dies with a write in flight.
        _outbound.Send(upstream, new Tcp.Received(Bytes("more")));
        _inbound.ExpectMsg<Tcp.Write>();
        Sys.Stop(_inbound.Ref);

        _outbound.ExpectMsg<Tcp.Close>();
        _outbound.ExpectMsg<Tcp.ResumeReading>(); // keep draining so its EOF can arrive
        _outbound.Send(upstream, new Tcp.Received(Bytes("dropped")));
        _outbound.ExpectMsg<Tcp.ResumeReading>();
        // Akka.IO ignores Close while waiting for the peer's FIN: the linger timer aborts it.
        _outbound.ExpectMsg<Tcp.Abort>(RelayLeg.Linger + TimeSpan.FromSeconds(2));
        Sys.Stop(_outbound.Ref);
        ExpectTerminated(client);
    }

    [Fact]
    public void A_thousand_simulated_pairs_each_deliver_in_order_and_end()
    {
        const int pairs = 1000;
        var clients = new List<(IActorRef Client, IActorRef Upstream, TestProbe In, TestProbe Out)>();
        for (var i = 0; i < pairs; i++)
        {
            var inbound = CreateTestProbe();
            var outbound = CreateTestProbe();
            var client = Sys.ActorOf(ClientConnection.Props(_ctx, inbound.Ref, ClientAddress));
            inbound.ExpectMsg<Tcp.Register>();
            _tcp.ExpectMsg<Tcp.Connect>();
            outbound.Send(_tcp.LastSender, new Tcp.Connected(UpstreamAddress, UpstreamAddress));
            clients.Add((client, _tcp.LastSender, inbound, outbound));
        }
        foreach (var (client, _, inbound, outbound) in clients)
        {
            outbound.ExpectMsg<Tcp.Register>();
            outbound.ExpectMsg<Tcp.ResumeReading>();
            inbound.ExpectMsg<Tcp.ResumeReading>();
            for (var chunk = 0; chunk < 3; chunk++)
            {
                inbound.Send(client, new Tcp.Received(Bytes($"chunk{chunk}")));
                var w = outbound.ExpectMsg<Tcp.Write>();
                Assert.Equal($"chunk{chunk}", w.Data.ToString());
                outbound.Reply(w.Ack);
                inbound.ExpectMsg<Tcp.ResumeReading>();
            }
            inbound.Send(client, Tcp.PeerClosed.Instance);
            outbound.ExpectMsg<Tcp.ConfirmedClose>();
            Watch(client);
            Sys.Stop(outbound.Ref);
            Sys.Stop(inbound.Ref);
            ExpectTerminated(client);
        }
        Assert.Equal(pairs, _logs.Lines.Count(l => l.Contains("up=18 down=0") && l.Contains("result=ok")));
    }

    [Fact]
    public void Seeded_random_faults_every_pair_delivers_in_order_or_ends_with_its_reason()
    {
        var rng = new Random(20261126);
        const int pairs = 400;
        var expected = new Dictionary<string, int>();
        for (var p = 0; p < pairs; p++)
        {
            var inbound = CreateTestProbe();
            var outbound = CreateTestProbe();
            var client = Sys.ActorOf(ClientConnection.Props(_ctx, inbound.Ref, ClientAddress));
            Watch(client);
            inbound.ExpectMsg<Tcp.Register>();
            var connect = _tcp.ExpectMsg<Tcp.Connect>();
            var upstream = _tcp.LastSender;
            var scenario = rng.Next(4);
            if (scenario == 0)
            {
                _tcp.Send(upstream, new Tcp.CommandFailed(connect).WithCause(new System.Net.Sockets.SocketException(111)));
                inbound.ExpectMsg<Tcp.Close>();
                Sys.Stop(inbound.Ref);
                ExpectTerminated(client);
                expected["connect_failed"] = expected.GetValueOrDefault("connect_failed") + 1;
                continue;
            }
            outbound.Send(upstream, new Tcp.Connected(UpstreamAddress, UpstreamAddress));
            outbound.ExpectMsg<Tcp.Register>();
            outbound.ExpectMsg<Tcp.ResumeReading>();
            inbound.ExpectMsg<Tcp.ResumeReading>();
            var chunks = rng.Next(1, 6);
            var failAt = scenario == 1 ? -1 : rng.Next(chunks);
            var sentUp = new List<string>();
            var sentDown = new List<string>();
            for (var c = 0; c < chunks; c++)
            {
                if (c == failAt) break;
                var up = $"p{p}u{c}:{new string('x', rng.Next(1, 50))}";
                inbound.Send(client, new Tcp.Received(Bytes(up)));
                var w = outbound.ExpectMsg<Tcp.Write>();
                Assert.Equal(up, w.Data.ToString()); // in order, unchanged
                inbound.ExpectNoMsg(TimeSpan.Zero);   // no read before the ack
                outbound.Reply(w.Ack);
                inbound.ExpectMsg<Tcp.ResumeReading>();
                sentUp.Add(up);
                var down = $"p{p}d{c}";
                outbound.Send(upstream, new Tcp.Received(Bytes(down)));
                var wd = inbound.ExpectMsg<Tcp.Write>();
                Assert.Equal(down, wd.Data.ToString());
                inbound.Reply(wd.Ack);
                outbound.ExpectMsg<Tcp.ResumeReading>();
                sentDown.Add(down);
            }
            switch (scenario)
            {
                case 1: // clean: client FIN, upstream EOF after our FIN
                    inbound.Send(client, Tcp.PeerClosed.Instance);
                    outbound.ExpectMsg<Tcp.ConfirmedClose>();
                    outbound.Send(upstream, Tcp.ConfirmedClosed.Instance);
                    inbound.ExpectMsg<Tcp.ConfirmedClose>();
                    expected["ok"] = expected.GetValueOrDefault("ok") + 1;
                    break;
                case 2: // upstream resets
                    outbound.Send(upstream, new Tcp.ErrorClosed("Connection reset by peer"));
                    inbound.ExpectMsg<Tcp.Close>();
                    expected["upstream_reset"] = expected.GetValueOrDefault("upstream_reset") + 1;
                    break;
                default: // client resets
                    inbound.Send(client, new Tcp.ErrorClosed("Connection reset by peer"));
                    outbound.ExpectMsg<Tcp.Close>();
                    expected["client_reset"] = expected.GetValueOrDefault("client_reset") + 1;
                    break;
            }
            Sys.Stop(outbound.Ref);
            Sys.Stop(inbound.Ref);
            ExpectTerminated(client);
        }
        // Every pair ended, and its line says why.
        var results = _logs.Lines.Where(l => l.Contains("conn server=web"))
            .Select(l => l[(l.IndexOf("result=", StringComparison.Ordinal) + 7)..].Split(' ')[0])
            .GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expected.OrderBy(kv => kv.Key), results.OrderBy(kv => kv.Key));
        Assert.Equal(pairs, results.Values.Sum());
    }
}
