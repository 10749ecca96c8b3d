using System.Diagnostics;
using System.Net;
using Akka.Actor;
using Akka.IO;
using L4P.Config;
using L4P.Protocol;
using L4P.Resolution;

namespace L4P.Connections;

/// <summary>
/// The outbound half of a client connection, child of its <see cref="ClientConnection"/>:
/// resolve the upstream, try each address in order within the timeout, send CONNECT and read the
/// proxy's answer when a via applies, then relay upstream -> client (its <see cref="RelayLeg"/>).
/// It reports <see cref="UpstreamConnected"/> only once the tunnel is open, and stops when the
/// upstream socket has stopped.
/// </summary>
public sealed class UpstreamConnection : ActorBase, IWithTimers
{
    private sealed record ConnectTimedOut
    {
        public static readonly ConnectTimedOut Instance = new();
    }

    private readonly UpstreamPlan _plan;
    private readonly TcpUpstreamConfig _upstream;
    private readonly TimeSpan _timeout;
    private ByteString _reply = ByteString.Empty;
    private readonly IActorRef _inbound;
    private readonly ConnectionStats _stats;
    private readonly ProxyServices _services;
    private readonly BackendRegistry _backends;
    private readonly Prometheus.Histogram.Child _connectSeconds;
    private readonly long _started = Stopwatch.GetTimestamp();

    private IPEndPoint[] _endpoints = [];
    private IPEndPoint? _acquired;
    private int _next;
    private string _lastError = "";
    private IActorRef? _outbound;
    private RelayLeg? _leg;

    public ITimerScheduler Timers { get; set; } = null!;

    private readonly EndPoint? _clientAddress;

    public UpstreamConnection(UpstreamPlan plan, IActorRef inbound, ConnectionStats stats, ServerContext ctx, EndPoint? client = null)
    {
        _clientAddress = client;
        _services = ctx.Services;
        _backends = ctx.Backends;
        _connectSeconds = ctx.Services.Metrics.UpstreamConnectSeconds.WithLabels(plan.Upstream.Name);
        _plan = plan;
        _upstream = plan.Upstream;
        _timeout = plan.Timeout;
        _inbound = inbound;
        _stats = stats;
    }

    public static Props Props(UpstreamPlan plan, IActorRef inbound, ConnectionStats stats, ServerContext ctx, EndPoint? client = null) =>
        FactoryProps.For(() => new UpstreamConnection(plan, inbound, stats, ctx, client));

    protected override void PostStop()
    {
        if (_acquired is not null) _backends.Release(_upstream.Name, _acquired);
    }

    protected override void PreStart()
    {
        Context.Watch(_inbound);
        Timers.StartSingleTimer(ConnectTimedOut.Instance, ConnectTimedOut.Instance, _timeout);
        // The current addresses in the order the upstream's balance gives; the rest are fall-throughs.
        // No DNS on this path: the Resolver keeps the registry current.
        _endpoints = _backends.NextOrder(_upstream.Name, (_clientAddress as IPEndPoint)?.Address);
        if (_endpoints.Length == 0)
        {
            if (_backends.AllDown(_upstream.Name))
                Fail("all_down", $"every address of upstream {_upstream.Name} failed its health checks");
            else
                Fail("dns_failed", $"upstream {_upstream.Name} ({_upstream.Url}) has no address yet (lookups failing: see the resolver's log)");
            return;
        }
        TryNextAddress();
    }

    protected override bool Receive(object message) => Connecting(message);

