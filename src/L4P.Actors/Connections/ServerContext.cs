using Akka.Actor;
using L4P.Config;
using L4P.Resolution;
using L4P.Routing;
using Microsoft.Extensions.Logging;

namespace L4P.Connections;

/// <summary>What the actors of one server need, built once per config generation and shared read-only.</summary>
public sealed record ServerContext(ServerConfig Server, RouteTable Routes, BackendRegistry Backends, ProxyServices Services)
{
    /// <summary>Category "L4P.Connections": connection and listener lines.</summary>
    public ILogger Log { get; } = Services.Logs.CreateLogger("L4P.Connections");

    public static ServerContext Create(ServerConfig server, ProxyConfig config, BackendRegistry backends, ProxyServices services) =>
        new(server, new RouteTable(server, config.Upstreams), backends, services);
}

/// <summary>The seams to the outside world: Akka.IO's TCP manager, DNS and logging. Tests put probes and scripts here.</summary>
public sealed record ProxyServices(IActorRef TcpManager, IDnsLookup Dns, ILoggerFactory Logs);
