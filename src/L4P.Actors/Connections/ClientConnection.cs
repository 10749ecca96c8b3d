using System.Buffers;
using System.Diagnostics;
using System.Net;
using Akka.Actor;
using Akka.IO;
using L4P.Config;
using L4P.Protocol;
using L4P.Routing;

namespace L4P.Connections;

/// <summary>
/// One proxied connection, the only actor of the pair: route the client, dial the upstream (its
/// <see cref="UpstreamDial"/>), then relay both ways (two <see cref="RelayLeg"/>s). States:
/// Sniffing (tls: true, reads the ClientHello) -> Connecting -> Relaying, or a built-in (ban, echo,
/// health); Closing waits for the sockets to stop.
/// The pair ends when both sockets have stopped; one info line then tells the story.
/// </summary>
public sealed class ClientConnection : ActorBase, IWithTimers
{
    private sealed class ClientHelloTimedOut
    {
        public static readonly ClientHelloTimedOut Instance = new();
    }

    private sealed class StatsTick
    {
        public static readonly StatsTick Instance = new();
    }

    private sealed class IdleCheck
    {
        public static readonly IdleCheck Instance = new();
    }

    private readonly ServerContext _ctx;
    private readonly IActorRef _inbound;
    private EndPoint _remote;
    private EndPoint _local;
    private readonly ConnectionStats _stats;
    private readonly long _started = Stopwatch.GetTimestamp();

    private Route? _route;
    private string? _sni;
    private string? _connectTarget;
    private byte[]? _hello;
    private int _helloLength;
    private UpstreamDial? _dial;
    private bool _dialing;
    private IActorRef? _outbound;
    private bool _outboundStopped;
    private RelayLeg? _leg;
    private RelayLeg? _down;
    private ByteString _pending = ByteString.Empty;
    private bool _inboundStopped;
    private HealthSession? _health;
    private ByteString _proxyHeader = ByteString.Empty;

    public ClientConnection(ServerContext ctx, IActorRef inbound, EndPoint remote, EndPoint? local = null)
    {
        _ctx = ctx;
        _inbound = inbound;
        _remote = IpEndpoints.Unmap(remote);
        _local = IpEndpoints.Unmap(local ?? new IPEndPoint(IPAddress.None, 0));
        _stats = new ConnectionStats(ctx.BytesUp, ctx.BytesDown);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ServerContext ctx, IActorRef inbound, EndPoint remote, EndPoint? local = null) =>
        FactoryProps.For(() => new ClientConnection(ctx, inbound, remote, local));

    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    protected override void PreStart()
    {
        // Registering at once keeps Akka.IO's register-timeout out of the picture; pull mode means
        // nothing is read until we ask.
        _inbound.Tell(new Tcp.Register(Self, keepOpenOnPeerClosed: true, useResumeWriting: false));
        Context.Watch(_inbound);
        if (_ctx.Server.AcceptProxy) StartReadingProxyHeader();
        else AfterProxyHeader(ByteString.Empty);
    }

    private void AfterProxyHeader(ByteString first)
    {
        if (_ctx.Server.Tls) StartSniffing(first);
        else RouteTo(_ctx.Routes.Default, first);
    }

    /// <summary>accept_proxy: the load balancer in front sends a PROXY header first; it names the real client.</summary>
    private void StartReadingProxyHeader()
    {
        Timers.StartSingleTimer(ClientHelloTimedOut.Instance, ClientHelloTimedOut.Instance, _ctx.Server.Timeouts.ClientHello);
        _inbound.Tell(Tcp.ResumeReading.Instance);
        Become(ReadingProxyHeader);
    }

