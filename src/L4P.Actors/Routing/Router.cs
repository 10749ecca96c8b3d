using System.Collections.Frozen;
using Akka.Actor;
using L4P.Config;
using L4P.Connections;
using L4P.Health;
using L4P.LoadBalancing;
using L4P.Proxy;
using L4P.Resolution;
using Microsoft.Extensions.Logging;

namespace L4P.Routing;

/// <summary>
/// The routing state of one config generation, and its only owner: every server's route table, the
/// current addresses of every upstream (from <see cref="BackendsChanged"/>), balance state (round-robin
/// cursor, leastconn counts), health verdicts of its <see cref="HealthChecker"/>s and the node's outlier
/// table. Each connection asks once with a <see cref="RouteRequest"/> and gets a <see cref="RouteDecision"/>;
/// connect outcomes come back as <see cref="DialOutcome"/> and <see cref="UpstreamReleased"/>. Being the
/// one writer, it hands out round robin turns strictly in order.
/// Its children are the <see cref="Resolver"/> (started once the subscription is in place, so no change
/// is missed) and one HealthChecker per upstream with <c>check</c>. Both are watched: one that dies is
/// logged, counted (<c>l4p_actor_restarts_total</c>) and started again after a backoff (<see cref="Backoff"/>);
/// neither holds state the router needs back (a new resolver looks every name up again, a new checker
/// starts from "up", so the router marks that upstream's addresses up as it starts one).
/// </summary>
public sealed class Router : ActorBase, IWithTimers
{
    /// <summary>Router -> parent: every name has had its first DNS answer; the generation can take connections.</summary>
    public sealed record Ready;

    /// <summary>
    /// Parent -> Router: a newer generation took over. Resolution and health checks stop now; requests are
    /// still answered for <paramref name="Grace"/> (connections accepted before the switch may still be
    /// reading their ClientHello), then the router stops.
    /// </summary>
    public sealed record Retire(TimeSpan Grace);

    private sealed record Retired : Signal<Retired>;

    /// <summary>Timer: start the child named <paramref name="Name"/> again.</summary>
    private sealed record Restart(string Name);

    private const string ResolverName = "resolver";

    private readonly ProxyConfig _config;
    private readonly BackendRegistry _registry;
    private readonly ProxyServices _services;
    private readonly FrozenDictionary<string, (ServerConfig Server, RouteTable Table)> _servers;
    private readonly Dictionary<BackendKey, List<(string Upstream, int Target)>> _byKey = [];
    private readonly Dictionary<string, IActorRef> _checkers = [];
    private readonly Dictionary<IActorRef, string> _children = [];
    private readonly Backoff _backoff;
    private readonly ChildFailure _failure = new();
    private bool _readyTold;
    private bool _retiring;
    private readonly ILogger _log;

    public Router(ProxyConfig config, BackendRegistry registry, ProxyServices services)
    {
        _config = config;
        _registry = registry;
        _services = services;
        _log = services.Logs.CreateLogger("L4P.Resolution");
        _backoff = new Backoff(services.Time);
        _servers = config.Servers.ToFrozenDictionary(s => s.Name, s => (s, new RouteTable(s, config.Upstreams)));
        foreach (var u in config.Upstreams.Values.OfType<TcpUpstreamConfig>())
            for (var i = 0; i < u.Targets.Length; i++)
            {
                var t = u.Targets[i];
                if (t.Literal is not null) continue; // in the registry from the start
                var key = new BackendKey(t.Host.TrimEnd('.'), t.Family);
                if (!_byKey.TryGetValue(key, out var uses)) _byKey[key] = uses = [];
                uses.Add((u.Name, i));
            }
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ProxyConfig config, BackendRegistry registry, ProxyServices services) =>
        Akka.Actor.Props.Create(() => new Router(config, registry, services));

