using Akka.Actor;
using Akka.IO;
using L4P.Config;
using L4P.Proxy;
using Microsoft.Extensions.Logging;

namespace L4P.Connections;

/// <summary>
/// What the actors of one server need, built once per config generation and shared read-only; its
/// <see cref="Router"/> is the generation's, asked once per connection (it owns routes and backends).
/// </summary>
public sealed record ServerContext(ServerConfig Server, IActorRef Router, ProxyServices Services)
{
    /// <summary>Category "L4P.Connections": connection and listener lines.</summary>
    public ILogger Log { get; } = Services.Logs.CreateLogger("L4P.Connections");

    /// <summary>This server's byte counters, looked up once rather than per chunk.</summary>
    public Prometheus.Counter.Child BytesUp { get; } = Services.Metrics.Bytes.WithLabels(Server.Name, "client_to_upstream");

    public Prometheus.Counter.Child BytesDown { get; } = Services.Metrics.Bytes.WithLabels(Server.Name, "upstream_to_client");

    /// <summary>Akka.IO settings for this server's Bind and every Connect it makes: the proxy's, with the server's frame_size.</summary>
    public TcpSettings? Tcp { get; } = Server.FrameSize is { } frame && Services.Tcp is { } tcp ? TcpFrames.WithFrameSize(tcp, frame) : Services.Tcp;
}
