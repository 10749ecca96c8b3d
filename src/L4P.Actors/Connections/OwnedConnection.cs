using Akka.Actor;
using Akka.IO;

namespace L4P.Connections;

/// <summary>
/// An Akka.IO connection this actor registered itself as handler of, and so owns. Akka.IO 1.5 watches the
/// actor that sent <c>Connect</c> only until <c>Register</c>; when the handler is that same actor, no watch
/// is left at all (README: Known issues), so nothing but the owner ever closes the socket. The rule: the
/// owner watches it, passes every message through <see cref="Observe"/>, and calls <see cref="AbortUnlessEnded"/>
/// in <c>PostStop</c>, which aborts the socket unless it has ended. Accepted connections are owned the
/// same way, though there the listener's watch would also close them: the rule, not luck, closes them.
/// </summary>
internal sealed class OwnedConnection
{
    private readonly bool _keepOpenOnPeerClosed;

    /// <summary>Watches <paramref name="socket"/> from <paramref name="owner"/>; with <paramref name="keepOpenOnPeerClosed"/> (as registered) the peer's FIN leaves it open.</summary>
    public OwnedConnection(IActorRef socket, IActorContext owner, bool keepOpenOnPeerClosed)
    {
        Socket = socket;
        _keepOpenOnPeerClosed = keepOpenOnPeerClosed;
        owner.Watch(socket);
    }

    public IActorRef Socket { get; }

    /// <summary>Registers <paramref name="owner"/> as the handler of <paramref name="socket"/> (pull mode: nothing is read until asked), which makes it the owner.</summary>
    public static OwnedConnection Register(IActorRef socket, IActorContext owner, bool keepOpenOnPeerClosed)
    {
        socket.Tell(new Tcp.Register(owner.Self, keepOpenOnPeerClosed, useResumeWriting: false), owner.Self);
        return new OwnedConnection(socket, owner, keepOpenOnPeerClosed);
    }

    /// <summary>The socket's actor has reported its close or has stopped: nothing is left to release.</summary>
    public bool Ended { get; private set; }

    /// <summary>Notes the end of the socket if <paramref name="message"/> reports it; never consumes the message.</summary>
    public void Observe(object message, IActorRef sender)
    {
        switch (message)
        {
            case Terminated t when t.ActorRef.Equals(Socket):
            case Tcp.PeerClosed when _keepOpenOnPeerClosed:
                break; // half-closed: still ours to close
            case Tcp.ConnectionClosed when sender.Equals(Socket):
                Ended = true;
                break;
        }
    }

    /// <summary>PostStop: a stop overtakes any Close still queued, so the socket is reset here unless it has already ended.</summary>
    public void AbortUnlessEnded()
    {
        if (Ended) return;
        Ended = true;
        Socket.Tell(Tcp.Abort.Instance);
    }
}
