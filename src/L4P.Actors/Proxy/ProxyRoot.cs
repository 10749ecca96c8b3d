using System.Net;
using Akka.Actor;
using L4P.Config;
using L4P.Connections;
using L4P.LoadBalancing;
using L4P.Routing;
using Microsoft.Extensions.Logging;

namespace L4P.Proxy;

/// <summary>
/// The proxy: one Listener per listen address, kept across config generations, and the current
/// generation (its config and its Router, which owns the routing state and the Resolver). Binds nothing
/// before Akka.IO is warm (<see cref="TcpWarmup"/>) and every upstream name has had a first DNS answer;
/// answers <see cref="WaitReady"/> once every address is bound (or the first bind failed).
/// <see cref="Reload"/> starts a new generation: once its DNS is known, listeners whose address stays
/// get the new config for new connections without closing their socket, new addresses are bound,
/// removed ones drain; connections in flight keep the generation they started with.
/// <see cref="Drain"/> answers once every listener has unbound and its connections have ended.
/// Deaths and deadlines (README: Architecture): listeners and routers are watched. A listener that stops
/// is counted out (draining, or its bind failed). A router that dies while its generation is pending
/// fails that start or reload with its exception named; the current generation's router is started
/// again after a backoff over the same routing state (the <see cref="BackendRegistry"/> and outlier
/// table outlive it), and the listeners get it. A reload not ready within <see cref="ReloadDeadline"/>
/// is abandoned here, and a drain abandons a pending reload: the reload's caller always gets an answer,
/// and the next reload is free to start.
/// </summary>
public sealed class ProxyRoot : ActorBase, IWithTimers
{
    public sealed record WaitReady : Signal<WaitReady>;

    public sealed record Ready(IReadOnlyList<ListenerBound> Listeners);

    public sealed record BindFailed(string Server, IPEndPoint Address, string Reason);

    /// <summary>The first generation could not start (its router died): <see cref="Reason"/> names the exception.</summary>
    public sealed record StartFailed(string Reason);

    /// <summary>How long a reload's new generation may take to be ready (its first DNS round, its new binds) before it is abandoned.</summary>
    public static readonly TimeSpan ReloadDeadline = TimeSpan.FromSeconds(45);

    private sealed record ReloadOverdue : Signal<ReloadOverdue>;

    private sealed record RestartRouter(int Generation);

    private sealed record RebindListener(IPEndPoint Endpoint);

    public sealed record Reload(ProxyConfig Config);

    /// <summary>The reload's outcome; with <see cref="ReloadOutcome.BindFailed"/>, <see cref="Problems"/> says where.</summary>
    public sealed record Reloaded(ReloadOutcome Outcome, IReadOnlyList<string> Problems)
    {
        /// <summary>The outcome's stable label (<c>ok</c>, <c>bind_failed</c>, <c>busy</c>).</summary>
        public string Result => Outcome.Label();
    }

    public sealed record Drain : Signal<Drain>;

    public sealed record Drained;

    /// <summary>
    /// Anyone -> ProxyRoot during a drain whose time is up: every connection still open is stopped, and so
    /// resets its sockets; the drain's <see cref="Drained"/> follows once the listeners have unbound.
    /// </summary>
    public sealed record CloseAll : Signal<CloseAll>;

    /// <summary>Anyone -> ProxyRoot: answered with <see cref="State"/>.</summary>
    public sealed record GetState : Signal<GetState>;

    /// <summary>The running generation: its servers (listen addresses, open connections) and each TCP upstream's current addresses.</summary>
    public sealed record State(int Generation, IReadOnlyList<ServerState> Servers, IReadOnlyList<UpstreamState> Upstreams);

    public sealed record ServerState(string Name, IReadOnlyList<IPEndPoint> Listen, int ActiveConnections);

    public sealed record UpstreamState(string Name, IReadOnlyList<IPEndPoint> Addresses);

    private sealed record Generation(int Number, ProxyConfig Config, BackendRegistry Backends, IActorRef Router);