    private bool Connecting(object message)
    {
        switch (message)
        {
            case Tcp.Connected c:
                _outbound = Sender;
                _stats.UpstreamAddress = c.RemoteAddress;
                _acquired = _endpoints[_next - 1];
                _backends.Acquire(_upstream.Name, _acquired); // for leastconn; released in PostStop
                if (_upstream.Outlier is not null) _services.Outliers.ConnectSucceeded(_upstream.Name, _acquired);
                _outbound.Tell(new Tcp.Register(Self, keepOpenOnPeerClosed: true, useResumeWriting: false));
                Context.Watch(_outbound);
                if (_plan.Connect is { } connect)
                {
                    // The timer keeps running: connect_timeout covers the CONNECT exchange too.
                    _outbound.Tell(Tcp.Write.Create(ByteString.FromBytes(connect.For(_plan.Target!))));
                    _outbound.Tell(Tcp.ResumeReading.Instance);
                    Context.Become(Handshaking);
                }
                else StartRelay(ByteString.Empty);
                return true;
            case Tcp.CommandFailed { Cmd: Tcp.Connect } f:
                _lastError = $"{((Tcp.Connect)f.Cmd).RemoteAddress}: {(f.Cause.HasValue ? f.Cause.Value.Message : "connect failed")}";
                CountFailure();
                TryNextAddress();
                return true;
            case ConnectTimedOut:
                CountFailure();
                Fail("connect_timeout", $"connect timeout after {Durations.Format(_timeout)} (upstream {_upstream.Name})");
                return true;
            case Terminated t when t.ActorRef.Equals(_inbound):
                // The client left while we were connecting: nobody to connect for.
                Context.Stop(Self);
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
                _reply = _reply.IsEmpty ? r.Data : _reply.Concat(r.Data);
                var reply = ConnectReply.Parse(_reply.ToArray());
                switch (reply.Status)
                {
                    case ConnectReply.Status.NeedMore:
                        _outbound!.Tell(Tcp.ResumeReading.Instance);
                        break;
                    case ConnectReply.Status.Complete when reply.IsSuccess:
                        // Bytes after the header block are the tunnel's first bytes: they reach the client first.
                        StartRelay(_reply.Slice(reply.HeaderLength));
                        break;
                    case ConnectReply.Status.Complete:
                        FailHandshake($"proxy_status_{reply.Code}", $"proxy refused CONNECT {_plan.Target}: {reply.StatusLine}{Explain(reply.Code)}");
                        break;
                    default:
                        FailHandshake("proxy_bad_reply", $"bad CONNECT reply from proxy: {reply.Problem}");
                        break;
                }
                return true;
            case Tcp.PeerClosed or Tcp.ConnectionClosed when Sender.Equals(_outbound):
                FailHandshake("proxy_closed", $"proxy closed the connection before answering CONNECT {_plan.Target}");
                return true;
            case ConnectTimedOut:
                FailHandshake("connect_timeout", $"connect timeout after {Durations.Format(_timeout)}: no answer to CONNECT {_plan.Target} from the proxy");
                return true;
            case Terminated t when t.ActorRef.Equals(_inbound):
                _outbound!.Tell(Tcp.Close.Instance);
                Context.Stop(Self);
                return true;
            default:
                return message is Tcp.Event or Tcp.CommandFailed or Terminated;
        }
    }

    private static string Explain(int code) => code switch
    {
        407 => " (proxy authentication required)",
        401 => " (proxy rejected the credentials)",
        _ => "",
    };

    private void StartRelay(ByteString first)
    {
        Timers.Cancel(ConnectTimedOut.Instance);
        _connectSeconds.Observe(Stopwatch.GetElapsedTime(_started).TotalSeconds);
        _reply = ByteString.Empty;
        _leg = new RelayLeg(_outbound!, _inbound, _stats.AddDown, Timers);
        // The PROXY header goes out before anything of the client's: it is queued on the upstream
        // socket before the client side even learns that the upstream is connected.
        if (_plan.ProxyHeader is { } header) _outbound!.Tell(Tcp.Write.Create(ByteString.FromBytes(header)));
        Context.Parent.Tell(new UpstreamConnected(_outbound!, _stats.UpstreamAddress!));
        _leg.StartWith(first, Self);
        Context.Become(Relaying);
    }

    private void FailHandshake(string code, string reason)
    {
        _outbound!.Tell(Tcp.Close.Instance);
        Fail(code, reason);
    }

    private bool Relaying(object message)
    {
        if (_leg!.Handle(message, Sender, Self, out var reason))
        {
            if (reason is not null) _stats.SetClose("upstream_reset", reason);
            if (_leg.SourceStopped) Context.Stop(Self);
            return true;
        }
        return message is Tcp.Event or ConnectTimedOut or Tcp.CommandFailed or Terminated;
    }

    /// <summary>The address being dialled failed: one more in its run for outlier detection (once per attempt).</summary>
    private void CountFailure()
    {
        if (_upstream.Outlier is not { } outlier || _next == 0 || _counted == _next) return;
        _counted = _next;
        _services.Outliers.ConnectFailed(_upstream.Name, _endpoints[_next - 1], outlier);
    }

    private int _counted;

    private static readonly TimeSpan TransportGrace = TimeSpan.FromSeconds(1);

    private void TryNextAddress()
    {
        // Time is up (the transport's own connect timeout may report just before our timer): the timer
        // fires next and names it a timeout.
        var remaining = _timeout - Stopwatch.GetElapsedTime(_started);
        if (remaining <= TimeSpan.Zero) return;
        if (_next >= _endpoints.Length)
        {
            Fail("connect_failed", _endpoints.Length == 1 ? _lastError : $"all {_endpoints.Length} addresses failed, last {_lastError}");
            return;
        }
        var endpoint = _endpoints[_next++];
        // Our timer is the deadline (it names the result connect_timeout); the transport's own connect
        // timeout only backs it up, so it must not fire first.
        _services.TcpManager.Tell(new Tcp.Connect(endpoint, null, null, remaining + TransportGrace, pullMode: true));
    }

    private void Fail(string code, string reason)
    {
        Context.Parent.Tell(new UpstreamFailed(code, reason));
        Context.Stop(Self);
    }

}
