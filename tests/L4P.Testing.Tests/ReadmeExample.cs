using Akka.TestKit.Xunit2;
using L4P.Testing;
using Xunit;

namespace MyProxy.Tests;

public sealed class ReadmeExample() : TestKit(L4PSimulation.Config)
{
    private const string Yaml = """
        version: 1
        servers:
          web:
            listen: ["0.0.0.0:443"]
            tls: true
            sni: { api.example.com: api }
            timeouts: { idle: 30s }
        upstream:
          api: "tcp://198.51.100.1:443"
        """;

    [Fact]
    public void Sni_route_relay_and_idle_timeout()
    {
        using var sim = L4PSimulation.Start(this, Yaml);
        var client = sim.Accept("0.0.0.0:443", from: "203.0.113.9:5555");
        var hello = HelloBuilder.Hello("api.example.com");
        client.Send(hello);

        var upstream = sim.ExpectConnect("198.51.100.1:443").Accept();
        upstream.ExpectReceived(hello);              // the ClientHello, byte for byte
        upstream.Send("server hello");
        client.ExpectReceived("server hello");
        client.Send("request");
        upstream.ExpectReceived("request");

        sim.Advance(TimeSpan.FromSeconds(31));       // past timeouts.idle, no byte either way
        client.ExpectClosed();
        upstream.ExpectClosed();
        sim.ExpectLog("result=idle_timeout");
    }
}