    /// <summary>A child that throws is stopped; its Terminated restarts it (see the class comment). The exception is kept for that log line.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => _failure.StopAndRemember();

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(BackendsChanged));
        foreach (var u in _config.Upstreams.Values.OfType<TcpUpstreamConfig>().Where(u => u.Check is not null)) StartChecker(u);
        StartResolver();
    }

    private void StartResolver()
    {
        var publisher = new EventStreamPublisher(Context.System.EventStream, _services.FleetBackends);
        Started(Context.ActorOf(Resolver.Props(_config, _services.DnsOf(_config.Resolver), publisher, _log, _services.Metrics, _services.Ownership), ResolverName),
            ResolverName);
    }

    private void StartChecker(TcpUpstreamConfig u)
    {
        var name = CheckerName(u.Name);
        var checker = _checkers[u.Name] = Context.ActorOf(HealthChecker.Props(u, _registry.Endpoints(u.Name), _services.TcpManager, _log, _services.Metrics), name);
        Started(checker, name);
    }

    private static string CheckerName(string upstream) => $"check-{Uri.EscapeDataString(upstream)}";

    private void Started(IActorRef child, string name)
    {
        Context.Watch(child);
        _children[child] = name;
        _backoff.Started(name);
    }

    /// <summary>A child died (not because we retire): logged once with its exception, counted, and started again after the backoff.</summary>
    private void OnChildDied(IActorRef child, string name)
    {
        _children.Remove(child);
        var cause = _failure.Take("stopped");
        if (_retiring) return;
        var delay = _backoff.Next(name);
        var kind = name == ResolverName ? "resolver" : "health_check";
        _services.Metrics.ActorRestarts.WithLabels(kind).Inc();
        // Armed before the line is logged: whoever sees the line knows the restart is scheduled.
        Timers.StartSingleTimer(new Restart(name), new Restart(name), delay);
        Resolution.Log.ChildDied(_log, child.Path.ToString(), cause, Durations.Format(delay));
    }

    private void OnRestart(string name)
    {
        if (name == ResolverName)
        {
            StartResolver();
            return;
        }
        var upstream = _checkers.Keys.First(u => CheckerName(u) == name);
        // The new checker assumes every address up, as at start: so does the router from now on.
        foreach (var ep in _registry.Endpoints(upstream)) _registry.SetHealth(upstream, ep, up: true);
        StartChecker((TcpUpstreamConfig)_config.Upstreams[upstream]);
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case RouteRequest r:
                Sender.Tell(Decide(r));
                return true;
            case DialOutcome d:
                OnDial(d);
                return true;
            case UpstreamReleased r:
                _registry.Release(r.Upstream, r.Address);
                return true;
            case BackendsChanged c when _byKey.TryGetValue(c.Key, out var uses):
                foreach (var (name, target) in uses)
                {
                    _registry.SetTarget(name, target, c.Addresses);
                    if (_checkers.TryGetValue(name, out var checker)) checker.Tell(new HealthChecker.Targets(_registry.Endpoints(name)));
                }
                return true;
            case BackendsChanged:
                return true; // a name this config does not use (another generation's, or another node's)
            case HealthChecker.Verdict v:
                _registry.SetHealth(v.Upstream, v.Endpoint, v.Up);
                return true;
            case Resolver.InitialRoundDone:
                // A restarted resolver reports its first round again: the generation was ready already.
                if (!_readyTold) Context.Parent.Tell(new Ready());
                _readyTold = true;
                return true;
            case Terminated t when _children.TryGetValue(t.ActorRef, out var name):
                OnChildDied(t.ActorRef, name);
                return true;
            case Restart r when !_retiring:
                OnRestart(r.Name);
                return true;
            case Retire r:
                _retiring = true;
                Timers.CancelAll();
                Context.System.EventStream.Unsubscribe(Self);
                foreach (var child in Context.GetChildren()) Context.Stop(child);
                Timers.StartSingleTimer(Retired.Instance, Retired.Instance, r.Grace);
                return true;
            case Retired:
                Context.Stop(Self);
                return true;
            default:
                return false;
        }
    }

    private RouteDecision Decide(RouteRequest request)
    {
        if (!_servers.TryGetValue(request.Server, out var entry))
            throw new InvalidOperationException($"route request for server {request.Server}, which this generation does not have");
        var (server, table) = entry;
        var route = table.Match(request.ServerName);
        // allow/deny, before any address is picked. The admin built-in applies them itself, per request,
        // to answer 403 (and count it) rather than drop the connection.
        if (route.Upstream is not BuiltinUpstreamConfig { Kind: BuiltinKind.Admin } && ClientAccess.Refusal(server, request.Client) is { } denied)
            return new RouteDecision(route, null, [], new RouteRefusal(CloseCode.Denied, denied));
        if (route.Upstream is not TcpUpstreamConfig tcp) return new RouteDecision(route, null, [], null);
        var plan = UpstreamPlan.For(route, tcp, request.ServerName, server.Timeouts, out var problem);
        if (plan is null) return new RouteDecision(route, null, [], new RouteRefusal(CloseCode.NoSni, problem!));
        // The current addresses in the order the upstream's balance gives; no DNS on this path.
        var addresses = _registry.NextOrder(tcp.Name, request.Client);
        if (addresses.Length > 0) return new RouteDecision(route, plan, addresses, null);
        var refusal = _registry.AllDown(tcp.Name)
            ? new RouteRefusal(CloseCode.AllDown, $"every address of upstream {tcp.Name} failed its health checks")
            : new RouteRefusal(CloseCode.DnsFailed, $"upstream {tcp.Name} ({tcp.Url}) has no address yet (lookups failing: see the resolver's log)");
        return new RouteDecision(route, plan, [], refusal);
    }

    private void OnDial(DialOutcome d)
    {
        if (d.Connected) _registry.Acquire(d.Upstream, d.Address); // for leastconn; released by UpstreamReleased
        if (_config.Upstreams.GetValueOrDefault(d.Upstream) is not TcpUpstreamConfig { Outlier: { } outlier }) return;
        if (d.Connected) _services.Outliers.ConnectSucceeded(d.Upstream, d.Address);
        else _services.Outliers.ConnectFailed(d.Upstream, d.Address, outlier);
    }
}
