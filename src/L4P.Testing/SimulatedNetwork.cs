using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.IO;

namespace L4P.Testing;

/// <summary>
/// Stands for Akka.IO's TCP manager (<c>ProxyServices.TcpManager</c>). Binds succeed at once (it answers
/// <c>Bound</c> itself and is the listening socket the proxy later unbinds), unless the test said an
/// address fails; dials (<c>Tcp.Connect</c>) go to the test's probe, which answers them through
/// <see cref="SimulatedUpstream"/>. The proxy's throwaway warm-up (a bind to port 0, a connect to it,
/// both ends closed) is played out here, since no test cares about it.
/// </summary>
internal sealed class SimulatedNetwork : ActorBase
{
    private readonly IActorRef _dials;
    private readonly ConcurrentDictionary<IPEndPoint, IActorRef> _listening;
    private readonly ConcurrentDictionary<IPEndPoint, string> _failBinds;
    private readonly Dictionary<IActorRef, IPEndPoint> _byHandler = [];
    private readonly Dictionary<IPEndPoint, IActorRef> _warmup = [];
    private int _nextEphemeral = 40000;

    public SimulatedNetwork(IActorRef dials, ConcurrentDictionary<IPEndPoint, IActorRef> listening, ConcurrentDictionary<IPEndPoint, string> failBinds)
    {
        _dials = dials;
        _listening = listening;
        _failBinds = failBinds;
    }

    public static Props Props(IActorRef dials, ConcurrentDictionary<IPEndPoint, IActorRef> listening, ConcurrentDictionary<IPEndPoint, string> failBinds) =>
        Akka.Actor.Props.Create(() => new SimulatedNetwork(dials, listening, failBinds));

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tcp.Bind { LocalAddress: IPEndPoint ep } b when _failBinds.TryRemove(ep, out _):
                Sender.Tell(new Tcp.CommandFailed(b).WithCause(new SocketException((int)SocketError.AddressAlreadyInUse)));
                return true;
            case Tcp.Bind { LocalAddress: IPEndPoint { Port: 0 } any } b:
                // The warm-up's throwaway listener: an ephemeral port, never offered to the test.
                var ephemeral = new IPEndPoint(any.Address, _nextEphemeral++);
                _warmup[ephemeral] = b.Handler;
                _byHandler[b.Handler] = ephemeral;
                b.Handler.Tell(new Tcp.Bound(ephemeral));
                return true;
            case Tcp.Bind { LocalAddress: IPEndPoint ep } b:
                _listening[ep] = b.Handler;
                _byHandler[b.Handler] = ep;
                b.Handler.Tell(new Tcp.Bound(ep));
                return true;
            case Tcp.Unbind:
                if (_byHandler.Remove(Sender, out var bound))
                {
                    _listening.TryRemove(bound, out _);
                    _warmup.Remove(bound);
                }
                Sender.Tell(Tcp.Unbound.Instance);
                return true;
            case Tcp.Connect { RemoteAddress: IPEndPoint to } when _warmup.TryGetValue(to, out var listener):
                // Both ends of the warm-up connection are this actor: it registers and closes them, here.
                listener.Tell(new Tcp.Connected(to, to));
                Sender.Tell(new Tcp.Connected(to, to));
                return true;
            case Tcp.Connect:
                _dials.Forward(message);
                return true;
            case Tcp.Register:
                return true; // the warm-up's ends
            case Tcp.CloseCommand close:
                Sender.Tell(close.Event);
                return true;
            default:
                return false;
        }
    }
}