    private readonly ProxyServices _services;
    private readonly Dictionary<IPEndPoint, IActorRef> _listeners = [];
    private readonly HashSet<IActorRef> _alive = [];
    private readonly List<ListenerBound> _bound = [];
    private readonly List<IActorRef> _readyWaiters = [];
    private Generation _current;
    private int _listenerSeq;
    private bool _started;
    private bool _dnsReady;
    private bool _warm;
    private object? _readyAnswer;

    // A reload in progress: the generation waiting for its first DNS round, and who asked.
    private Generation? _next;
    private IActorRef? _reloadRequester;
    private readonly HashSet<IPEndPoint> _reloadBinding = [];
    private readonly List<string> _reloadProblems = [];

    private IActorRef? _drainRequester;

    private readonly ILogger _log;
    private (int? Ceiling, string? Problem)? _announced;
    private readonly Backoff _backoff;
    private IActorRef _warmup = ActorRefs.Nobody;
    private int _routerSeq;
    private readonly ChildFailure _failure = new();

    // Routers of earlier generations, answering their last connections before they stop by themselves.
    private readonly HashSet<IActorRef> _retiring = [];

    public ProxyRoot(ProxyConfig config, ProxyServices services)
    {
        _services = services;
        _log = services.Logs.CreateLogger("L4P.Connections");
        _backoff = new Backoff(services.Time);
        _current = StartGeneration(1, config);
    }

    private sealed record SchedulerStarted : Signal<SchedulerStarted>;

    protected override void PreStart()
    {
        _services.StartFleet?.Invoke(Context);
        // Watched: a warm-up that dies before Done must not keep the proxy from binding (it is never fatal).
        _warmup = Context.Watch(Context.ActorOf(TcpWarmup.Props(_services.TcpManager, _services.Tcp), "warmup"));
        // Akka's HashedWheelTimerScheduler starts its worker on the first timer, and every thread that
        // schedules meanwhile blocks until it runs. If that first timer is a burst of new connections
        // each starting its idle timer, they block every thread-pool thread and the worker waits for
        // the pool to grow: a fresh process stalled for seconds on its first burst (README: Reliability).
        // One timer here, before any listener is bound, starts the worker with nobody waiting.
        Timers.StartSingleTimer(SchedulerStarted.Instance, SchedulerStarted.Instance, TimeSpan.FromMilliseconds(1));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ProxyConfig config, ProxyServices services) =>
        Akka.Actor.Props.Create(() => new ProxyRoot(config, services));

    /// <summary>A child that throws is stopped, and its Terminated says what follows; the exception is kept for that.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => _failure.StopAndRemember();

    private Generation StartGeneration(int number, ProxyConfig config)
    {
        foreach (var advice in ConfigAdvice.For(config)) Log.ConfigAdvice(_log, advice);
        var backends = new BackendRegistry(config, _services.Outliers);
        var g = new Generation(number, config, backends, ActorRefs.Nobody);
        return g with { Router = StartRouter(g) };
    }

    private IActorRef StartRouter(Generation g)
    {
        // Names are never reused: an abandoned generation's router may still be stopping when the next
        // reload takes its number, and a restarted one gets a new name too.
        var router = Context.ActorOf(Router.Props(g.Config, g.Backends, _services), $"router-{++_routerSeq}");
        Context.Watch(router);
        _backoff.Started($"router of generation {g.Number}");
        return router;
    }

