using System.Diagnostics;
using System.Net;
using Akka.Actor;
using Akka.IO;
using L4P.Config;
using L4P.Protocol;
using L4P.Resolution;

namespace L4P.Connections;

/// <summary>
/// The outbound half of a client connection until its tunnel is open, run inside the
/// <see cref="ClientConnection"/> (no actor of its own: one actor per proxied connection): try each
/// address of the upstream in order within the timeout, then send CONNECT and read the proxy's answer
/// when a via applies. The owner passes it every message while dialling; it answers
/// <see cref="Step.Connected"/> (with <see cref="Connection"/> and <see cref="First"/>) only once the
/// tunnel is open, or <see cref="Step.Failed"/> with the code and reason for the log line.
/// </summary>
internal sealed class UpstreamDial
{
    public enum Step { NotMine, Pending, Connected, Failed }

    private sealed class ConnectTimedOut
    {
        public static readonly ConnectTimedOut Instance = new();
    }

    private static readonly TimeSpan TransportGrace = TimeSpan.FromSeconds(1);

    private readonly UpstreamPlan _plan;
    private readonly TcpUpstreamConfig _upstream;
    private readonly TimeSpan _timeout;
    private readonly ConnectionStats _stats;
    private readonly ProxyServices _services;
    private readonly BackendRegistry _backends;
    private readonly ITimerScheduler _timers;
    private readonly EndPoint? _clientAddress;
    private readonly long _started = Stopwatch.GetTimestamp();

    private ByteString _reply = ByteString.Empty;
    private IPEndPoint[] _endpoints = [];
    private IPEndPoint? _acquired;
    private int _next;
    private int _counted;
    private string _lastError = "";
    private bool _handshaking;

    public UpstreamDial(UpstreamPlan plan, ConnectionStats stats, ServerContext ctx, EndPoint? client, ITimerScheduler timers)
    {
        _plan = plan;
        _upstream = plan.Upstream;
        _timeout = plan.Timeout;
        _stats = stats;
        _services = ctx.Services;
        _backends = ctx.Backends;
        _clientAddress = client;
        _timers = timers;
    }

    /// <summary>The upstream socket (set from the moment it connects, also when the CONNECT exchange then fails).</summary>
    public IActorRef? Connection { get; private set; }

    /// <summary>Bytes that came after the proxy's CONNECT answer: the tunnel's first, for the client.</summary>
    public ByteString First { get; private set; } = ByteString.Empty;

    public string FailCode { get; private set; } = "";
    public string FailReason { get; private set; } = "";

    /// <summary>Picks the addresses and dials the first; <paramref name="self"/> is the owner (Akka.IO's commander).</summary>
    public Step Start(IActorRef self)
    {
        _timers.StartSingleTimer(ConnectTimedOut.Instance, ConnectTimedOut.Instance, _timeout);
        // The current addresses in the order the upstream's balance gives; the rest are fall-throughs.
        // No DNS on this path: the Resolver keeps the registry current.
        _endpoints = _backends.NextOrder(_upstream.Name, (_clientAddress as IPEndPoint)?.Address);
        if (_endpoints.Length == 0)
        {
            return _backends.AllDown(_upstream.Name)
                ? Fail("all_down", $"every address of upstream {_upstream.Name} failed its health checks")
                : Fail("dns_failed", $"upstream {_upstream.Name} ({_upstream.Url}) has no address yet (lookups failing: see the resolver's log)");
        }
        return TryNextAddress(self);
    }

    public Step Handle(object message, IActorRef sender, IActorRef self) => _handshaking
        ? Handshaking(message, sender, self)
        : Connecting(message, sender, self);

    /// <summary>Gives the leastconn slot back (the owner calls it once, when it stops).</summary>
    public void Release()
    {
        if (_acquired is null) return;
        _backends.Release(_upstream.Name, _acquired);
        _acquired = null;
    }

    /// <summary>The owner gives up (idle timeout, client gone): no more attempts, no timeout.</summary>
    public void Cancel() => _timers.Cancel(ConnectTimedOut.Instance);

