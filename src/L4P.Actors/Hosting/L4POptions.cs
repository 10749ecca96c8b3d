using Akka.Actor;
using Akka.IO;
using L4P.Cluster;
using L4P.Config;
using L4P.Connections;
using L4P.Metrics;
using L4P.Proxy;
using L4P.Resolution;
using Microsoft.Extensions.Logging;

namespace L4P.Hosting;

/// <summary>How <see cref="L4PAkkaExtensions.WithL4P"/> hosts the proxy; everything has a default.</summary>
public sealed class L4POptions
{
    /// <summary>DNS for upstream names; null: the config's <c>resolver.nameservers</c>, else the system resolver.</summary>
    public IDnsLookup? Dns { get; set; }

    /// <summary>The version shown on the status page.</summary>
    public string Version { get; set; } = typeof(L4POptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// Akka.IO's frame size for L4P's own sockets (null: 32 KiB): each connection's read and write batch
    /// and its receive buffer. Passed with every Bind and Connect, so the host's <c>akka.io.tcp</c> stays as it is.
    /// </summary>
    public int? MaxFrameSize { get; set; }

    /// <summary>The name of the proxy's root actor under <c>/user</c>.</summary>
    public string ActorName { get; set; } = "proxy";

    /// <summary>
    /// Cluster mode: Akka settings for the fleet's own ActorSystem (failure detector, gossip intervals,
    /// ...), in front of the host system's settings, which it falls back to. The <c>cluster:</c> section's
    /// address, seeds, roles and split-brain resolver win over both.
    /// </summary>
    public Akka.Configuration.Config? FleetConfig { get; set; }

    /// <summary>The seams the proxy's actors use, from these options and what the host provides.</summary>
    internal ProxyServices Services(ActorSystem system, ProxyConfig config, ILoggerFactory logs, ProxyMetrics metrics)
    {
        var log = logs.CreateLogger("L4P.Resolution");
        IDnsLookup Lookup(ResolverConfig resolver) => resolver.Nameservers.IsEmpty ? SystemDnsLookup.Instance : new NameserverDnsLookup(resolver, log);
        var first = Dns ?? Lookup(config.Resolver);
        var services = new ProxyServices(system.Tcp(), first, logs, metrics)
        {
            // A host's own lookup serves every generation; L4P's follows each generation's resolver:
            // section (the first generation's is the one built here).
            DnsFor = Dns is not null ? null : resolver => ReferenceEquals(resolver, config.Resolver) ? first : Lookup(resolver),
            Status = new ProxyStatus(Version),
            Tcp = TcpSettingsFor(system, MaxFrameSize ?? DefaultFrameSize),
        };
        if (!config.Cluster.Enabled) return services;
        var fleetHocon = FleetConfig is { } own ? own.WithFallback(system.Settings.Config) : system.Settings.Config;
        return FleetNode.Join(config, services, fleetHocon);
    }

    /// <summary>The default frame: bulk throughput against idle memory (README: Performance).</summary>
    public const int DefaultFrameSize = 32 * 1024;

    /// <summary>The system's Akka.IO settings with L4P's frame size.</summary>
    public static TcpSettings TcpSettingsFor(ActorSystem system, int frameSize) => TcpFrames.WithFrameSize(TcpSettings.Create(system), frameSize);
}