    /// <summary>A router died. Pending generation: its start or reload fails. Current one: a new router after the backoff. Retired: expected.</summary>
    private void OnRouterDied(IActorRef router)
    {
        if (_retiring.Remove(router)) return;
        var cause = _failure.Take("it stopped");
        if (_next is not null && router.Equals(_next.Router))
        {
            Log.GenerationFailed(_log, _next.Number, cause);
            AbandonReload(ReloadOutcome.Failed, $"generation {_next.Number} failed to start: its router {router.Path} died: {cause}");
            return;
        }
        if (!router.Equals(_current.Router)) return;
        if (!_started)
        {
            Log.GenerationFailed(_log, _current.Number, cause);
            Answer(new StartFailed($"the proxy could not start: its router {router.Path} died: {cause}"));
            return;
        }
        var delay = _backoff.Next($"router of generation {_current.Number}");
        _services.Metrics.ActorRestarts.WithLabels("router").Inc();
        // Armed before the line is logged: whoever sees the line knows the restart is scheduled.
        Timers.StartSingleTimer(new RestartRouter(_current.Number), new RestartRouter(_current.Number), delay);
        Log.RouterDied(_log, router.Path.ToString(), cause, Durations.Format(delay));
    }

    /// <summary>
    /// A listener stopped. Still in the table: it died serving (an exception), taking its connections with it;
    /// its address is bound again after the backoff. Otherwise it drained or failed to bind, as intended.
    /// </summary>
    private void OnListenerStopped(IActorRef listener)
    {
        var (endpoint, _) = _listeners.FirstOrDefault(kv => kv.Value.Equals(listener));
        if (endpoint is null || _drainRequester is not null) return;
        _listeners.Remove(endpoint);
        var cause = _failure.Take("it stopped");
        var delay = _backoff.Next($"listen {endpoint}");
        _services.Metrics.ActorRestarts.WithLabels("listener").Inc();
        Timers.StartSingleTimer(new RebindListener(endpoint), new RebindListener(endpoint), delay);
        Log.ListenerDied(_log, listener.Path.ToString(), endpoint.ToString(), cause, Durations.Format(delay));
    }

    /// <summary>The current generation gets a new router over the same routing state; the listeners hand it to new connections.</summary>
    private void RestartCurrentRouter()
    {
        _current = _current with { Router = StartRouter(_current) };
        foreach (var (ctx, ep) in Addresses(_current))
            if (_listeners.TryGetValue(ep, out var listener)) listener.Tell(new UpdateContext(ctx));
    }

    /// <summary>Gives up the pending reload: its router stops (its resolver and checks with it) and the caller hears <paramref name="outcome"/>.</summary>
    private void AbandonReload(ReloadOutcome outcome, string problem)
    {
        Timers.Cancel(ReloadOverdue.Instance);
        if (_next is not null)
        {
            Context.Unwatch(_next.Router);
            Context.Stop(_next.Router);
            _next = null;
        }
        _reloadProblems.Add(problem);
        _reloadBinding.Clear();
        _reloadRequester?.Tell(new Reloaded(outcome, [.. _reloadProblems]));
        _reloadRequester = null;
        _reloadProblems.Clear();
    }

    private IEnumerable<(ServerContext Ctx, IPEndPoint Endpoint)> Addresses(Generation g) =>
        g.Config.Servers.SelectMany(server =>
        {
            var ctx = new ServerContext(server, g.Router, _services);
            return server.Listen.Select(ep => (ctx, ep));
        });

    private void Bind(ServerContext ctx, IPEndPoint ep)
    {
        _backoff.Started($"listen {ep}");
        var listener = Context.ActorOf(Listener.Props(ctx, ep), $"listen-{_listenerSeq++}");
        _listeners[ep] = listener;
        _alive.Add(listener);
        Context.Watch(listener);
    }

