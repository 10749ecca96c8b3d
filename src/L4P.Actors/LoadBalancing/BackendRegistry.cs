using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using L4P.Config;

namespace L4P.LoadBalancing;

/// <summary>
/// The current addresses of every TCP upstream, for new connections: each target's resolved addresses
/// (IP literals from the start) with its port, minus those health checks marked down, ordered by the
/// upstream's <c>balance</c>. The state of one <see cref="Routing.Router"/>, which alone changes it and
/// picks addresses from it; the status page reads it from elsewhere, so each upstream's state is an
/// immutable snapshot swapped atomically.
/// </summary>
public sealed class BackendRegistry
{
    private sealed class Upstream(TcpUpstreamConfig config)
    {
        public readonly TcpUpstreamConfig Config = config;
        public int Cursor = -1;
        public readonly ConcurrentDictionary<IPEndPoint, int> Active = new();
        public Snapshot Current = Snapshot.Empty;
    }

    /// <summary>Per-target addresses, the flattened endpoints, the ones down, and when DNS last changed them.</summary>
    private sealed record Snapshot(ImmutableArray<ImmutableArray<IPAddress>> PerTarget, ImmutableArray<IPEndPoint> Endpoints,
        ImmutableHashSet<IPEndPoint> Down, DateTimeOffset? ChangedAt)
    {
        public static readonly Snapshot Empty = new([], [], [], null);
    }

    private readonly Dictionary<string, Upstream> _upstreams = [];
    private readonly OutlierTable _outliers;

    /// <param name="config">The generation's upstreams.</param>
    /// <param name="outliers">The node's ejected addresses (shared by every generation); none when null.</param>
    public BackendRegistry(ProxyConfig config, OutlierTable? outliers = null)
    {
        _outliers = outliers ?? new OutlierTable();
        foreach (var u in config.Upstreams.Values.OfType<TcpUpstreamConfig>())
        {
            var entry = new Upstream(u);
            // IP literals are never resolved: they are there from the start.
            entry.Current = Build(entry, [.. u.Targets.Select(t => t.Literal is { } ip ? ImmutableArray.Create(ip) : ImmutableArray<IPAddress>.Empty)],
                ImmutableHashSet<IPEndPoint>.Empty, null);
            _upstreams[u.Name] = entry;
        }
    }

    private static Snapshot Build(Upstream u, ImmutableArray<ImmutableArray<IPAddress>> perTarget, ImmutableHashSet<IPEndPoint> down, DateTimeOffset? changed) =>
        new(perTarget, [.. perTarget.SelectMany((addresses, i) => addresses.Select(a => new IPEndPoint(a, u.Config.Targets[i].Port))).Distinct()],
            down, changed);

    private void Update(string upstream, Func<Upstream, Snapshot, Snapshot> change)
    {
        if (!_upstreams.TryGetValue(upstream, out var u)) return;
        Snapshot before;
        do before = Volatile.Read(ref u.Current);
        while (!ReferenceEquals(Interlocked.CompareExchange(ref u.Current, change(u, before), before), before));
    }

    /// <summary>DNS says target number <paramref name="target"/> of <paramref name="upstream"/> is now at <paramref name="addresses"/>.</summary>
    public void SetTarget(string upstream, int target, ImmutableArray<IPAddress> addresses) =>
        Update(upstream, (u, s) => Build(u, s.PerTarget.SetItem(target, addresses), s.Down, DateTimeOffset.UtcNow));

    /// <summary>A health check's verdict on one address.</summary>
    public void SetHealth(string upstream, IPEndPoint endpoint, bool up) =>
        Update(upstream, (u, s) => s with { Down = up ? s.Down.Remove(endpoint) : s.Down.Add(endpoint) });

    /// <summary>Every address of the upstream, down ones included (what health checks probe).</summary>
    public ImmutableArray<IPEndPoint> Endpoints(string upstream) =>
        _upstreams.TryGetValue(upstream, out var u) ? Volatile.Read(ref u.Current).Endpoints : [];

