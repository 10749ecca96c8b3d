using Akka.Actor;
using Akka.Event;
using L4P.Proxy;

namespace L4P.Sample.Worker;

/// <summary>The application's actor: asks the proxy for its state every <c>interval</c> and logs it.</summary>
public sealed class StateReporter : ReceiveActor, IWithTimers
{
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public StateReporter(IActorRef proxy, TimeSpan interval)
    {
        var log = Context.GetLogger();
        Receive<Tick>(_ => proxy.Tell(ProxyRoot.GetState.Instance));
        Receive<ProxyRoot.State>(s => log.Info("proxy state: generation {0}; servers {1}; upstreams {2}", s.Generation,
            string.Join(", ", s.Servers.Select(x => $"{x.Name} on {string.Join(" ", x.Listen)} active={x.ActiveConnections}")),
            s.Upstreams.Count == 0 ? "-" : string.Join(", ", s.Upstreams.Select(u => $"{u.Name} -> {string.Join(" ", u.Addresses)}"))));
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, TimeSpan.Zero, interval);
    }

    public static Props Props(IActorRef proxy, TimeSpan interval) => Akka.Actor.Props.Create(() => new StateReporter(proxy, interval));
}
