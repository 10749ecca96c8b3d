using Prometheus;

namespace L4P.Metrics;

/// <summary>
/// L4P's Prometheus metrics (prometheus-net), one registry per process. Actors update counters and
/// gauges directly: they are lock-free, so the relay path sends no message for them. The names are
/// stable and documented in the README.
/// </summary>
public sealed class ProxyMetrics
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] ConnectBuckets = Histogram.ExponentialBuckets(0.0005, 2, 16);

    private readonly CollectorRegistry _registry;
    private readonly Gauge _maxConnections;
    private readonly Histogram _upstreamConnectSeconds;
    private int _ceiling = NoCeiling;
    private const int NoCeiling = -1;

    public Gauge ActiveConnections { get; }
    public Gauge MaxClients { get; }
    public Counter Connections { get; }
    public Counter Bytes { get; }

    /// <summary>The buckets of <c>l4p_upstream_connect_seconds</c> per upstream, readable (the histogram's are not).</summary>
    public BucketCounts UpstreamConnectTimes { get; } = new(ConnectBuckets);

    public Counter DnsResolutions { get; }
    public Gauge UpstreamAddresses { get; }
    public Counter ConfigReloads { get; }
    public Counter Routes { get; }
    public Gauge UpstreamUp { get; }
    public Gauge ClusterMembers { get; }
    public Gauge ClusterDetached { get; }
    public Counter Ejections { get; }
    public Counter AdminRefused { get; }

    /// <summary>Long-lived actors of the tree restarted (or resumed) after they died (<c>actor</c>: router, resolver, health_check, listener, proxy_root).</summary>
    public Counter ActorRestarts { get; }

    /// <summary><c>l4p_open_sockets</c>, set from <see cref="OpenSockets.Count"/> before each scrape.</summary>
    public Gauge OpenSocketsGauge { get; }

    /// <summary>Client connections open on this node, all servers: the sum of <see cref="ActiveConnections"/> (what cluster mode publishes as load).</summary>
    public long TotalActive => (long)ActiveConnections.GetAllLabelValues().Sum(labels => ActiveConnections.WithLabels(labels).Value);

    public ProxyMetrics(bool processMetrics = true)
    {
        _registry = Prometheus.Metrics.NewCustomRegistry();
        if (processMetrics) DotNetStats.Register(_registry);
        var f = Prometheus.Metrics.WithCustomRegistry(_registry);
        ActiveConnections = f.CreateGauge("l4p_active_connections", "Client connections open now.",
            new GaugeConfiguration { LabelNames = ["server", "listen"] });
        MaxClients = f.CreateGauge("l4p_maxclients", "The maxclients limit of each listen address.",
            new GaugeConfiguration { LabelNames = ["server", "listen"] });
        _maxConnections = f.CreateGauge("l4p_max_connections", "The process-wide ceiling on client connections (from RLIMIT_NOFILE and max_connections); absent without one.",
            new GaugeConfiguration { SuppressInitialValue = true });
        Connections = f.CreateCounter("l4p_connections_total", "Finished client connections, by how they ended.",
            new CounterConfiguration { LabelNames = ["server", "upstream", "result"] });
        Bytes = f.CreateCounter("l4p_bytes_total", "Bytes relayed; direction is client_to_upstream or upstream_to_client.",
            new CounterConfiguration { LabelNames = ["server", "direction"] });
        _upstreamConnectSeconds = f.CreateHistogram("l4p_upstream_connect_seconds", "Time to a usable upstream connection (TCP connect, plus CONNECT when via applies).",
            new HistogramConfiguration { LabelNames = ["upstream"], Buckets = ConnectBuckets });
        DnsResolutions = f.CreateCounter("l4p_dns_resolutions_total", "DNS lookups of upstream names; result is ok or failed.",
            new CounterConfiguration { LabelNames = ["upstream", "result"] });
        UpstreamAddresses = f.CreateGauge("l4p_upstream_addresses", "Addresses an upstream name currently resolves to.",
            new GaugeConfiguration { LabelNames = ["upstream"] });
        Routes = f.CreateCounter("l4p_routes_total", "Connections routed, by the rule that chose the upstream (an sni: pattern or default).",
            new CounterConfiguration { LabelNames = ["server", "rule"] });
        UpstreamUp = f.CreateGauge("l4p_upstream_up", "1 when an upstream address passes its health checks, 0 when it is down.",
            new GaugeConfiguration { LabelNames = ["upstream", "address"] });
        ClusterMembers = f.CreateGauge("l4p_cluster_members", "Cluster members with status up, as this node sees them (cluster mode).");
        ClusterDetached = f.CreateGauge("l4p_cluster_detached", "1 while this node is out of the cluster (downed, removed, cut off) and proxying on its own view; 0 otherwise (cluster mode).");
        Ejections = f.CreateCounter("l4p_upstream_ejections_total", "Upstream addresses this node ejected after failed connects in a row (outlier:).",
            new CounterConfiguration { LabelNames = ["upstream"] });
        AdminRefused = f.CreateCounter("l4p_admin_refused_total", "Requests the admin built-in answered 403; reason is forbidden_source or bad_token.",
            new CounterConfiguration { LabelNames = ["server", "reason"] });
        ActorRestarts = f.CreateCounter("l4p_actor_restarts_total", "Long-lived actors (router, resolver, health_check, listener, proxy_root) restarted after they died; each death is also logged.",
            new CounterConfiguration { LabelNames = ["actor"] });
        OpenSocketsGauge = f.CreateGauge("l4p_open_sockets", "Sockets the process holds now (listeners, both sides of each pair, probes, DNS, cluster); read from /proc at each scrape.",
            new GaugeConfiguration { SuppressInitialValue = true });
        _registry.AddBeforeCollectCallback(() =>
        {
            if (OpenSockets.Count() is { } n) OpenSocketsGauge.Set(n);
        });
        ConfigReloads = f.CreateCounter("l4p_config_reloads_total", "Config reloads (SIGHUP); result is ok, bind_failed, invalid, busy, failed, cancelled or timeout.",
            new CounterConfiguration { LabelNames = ["result"] });
    }

    /// <summary>The process-wide connection ceiling (<c>l4p_max_connections</c>); null without one.</summary>
    public int? Ceiling => Volatile.Read(ref _ceiling) is var c && c == NoCeiling ? null : c;

    /// <summary>Publishes the ceiling, or withdraws <c>l4p_max_connections</c> when there is none.</summary>
    public void SetCeiling(int? ceiling)
    {
        // The gauge cannot say whether it is published: the value is kept beside it for the status report.
        Volatile.Write(ref _ceiling, ceiling ?? NoCeiling);
        if (ceiling is { } c) _maxConnections.Set(c);
        else _maxConnections.Unpublish();
    }

    /// <summary>One upstream connect took <paramref name="seconds"/>: into the histogram and its readable buckets.</summary>
    public void ObserveUpstreamConnect(string upstream, double seconds)
    {
        _upstreamConnectSeconds.WithLabels(upstream).Observe(seconds);
        UpstreamConnectTimes.Observe(upstream, seconds);
    }

    /// <summary>The Prometheus text exposition of every metric.</summary>
    public async Task<byte[]> RenderAsync()
    {
        using var ms = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(ms).ConfigureAwait(false);
        return ms.ToArray();
    }
}