    private bool ReadingProxyHeader(object message)
    {
        switch (message)
        {
            case Tcp.Received r when Sender.Equals(_inbound):
                _proxyHeader = _proxyHeader.IsEmpty ? r.Data : _proxyHeader.Concat(r.Data);
                var parsed = ProxyProtocol.Parse(_proxyHeader.ToArray());
                switch (parsed.Status)
                {
                    case ProxyProtocol.Status.NeedMore:
                        _inbound.Tell(Tcp.ResumeReading.Instance);
                        break;
                    case ProxyProtocol.Status.Malformed:
                        CloseClient("proxy_protocol_invalid", $"accept_proxy: {parsed.Problem}");
                        break;
                    default:
                        Timers.Cancel(ClientHelloTimedOut.Instance);
                        if (parsed.Source is { } source)
                        {
                            _remote = IpEndpoints.Unmap(source);
                            _local = IpEndpoints.Unmap(parsed.Destination!);
                        }
                        var rest = _proxyHeader.Slice(parsed.Length);
                        _proxyHeader = ByteString.Empty;
                        AfterProxyHeader(rest);
                        break;
                }
                return true;
            case ClientHelloTimedOut:
                CloseClient("proxy_protocol_invalid", $"accept_proxy: no complete PROXY header in {Durations.Format(_ctx.Server.Timeouts.ClientHello)}");
                return true;
            case Tcp.PeerClosed when Sender.Equals(_inbound):
                CloseClient("client_closed", "client closed before its PROXY header");
                return true;
            default:
                return Closing(message);
        }
    }

    protected override void PostStop()
    {
        ReturnHelloBuffer();
        _dial?.Release();
    }

    private void StartSniffing(ByteString first)
    {
        _hello = ArrayPool<byte>.Shared.Rent(ClientHello.MaxBytes);
        Timers.StartSingleTimer(ClientHelloTimedOut.Instance, ClientHelloTimedOut.Instance, _ctx.Server.Timeouts.ClientHello);
        Become(Sniffing);
        if (first.IsEmpty) _inbound.Tell(Tcp.ResumeReading.Instance);
        else Self.Tell(new Tcp.Received(first), _inbound); // bytes that came with the PROXY header
    }

    /// <summary>Buffers the client's first bytes (bounded) until the ClientHello parser has an answer.</summary>
    private bool Sniffing(object message)
    {
        switch (message)
        {
            case Tcp.Received r when Sender.Equals(_inbound):
                var room = ClientHello.MaxBytes - _helloLength;
                var take = Math.Min(room, r.Data.Count);
                r.Data.CopyTo(_hello!, _helloLength, take);
                _helloLength += take;
                var result = ClientHello.Parse(_hello.AsSpan(0, _helloLength));
                if (result.Status == ClientHello.Status.NeedMore && take < r.Data.Count)
                    result = new ClientHello.Result(ClientHello.Status.TooLarge, null, $"no complete ClientHello in {ClientHello.MaxBytes} bytes");
                OnHello(result, r.Data.Count > take ? r.Data.Slice(take) : ByteString.Empty);
                return true;
            case ClientHelloTimedOut:
                CloseClient("client_hello_timeout", _helloLength == 0
                    ? $"nothing received in {Durations.Format(_ctx.Server.Timeouts.ClientHello)}"
                    : $"incomplete ClientHello ({_helloLength} bytes) after {Durations.Format(_ctx.Server.Timeouts.ClientHello)}");
                return true;
            case Tcp.PeerClosed when Sender.Equals(_inbound):
                CloseClient("client_closed", _helloLength == 0 ? "client closed before sending anything" : $"client closed mid ClientHello ({_helloLength} bytes)");
                return true;
            default:
                return Closing(message);
        }
    }

    private void OnHello(ClientHello.Result result, ByteString rest)
    {
        switch (result.Status)
        {
            case ClientHello.Status.NeedMore:
                _inbound.Tell(Tcp.ResumeReading.Instance);
                return;
            case ClientHello.Status.Malformed:
                CloseClient("client_hello_malformed", $"malformed ClientHello: {result.Problem}");
                return;
            case ClientHello.Status.TooLarge:
                CloseClient("client_hello_too_large", $"ClientHello too large: {result.Problem}");
                return;
        }
        Timers.Cancel(ClientHelloTimedOut.Instance);
        _sni = result.ServerName;
        // Everything read so far goes to the upstream first, byte for byte.
        var initial = ByteString.CopyFrom(_hello!, 0, _helloLength);
        if (!rest.IsEmpty) initial = initial.Concat(rest);
        ReturnHelloBuffer();
        RouteTo(_ctx.Routes.Match(_sni), initial);
    }

