using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace L4P.Cluster;

/// <summary>One cluster member as this node sees it.</summary>
public sealed record FleetMember(string Address, string Status, ImmutableArray<string> Roles, long? ActiveConnections, DateTimeOffset? LoadSeenAt);

/// <summary>
/// The fleet as this node knows it, for <c>GET /cluster</c>, <c>l4p_cluster_members</c> and DNS name
/// ownership: written by <see cref="FleetStatus"/>, read by health connections and Resolvers; an
/// immutable snapshot behind a volatile field.
/// </summary>
public sealed class FleetView : Resolution.INameOwnership
{
    private ImmutableSortedDictionary<string, FleetMember> _members = ImmutableSortedDictionary<string, FleetMember>.Empty;
    private volatile int _epoch;
    private volatile FleetState _state = FleetState.Joining;
    private volatile bool _cutOff;

    public string SelfAddress { get; internal set; } = "";

    /// <summary>
    /// Joining, up, detached or leaving (set by the fleet's host actor); a member that is cut off from the
    /// majority (<see cref="CutOff"/>) shows detached too: it works from its own view already.
    /// </summary>
    public FleetState State { get => _state == FleetState.Up && _cutOff ? FleetState.Detached : _state; internal set => _state = value; }

    /// <summary>Up, but reaching only a minority of the members (FleetStatus's reachability events).</summary>
    public bool CutOff => _cutOff;

    /// <summary>Sets <see cref="CutOff"/> from fleet incarnation <paramref name="epoch"/>; false (and ignored) from one that is gone.</summary>
    internal bool SetCutOff(bool cutOff, int epoch)
    {
        if (epoch != Epoch) return false;
        _cutOff = cutOff;
        return true;
    }

    private long _lastWarning = long.MinValue;

    /// <summary>One incident (cut off, maybe reachable and cut off again, downed, rebuilt) is one warning.</summary>
    public static readonly TimeSpan WarningQuiet = TimeSpan.FromMinutes(1);

    /// <summary>True when no detach warning was logged in the last <see cref="WarningQuiet"/> (and records this one).</summary>
    internal bool TakeWarning()
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarning);
        if (last != long.MinValue && System.Diagnostics.Stopwatch.GetElapsedTime(last, now) < WarningQuiet) return false;
        Interlocked.Exchange(ref _lastWarning, now);
        return true;
    }

    /// <summary>A new incarnation starts reachable.</summary>
    internal void ClearCutOff() => _cutOff = false;

    /// <summary>Shows <see cref="State"/> on the status page and in <c>l4p_cluster_detached</c>.</summary>
    internal void ShowIn(Metrics.ProxyStatus status, Metrics.ProxyMetrics metrics)
    {
        var state = State;
        status.Cluster = state;
        metrics.ClusterDetached.Set(state == FleetState.Detached ? 1 : 0);
    }

    /// <summary>
    /// The fleet incarnation whose actors may write this view. A downed fleet's actors still run for a
    /// moment while their ActorSystem shuts down: their writes carry the old epoch and are dropped.
    /// </summary>
    internal int Epoch { get => _epoch; set => _epoch = value; }

    /// <summary>Fleet-wide maxclients state, shown in <c>/cluster</c>.</summary>
    public FleetLimits? Limits { get; internal set; }

    public ImmutableSortedDictionary<string, FleetMember> Members => Volatile.Read(ref _members);

    internal void Set(ImmutableSortedDictionary<string, FleetMember> members) => Volatile.Write(ref _members, members);

    /// <summary>The members as fleet incarnation <paramref name="epoch"/> sees them; ignored from an incarnation that is gone.</summary>
    internal bool Set(ImmutableSortedDictionary<string, FleetMember> members, int epoch)
    {
        if (epoch != Epoch) return false;
        Set(members);
        return true;
    }

    /// <summary>Sets the members (tests build views without a cluster).</summary>
    internal FleetView With(IEnumerable<FleetMember> members)
    {
        Set(members.ToImmutableSortedDictionary(m => m.Address, m => m, StringComparer.Ordinal));
        return this;
    }

    /// <summary>
    /// Rendezvous hashing over the members that are up: every node computes the same owner for a name
    /// from the same membership, and a member leaving moves only its own names. A node that is not up
    /// (not joined yet, or cut off) owns every name, so it never serves from addresses nobody refreshes.
    /// </summary>
    public bool Owns(Resolution.BackendKey key) => OwnerOf(key) is not { } owner || owner == SelfAddress;

    /// <summary>The up member that keeps <paramref name="key"/> fresh, or null when this node is not up (or cut off).</summary>
    public string? OwnerOf(Resolution.BackendKey key)
    {
        if (_cutOff) return null; // the owners it cannot reach refresh nothing it hears
        var members = Members;
        if (!members.TryGetValue(SelfAddress, out var self) || self.Status != "up") return null;
        string? best = null;
        var bestScore = 0UL;
        foreach (var m in members.Values)
        {
            if (m.Status != "up") continue;
            var score = Fnv($"{key.Host}|{key.Family}|{m.Address}");
            if (best is null || score > bestScore) (best, bestScore) = (m.Address, score);
        }
        return best;
    }

    private static ulong Fnv(string s)
    {
        var h = 14695981039346656037UL;
        foreach (var c in s) h = (h ^ c) * 1099511628211UL;
        return h;
    }

    /// <summary>The <c>GET /cluster</c> document: this node's address and state, members with their load, and the fleet-wide limits.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(new FleetDocument(true, SelfAddress, State.Label(),
        [.. Members.Values.Select(m => new MemberDocument(m.Address, m.Status, m.Roles, m.ActiveConnections, m.LoadSeenAt))],
        [.. (Limits?.Snapshot() ?? []).Select(l => new LimitDocument(l.Server, l.Max, l.Local, l.Others, l.Ceiling))]),
        FleetJson.Default.FleetDocument);
}

internal sealed record FleetDocument(bool Enabled, string Self, string State, IReadOnlyList<MemberDocument> Members, IReadOnlyList<LimitDocument> Limits);

internal sealed record MemberDocument(string Address, string Status, IReadOnlyList<string> Roles, long? ActiveConnections, DateTimeOffset? LoadSeenAt);

internal sealed record LimitDocument(string Server, int Maxclients, int ThisNode, int OtherNodes, int ThisNodeCeiling);

/// <summary>Source-generated serialization of the <c>/cluster</c> document (snake_case, as the README documents it).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(FleetDocument))]
internal sealed partial class FleetJson : JsonSerializerContext;
