using System.Net;
using Akka.Actor;
using Akka.IO;
using L4P.Builtins;
using L4P.Config;
using L4P.Protocol;
using L4P.Routing;
using Microsoft.Extensions.Logging;

namespace L4P.Connections;

/// <summary>
/// The client side of one proxied connection, handler of the accepted Akka.IO connection: read the
/// PROXY header (accept_proxy), sniff the ClientHello (tls: true), ask the <see cref="Router"/> where to
/// go, then either serve a built-in (ban, echo, health, admin) or spawn and supervise the paired
/// <see cref="UpstreamConnection"/>, which dials and owns the upstream -> client leg, while this actor
/// relays client -> upstream (its <see cref="RelayLeg"/>). States: ReadingProxyHeader -> Sniffing ->
/// Routing -> Connecting -> Relaying (echo skips Connecting), or Routing -> ServingHealth; Closing waits
/// for the socket and the child to stop, and is every state's fallback. Each state is a behaviour closed
/// over the data only it uses (its pooled buffer, the bytes read so far, the child, the leg, the health
/// session); what spans states is a field. The pair ends when both have; one info line then tells the story.
/// </summary>
public sealed class ClientConnection : ActorBase, IWithTimers
{
    private sealed record ClientHelloTimedOut : Signal<ClientHelloTimedOut>;

    private sealed record StatsTick : Signal<StatsTick>;

    private sealed record IdleCheck : Signal<IdleCheck>;

    private sealed record RouterTimedOut : Signal<RouterTimedOut>;

    private sealed record CloseOverdue : Signal<CloseOverdue>;

    /// <summary>
    /// After a close L4P starts, how long the sockets get to flush what is pending: a peer that never
    /// reads would otherwise hold a socket (and its maxclients slot) forever.
    /// </summary>
    public static readonly TimeSpan CloseDeadline = TimeSpan.FromSeconds(5);

    /// <summary>How long the router may take to answer: it answers in microseconds, so this only ends a wait for a router that is gone.</summary>
    public static readonly TimeSpan RouterTimeout = TimeSpan.FromSeconds(5);

    private readonly ServerContext _ctx;
    private readonly IActorRef _inbound;
    private OwnedConnection? _owned;
    private EndPoint _remote;
    private EndPoint _local;
    private readonly ConnectionStats _stats;
    private readonly long _started;

    // Only what spans states is a field: what the final line tells and what Closing waits for. The rest is
    // a parameter of the state that uses it.
    private Route? _route;
    private string? _sni;
    private string? _connectTarget;
    private bool _inboundStopped;

    /// <summary>The paired <see cref="UpstreamConnection"/> while it runs (null: none spawned, or it has stopped): the pair ends once it has.</summary>
    private IActorRef? _upstream;

    /// <summary>Returns what the current state rented from a pool; see <see cref="Enter"/>.</summary>
    private readonly StateRental _rented = new();

    public ClientConnection(ServerContext ctx, IActorRef inbound, EndPoint remote, EndPoint? local = null)
    {
        _ctx = ctx;
        _inbound = inbound;
        _remote = IpEndpoints.Unmap(remote);
        _local = IpEndpoints.Unmap(local ?? new IPEndPoint(IPAddress.None, 0));
        _stats = new ConnectionStats(ctx.BytesUp, ctx.BytesDown, ctx.Services.Time);
        _started = ctx.Services.Time.GetTimestamp();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ServerContext ctx, IActorRef inbound, EndPoint remote, EndPoint? local = null) =>
        FactoryProps.For(() => new ClientConnection(ctx, inbound, remote, local));