    private void ReturnHelloBuffer()
    {
        if (_hello is null) return;
        ArrayPool<byte>.Shared.Return(_hello);
        _hello = null;
    }

    protected override bool Receive(object message) => Closing(message);

    private void RouteTo(Route route, ByteString initial)
    {
        _route = route;
        _ctx.Services.Metrics.Routes.WithLabels(_ctx.Server.Name, route.Rule).Inc();
        Timers.StartSingleTimer(IdleCheck.Instance, IdleCheck.Instance, _ctx.Server.Timeouts.Idle);
        switch (route.Upstream)
        {
            case BuiltinUpstreamConfig { Kind: BuiltinKind.Ban }:
                CloseClient("banned", "ban upstream");
                break;
            case BuiltinUpstreamConfig { Kind: BuiltinKind.Echo }:
                _leg = new RelayLeg(_inbound, _inbound, _stats.AddUp, Timers);
                _leg.StartWith(initial, Self);
                Become(Relaying);
                break;
            case BuiltinUpstreamConfig { Kind: BuiltinKind.Health }:
                _health = new HealthSession(_inbound, _stats, _ctx.Services.Metrics, _ctx.Services.Status, _ctx.Services.Fleet);
                _health.Start(initial, Self);
                Become(ServingHealth);
                break;
            case TcpUpstreamConfig tcp:
                var plan = UpstreamPlan.For(route, tcp, _sni, _ctx.Server.Timeouts, out var problem);
                if (plan is null)
                {
                    CloseClient("no_sni", problem!);
                    break;
                }
                if (route.SendProxy is { } version && _remote is IPEndPoint src && _local is IPEndPoint dst)
                    plan = plan with { ProxyHeader = ProxyProtocol.Header(version, src, dst) };
                _connectTarget = plan.Target;
                _pending = initial;
                _dial = new UpstreamDial(plan, _stats, _ctx, _remote, Timers);
                _dialing = true;
                Become(Connecting);
                OnDialStep(_dial.Start(Self));
                break;
        }
    }

    private bool Connecting(object message)
    {
        var step = _dial!.Handle(message, Sender, Self);
        if (step != UpstreamDial.Step.NotMine)
        {
            OnDialStep(step);
            return true;
        }
        switch (message)
        {
            case IdleCheck:
                return OnIdleCheck();
            case Terminated t when t.ActorRef.Equals(_inbound):
                // The client left while we were dialling: nobody to connect for.
                _inboundStopped = true;
                StopDialing();
                _outbound?.Tell(Tcp.Close.Instance);
                FinishIfDone();
                return true;
            default:
                return Closing(message);
        }
    }

    private void OnDialStep(UpstreamDial.Step step)
    {
        if (_outbound is null && _dial!.Connection is { } connection)
        {
            _outbound = connection;
            Context.Watch(connection);
        }
        switch (step)
        {
            case UpstreamDial.Step.Connected:
                _dialing = false;
                // tls-proxy-tunnel's stats_interval: progress lines for long-lived tunnels.
                if (_connectTarget is not null && _route!.Via.StatsInterval > TimeSpan.Zero)
                    Timers.StartPeriodicTimer(StatsTick.Instance, StatsTick.Instance, _route.Via.StatsInterval);
                _leg = new RelayLeg(_inbound, _outbound!, _stats.AddUp, Timers);
                _down = new RelayLeg(_outbound!, _inbound, _stats.AddDown, Timers);
                _down.StartWith(_dial!.First, Self);
                _leg.StartWith(_pending, Self);
                _pending = ByteString.Empty;
                Become(Relaying);
                break;
            case UpstreamDial.Step.Failed:
                _dialing = false;
                CloseClient(_dial!.FailCode, _dial.FailReason);
                FinishIfDone();
                break;
        }
    }

    /// <summary>No more attempts; an upstream socket that connects after this is aborted (see <see cref="Closing"/>).</summary>
    private void StopDialing()
    {
        if (!_dialing) return;
        _dialing = false;
        _dial!.Cancel();
        Become(Closing);
    }