    protected override bool AroundReceive(Receive receive, object message)
    {
        InjectedFault.ThrowIfFault(message);
        return base.AroundReceive(receive, message);
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Router.Ready when Sender.Equals(_current.Router) && !_started:
                _dnsReady = true;
                StartIfReady();
                return true;
            case TcpWarmup.Done:
                _warm = true;
                StartIfReady();
                return true;
            case Router.Ready when _next is not null && Sender.Equals(_next.Router):
                SwitchTo(_next);
                return true;
            case Router.Ready:
                return true; // an abandoned generation's, too late
            case RestartRouter r when r.Generation == _current.Number && _drainRequester is null:
                RestartCurrentRouter();
                return true;
            case RestartRouter:
                return true; // superseded by a reload, or shutting down
            case ReloadOverdue when _next is not null:
                AbandonReload(ReloadOutcome.Timeout, $"generation {_next.Number} was not ready within {Durations.Format(ReloadDeadline)} (its first DNS round did not finish)");
                return true;
            case ReloadOverdue when _reloadRequester is not null:
                foreach (var ep in _reloadBinding) _reloadProblems.Add($"cannot listen on {ep}: no answer to the bind within {Durations.Format(ReloadDeadline)}");
                _reloadBinding.Clear();
                FinishReloadIfBound();
                return true;
            case ReloadOverdue:
                return true;
            case ListenerBound b:
                if (_reloadBinding.Remove(b.Configured)) FinishReloadIfBound();
                else
                {
                    _bound.Add(b);
                    if (_bound.Count == _listeners.Count) Answer(new Ready(_bound));
                }
                return true;
            case ListenerFailed f:
                _listeners.Remove(f.Configured);
                if (_reloadBinding.Remove(f.Configured))
                {
                    _reloadProblems.Add($"cannot listen on {f.Configured} (servers.{f.Server}.listen): {f.Reason}");
                    FinishReloadIfBound();
                }
                else Answer(new BindFailed(f.Server, f.Configured, f.Reason));
                return true;
            case SchedulerStarted:
                return true;
            case WaitReady:
                if (_readyAnswer is not null) Sender.Tell(_readyAnswer);
                else _readyWaiters.Add(Sender);
                return true;
            case Reload r when _next is null && _reloadRequester is null && _drainRequester is null:
                _reloadRequester = Sender;
                _next = StartGeneration(_current.Number + 1, r.Config);
                Timers.StartSingleTimer(ReloadOverdue.Instance, ReloadOverdue.Instance, ReloadDeadline);
                return true;
            case Reload:
                Sender.Tell(new Reloaded(ReloadOutcome.Busy, ["a reload or shutdown is already in progress"]));
                return true;
            case GetState:
                Sender.Tell(Snapshot());
                return true;
            case Drain:
                _drainRequester = Sender;
                // A reload still waiting for its DNS would bind new listeners after this: it is given up.
                if (_next is not null || _reloadRequester is not null) AbandonReload(ReloadOutcome.Cancelled, "a shutdown began before the reload finished");
                foreach (var l in _alive) l.Tell(StopAccepting.Instance);
                ReportIfDrained();
                return true;
            case CloseAll:
                foreach (var l in _alive) l.Tell(CloseConnections.Instance);
                return true;
            case Terminated t when t.ActorRef.Equals(_warmup):
                _failure.Forget(); // a warm-up's failure is not fatal, and not a router's
                _warm = true;
                StartIfReady();
                return true;
            case Terminated t when !_alive.Contains(t.ActorRef):
                OnRouterDied(t.ActorRef);
                return true;
            case RebindListener r when _drainRequester is null && !_listeners.ContainsKey(r.Endpoint):
                foreach (var (ctx, ep) in Addresses(_current).Where(a => a.Endpoint.Equals(r.Endpoint))) Bind(ctx, ep);
                return true;
            case RebindListener:
                return true; // shutting down, or the address left the config meanwhile
            case Terminated t:
                OnListenerStopped(t.ActorRef);
                _alive.Remove(t.ActorRef);
                if (_drainRequester is null) UpdateCeiling(_current.Config, _alive.Count);
                ReportIfDrained();
                return true;
            default:
                return false;
        }
    }

    private void SwitchTo(Generation next)
    {
        var nextAddresses = Addresses(next).ToList();
        var keep = nextAddresses.Select(a => a.Endpoint).ToHashSet();
        foreach (var (ep, listener) in _listeners.Where(kv => !keep.Contains(kv.Key)).ToList())
        {
            listener.Tell(StopAccepting.Instance); // drains, then unbinds and stops
            _listeners.Remove(ep);
        }
        foreach (var (ctx, ep) in nextAddresses)
        {
            if (_listeners.TryGetValue(ep, out var listener)) listener.Tell(new UpdateContext(ctx));
            else
            {
                _reloadBinding.Add(ep);
                Bind(ctx, ep);
            }
        }
        // Connections in flight hold their own context. Those accepted just before the switch may still
        // be reading a PROXY header and a ClientHello before they ask the old router: it stays for them.
        var lastAsk = _current.Config.Servers.Select(s => s.Timeouts.ClientHello).DefaultIfEmpty(TimeSpan.Zero).Max();
        _current.Router.Tell(new Router.Retire(lastAsk + lastAsk + ClientConnection.RouterTimeout));
        _retiring.Add(_current.Router);
        _current = next;
        _next = null;
        // Draining listeners still hold their outstanding accepts: counted until they stop.
        UpdateCeiling(next.Config, _alive.Count);
        Publish(next);
        FinishReloadIfBound();
    }

    /// <summary>DNS known and Akka.IO warm: open the listeners of the first generation.</summary>
    private void StartIfReady()
    {
        if (_started || !_dnsReady || !_warm) return;
        _started = true;
        Publish(_current);
        var addresses = Addresses(_current).ToList();
        // Before the first bind: the descriptors open now are the baseline the ceiling leaves room for.
        UpdateCeiling(_current.Config, addresses.Count);
        foreach (var (ctx, ep) in addresses) Bind(ctx, ep);
    }

    /// <summary>
    /// Sets the process-wide connection ceiling for <paramref name="listeners"/> listen sockets, each with
    /// Akka.IO's <c>batch-accept-limit</c> accepts outstanding; logs it when it changes.
    /// </summary>
    private void UpdateCeiling(ProxyConfig config, int listeners)
    {
        // As Akka.IO reads it (the default is "scale-to-cpus", not a number).
        var batch = Math.Max(1, Akka.IO.TcpSettings.Create(Context.System.Settings.Config.GetConfig("akka.io.tcp")).BatchAcceptLimit);
        var choice = _services.Budget.Configure(config.MaxConnections, listeners, batch);
        if (_announced == (choice.Ceiling, choice.Problem)) return;
        _announced = (choice.Ceiling, choice.Problem);
        _services.Metrics.SetCeiling(choice.Ceiling);
        Log.Ceiling(_log, choice.Ceiling?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none", choice.Explanation);
        if (choice.Problem is { } problem) Log.CeilingProblem(_log, problem);
    }

    private void Publish(Generation g) =>
        _services.Status.Current = new StatusGeneration(g.Number, g.Config, g.Backends, DateTimeOffset.UtcNow);

    private void FinishReloadIfBound()
    {
        if (_next is not null || _reloadBinding.Count > 0 || _reloadRequester is null) return;
        Timers.Cancel(ReloadOverdue.Instance);
        _reloadRequester.Tell(new Reloaded(_reloadProblems.Count == 0 ? ReloadOutcome.Applied : ReloadOutcome.BindFailed, [.. _reloadProblems]));
        _reloadRequester = null;
        _reloadProblems.Clear();
    }

    private State Snapshot() => new(_current.Number,
        [.. _current.Config.Servers.Select(s => new ServerState(s.Name, s.Listen,
            s.Listen.Sum(ep => (int)_services.Metrics.ActiveConnections.WithLabels(s.Name, ep.ToString()).Value)))],
        [.. _current.Config.Upstreams.Values.OfType<TcpUpstreamConfig>().Select(u => new UpstreamState(u.Name, _current.Backends.Endpoints(u.Name)))]);

    private void ReportIfDrained()
    {
        if (_drainRequester is null || _alive.Count > 0) return;
        _drainRequester.Tell(new Drained());
        _drainRequester = null;
    }

    private void Answer(object answer)
    {
        if (_readyAnswer is not null) return;
        _readyAnswer = answer;
        foreach (var w in _readyWaiters) w.Tell(answer);
        _readyWaiters.Clear();
    }
}
