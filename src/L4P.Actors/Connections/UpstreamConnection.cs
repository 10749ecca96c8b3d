using System.Net;
using Akka.Actor;
using Akka.IO;
using L4P.Config;
using L4P.Protocol;
using L4P.Routing;

namespace L4P.Connections;

/// <summary>
/// The outbound side of one proxied connection, the supervised child of its <see cref="ClientConnection"/>
/// and handler of the upstream Akka.IO connection: dial the router's addresses in order within the
/// connect timeout, send CONNECT and read the proxy's answer when a via applies, queue the PROXY header
/// and the client's sniffed bytes, then relay upstream -> client (its <see cref="RelayLeg"/>). It tells
/// its parent <see cref="UpstreamConnected"/> only once the tunnel is open (or <see cref="UpstreamFailed"/>),
/// reports each connect outcome to the router, and stops once the upstream socket has stopped.
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
    private BoundedBuffer? _reply;
    private int _next;
    private int _reported;
    private string _lastError = "";
    private IPEndPoint? _acquired;
    private IActorRef? _outbound;
    private RelayLeg? _leg;

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
        _reply?.Release();
        if (_acquired is not null) _ctx.Router.Tell(new UpstreamReleased(_upstream.Name, _acquired));
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tcp.Connected c:
                _outbound = Sender;
                _stats.UpstreamAddress = c.RemoteAddress;
                _acquired = _addresses[_next - 1];
                _ctx.Router.Tell(new DialOutcome(_upstream.Name, _acquired, Connected: true));
                _outbound.Tell(new Tcp.Register(Self, keepOpenOnPeerClosed: true, useResumeWriting: false));
                Context.Watch(_outbound);
                if (_plan.Connect is not { } connect)
                {
                    Open(ByteString.Empty);
                    return true;
                }
                // The timer keeps running: connect_timeout covers the CONNECT exchange too.
                _outbound.Tell(Tcp.Write.Create(ByteString.FromBytes(connect.For(_plan.Target!))));
                _reply = new BoundedBuffer(ConnectReply.MaxHeaderBytes);
                _outbound.Tell(Tcp.ResumeReading.Instance);
                Become(Handshaking);
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
                Context.Stop(Self); // the client left while we were dialling: nobody to connect for
                return true;
            default:
                return false;
        }
    }

    /// <summary>Reading the proxy's reply to CONNECT; the client is not relayed until it says 2xx.</summary>
    private bool Handshaking(object message)
    {
        switch (message)
        {
            case Tcp.Received r when Sender.Equals(_outbound):
                _reply!.Append(r.Data);
                // The parser answers too large at MaxHeaderBytes: it never needs more than the buffer holds.
                var reply = ConnectReply.Parse(_reply.Span);
                switch (reply.Status)
                {
                    case ConnectReply.Status.NeedMore:
                        _outbound!.Tell(Tcp.ResumeReading.Instance);
                        break;
                    case ConnectReply.Status.Complete when reply.IsSuccess:
                        // Bytes after the header block are the tunnel's first bytes: they reach the client first.
                        _reply.Consume(reply.HeaderLength);
                        Open(_reply.Rest);
                        break;
                    case ConnectReply.Status.Complete:
                        FailHandshake(new CloseReason(CloseCode.ProxyStatus, reply.Code, $"proxy refused CONNECT {_plan.Target}: {LogText.Escape(reply.StatusLine)}{Explain(reply.Code)}"));
                        break;
                    default:
                        FailHandshake(CloseCode.ProxyBadReply, $"bad CONNECT reply from proxy: {reply.Problem}");
                        break;
                }
                return true;
            case Tcp.PeerClosed or Tcp.ConnectionClosed when Sender.Equals(_outbound):
                FailHandshake(CloseCode.ProxyClosed, $"proxy closed the connection before answering CONNECT {_plan.Target}");
                return true;
            case ConnectTimedOut:
                FailHandshake(CloseCode.ConnectTimeout, $"connect timeout after {Durations.Format(_plan.Timeout)}: no answer to CONNECT {_plan.Target} from the proxy");
                return true;
            case Terminated t when t.ActorRef.Equals(_inbound):
                _outbound!.Tell(Tcp.Close.Instance);
                Context.Stop(Self);
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
    private void Open(ByteString first)
    {
        Timers.Cancel(ConnectTimedOut.Instance);
        _ctx.Services.Metrics.ObserveUpstreamConnect(_upstream.Name, _ctx.Services.Time.GetElapsedTime(_started).TotalSeconds);
        _reply?.Release();
        _reply = null;
        if (_plan.ProxyHeader is { } header) _outbound!.Tell(Tcp.Write.Create(ByteString.FromBytes(header)));
        if (!_initial.IsEmpty)
        {
            _stats.AddUp(_initial.Count);
            _outbound!.Tell(Tcp.Write.Create(_initial));
            _initial = ByteString.Empty;
        }
        Context.Parent.Tell(new UpstreamConnected(_outbound!, _stats.UpstreamAddress!));
        _leg = new RelayLeg(_outbound!, _inbound, _stats.AddDown, Timers);
        _leg.StartWith(first, Self);
        Become(Relaying);
    }

    private void FailHandshake(CloseCode code, string reason) => FailHandshake(new CloseReason(code, null, reason));

    private void FailHandshake(CloseReason reason)
    {
        _outbound!.Tell(Tcp.Close.Instance);
        Fail(reason);
    }

    private bool Relaying(object message)
    {
        if (!_leg!.Handle(message, Sender, Self, out var reason)) return Late(message);
        if (reason is not null) _stats.SetClose(CloseCode.UpstreamReset, reason);
        if (_leg.SourceStopped) Context.Stop(Self);
        return true;
    }

    /// <summary>An upstream socket that connected after we gave up is aborted; other late events are dropped.</summary>
    private bool Late(object message)
    {
        switch (message)
        {
            case Tcp.Connected when !Sender.Equals(_outbound):
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

    private void Fail(CloseReason reason)
    {
        Timers.Cancel(ConnectTimedOut.Instance);
        Context.Parent.Tell(new UpstreamFailed(reason));
        Context.Stop(Self);
    }
}