    private Step Connecting(object message, IActorRef sender, IActorRef self)
    {
        switch (message)
        {
            case Tcp.Connected c:
                Connection = sender;
                _stats.UpstreamAddress = c.RemoteAddress;
                _acquired = _endpoints[_next - 1];
                _backends.Acquire(_upstream.Name, _acquired); // for leastconn; released when the owner stops
                if (_upstream.Outlier is not null) _services.Outliers.ConnectSucceeded(_upstream.Name, _acquired);
                sender.Tell(new Tcp.Register(self, keepOpenOnPeerClosed: true, useResumeWriting: false), self);
                if (_plan.Connect is not { } connect) return Open(ByteString.Empty, self);
                // The timer keeps running: connect_timeout covers the CONNECT exchange too.
                sender.Tell(Tcp.Write.Create(ByteString.FromBytes(connect.For(_plan.Target!))), self);
                sender.Tell(Tcp.ResumeReading.Instance, self);
                _handshaking = true;
                return Step.Pending;
            case Tcp.CommandFailed { Cmd: Tcp.Connect failed } f:
                _lastError = $"{failed.RemoteAddress}: {(f.Cause.HasValue ? f.Cause.Value.Message : "connect failed")}";
                CountFailure();
                return TryNextAddress(self);
            case ConnectTimedOut:
                CountFailure();
                return Fail("connect_timeout", $"connect timeout after {Durations.Format(_timeout)} (upstream {_upstream.Name})");
            default:
                return Step.NotMine;
        }
    }

    /// <summary>Reading the proxy's reply to CONNECT; the client is not relayed until it says 2xx.</summary>
    private Step Handshaking(object message, IActorRef sender, IActorRef self)
    {
        switch (message)
        {
            case Tcp.Received r when sender.Equals(Connection):
                _reply = _reply.IsEmpty ? r.Data : _reply.Concat(r.Data);
                var reply = ConnectReply.Parse(_reply.ToArray());
                switch (reply.Status)
                {
                    case ConnectReply.Status.NeedMore:
                        Connection!.Tell(Tcp.ResumeReading.Instance);
                        return Step.Pending;
                    case ConnectReply.Status.Complete when reply.IsSuccess:
                        // Bytes after the header block are the tunnel's first bytes: they reach the client first.
                        return Open(_reply.Slice(reply.HeaderLength), self);
                    case ConnectReply.Status.Complete:
                        return FailHandshake($"proxy_status_{reply.Code}", $"proxy refused CONNECT {_plan.Target}: {reply.StatusLine}{Explain(reply.Code)}");
                    default:
                        return FailHandshake("proxy_bad_reply", $"bad CONNECT reply from proxy: {reply.Problem}");
                }
            case Tcp.PeerClosed or Tcp.ConnectionClosed when sender.Equals(Connection):
                return FailHandshake("proxy_closed", $"proxy closed the connection before answering CONNECT {_plan.Target}");
            case ConnectTimedOut:
                return FailHandshake("connect_timeout", $"connect timeout after {Durations.Format(_timeout)}: no answer to CONNECT {_plan.Target} from the proxy");
            default:
                return Step.NotMine;
        }
    }

    private static string Explain(int code) => code switch
    {
        407 => " (proxy authentication required)",
        401 => " (proxy rejected the credentials)",
        _ => "",
    };

    private Step Open(ByteString first, IActorRef self)
    {
        _timers.Cancel(ConnectTimedOut.Instance);
        _services.Metrics.UpstreamConnectSeconds.WithLabels(_upstream.Name).Observe(Stopwatch.GetElapsedTime(_started).TotalSeconds);
        _reply = ByteString.Empty;
        First = first;
        // The PROXY header goes out before anything of the client's: it is queued on the upstream
        // socket before the relay starts.
        if (_plan.ProxyHeader is { } header) Connection!.Tell(Tcp.Write.Create(ByteString.FromBytes(header)), self);
        return Step.Connected;
    }

    private Step FailHandshake(string code, string reason)
    {
        Connection!.Tell(Tcp.Close.Instance);
        return Fail(code, reason);
    }

    /// <summary>The address being dialled failed: one more in its run for outlier detection (once per attempt).</summary>
    private void CountFailure()
    {
        if (_upstream.Outlier is not { } outlier || _next == 0 || _counted == _next) return;
        _counted = _next;
        _services.Outliers.ConnectFailed(_upstream.Name, _endpoints[_next - 1], outlier);
    }

    private Step TryNextAddress(IActorRef self)
    {
        // Time is up (the transport's own connect timeout may report just before our timer): the timer
        // fires next and names it a timeout.
        var remaining = _timeout - Stopwatch.GetElapsedTime(_started);
        if (remaining <= TimeSpan.Zero) return Step.Pending;
        if (_next >= _endpoints.Length)
            return Fail("connect_failed", _endpoints.Length == 1 ? _lastError : $"all {_endpoints.Length} addresses failed, last {_lastError}");
        var endpoint = _endpoints[_next++];
        // Our timer is the deadline (it names the result connect_timeout); the transport's own connect
        // timeout only backs it up, so it must not fire first.
        _services.TcpManager.Tell(new Tcp.Connect(endpoint, null, null, remaining + TransportGrace, pullMode: true), self);
        return Step.Pending;
    }

    private Step Fail(string code, string reason)
    {
        _timers.Cancel(ConnectTimedOut.Instance);
        FailCode = code;
        FailReason = reason;
        return Step.Failed;
    }
}
