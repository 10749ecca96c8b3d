using System.Collections.Immutable;
using System.Text.Json;

namespace L4P.Cluster;

/// <summary>One cluster member as this node sees it.</summary>
public sealed record FleetMember(string Address, string Status, ImmutableArray<string> Roles, long? ActiveConnections, DateTimeOffset? LoadSeenAt);

/// <summary>
/// The fleet as this node knows it, for <c>GET /cluster</c> and <c>l4p_cluster_members</c>: written by
/// <see cref="FleetStatus"/>, read by health connections; an immutable snapshot behind a volatile field.
/// </summary>
public sealed class FleetView
{
    private ImmutableSortedDictionary<string, FleetMember> _members = ImmutableSortedDictionary<string, FleetMember>.Empty;

    public string SelfAddress { get; internal set; } = "";

    public ImmutableSortedDictionary<string, FleetMember> Members => Volatile.Read(ref _members);

    internal void Set(ImmutableSortedDictionary<string, FleetMember> members) => Volatile.Write(ref _members, members);

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
            w.WriteEndObject();
        }
        return ms.ToArray();
    }
}
