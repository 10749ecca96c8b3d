using System.Collections.Immutable;
using System.Net;
using Akka.Event;
using L4P.Config;

namespace L4P.Resolution;

/// <summary>A name to resolve: host and address family (tcp4:// and tcp6:// of one host are two keys).</summary>
public sealed record BackendKey(string Host, AddressFamilyFilter Family)
{
    public override string ToString() => Family switch
    {
        AddressFamilyFilter.IPv4 => $"{Host} (IPv4)",
        AddressFamilyFilter.IPv6 => $"{Host} (IPv6)",
        _ => Host,
    };
}

/// <summary>
/// Published by the Resolver when the address set of a name changes. Keyed by name, not by upstream,
/// so that every upstream (and, in a cluster, every node) using the name learns from one lookup.
/// </summary>
public sealed record BackendsChanged(BackendKey Key, ImmutableArray<IPAddress> Addresses);

/// <summary>
/// The seam through which backend changes travel: this node's EventStream (where Routers and Resolvers
/// listen), and in cluster mode also distributed pub-sub to the other nodes, whose relay puts them on
/// their own EventStream.
/// </summary>
public interface IBackendsPublisher
{
    void Publish(BackendsChanged change);
}

public sealed class EventStreamPublisher(EventStream stream, IBackendsPublisher? fleet = null) : IBackendsPublisher
{
    public void Publish(BackendsChanged change)
    {
        stream.Publish(change);
        fleet?.Publish(change);
    }
}