    /// <summary>The paired upstream connection never restarts: its failure is this connection's close reason, and the pair ends.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        // A failure in the child's PreStart comes wrapped ("Exception during creation"): the cause is inside.
        _stats.SetClose(CloseCode.UpstreamFailed, $"upstream connection failed: {Proxy.ActorFailure.Describe(e)}");
        return Directive.Stop;
    });

    protected override void PreStart()
    {
        // Registering at once keeps Akka.IO's register-timeout out of the picture; pull mode means
        // nothing is read until we ask.
        _owned = OwnedConnection.Register(_inbound, Context, keepOpenOnPeerClosed: true);
        if (!_ctx.Server.AcceptProxy) AfterProxyHeader(ByteString.Empty);
        else if (IsTrustedProxySender()) StartReadingProxyHeader();
        else CloseClient(CloseCode.ProxyProtocolUntrusted, $"accept_proxy_from: {_remote} may not send a PROXY header");
    }

    /// <summary>
    /// Whatever stopped us (the pair's end, a failure, the listener's stop), the client socket is reset
    /// unless it has ended, and the state's buffer goes back; the child stops with us and resets its own.
    /// </summary>
    protected override void PostStop()
    {
        _owned?.AbortUnlessEnded();
        _rented.Release();
    }

    protected override bool AroundReceive(Receive receive, object message)
    {
        InjectedFault.ThrowIfFault(message);
        _owned?.Observe(message, Sender);
        return base.AroundReceive(receive, message);
    }

    /// <summary>
    /// Every state change goes through here. A state that rents from a pool (a buffer) passes
    /// <paramref name="release"/>: it runs exactly once, when the state is left or in PostStop if the actor
    /// is stopped first. A close reason that reads the buffer is CloseClient's argument, so it is built
    /// before Closing is entered.
    /// </summary>
    private void Enter(Receive state, Action? release = null)
    {
        _rented.Replace(release);
        Become(state);
    }

    private void AfterProxyHeader(ByteString first)
    {
        if (_ctx.Server.Tls) StartSniffing(first);
        else AskRouter(null, first);
    }

    /// <summary>accept_proxy_from: only these senders may claim another client's address (none listed: anyone).</summary>
    private bool IsTrustedProxySender()
    {
        var from = _ctx.Server.AcceptProxyFrom;
        if (from.IsEmpty) return true;
        if (_remote is not IPEndPoint { Address: var address }) return false;
        foreach (var network in from)
            if (network.Contains(address)) return true;
        return false;
    }

    /// <summary>accept_proxy: the load balancer in front sends a PROXY header first; it names the real client.</summary>
    private void StartReadingProxyHeader()
    {
        var header = new BoundedBuffer(ProxyProtocol.V2MaxLength);
        Timers.StartSingleTimer(ClientHelloTimedOut.Instance, ClientHelloTimedOut.Instance, _ctx.Server.Timeouts.ClientHello);
        _inbound.Tell(Tcp.ResumeReading.Instance);
        Enter(m => ReadingProxyHeader(m, header), header.Release);
    }

    private bool ReadingProxyHeader(object message, BoundedBuffer header)
    {
        switch (message)
        {
            case Tcp.Received r when Sender.Equals(_inbound):
                header.Append(r.Data);
                // The parser decides within V2MaxLength bytes (both versions' bound): the buffer never needs more.
                var parsed = ProxyProtocol.Parse(header.Span);
                switch (parsed.Status)
                {
                    case ProxyProtocol.Status.NeedMore:
                        _inbound.Tell(Tcp.ResumeReading.Instance);
                        break;
                    case ProxyProtocol.Status.Malformed:
                        CloseClient(CloseCode.ProxyProtocolInvalid, $"accept_proxy: {parsed.Problem}");
                        break;
                    default:
                        Timers.Cancel(ClientHelloTimedOut.Instance);
                        if (parsed.Source is { } source)
                        {
                            _remote = IpEndpoints.Unmap(source);
                            _local = IpEndpoints.Unmap(parsed.Destination!);
                        }
                        header.Consume(parsed.Length);
                        // Rest is a copy: the buffer goes back to the pool as the next state is entered.
                        AfterProxyHeader(header.Rest);
                        break;
                }
                return true;
            case ClientHelloTimedOut:
                CloseClient(CloseCode.ProxyProtocolInvalid, $"accept_proxy: no complete PROXY header in {Durations.Format(_ctx.Server.Timeouts.ClientHello)}");
                return true;
            case Tcp.PeerClosed when Sender.Equals(_inbound):
                CloseClient(CloseCode.ClientClosed, "client closed before its PROXY header");
                return true;
            default:
                return Closing(message);
        }
    }

    private void StartSniffing(ByteString first)
    {
        var hello = new BoundedBuffer(ClientHello.MaxBytes);
        Timers.StartSingleTimer(ClientHelloTimedOut.Instance, ClientHelloTimedOut.Instance, _ctx.Server.Timeouts.ClientHello);
        Enter(m => Sniffing(m, hello), hello.Release);
        if (first.IsEmpty) _inbound.Tell(Tcp.ResumeReading.Instance);
        else Self.Tell(new Tcp.Received(first), _inbound); // bytes that came with the PROXY header
    }

    /// <summary>Buffers the client's first bytes (bounded) until the ClientHello parser has an answer.</summary>
    private bool Sniffing(object message, BoundedBuffer hello)
    {
        switch (message)
        {
            case Tcp.Received r when Sender.Equals(_inbound):
                hello.Append(r.Data);
                var result = ClientHello.Parse(hello.Span);
                if (result.Status == ClientHello.Status.NeedMore && hello.Overflowed)
                    result = new ClientHello.Result(ClientHello.Status.TooLarge, null, $"no complete ClientHello in {ClientHello.MaxBytes} bytes");
                OnHello(result, hello);
                return true;
            case ClientHelloTimedOut:
                CloseClient(CloseCode.ClientHelloTimeout, hello.Count == 0
                    ? $"nothing received in {Durations.Format(_ctx.Server.Timeouts.ClientHello)}"
                    : $"incomplete ClientHello ({hello.Count} bytes) after {Durations.Format(_ctx.Server.Timeouts.ClientHello)}");
                return true;
            case Tcp.PeerClosed when Sender.Equals(_inbound):
                CloseClient(CloseCode.ClientClosed, hello.Count == 0 ? "client closed before sending anything" : $"client closed mid ClientHello ({hello.Count} bytes)");
                return true;
            default:
                return Closing(message);
        }
    }

    private void OnHello(ClientHello.Result result, BoundedBuffer hello)
    {
        switch (result.Status)
        {
            case ClientHello.Status.NeedMore:
                _inbound.Tell(Tcp.ResumeReading.Instance);
                return;
            case ClientHello.Status.Malformed:
                CloseClient(CloseCode.ClientHelloMalformed, $"malformed ClientHello: {result.Problem}");
                return;
            case ClientHello.Status.TooLarge:
                CloseClient(CloseCode.ClientHelloTooLarge, $"ClientHello too large: {result.Problem}");
                return;
        }
        Timers.Cancel(ClientHelloTimedOut.Instance);
        _sni = result.ServerName;
        // Everything read so far goes to the upstream first, byte for byte. Rest is a copy: the buffer goes
        // back to the pool as Routing is entered.
        var initial = hello.Rest;
        // An IP literal is not a server name (RFC 6066): routed as no SNI, so never a CONNECT target.
        // The log still shows what the client sent.
        AskRouter(_sni is not null && ClientHello.IsIpLiteral(_sni) ? null : _sni, initial);
    }

    protected override bool Receive(object message) => Closing(message);

    /// <summary>
    /// One question per connection, answered as a message: nothing is read from the client meanwhile.
    /// <paramref name="initial"/> (the bytes read so far) waits in the Routing state for the answer.
    /// </summary>
    private void AskRouter(string? sni, ByteString initial)
    {
        _ctx.Router.Tell(new RouteRequest(_ctx.Server.Name, sni, (_remote as IPEndPoint)?.Address), Self);
        Timers.StartSingleTimer(RouterTimedOut.Instance, RouterTimedOut.Instance, RouterTimeout);
        Enter(m => Routing(m, initial));
    }

    private bool Routing(object message, ByteString initial)
    {
        switch (message)
        {
            case RouteDecision d:
                Timers.Cancel(RouterTimedOut.Instance);
                OnDecision(d, initial);
                return true;
            case RouterTimedOut:
                CloseClient(CloseCode.RouterTimeout, $"the router {_ctx.Router.Path} did not answer within {Durations.Format(RouterTimeout)}");
                return true;
            default:
                return Closing(message);
        }
    }

    private void OnDecision(RouteDecision decision, ByteString initial)
    {
        var route = decision.Route;
        _route = route;
        _ctx.Services.Metrics.Routes.WithLabels(_ctx.Server.Name, route.Rule).Inc();
        Timers.StartSingleTimer(IdleCheck.Instance, IdleCheck.Instance, _ctx.Server.Timeouts.Idle);
        if (decision.Refusal is { } refusal)
        {
            _connectTarget = decision.Plan?.Target;
            CloseClient(refusal.Close, refusal.Reason);
            return;
        }
        switch (route.Upstream)
        {
            case BuiltinUpstreamConfig { Kind: BuiltinKind.Ban }:
                CloseClient(CloseCode.Banned, "ban upstream");
                break;
            case BuiltinUpstreamConfig { Kind: BuiltinKind.Echo }:
                var echo = new RelayLeg(_inbound, _inbound, CountEchoed, Timers);
                echo.StartWith(initial, Self);
                Enter(m => Relaying(m, echo));
                break;
            case BuiltinUpstreamConfig { Kind: BuiltinKind.Health or BuiltinKind.Admin } http:
                // admin decides on the effective client address: the PROXY header's source when one was trusted.
                var gate = http.Kind == BuiltinKind.Admin ? AdminGate.For(_ctx.Server, (_remote as IPEndPoint)?.Address) : null;
                var health = new HealthSession(_inbound, _stats, _ctx.Services.Metrics, _ctx.Services.Status, _ctx.Services.Fleet,
                    Timers, _ctx.Server.Timeouts.HttpRequest, CloseClient, _ctx.Server.Name, gate);
                // Entered before Start: the session's buffer is rented from its first bytes on.
                Enter(m => ServingHealth(m, health), health.Release);
                health.Start(initial, Self);
                break;
            case TcpUpstreamConfig when decision.Plan is null:
                CloseClient(CloseCode.UpstreamFailed, $"the router gave no plan for upstream {route.Upstream.Name}");
                break;
            case TcpUpstreamConfig:
                var plan = decision.Plan;
                if (route.SendProxy is { } version && _remote is IPEndPoint src && _local is IPEndPoint dst)
                    plan = plan with { ProxyHeader = ProxyProtocol.Header(version, src, dst) };
                _connectTarget = plan.Target;
                var upstream = Context.ActorOf(UpstreamConnection.Props(_ctx, plan, decision.Addresses, _inbound, _stats, initial), "up");
                _upstream = upstream;
                Context.Watch(upstream);
                if (_ctx.Log.IsEnabled(LogLevel.Debug))
                    Log.Paired(_ctx.Log, _ctx.Server.Name, _remote, Self.Path.ToString(), _ctx.Router.Path.ToString(), upstream.Path.ToString(),
                        plan.Upstream.Name);
                Enter(m => Connecting(m, upstream, route));
                break;
        }
    }

    /// <summary>The child <paramref name="upstream"/> dials; the client is not read until it has connected.</summary>
    private bool Connecting(object message, IActorRef upstream, Route route)
    {
        switch (message)
        {
            case UpstreamConnected up:
                Context.Watch(up.Connection);
                // tls-proxy-tunnel's stats_interval: progress lines for long-lived tunnels.
                if (_connectTarget is not null && route.Via.StatsInterval > TimeSpan.Zero)
                    Timers.StartPeriodicTimer(StatsTick.Instance, StatsTick.Instance, route.Via.StatsInterval);
                // The child has queued the sniffed bytes (and any PROXY header) on the upstream socket first.
                var leg = new RelayLeg(_inbound, up.Connection, _stats.AddUp, Timers);
                leg.Start();
                Enter(m => Relaying(m, leg));
                return true;
            case UpstreamFailed failed:
                CloseClient(failed.Close);
                return true;
            case IdleCheck:
                return OnIdleCheck(null);
            case Terminated t when t.ActorRef.Equals(upstream):
                _upstream = null;
                CloseClient(CloseCode.UpstreamFailed, "the upstream connection stopped before it connected");
                FinishIfDone();
                return true;
            case Terminated t when t.ActorRef.Equals(_inbound):
                // The client left while we were dialling: nobody to connect for.
                _inboundStopped = true;
                _stats.SetClose(CloseCode.ClientClosed, "client closed before the upstream connected");
                Context.Stop(upstream);
                Enter(Closing);
                return true;
            default:
                return Closing(message);
        }
    }

    /// <summary>
    /// Closes both sides when no byte moved either way for timeouts.idle; else checks again when it could expire.
    /// <paramref name="leg"/> is the relay once there is one: its sink is the upstream socket (or, for echo, the client's).
    /// </summary>
    private bool OnIdleCheck(RelayLeg? leg)
    {
        var idle = _ctx.Server.Timeouts.Idle;
        var quiet = _ctx.Services.Time.GetElapsedTime(_stats.LastActivity);
        if (quiet < idle)
        {
            Timers.StartSingleTimer(IdleCheck.Instance, IdleCheck.Instance, idle - quiet);
            return true;
        }
        _stats.SetClose(CloseCode.IdleTimeout, $"no byte either way for {Durations.Format(idle)}");
        StartCloseDeadline();
        _inbound.Tell(Tcp.Close.Instance);
        if (leg is not null && !ReferenceEquals(leg.Sink, _inbound)) leg.Sink.Tell(Tcp.Close.Instance);
        else if (_upstream is not null) Context.Stop(_upstream); // still connecting: its timeout is longer than idle
        return true;
    }

    /// <summary>
    /// Relays client -> upstream (or back to the client, for echo) through <paramref name="leg"/>. Never left
    /// once entered: the close deadline is handled here, as only this state knows the upstream socket.
    /// </summary>
    private bool Relaying(object message, RelayLeg leg)
    {
        switch (message)
        {
            case IdleCheck:
                return OnIdleCheck(leg);
            case StatsTick:
                Log.TunnelStats(_ctx.Log, _ctx.Server.Name, _remote, LogText.Escape(_sni ?? "-"), LogText.Escape(_connectTarget ?? "-"), _stats.BytesUp, _stats.BytesDown,
                    _ctx.Services.Time.GetElapsedTime(_started).TotalSeconds);
                return true;
            case CloseOverdue:
                AbortOverdue(leg);
                return true;
        }
        if (!leg.Handle(message, Sender, Self, out var reason)) return Closing(message);
        if (reason is not null) _stats.SetClose(CloseCode.ClientReset, reason);
        if (leg.SourceStopped && !_inboundStopped)
        {
            _inboundStopped = true;
            FinishIfDone();
        }
        return true;
    }

    /// <summary>Echo: every byte written back went up (read from the client) and down (sent to it).</summary>
    private void CountEchoed(int n)
    {
        _stats.AddUp(n);
        _stats.AddDown(n);
    }

    /// <summary>The health built-in: <paramref name="health"/> answers HTTP on the client socket, and closes it through CloseClient.</summary>
    private bool ServingHealth(object message, HealthSession health) =>
        message is IdleCheck ? OnIdleCheck(null) : health.Handle(message, Sender, Self) || Closing(message);

    /// <summary>
    /// Waiting for the socket and the child to stop; also the fallback of every state. Late messages: a
    /// <c>RouteDecision</c> or <c>UpstreamConnected</c> that crossed our close is dropped (the child was
    /// told to stop, and its PostStop resets the socket it owns); timers and socket events of states we
    /// have left are dropped; a death is counted where it matters (ours, the child's) and ignored otherwise.
    /// </summary>
    private bool Closing(object message)
    {
        switch (message)
        {
            case Terminated t when t.ActorRef.Equals(_inbound):
                _inboundStopped = true;
                FinishIfDone();
                return true;
            case Terminated t when t.ActorRef.Equals(_upstream):
                _upstream = null;
                FinishIfDone();
                return true;
            case Tcp.ConnectionClosed c when Sender.Equals(_inbound):
                if (c.IsErrorClosed) _stats.SetClose(CloseCode.ClientReset, c.Cause ?? "error");
                return true;
            case CloseOverdue:
                AbortOverdue(null); // no leg: Relaying handles its own
                return true;
            case Tcp.Event or Tcp.CommandFailed or Terminated or ClientHelloTimedOut or StatsTick or IdleCheck or RouterTimedOut or HealthSession.HeadTimedOut
                or RouteDecision or UpstreamConnected or UpstreamFailed:
                return true; // late events while closing
            default:
                return false;
        }
    }

    private void CloseClient(CloseCode code, string reason) => CloseClient(new CloseReason(code, null, reason));

    private void CloseClient(CloseReason reason)
    {
        Timers.Cancel(ClientHelloTimedOut.Instance);
        _stats.SetClose(reason);
        StartCloseDeadline();
        _inbound.Tell(Tcp.Close.Instance);
        if (_upstream is not null) Context.Stop(_upstream);
        Enter(Closing);
    }

    private void StartCloseDeadline()
    {
        if (!Timers.IsTimerActive(CloseOverdue.Instance)) Timers.StartSingleTimer(CloseOverdue.Instance, CloseOverdue.Instance, CloseDeadline);
    }

    /// <summary>The close we started has not finished: its peer does not read. Reset what is still open (<paramref name="leg"/>: as in <see cref="OnIdleCheck"/>).</summary>
    private void AbortOverdue(RelayLeg? leg)
    {
        if (!_inboundStopped) _inbound.Tell(Tcp.Abort.Instance);
        if (leg is { SinkStopped: false } && !ReferenceEquals(leg.Sink, _inbound)) leg.Sink.Tell(Tcp.Abort.Instance);
        else if (_upstream is not null) Context.Stop(_upstream);
    }

    private void FinishIfDone()
    {
        if (!_inboundStopped || _upstream is not null) return;
        Timers.CancelAll();
        // The upstream label is a formatted string: not built when the line is not logged. The SNI and the
        // CONNECT target (built from it) come from the client: escaped, like every peer-supplied string.
        if (_ctx.Log.IsEnabled(LogLevel.Information))
            Log.Connection(_ctx.Log, _ctx.Server.Name, _remote, LogText.Escape(_sni ?? "-"), _route?.Rule ?? "-", UpstreamLabel(), LogText.Escape(_connectTarget ?? "-"),
                _stats.BytesUp, _stats.BytesDown, _ctx.Services.Time.GetElapsedTime(_started).TotalSeconds, _stats.Close.Label, _stats.Close.Detail);
        _ctx.Services.Metrics.Connections.WithLabels(_ctx.Server.Name, _route?.Upstream.Name ?? "-", _stats.Close.Label).Inc();
        Context.Stop(Self);
    }

    private string UpstreamLabel() => _route?.Upstream switch
    {
        null => "-",
        TcpUpstreamConfig t when _stats.UpstreamAddress is { } a => $"{t.Name}({IpEndpoints.Unmap(a)})",
        var u => u.Name,
    };
}