    /// <summary>Closes both sides when no byte moved either way for timeouts.idle; else checks again when it could expire.</summary>
    private bool OnIdleCheck()
    {
        var idle = _ctx.Server.Timeouts.Idle;
        var quiet = Stopwatch.GetElapsedTime(_stats.LastActivity);
        if (quiet < idle)
        {
            Timers.StartSingleTimer(IdleCheck.Instance, IdleCheck.Instance, idle - quiet);
            return true;
        }
        _stats.SetClose("idle_timeout", $"no byte either way for {Durations.Format(idle)}");
        _inbound.Tell(Tcp.Close.Instance);
        StopDialing(); // still connecting: its timeout is longer than idle
        _outbound?.Tell(Tcp.Close.Instance);
        return true;
    }

    private bool Relaying(object message)
    {
        if (message is IdleCheck) return OnIdleCheck();
        if (message is StatsTick)
        {
            Log.TunnelStats(_ctx.Log, _ctx.Server.Name, _remote, _sni ?? "-", _connectTarget ?? "-", _stats.BytesUp, _stats.BytesDown,
                Stopwatch.GetElapsedTime(_started).TotalSeconds);
            return true;
        }
        // A message about one socket may concern both legs (it is the source of one, the sink of the other).
        var handled = _leg!.Handle(message, Sender, Self, out var reason);
        if (reason is not null) _stats.SetClose("client_reset", reason);
        if (_down is { } down)
        {
            handled |= down.Handle(message, Sender, Self, out var downReason);
            if (downReason is not null) _stats.SetClose("upstream_reset", downReason);
            _outboundStopped |= down.SourceStopped;
        }
        if (!handled) return Closing(message);
        _inboundStopped |= _leg.SourceStopped;
        FinishIfDone();
        return true;
    }

    private bool ServingHealth(object message) =>
        message is IdleCheck ? OnIdleCheck() : _health!.Handle(message, Sender, Self) || Closing(message);

    /// <summary>Waiting for the sockets to stop; also the fallback of every state.</summary>
    private bool Closing(object message)
    {
        switch (message)
        {
            case Terminated t when t.ActorRef.Equals(_inbound):
                _inboundStopped = true;
                FinishIfDone();
                return true;
            case Terminated t when t.ActorRef.Equals(_outbound):
                _outboundStopped = true;
                FinishIfDone();
                return true;
            case Tcp.Connected when !Sender.Equals(_outbound):
                Sender.Tell(Tcp.Abort.Instance); // an upstream socket that connected after we gave up
                return true;
            case Tcp.ConnectionClosed c when Sender.Equals(_inbound):
                if (c.IsErrorClosed) _stats.SetClose("client_reset", c.Cause ?? "error");
                return true;
            case Tcp.Event or Tcp.CommandFailed or Terminated or ClientHelloTimedOut or StatsTick or IdleCheck:
                return true; // late socket events while closing
            default:
                return false;
        }
    }

    private void CloseClient(string code, string reason)
    {
        Timers.Cancel(ClientHelloTimedOut.Instance);
        _stats.SetClose(code, reason);
        _inbound.Tell(Tcp.Close.Instance);
        Become(Closing);
    }

    private void FinishIfDone()
    {
        if (!_inboundStopped || _dialing || (_outbound is not null && !_outboundStopped)) return;
        Timers.CancelAll();
        // The upstream label is a formatted string: not built when the line is not logged.
        if (_ctx.Log.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information))
            Log.Connection(_ctx.Log, _ctx.Server.Name, _remote, _sni ?? "-", _route?.Rule ?? "-", UpstreamLabel(), _connectTarget ?? "-",
                _stats.BytesUp, _stats.BytesDown, Stopwatch.GetElapsedTime(_started).TotalSeconds, _stats.Close.Code, _stats.Close.Detail);
        _ctx.Services.Metrics.Connections.WithLabels(_ctx.Server.Name, _route?.Upstream.Name ?? "-", _stats.Close.Code).Inc();
        Context.Stop(Self);
    }

    private string UpstreamLabel() => _route?.Upstream switch
    {
        null => "-",
        TcpUpstreamConfig t when _stats.UpstreamAddress is { } a => $"{t.Name}({IpEndpoints.Unmap(a)})",
        var u => u.Name,
    };

}
