using System.Text;
using Akka.IO;
using Akka.TestKit.Xunit2;
using L4P.Connections;
using L4P.Testing;
using Xunit;

namespace L4P.Tests.Simulation;

/// <summary>
/// The states of <see cref="ClientConnection"/> on virtual time: each ended from the outside (a timer, the
/// client leaving) logs a reason built from what it held and closes every socket it had open, and the bytes
/// one state read reach the next.
/// </summary>
public sealed class ClientConnectionStateTests() : TestKit(L4PSimulation.Config)
{
    private const string TlsYaml = """
        version: 1
        servers:
          tls:
            listen: ["0.0.0.0:443"]
            tls: true
            timeouts: { client_hello: 1s }
            sni:
              a.test: a
            default: ban
        upstream:
          a: "tcp://198.51.100.1:443"
        """;

    private const string BehindLbYaml = """
        version: 1
        servers:
          tls:
            listen: ["0.0.0.0:443"]
            tls: true
            accept_proxy: true
            timeouts: { client_hello: 1s }
            sni:
              a.test: a
            default: ban
        upstream:
          a: "tcp://198.51.100.1:443"
        """;

    /// <summary>A connect timeout longer than idle: the idle check may come while the dial is still out.</summary>
    private const string SlowDialYaml = """
        version: 1
        servers:
          web:
            listen: ["0.0.0.0:8080"]
            default: backend
            timeouts: { idle: 1s, connect: 10s }
        upstream:
          backend: "tcp://198.51.100.1:80"
        """;

    private const string HealthYaml = """
        version: 1
        servers:
          health:
            listen: ["0.0.0.0:8081"]
            default: health
            timeouts: { http_request: 1s }
        """;

    [Fact]
    public void A_client_closing_mid_ClientHello_is_logged_with_the_bytes_it_sent()
    {
        using var sim = L4PSimulation.Start(this, TlsYaml);
        var client = sim.Accept("0.0.0.0:443");
        client.Send(HelloBuilder.Hello("a.test")[..10]);
        client.Close();
        client.ExpectClosed();
        Assert.Contains("reason=\"client closed mid ClientHello (10 bytes)\"", sim.ExpectLog("result=client_closed"));
    }

    [Fact]
    public void An_incomplete_ClientHello_times_out_with_the_bytes_it_had()
    {
        using var sim = L4PSimulation.Start(this, TlsYaml);
        var client = sim.Accept("0.0.0.0:443");
        client.Send(HelloBuilder.Hello("a.test")[..7]);
        sim.Advance(TimeSpan.FromSeconds(1));
        client.ExpectClosed();
        Assert.Contains("reason=\"incomplete ClientHello (7 bytes) after 1s\"", sim.ExpectLog("result=client_hello_timeout"));
    }

    [Fact]
    public void The_bytes_after_a_PROXY_header_are_sniffed_and_reach_the_upstream_first()
    {
        using var sim = L4PSimulation.Start(this, BehindLbYaml);
        var client = sim.Accept("0.0.0.0:443");
        var hello = HelloBuilder.Hello("a.test");
        client.Send([.. Encoding.ASCII.GetBytes("PROXY TCP4 192.0.2.7 192.0.2.1 5555 443\r\n"), .. hello]);
        var upstream = sim.ExpectConnect("198.51.100.1:443").Accept();
        upstream.ExpectReceived(hello);
        client.Close();
        upstream.Close();
        client.ExpectClosed();
        upstream.ExpectClosed();
        var line = sim.ExpectLog("result=ok");
        Assert.Contains("client=192.0.2.7:5555 sni=a.test route=a.test", line);
    }

    [Fact]
    public void A_PROXY_header_that_never_completes_times_out()
    {
        using var sim = L4PSimulation.Start(this, BehindLbYaml);
        var client = sim.Accept("0.0.0.0:443");
        client.Send("PROXY TCP4 192.0.2.7");
        sim.Advance(TimeSpan.FromSeconds(1));
        client.ExpectClosed();
        Assert.Contains("reason=\"accept_proxy: no complete PROXY header in 1s\"", sim.ExpectLog("result=proxy_protocol_invalid"));
    }

    [Fact]
    public void Idle_while_the_dial_is_still_out_stops_it_and_closes_the_client()
    {
        using var sim = L4PSimulation.Start(this, SlowDialYaml);
        var client = sim.Accept("0.0.0.0:8080");
        sim.ExpectConnect("198.51.100.1:80").Hang();
        sim.Advance(TimeSpan.FromSeconds(1));
        Assert.IsType<Tcp.Close>(client.ExpectClosed());
        // The line comes once the dialling child has stopped too.
        Assert.Contains("reason=\"no byte either way for 1s\"", sim.ExpectLog("result=idle_timeout"));
    }

    [Fact]
    public void A_client_leaving_while_the_dial_is_out_stops_it()
    {
        using var sim = L4PSimulation.Start(this, SlowDialYaml);
        var client = sim.Accept("0.0.0.0:8080");
        sim.ExpectConnect("198.51.100.1:80").Hang();
        Sys.Stop(client.Socket.Ref); // the client socket's actor is gone (it was reset)
        Assert.Contains("reason=\"client closed before the upstream connected\"", sim.ExpectLog("result=client_closed"));
    }

    [Fact]
    public void An_idle_relay_whose_peers_never_finish_the_close_is_aborted_both_ways_after_the_deadline()
    {
        using var sim = L4PSimulation.Start(this, SlowDialYaml);
        var client = sim.Accept("0.0.0.0:8080");
        var upstream = sim.ExpectConnect("198.51.100.1:80").Accept();
        client.Send("hello");
        upstream.ExpectReceived("hello");

        sim.Advance(TimeSpan.FromSeconds(1));
        client.Socket.FishForMessage(m => m is Tcp.Close);
        upstream.Socket.FishForMessage(m => m is Tcp.Close);
        // Neither socket finishes its close (its peer does not read): both are reset at the deadline.
        sim.Advance(ClientConnection.CloseDeadline);
        client.Socket.FishForMessage(m => m is Tcp.Abort);
        upstream.Socket.FishForMessage(m => m is Tcp.Abort);
        Sys.Stop(client.Socket.Ref);
        Sys.Stop(upstream.Socket.Ref);
        Assert.Contains("reason=\"no byte either way for 1s\"", sim.ExpectLog("result=idle_timeout"));
    }

    [Fact]
    public void Half_a_health_request_gets_408_with_the_bytes_it_had()
    {
        using var sim = L4PSimulation.Start(this, HealthYaml);
        var client = sim.Accept("0.0.0.0:8081");
        client.Send("GET /health HTTP/1.1\r\n");
        sim.Advance(TimeSpan.FromSeconds(1));
        Assert.StartsWith("HTTP/1.1 408 Request Timeout\r\n", client.ReadString());
        client.ExpectClosed();
        Assert.Contains("reason=\"no complete request head within 1s (22 bytes)\"", sim.ExpectLog("result=http_request_timeout"));
    }
}
