using L4P.Proxy;

namespace L4P.Metrics;

/// <summary>
/// What the status page needs beyond the metrics: version, uptime, the current generation and, in
/// cluster mode, where this node stands with the cluster.
/// Written by ProxyRoot on (re)load, read by health connections; an immutable snapshot behind a volatile field.
/// </summary>
public sealed class ProxyStatus(string version)
{
    private StatusGeneration? _current;
    private int _cluster = -1;

    public string Version { get; } = version;
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public StatusGeneration? Current
    {
        get => Volatile.Read(ref _current);
        set => Volatile.Write(ref _current, value);
    }

    /// <summary>Cluster mode: joining, up, detached or leaving (set by the fleet's host); null when standalone.</summary>
    public L4P.Cluster.FleetState? Cluster
    {
        get => Volatile.Read(ref _cluster) is var c and >= 0 ? (L4P.Cluster.FleetState)c : null;
        set => Volatile.Write(ref _cluster, value is { } v ? (int)v : -1);
    }
}
