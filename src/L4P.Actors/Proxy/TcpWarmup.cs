using System.Net;
using Akka.Actor;
using Akka.IO;

namespace L4P.Proxy;

/// <summary>
/// Runs Akka.IO's bind, accept, connect and close once on a throwaway loopback listener before the
/// proxy binds its configured addresses, then tells its parent <see cref="Done"/> and stops.
/// Why: Akka.IO 1.5's TcpListener arms its accepts before it handles its own Bound, and drops (and
/// leaks) an accept that completes in between (README: Known issues). The first bind of a process,
/// with the socket engine and these code paths still cold, has by far the widest window; warming them
/// up narrows it for the addresses that matter. Never fatal: on any failure or after
/// <see cref="Limit"/> it reports Done all the same.
/// </summary>
public sealed class TcpWarmup : ActorBase, IWithTimers
{
    public sealed record Done : Signal<Done>;

    private sealed record GiveUp : Signal<GiveUp>;

    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(3);

    private readonly IActorRef _tcp;
    private readonly TcpSettings? _settings;
    private IActorRef? _listener;
    private bool _unbound;
    private readonly List<Connections.OwnedConnection> _sockets = new(2);

    public TcpWarmup(IActorRef tcpManager, TcpSettings? settings)
    {
        _tcp = tcpManager;
        _settings = settings;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef tcpManager, TcpSettings? settings = null) => Akka.Actor.Props.Create(() => new TcpWarmup(tcpManager, settings));

    protected override void PreStart()
    {
        Timers.StartSingleTimer(GiveUp.Instance, GiveUp.Instance, Limit);
        _tcp.Tell(new Tcp.Bind(Self, new IPEndPoint(IPAddress.Loopback, 0), backlog: 8, pullMode: true) { TcpSettings = _settings });
    }

    /// <summary>Whatever ended the warm-up (done, given up, stopped), the sockets it registered and its listener go with it.</summary>
    protected override void PostStop()
    {
        foreach (var socket in _sockets) socket.AbortUnlessEnded();
        if (_listener is not null && !_unbound) _listener.Tell(Tcp.Unbind.Instance);
    }

    protected override bool AroundReceive(Receive receive, object message)
    {
        foreach (var socket in _sockets) socket.Observe(message, Sender);
        return base.AroundReceive(receive, message);
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tcp.Bound b:
                _listener = Sender;
                _tcp.Tell(new Tcp.Connect(b.LocalAddress, timeout: Limit, pullMode: true) { TcpSettings = _settings });
                return true;
            case Tcp.Connected:
                // Both ends arrive here: the accepted one (we are the listener's handler) and the dialled one.
                var socket = Connections.OwnedConnection.Register(Sender, Context, keepOpenOnPeerClosed: false);
                _sockets.Add(socket);
                socket.Socket.Tell(Tcp.Close.Instance);
                if (_sockets.Count == 2) _listener!.Tell(Tcp.Unbind.Instance);
                return true;
            case Tcp.Unbound:
                _unbound = true;
                Finish();
                return true;
            case Tcp.CommandFailed:
                Finish();
                return true;
            case GiveUp:
                Context.Parent.Tell(Done.Instance);
                Context.Stop(Self);
                return true;
            case Tcp.Event or Terminated:
                return true; // the closes completing
            default:
                return false;
        }
    }

    /// <summary>Done; stops once both closes have completed (or at the limit, still running): a stop before then would reset them.</summary>
    private void Finish()
    {
        Context.Parent.Tell(Done.Instance);
        if (_sockets.TrueForAll(s => s.Ended)) Context.Stop(Self);
        else Become(m =>
        {
            if (m is GiveUp || _sockets.TrueForAll(s => s.Ended)) Context.Stop(Self);
            return m is Tcp.Event or Terminated or GiveUp;
        });
    }
}