    public bool IsEjected(string upstream, IPEndPoint endpoint) => _outliers.IsEjected(upstream, endpoint);

    public bool IsDown(string upstream, IPEndPoint endpoint) =>
        _upstreams.TryGetValue(upstream, out var u) && Volatile.Read(ref u.Current).Down.Contains(endpoint);

    public DateTimeOffset? ChangedAt(string upstream) =>
        _upstreams.TryGetValue(upstream, out var u) ? Volatile.Read(ref u.Current).ChangedAt : null;

    /// <summary>Connections open to each address (for leastconn).</summary>
    public int ActiveOn(string upstream, IPEndPoint endpoint) =>
        _upstreams.TryGetValue(upstream, out var u) ? u.Active.GetValueOrDefault(endpoint) : 0;

    /// <summary>A connection to <paramref name="endpoint"/> was made; call <see cref="Release"/> when it ends.</summary>
    public void Acquire(string upstream, IPEndPoint endpoint)
    {
        if (_upstreams.TryGetValue(upstream, out var u)) u.Active.AddOrUpdate(endpoint, 1, (_, n) => n + 1);
    }

    public void Release(string upstream, IPEndPoint endpoint)
    {
        if (_upstreams.TryGetValue(upstream, out var u)) u.Active.AddOrUpdate(endpoint, 0, (_, n) => Math.Max(0, n - 1));
    }

    /// <summary>Why <see cref="NextOrder"/> is empty: no address at all, or all of them down.</summary>
    public bool AllDown(string upstream) =>
        _upstreams.TryGetValue(upstream, out var u) && Volatile.Read(ref u.Current) is { Endpoints.Length: > 0 } s && s.Endpoints.All(s.Down.Contains);

    /// <summary>
    /// The addresses to try for a new connection, best first, each once (the rest are fall-throughs
    /// when one refuses): roundrobin starts at the next in turn, random anywhere, source at a place
    /// fixed by the client's IP, leastconn at the fewest open connections. Down addresses are left out,
    /// and so are ejected ones unless every address left is ejected (then they are tried all the same:
    /// a connect that succeeds brings one back sooner than failing every client would).
    /// </summary>
    public IPEndPoint[] NextOrder(string upstream, IPAddress? client = null)
    {
        if (!_upstreams.TryGetValue(upstream, out var u)) return [];
        var s = Volatile.Read(ref u.Current);
        var usable = s.Down.IsEmpty ? s.Endpoints : [.. s.Endpoints.Where(e => !s.Down.Contains(e))];
        if (!_outliers.None)
        {
            ImmutableArray<IPEndPoint> kept = [.. usable.Where(e => !_outliers.IsEjected(upstream, e))];
            if (kept.Length > 0) usable = kept;
        }
        var n = usable.Length;
        if (n == 0) return [];
        var start = u.Config.Balance switch
        {
            Balance.Random => Random.Shared.Next(n),
            Balance.Source when client is not null => (int)((uint)StableHash(client) % (uint)n),
            _ => (int)((uint)Interlocked.Increment(ref u.Cursor) % (uint)n),
        };
        var order = new IPEndPoint[n];
        for (var i = 0; i < n; i++) order[i] = usable[(start + i) % n];
        // Stable sort: among equally loaded addresses the rotation decides.
        return u.Config.Balance == Balance.LeastConn ? [.. order.OrderBy(e => u.Active.GetValueOrDefault(e))] : order;
    }

    /// <summary>FNV-1a over the address bytes: the same client IP maps to the same place in every process.</summary>
    private static int StableHash(IPAddress address)
    {
        var ip = Protocol.IpEndpoints.Unmap(address);
        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out var written);
        var h = 2166136261u;
        foreach (var b in bytes[..written]) h = (h ^ b) * 16777619u;
        return (int)h;
    }
}
