using Akka.Actor;
using L4P.Config;

namespace L4P.Resolution;

/// <summary>
/// Keeps the current address set of every upstream: listens for <see cref="BackendsChanged"/> (through
/// the EventStream, or distributed pub-sub in a cluster) and writes them into the
/// <see cref="BackendRegistry"/> that connection actors read without a message. Owns the
/// <see cref="Resolver"/>, started only once the subscription is in place so no change is missed.
/// </summary>
public sealed class Router : ActorBase
{
    public sealed record Ready;

    private readonly BackendRegistry _registry;
    private readonly Func<IActorContext, IActorRef> _startResolver;
    private readonly Dictionary<BackendKey, List<(string Upstream, int Target)>> _byKey;

    public Router(ProxyConfig config, BackendRegistry registry, Func<IActorContext, IActorRef> startResolver)
    {
        _registry = registry;
        _startResolver = startResolver;
        _byKey = [];
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

    public static Props Props(ProxyConfig config, BackendRegistry registry, Func<IActorContext, IActorRef> startResolver) =>
        Akka.Actor.Props.Create(() => new Router(config, registry, startResolver));

    /// <summary>
    /// The usual wiring: a local <see cref="Resolver"/> publishing on the EventStream, and a
    /// <see cref="HealthChecker"/> per upstream with <c>check</c>.
    /// </summary>
    public static Props Local(ProxyConfig config, BackendRegistry registry, Connections.ProxyServices services)
    {
        var log = services.Logs.CreateLogger("L4P.Resolution");
        return Props(config, registry, ctx =>
        {
            foreach (var u in config.Upstreams.Values.OfType<TcpUpstreamConfig>().Where(u => u.Check is not null))
                ctx.ActorOf(HealthChecker.Props(u, registry, services.TcpManager, log, services.Metrics), $"check-{Uri.EscapeDataString(u.Name)}");
            var publisher = new EventStreamPublisher(ctx.System.EventStream, services.FleetBackends);
            return ctx.ActorOf(Resolver.Props(config, services.Dns, publisher, log, services.Metrics, services.Ownership), "resolver");
        });
    }

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(BackendsChanged));
        _startResolver(Context);
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case BackendsChanged c when _byKey.TryGetValue(c.Key, out var uses):
                foreach (var (name, target) in uses) _registry.SetTarget(name, target, c.Addresses);
                return true;
            case BackendsChanged:
                return true; // a name this config does not use (another generation's, or another node's)
            case Resolver.InitialRoundDone:
                Context.Parent.Tell(new Ready());
                return true;
            default:
                return false;
        }
    }
}
