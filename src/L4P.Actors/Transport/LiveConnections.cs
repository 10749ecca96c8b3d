using System.Collections.Concurrent;
using Akka.Actor;

namespace L4P.Transport;

/// <summary>
/// The open <see cref="SocketConnection"/>s of one listener or of the transport, standing in for an
/// actor's children: when the owner stops (Unbind, shutdown), so do they, as Akka.IO's would.
/// </summary>
internal sealed class LiveConnections
{
    private readonly ConcurrentDictionary<SocketConnection, byte> _open = new(ReferenceEqualityComparer.Instance);

    public LiveConnections(IActorContext owner)
    {
        Owner = owner.Self.Path;
        Provider = ((ExtendedActorSystem)owner.System).Provider;
    }

    /// <summary>The path the connections are named under.</summary>
    public ActorPath Owner { get; }

    public IActorRefProvider Provider { get; }

    public void Add(SocketConnection connection) => _open.TryAdd(connection, 0);

    public void Remove(SocketConnection connection) => _open.TryRemove(connection, out _);

    /// <summary>Resets every connection still open.</summary>
    public void KillAll()
    {
        foreach (var connection in _open.Keys) connection.Kill();
    }
}
