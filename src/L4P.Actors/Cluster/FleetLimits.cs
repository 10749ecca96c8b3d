using System.Collections.Concurrent;

namespace L4P.Cluster;

/// <summary>
/// Fleet-wide <c>maxclients</c> for servers with <c>maxclients_scope: cluster</c>. Each node counts its own
/// connections of the server (all its listen addresses) and, through <see cref="FleetLimiter"/>, publishes
/// the count in DistributedData and sees the other members' counts. A node admits a connection while
/// <c>own + others &lt; maxclients</c> and while its own count stays under a ceiling set at each new view
/// of the fleet: its count then plus <c>ceil(headroom / members)</c>. So between two views each node takes
/// at most its slice of the headroom it saw, and when the views agree the fleet holds at most
/// <c>maxclients + members - 1</c> (the rounding up). Listeners call it once per accepted connection;
/// a lock per server, never contended for long.
/// </summary>
public sealed class FleetLimits
{
    internal sealed class Server(int max)
    {
        public int Max = max;
        public int Local;
        public int Others;
        public int Ceiling;
        public int Published = -1;
        public long LastAdmit;
    }

    private readonly ConcurrentDictionary<string, Server> _servers = new(StringComparer.Ordinal);
    private volatile int _members = 1;
    private volatile int _epoch;

    /// <summary>The fleet incarnation whose limiter may set views (as <see cref="FleetView.Epoch"/>).</summary>
    internal int Epoch { get => _epoch; set => _epoch = value; }

    /// <summary>Admits one connection to <paramref name="server"/> if the fleet has room; call <see cref="Release"/> when it ends.</summary>
    public bool TryAdmit(string server, int max)
    {
        var s = _servers.GetOrAdd(server, _ => new Server(max) { Ceiling = Slice(max, _members) });
        lock (s)
        {
            s.Max = max;
            if (s.Local + s.Others >= max || s.Local >= s.Ceiling) return false;
            s.Local++;
            s.LastAdmit = System.Diagnostics.Stopwatch.GetTimestamp();
            return true;
        }
    }

    public void Release(string server)
    {
        if (!_servers.TryGetValue(server, out var s)) return;
        lock (s) s.Local = Math.Max(0, s.Local - 1);
    }

    /// <summary>One server as this node sees it: its count, the others' as last replicated, and its current ceiling.</summary>
    public readonly record struct ServerView(string Server, int Max, int Local, int Others, int Ceiling);

    /// <summary>Every server with a fleet-wide limit, for <c>GET /cluster</c>.</summary>
    public IReadOnlyList<ServerView> Snapshot() =>
        [.. _servers.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv =>
        {
            lock (kv.Value) return new ServerView(kv.Key, kv.Value.Max, kv.Value.Local, kv.Value.Others, kv.Value.Ceiling);
        })];

    internal IEnumerable<string> Servers => _servers.Keys;

    /// <summary>Starts counting a server before its first connection (so its first view comes early).</summary>
    internal void Register(string server, int max) => _servers.TryAdd(server, new Server(max) { Ceiling = Slice(max, _members) });

    /// <summary>No connection admitted for <paramref name="quiet"/>: the others have heard this node's count by now.</summary>
    internal bool QuietFor(string server, TimeSpan quiet)
    {
        if (!_servers.TryGetValue(server, out var s)) return true;
        lock (s) return System.Diagnostics.Stopwatch.GetElapsedTime(s.LastAdmit) >= quiet;
    }

    /// <summary>
    /// This node's count if the fleet of incarnation <paramref name="epoch"/> has not heard it yet (and marks
    /// it heard); null for an incarnation that is gone, so its last ticks cannot mark heard what the next never got.
    /// </summary>
    internal int? TakeUnpublished(string server, int epoch) => epoch == Epoch ? TakeUnpublished(server) : null;

    /// <summary>This node's count if the fleet has not heard it yet (and marks it heard).</summary>
    internal int? TakeUnpublished(string server)
    {
        if (!_servers.TryGetValue(server, out var s)) return null;
        lock (s)
        {
            if (s.Local == s.Published) return null;
            s.Published = s.Local;
            return s.Local;
        }
    }

    /// <summary>
    /// This node is out of the cluster (downed, removed, cut off): nobody's counts reach it, so each server
    /// falls back to this node's own share of its limit, <c>ceil(maxclients / members)</c> with the members
    /// of the last view; and its count is published again to the fleet it rejoins.
    /// </summary>
    internal void Detach()
    {
        foreach (var s in _servers.Values)
            lock (s)
            {
                s.Others = 0;
                s.Ceiling = Slice(s.Max, _members);
                s.Published = -1;
            }
    }

    /// <summary><see cref="Detach()"/> from fleet incarnation <paramref name="epoch"/> (cut off); ignored from one that is gone.</summary>
    internal void Detach(int epoch)
    {
        if (epoch == Epoch) Detach();
    }

    /// <summary>A new view of the fleet from incarnation <paramref name="epoch"/>; ignored from one that is gone.</summary>
    internal void SetView(string server, int others, int members, int epoch)
    {
        if (epoch == Epoch) SetView(server, others, members);
    }

    /// <summary>A new view of the fleet: the other members' counts and how many members are up.</summary>
    internal void SetView(string server, int others, int members)
    {
        _members = Math.Max(1, members);
        if (!_servers.TryGetValue(server, out var s)) return;
        lock (s)
        {
            s.Others = others;
            s.Ceiling = s.Local + Slice(s.Max - others - s.Local, _members);
        }
    }

    internal static int Slice(int headroom, int members) => headroom <= 0 ? 0 : (headroom + members - 1) / members;
}
