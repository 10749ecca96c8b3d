using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using L4P.Config;
using L4P.Metrics;
using Microsoft.Extensions.Logging;

namespace L4P.LoadBalancing;

/// <summary>
/// A verdict on one upstream address: ejected for <see cref="For"/>, or back in rotation. Plain strings
/// so it crosses the cluster as is; <see cref="Origin"/> names the node that saw the failures.
/// </summary>
public sealed record OutlierVerdict(string Upstream, string Address, bool Ejected, TimeSpan For, string Origin);

/// <summary>
/// Passive outlier detection, node-wide and across config generations: each Router reports the connect
/// outcomes (<c>DialOutcome</c>) its connections send it, for upstreams with <c>outlier:</c>; <see cref="OutlierConfig.Failures"/> failures
/// in a row on this node eject the address for <see cref="OutlierConfig.EjectFor"/>, and a connect that
/// succeeds (when every address was ejected, new connections still try them) brings it back. Verdicts go to
/// <see cref="Broadcast"/> as well (cluster mode: to every node), and every node skips an ejected address.
/// A deliberate shared table, not one actor's state: written by the routers of every live generation
/// (a reload overlaps two) and by the fleet's verdicts, so the failure runs are a concurrent dictionary
/// and the ejected set is an immutable snapshot behind a volatile field (readers are lock-free).
/// </summary>
public sealed class OutlierTable
{
    private readonly ConcurrentDictionary<(string Upstream, IPEndPoint Address), int> _failures = new();
    private ImmutableDictionary<(string Upstream, IPEndPoint Address), DateTimeOffset> _ejected =
        ImmutableDictionary<(string, IPEndPoint), DateTimeOffset>.Empty;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ProxyMetrics? _metrics;

    public OutlierTable(ILoggerFactory? logs = null, ProxyMetrics? metrics = null, TimeProvider? time = null)
    {
        _log = (logs ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger("L4P.Resolution");
        _metrics = metrics;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>This node's name in verdicts (cluster mode: its Akka address).</summary>
    public string Origin { get; set; } = "local";

    /// <summary>Where this node's own verdicts go besides this table (cluster mode: distributed pub-sub).</summary>
    public Action<OutlierVerdict>? Broadcast { get; set; }

    /// <summary>A connect to <paramref name="address"/> failed: eject it when this is failure number N in a row.</summary>
    public void ConnectFailed(string upstream, IPEndPoint address, OutlierConfig config)
    {
        var n = _failures.AddOrUpdate((upstream, address), 1, (_, c) => c + 1);
        if (n < config.Failures || IsEjected(upstream, address)) return;
        _failures.TryRemove((upstream, address), out _);
        _metrics?.Ejections.WithLabels(upstream).Inc();
        Publish(new OutlierVerdict(upstream, address.ToString(), true, config.EjectFor, Origin), $"after {n} failed connects in a row");
    }

    /// <summary>A connect to <paramref name="address"/> succeeded: the failure run ends, and an ejection too.</summary>
    public void ConnectSucceeded(string upstream, IPEndPoint address)
    {
        _failures.TryRemove((upstream, address), out _);
        if (IsEjected(upstream, address))
            Publish(new OutlierVerdict(upstream, address.ToString(), false, TimeSpan.Zero, Origin), "a connect succeeded");
    }

    private void Publish(OutlierVerdict verdict, string why)
    {
        Apply(verdict, why);
        Broadcast?.Invoke(verdict);
    }

    /// <summary>A verdict from another node (or this one).</summary>
    public void Apply(OutlierVerdict verdict) => Apply(verdict, $"by {verdict.Origin}");

    private void Apply(OutlierVerdict v, string why)
    {
        if (!IPEndPoint.TryParse(v.Address, out var address)) return;
        var key = (v.Upstream, address);
        var until = _time.GetUtcNow() + v.For;
        var changed = Swap(e => v.Ejected ? e.SetItem(key, until) : e.Remove(key));
        if (v.Ejected) Log.Ejected(_log, v.Upstream, v.Address, Durations.Format(v.For), why);
        else if (changed) Log.Restored(_log, v.Upstream, v.Address, why);
    }

    /// <summary>No address is ejected anywhere: the common case, one volatile read.</summary>
    public bool None => Volatile.Read(ref _ejected).IsEmpty;

    public bool IsEjected(string upstream, IPEndPoint address)
    {
        var ejected = Volatile.Read(ref _ejected);
        if (ejected.IsEmpty || !ejected.TryGetValue((upstream, address), out var until)) return false;
        if (until > _time.GetUtcNow()) return true;
        // The time passed: back in rotation (removed here, as no timer runs for it), unless a newer
        // verdict replaced this one meanwhile.
        Swap(e => e.TryGetValue((upstream, address), out var u) && u == until ? e.Remove((upstream, address)) : e);
        return false;
    }

    /// <summary>Replaces the ejected set atomically; true when <paramref name="change"/> changed it.</summary>
    private bool Swap(Func<ImmutableDictionary<(string, IPEndPoint), DateTimeOffset>, ImmutableDictionary<(string, IPEndPoint), DateTimeOffset>> change)
    {
        ImmutableDictionary<(string, IPEndPoint), DateTimeOffset> before, after;
        do
        {
            before = Volatile.Read(ref _ejected);
            after = change(before);
        }
        while (!ReferenceEquals(Interlocked.CompareExchange(ref _ejected, after, before), before));
        return !ReferenceEquals(before, after);
    }
}
