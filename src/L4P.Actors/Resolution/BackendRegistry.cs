using System.Collections.Immutable;
using System.Net;

namespace L4P.Resolution;

/// <summary>
/// The current addresses of every named upstream, for new connections. One writer (the Router actor),
/// many lock-free readers (connection actors): the table is an immutable snapshot swapped atomically,
/// so picking addresses costs no message and no lock. Each upstream keeps a round-robin cursor.
/// </summary>
public sealed class BackendRegistry
{
    private sealed class Entry(ImmutableArray<IPAddress> addresses, DateTimeOffset changedAt)
    {
        public readonly ImmutableArray<IPAddress> Addresses = addresses;
        public readonly DateTimeOffset ChangedAt = changedAt;
        public int Cursor = -1;
    }

    private ImmutableDictionary<string, Entry> _entries = ImmutableDictionary<string, Entry>.Empty;

    public void Set(string upstream, ImmutableArray<IPAddress> addresses) =>
        ImmutableInterlocked.Update(ref _entries, e => e.SetItem(upstream, new Entry(addresses, DateTimeOffset.UtcNow)));

    /// <summary>When the addresses of <paramref name="upstream"/> last changed (for the status page).</summary>
    public DateTimeOffset? ChangedAt(string upstream) =>
        Volatile.Read(ref _entries).TryGetValue(upstream, out var e) ? e.ChangedAt : null;

    public ImmutableArray<IPAddress> Current(string upstream) =>
        Volatile.Read(ref _entries).TryGetValue(upstream, out var e) ? e.Addresses : [];

    public bool Has(string upstream) => Volatile.Read(ref _entries).ContainsKey(upstream);

    /// <summary>The addresses to try for a new connection: all of them, starting at the next in turn.</summary>
    public IPAddress[] NextOrder(string upstream)
    {
        if (!Volatile.Read(ref _entries).TryGetValue(upstream, out var e) || e.Addresses.IsEmpty) return [];
        var n = e.Addresses.Length;
        var start = (int)((uint)Interlocked.Increment(ref e.Cursor) % (uint)n);
        var order = new IPAddress[n];
        for (var i = 0; i < n; i++) order[i] = e.Addresses[(start + i) % n];
        return order;
    }
}
