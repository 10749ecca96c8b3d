using System.Net;
using Akka.Actor;
using Akka.IO;
using L4P.Config;
using L4P.Protocol;
using L4P.Routing;

namespace L4P.Connections;

/// <summary>
/// The outbound side of one proxied connection, the supervised child of its <see cref="ClientConnection"/>
/// and the owner of the upstream Akka.IO connection (<see cref="OwnedConnection"/>: it dials and registers
/// itself, so its PostStop is what closes that socket when it is stopped). States, each a behaviour over
/// its own data: Dialling (the router's addresses in order within the connect timeout) -> Handshaking
/// (the CONNECT exchange, when a via applies; its reply buffer) -> Relaying (upstream -> client, its
/// <see cref="RelayLeg"/>). The PROXY header and the client's sniffed bytes are queued first. It tells
/// its parent <see cref="UpstreamConnected"/> only once the tunnel is open (or <see cref="UpstreamFailed"/>
/// and stops), reports each connect outcome to the router, and stops once the upstream socket has stopped.
/// </summary>
public sealed class UpstreamConnection : ActorBase, IWithTimers
{
    private sealed record ConnectTimedOut : Signal<ConnectTimedOut>;

    /// <summary>Our timer is the deadline (it names the result connect_timeout); Akka.IO's own only backs it up.</summary>
    private static readonly TimeSpan TransportGrace = TimeSpan.FromSeconds(1);

    private readonly ServerContext _ctx;
    private readonly UpstreamPlan _plan;
    private readonly TcpUpstreamConfig _upstream;
    private readonly IPEndPoint[] _addresses;
    private readonly IActorRef _inbound;
    private readonly ConnectionStats _stats;
    private readonly long _started;

    private ByteString _initial;
    private int _next;
    private int _reported;
    private string _lastError = "";
    private IPEndPoint? _acquired;

    // What PostStop releases, whatever the state: the socket once connected, and the state's pooled buffer.
    private OwnedConnection? _socket;
    private readonly StateRental _rented = new();

