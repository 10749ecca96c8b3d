using System.Collections.Immutable;
using System.Text.Json;

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

    public string SelfAddress { get; internal set; } = "";

    /// <summary>Fleet-wide maxclients state, shown in <c>/cluster</c>.</summary>
    public FleetLimits? Limits { get; internal set; }

    public ImmutableSortedDictionary<string, FleetMember> Members => Volatile.Read(ref _members);

    internal void Set(ImmutableSortedDictionary<string, FleetMember> members) => Volatile.Write(ref _members, members);

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

    /// <summary>The up member that keeps <paramref name="key"/> fresh, or null when this node is not up.</summary>
    public string? OwnerOf(Resolution.BackendKey key)
    {
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

    /// <summary>The <c>/cluster</c> document: this node's address and every member with its status, roles and load.</summary>
    public byte[] ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteBoolean("enabled", true);
            w.WriteString("self", SelfAddress);
            w.WriteStartArray("members");
            foreach (var m in Members.Values)
            {
                w.WriteStartObject();
                w.WriteString("address", m.Address);
                w.WriteString("status", m.Status);
                w.WriteStartArray("roles");
                foreach (var r in m.Roles) w.WriteStringValue(r);
                w.WriteEndArray();
                if (m.ActiveConnections is { } active) w.WriteNumber("active_connections", active);
                else w.WriteNull("active_connections");
                if (m.LoadSeenAt is { } seen) w.WriteString("load_seen_at", seen);
                else w.WriteNull("load_seen_at");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("limits");
            foreach (var l in Limits?.Snapshot() ?? [])
            {
                w.WriteStartObject();
                w.WriteString("server", l.Server);
                w.WriteNumber("maxclients", l.Max);
                w.WriteNumber("this_node", l.Local);
                w.WriteNumber("other_nodes", l.Others);
                w.WriteNumber("this_node_ceiling", l.Ceiling);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }
}
