using System.Net;
using Akka.Actor;

namespace L4P.Connections;

/// <summary>UpstreamConnection -> ClientConnection: the tunnel is open; relay client -> upstream on <paramref name="Connection"/>.</summary>
public sealed record UpstreamConnected(IActorRef Connection, EndPoint Remote);

/// <summary>UpstreamConnection -> ClientConnection: no tunnel could be made; <paramref name="Close"/> is the log line's result and reason.</summary>
public sealed record UpstreamFailed(CloseReason Close);

/// <summary>Listener -> ProxyRoot.</summary>
public sealed record ListenerBound(string Server, IPEndPoint Configured, EndPoint Actual);

/// <summary>Listener -> ProxyRoot: fatal at startup.</summary>
public sealed record ListenerFailed(string Server, IPEndPoint Configured, string Reason);

/// <summary>ProxyRoot -> Listener: take no more connections; unbind and stop once the last one has ended.</summary>
public sealed record StopAccepting : Signal<StopAccepting>;

/// <summary>
/// ProxyRoot -> Listener, when <c>shutdown_timeout</c> has passed: stop every connection now. Each stops
/// and resets its own sockets (PostStop) while Akka.IO's connection actors are still there to take the
/// reset, instead of leaving that to the actor system's own stop.
/// </summary>
public sealed record CloseConnections : Signal<CloseConnections>;

/// <summary>ProxyRoot -> Listener on reload: new connections on this address use this config.</summary>
public sealed record UpdateContext(ServerContext Context);

/// <summary>
/// Test seam (internal): the actor that receives it throws <see cref="InjectedFaultException"/> in whatever
/// state it is, so the tests can prove what a failure leaves behind.
/// </summary>
internal sealed record InjectedFault(string Reason)
{
    /// <summary>The seam, first thing in an actor's <c>AroundReceive</c>: throws when <paramref name="message"/> is a fault to inject.</summary>
    public static void ThrowIfFault(object message)
    {
        if (message is InjectedFault fault) throw new InjectedFaultException(fault.Reason);
    }
}

/// <summary>The exception an <see cref="InjectedFault"/> raises.</summary>
internal sealed class InjectedFaultException(string message) : Exception(message);
