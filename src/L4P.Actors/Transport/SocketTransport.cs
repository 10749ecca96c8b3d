using Akka.Actor;
using Akka.IO;

namespace L4P.Transport;

/// <summary>
/// L4P's second transport (<c>transport: sockets</c>): stands where Akka.IO's TCP manager stands and
/// answers the same Bind and Connect commands with <see cref="SocketListener"/> actors and
/// <see cref="SocketConnection"/>s (actor refs without a cell) over .NET sockets. The proxy's actors
/// cannot tell the two apart.
/// </summary>
public sealed class SocketTransport : ActorBase
{
    private readonly int _frameSize;
    private LiveConnections? _outgoing;

    public SocketTransport(int frameSize) => _frameSize = frameSize;

    /// <param name="frameSize">The most one read returns (Akka.IO's <c>maximum-frame-size</c> for the other transport).</param>
    public static Props Props(int frameSize) => Akka.Actor.Props.Create(() => new SocketTransport(frameSize));

    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    protected override void PreStart() => _outgoing = new LiveConnections(Context);

    protected override void PostStop() => _outgoing?.KillAll();

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tcp.Bind bind:
                var b = bind;
                Context.ActorOf(Akka.Actor.Props.Create(() => new SocketListener(b, _frameSize)));
                return true;
            case Tcp.Connect connect:
                new SocketConnection(connect, Sender, _frameSize, _outgoing!).Connect();
                return true;
            default:
                return false;
        }
    }
}