    public UpstreamConnection(ServerContext ctx, UpstreamPlan plan, IPEndPoint[] addresses, IActorRef inbound, ConnectionStats stats, ByteString initial)
    {
        _ctx = ctx;
        _plan = plan;
        _upstream = plan.Upstream;
        _addresses = addresses;
        _inbound = inbound;
        _stats = stats;
        _initial = initial;
        _started = ctx.Services.Time.GetTimestamp();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// <paramref name="addresses"/> come best first (the router's balance order), the rest being fall-throughs;
    /// <paramref name="initial"/> are the client's bytes read before the upstream existed (the sniffed ClientHello), sent first.
    /// </summary>
    public static Props Props(ServerContext ctx, UpstreamPlan plan, IPEndPoint[] addresses, IActorRef inbound, ConnectionStats stats, ByteString initial) =>
        FactoryProps.For(() => new UpstreamConnection(ctx, plan, addresses, inbound, stats, initial));

    protected override void PreStart()
    {
        Context.Watch(_inbound);
        Timers.StartSingleTimer(ConnectTimedOut.Instance, ConnectTimedOut.Instance, _plan.Timeout);
        TryNextAddress();
    }

    protected override void PostStop()
    {
        _socket?.AbortUnlessEnded();
        _rented.Release();
        if (_acquired is not null) _ctx.Router.Tell(new UpstreamReleased(_upstream.Name, _acquired));
    }

    protected override bool AroundReceive(Receive receive, object message)
    {
        InjectedFault.ThrowIfFault(message);
        _socket?.Observe(message, Sender);
        return base.AroundReceive(receive, message);
    }

    private void Enter(Receive state, Action? release = null)
    {
        _rented.Replace(release);
        Become(state);
    }

    /// <summary>Dialling: one address at a time, the next after a failure, until one connects or the time is up.</summary>
    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tcp.Connected c:
                var socket = _socket = OwnedConnection.Register(Sender, Context, keepOpenOnPeerClosed: true);
                _stats.UpstreamAddress = c.RemoteAddress;
                _acquired = _addresses[_next - 1];
                _ctx.Router.Tell(new DialOutcome(_upstream.Name, _acquired, Connected: true));
                if (_plan.Connect is not { } connect)
                {
                    Open(socket, ByteString.Empty);
                    return true;
                }
                // The timer keeps running: connect_timeout covers the CONNECT exchange too.
                socket.Socket.Tell(Tcp.Write.Create(ByteString.FromBytes(connect.For(_plan.Target!))));
                var reply = new BoundedBuffer(ConnectReply.MaxHeaderBytes);
                socket.Socket.Tell(Tcp.ResumeReading.Instance);
                Enter(m => Handshaking(m, socket, reply), reply.Release);
                return true;
            case Tcp.CommandFailed { Cmd: Tcp.Connect failed } f:
                _lastError = $"{failed.RemoteAddress}: {(f.Cause.HasValue ? f.Cause.Value.Message : "connect failed")}";
                ReportFailedAttempt();
                TryNextAddress();
                return true;
            case ConnectTimedOut:
                ReportFailedAttempt();
                Fail(CloseCode.ConnectTimeout, $"connect timeout after {Durations.Format(_plan.Timeout)} (upstream {_upstream.Name})");
                return true;
            case Terminated t when t.ActorRef.Equals(_inbound):
                // The client left while we were dialling: nobody to connect for. The dial in flight has us as
                // its commander, whose death Akka.IO does watch until Register.
                Context.Stop(Self);
                return true;
            default:
                return Late(message);
        }
    }

    /// <summary>Reading the proxy's reply to CONNECT into <paramref name="reply"/>; the client is not relayed until it says 2xx.</summary>
    private bool Handshaking(object message, OwnedConnection socket, BoundedBuffer reply)
    {
        switch (message)
        {
            case Tcp.Received r when Sender.Equals(socket.Socket):
                reply.Append(r.Data);
                // The parser answers too large at MaxHeaderBytes: it never needs more than the buffer holds.
                var parsed = ConnectReply.Parse(reply.Span);
                switch (parsed.Status)
                {
                    case ConnectReply.Status.NeedMore:
                        socket.Socket.Tell(Tcp.ResumeReading.Instance);
                        break;
                    case ConnectReply.Status.Complete when parsed.IsSuccess:
                        // Bytes after the header block are the tunnel's first bytes: they reach the client first.
                        // Rest is a copy: the buffer goes back to the pool as Relaying is entered.
                        reply.Consume(parsed.HeaderLength);
                        Open(socket, reply.Rest);
                        break;
                    case ConnectReply.Status.Complete:
                        Fail(new CloseReason(CloseCode.ProxyStatus, parsed.Code, $"proxy refused CONNECT {_plan.Target}: {LogText.Escape(parsed.StatusLine)}{Explain(parsed.Code)}"));
                        break;
                    default:
                        Fail(CloseCode.ProxyBadReply, $"bad CONNECT reply from proxy: {parsed.Problem}");
                        break;
                }
                return true;
            case Tcp.PeerClosed or Tcp.ConnectionClosed when Sender.Equals(socket.Socket):
                Fail(CloseCode.ProxyClosed, $"proxy closed the connection before answering CONNECT {_plan.Target}");
                return true;
            case Terminated t when t.ActorRef.Equals(socket.Socket):
                Fail(CloseCode.ProxyClosed, $"the connection to the proxy stopped before it answered CONNECT {_plan.Target}");
                return true;
            case ConnectTimedOut:
                Fail(CloseCode.ConnectTimeout, $"connect timeout after {Durations.Format(_plan.Timeout)}: no answer to CONNECT {_plan.Target} from the proxy");
                return true;
            case Terminated t when t.ActorRef.Equals(_inbound):
                Context.Stop(Self); // the client left mid-CONNECT: PostStop resets the proxy's socket
                return true;
            default:
                return Late(message);
        }
    }

    private static string Explain(int code) => code switch
    {
        407 => " (proxy authentication required)",
        401 => " (proxy rejected the credentials)",
        _ => "",
    };

    /// <summary>
    /// The tunnel is open. The PROXY header and the sniffed bytes are queued on the upstream socket before
    /// the parent learns of it, so they precede everything it relays (Akka.IO writes in arrival order).
    /// </summary>
    private void Open(OwnedConnection socket, ByteString first)
    {
        Timers.Cancel(ConnectTimedOut.Instance);
        _ctx.Services.Metrics.ObserveUpstreamConnect(_upstream.Name, _ctx.Services.Time.GetElapsedTime(_started).TotalSeconds);
        var outbound = socket.Socket;
        if (_plan.ProxyHeader is { } header) outbound.Tell(Tcp.Write.Create(ByteString.FromBytes(header)));
        if (!_initial.IsEmpty)
        {
            _stats.AddUp(_initial.Count);
            outbound.Tell(Tcp.Write.Create(_initial));
            _initial = ByteString.Empty;
        }
        Context.Parent.Tell(new UpstreamConnected(outbound, _stats.UpstreamAddress!));
        var leg = new RelayLeg(outbound, _inbound, _stats.AddDown, Timers);
        Enter(m => Relaying(m, leg));
        leg.StartWith(first, Self);
    }

    private bool Relaying(object message, RelayLeg leg)
    {
        if (!leg.Handle(message, Sender, Self, out var reason)) return Late(message);
        if (reason is not null) _stats.SetClose(CloseCode.UpstreamReset, reason);
        if (leg.SourceStopped) Context.Stop(Self);
        return true;
    }

    /// <summary>
    /// Every state's fallback. An upstream socket that connected after we moved on is not ours: aborted.
    /// Other socket events, deaths and timers that outlived their state are dropped.
    /// </summary>
    private bool Late(object message)
    {
        switch (message)
        {
            case Tcp.Connected when _socket is not null && !Sender.Equals(_socket.Socket):
                Sender.Tell(Tcp.Abort.Instance);
                return true;
            case Tcp.Event or Tcp.CommandFailed or Terminated or ConnectTimedOut:
                return true;
            default:
                return false;
        }
    }

    /// <summary>The address being dialled failed: the router hears it once per attempt (outlier detection).</summary>
    private void ReportFailedAttempt()
    {
        if (_next == 0 || _reported == _next) return;
        _reported = _next;
        _ctx.Router.Tell(new DialOutcome(_upstream.Name, _addresses[_next - 1], Connected: false));
    }

    private void TryNextAddress()
    {
        // Time is up (Akka.IO's own connect timeout may report just before our timer): the timer fires
        // next and names it a timeout.
        var remaining = _plan.Timeout - _ctx.Services.Time.GetElapsedTime(_started);
        if (remaining <= TimeSpan.Zero) return;
        if (_next >= _addresses.Length)
        {
            Fail(CloseCode.ConnectFailed, _addresses.Length == 1 ? _lastError : $"all {_addresses.Length} addresses failed, last {_lastError}");
            return;
        }
        var endpoint = _addresses[_next++];
        _ctx.Services.TcpManager.Tell(new Tcp.Connect(endpoint, null, null, remaining + TransportGrace, pullMode: true) { TcpSettings = _ctx.Tcp });
    }

    private void Fail(CloseCode code, string reason) => Fail(new CloseReason(code, null, reason));

    /// <summary>No tunnel: the parent hears why, and PostStop resets the socket if there is one.</summary>
    private void Fail(CloseReason reason)
    {
        Timers.Cancel(ConnectTimedOut.Instance);
        Context.Parent.Tell(new UpstreamFailed(reason));
        Context.Stop(Self);
    }
}
