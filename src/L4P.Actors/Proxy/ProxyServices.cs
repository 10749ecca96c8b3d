using Akka.Actor;
using L4P.LoadBalancing;
using L4P.Metrics;
using L4P.Resolution;
using Microsoft.Extensions.Logging;

namespace L4P.Proxy;

/// <summary>The seams to the outside world: Akka.IO's TCP manager, DNS, logging, metrics. Tests put probes and scripts here.</summary>
public sealed record ProxyServices(IActorRef TcpManager, IDnsLookup Dns, ILoggerFactory Logs, ProxyMetrics Metrics)
{
    /// <summary>Version, uptime and the current config generation, for the status page.</summary>
    public ProxyStatus Status { get; init; } = new("unknown");

    /// <summary>The fleet, in cluster mode (for <c>GET /cluster</c>); null when standalone.</summary>
    public Cluster.FleetView? Fleet { get; init; }

    /// <summary>Ejected upstream addresses, node-wide (shared with the fleet in cluster mode).</summary>
    public OutlierTable Outliers { get; init; } = new(Logs, Metrics);

    /// <summary>
    /// The DNS lookup for one config generation's <c>resolver:</c> (its nameservers and timeout), so a
    /// reload that changes them takes effect. Null: <see cref="Dns"/> serves every generation (a test's
    /// script, or a lookup the host supplied).
    /// </summary>
    public Func<Config.ResolverConfig, IDnsLookup>? DnsFor { get; init; }

    /// <summary>The lookup a generation with <paramref name="resolver"/> uses.</summary>
    public IDnsLookup DnsOf(Config.ResolverConfig resolver) => DnsFor?.Invoke(resolver) ?? Dns;

    /// <summary>Which DNS names this node looks up periodically (cluster mode: the ones it owns).</summary>
    public INameOwnership Ownership { get; init; } = INameOwnership.All;

    /// <summary>Where DNS changes go besides this node (cluster mode: every other node).</summary>
    public IBackendsPublisher? FleetBackends { get; init; }

    /// <summary>Fleet-wide <c>maxclients</c> for servers with <c>maxclients_scope: cluster</c>; null when standalone.</summary>
    public Cluster.FleetLimits? FleetLimits { get; init; }

    /// <summary>Cluster mode: starts the fleet's actors as children of the ProxyRoot; null when standalone.</summary>
    public Action<IActorContext>? StartFleet { get; init; }

    /// <summary>
    /// Akka.IO settings for every Bind and Connect L4P makes (frame size above all); null: the actor
    /// system's <c>akka.io.tcp</c>. Set per proxy, so an application hosting L4P keeps its own.
    /// </summary>
    public Akka.IO.TcpSettings? Tcp { get; init; }

    /// <summary>
    /// The clock elapsed times are read from: the idle timeout (time since the last byte), what is left of
    /// the connect timeout for the next address, and the durations logged and measured. A simulation on
    /// virtual time (an Akka scheduler the test advances) puts a clock here that moves with it, so those
    /// readings agree with the timers that trigger them.
    /// </summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The process-wide ceiling on client connections (from RLIMIT_NOFILE and <c>max_connections</c>), shared by every listener.</summary>
    public ConnectionBudget Budget { get; init; } = new();
}
